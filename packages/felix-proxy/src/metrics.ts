/**
 * The felix proxy's Prometheus metrics (docs/metrics.md). With an external driver Felix stops
 * publishing its felix_int_dataplane_* family; these cover the same ground from our side of
 * the pipe: what Felix sends, what we cannot use, and how long a change takes to be enforced.
 */
import {
  Histogram,
  LATENCY_BUCKETS_SECONDS,
  createAgentRegistry,
  sampledCounter,
  sampledGauge,
  samplesByLabel,
  single,
  snakeCase,
  startAgentHttp,
  type AgentHttpServer,
  type Logger,
  type PtablesConfig,
  type Registry,
} from "@ptables/runtime";
import type { FelixProxy } from "./felix-proxy";

const P = "ptables_felix_proxy_";

/** objectCounts() keys -> the `kind` label value. */
const OBJECT_KINDS: Record<string, string> = {
  ipSets: "ip_set",
  policies: "policy",
  profiles: "profile",
  workloadEndpoints: "workload_endpoint",
  hostEndpoints: "host_endpoint",
  routes: "route",
  vteps: "vtep",
  hosts: "host",
  ipamPools: "ipam_pool",
};

/** Registers every felix-proxy metric on `registry`, read from (and observed by) `proxy`. */
export function registerFelixProxyMetrics(registry: Registry, proxy: FelixProxy): void {
  const counters = () => proxy.counters();
  sampledCounter({
    registry,
    name: `${P}frames_received_total`,
    help: "Messages received from Felix, by payload type (the ToDataplane oneof field; none = a payload this protocol version does not know)",
    labelNames: ["payload"],
    read: () => samplesByLabel("payload", proxy.framesReceivedByPayload()),
  });
  sampledCounter({ registry, name: `${P}frames_sent_total`, help: "Messages sent to Felix (endpoint and process status)", read: () => single(counters().framesSent) });
  sampledCounter({
    registry,
    name: `${P}protocol_errors_total`,
    help: "Felix connections closed because a frame was too long or did not decode",
    read: () => single(counters().protocolErrors),
  });
  sampledCounter({
    registry,
    name: `${P}unimplemented_payloads_total`,
    help: "Felix messages of a kind the datapath does not implement, by payload type; logged once and otherwise ignored",
    labelNames: ["payload"],
    read: () => Object.entries(proxy.unimplementedPayloads()).map(([k, n]) => [{ payload: snakeCase(k) }, n] as const),
  });
  sampledCounter({ registry, name: `${P}felix_connections_total`, help: "Felix connections accepted (a restarted Felix connects again)", read: () => single(counters().felixConnections) });
  sampledCounter({
    registry,
    name: `${P}sync_messages_sent_total`,
    help: "Messages sent to the policy programmer's Sync stream, by type (a snapshot on every connection, then deltas)",
    labelNames: ["type"],
    read: () => {
      const c = counters();
      return [
        [{ type: "snapshot" }, c.snapshotsSent],
        [{ type: "delta" }, c.deltasSent],
      ];
    },
  });
  sampledGauge({ registry, name: `${P}felix_connected`, help: "1 while a Felix connection is open", read: () => single(counters().felixConnected ? 1 : 0) });
  sampledGauge({ registry, name: `${P}felix_in_sync`, help: "1 once the current Felix connection has sent InSync", read: () => single(counters().felixInSync ? 1 : 0) });
  sampledGauge({ registry, name: `${P}programmer_connected`, help: "1 while the Sync stream to the policy programmer is open", read: () => single(counters().programmerConnected ? 1 : 0) });
  sampledGauge({
    registry,
    name: `${P}objects`,
    help: "Valid objects in the desired state Felix sent, by kind",
    labelNames: ["kind"],
    read: () => {
      const counts = proxy.objectCounts();
      return Object.entries(OBJECT_KINDS).map(([key, kind]) => [{ kind }, counts[key] ?? 0] as const);
    },
  });
  sampledGauge({ registry, name: `${P}objects_in_error`, help: "Objects Felix sent that were rejected as invalid (reported to Felix, not programmed)", read: () => single(proxy.objectCounts().inError ?? 0) });
  sampledGauge({
    registry,
    name: `${P}endpoint_statuses`,
    help: "Endpoint statuses last reported to Felix, by status (up, down, error)",
    labelNames: ["status"],
    read: () => samplesByLabel("status", proxy.endpointStatusCounts()),
  });
  const latency = new Histogram({
    name: `${P}felix_to_programmed_seconds`,
    help: "Time from the first Felix frame of a batch of changes to the policy programmer reporting them applied",
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  proxy.onProgrammed((seconds) => latency.observe(seconds));
}

/**
 * Serves the proxy's /liveness, /readiness and /metrics on the felix-proxy port (the driver's
 * in-process proxy and the felix-proxy daemon alike). Undefined when the port is 0.
 */
export async function startFelixProxyHttp(proxy: FelixProxy, config: PtablesConfig, logger: Logger): Promise<AgentHttpServer | undefined> {
  const registry = createAgentRegistry("felix-proxy");
  registerFelixProxyMetrics(registry, proxy);
  return startAgentHttp({
    agent: "felix-proxy",
    config,
    portOf: "felixProxy",
    registry,
    liveness: () => proxy.liveness(),
    readiness: () => proxy.readiness(),
    logger,
  });
}

