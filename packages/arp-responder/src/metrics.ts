/** The ARP responder's Prometheus metrics and HTTP server (docs/metrics.md). */
import { createAgentRegistry, sampledCounter, sampledGauge, single, startAgentHttp, type AgentHttpServer, type Logger, type PtablesConfig, type Registry } from "@ptables/runtime";
import type { ArpResponder } from "./arp-responder";

const P = "ptables_arp_responder_";

/** Registers the ARP responder's metrics on `registry`, read from `responder`. */
export function registerArpResponderMetrics(registry: Registry, responder: ArpResponder): void {
  sampledCounter({ registry, name: `${P}asserts_total`, help: "Times the gateway ARP settings were checked (and written if needed) in the datapath", read: () => single(responder.asserts) });
  sampledCounter({
    registry,
    name: `${P}config_corrections_total`,
    help: "Checks that found the datapath's gateway ARP settings changed (a re-initialised datapath, another writer) and rewrote them",
    read: () => single(responder.corrections),
  });
  sampledCounter({ registry, name: `${P}assert_failures_total`, help: "Checks that could not read or write the gateway ARP settings", read: () => single(responder.failures) });
  sampledGauge({
    registry,
    name: `${P}gateway_programmed`,
    help: "1 while the datapath holds the gateway ARP answer (169.254.1.1); 0 otherwise, also where there is nothing to program (reference backend)",
    read: () => single(!responder.notApplicableReason && responder.programmed && !responder.lastError ? 1 : 0),
  });
}

/** Serves the ARP responder's /liveness, /readiness and /metrics; undefined when its port is 0. */
export async function startArpResponderHttp(responder: ArpResponder, config: PtablesConfig, logger: Logger): Promise<AgentHttpServer | undefined> {
  const registry = createAgentRegistry("arp-responder");
  registerArpResponderMetrics(registry, responder);
  return startAgentHttp({
    agent: "arp-responder",
    config,
    portOf: "arpResponder",
    registry,
    liveness: () => responder.liveness(),
    readiness: () => responder.readiness(),
    logger,
  });
}
