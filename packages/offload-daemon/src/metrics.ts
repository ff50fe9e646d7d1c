/**
 * The offload daemon's Prometheus metrics (docs/metrics.md): the datapath's flows (conntrack
 * entries) by protocol and state as of the last scan, and what the daemon did with them. The
 * equivalents of Felix's felix_bpf_conntrack_* family.
 */
import {
  Histogram,
  LATENCY_BUCKETS_SECONDS,
  createAgentRegistry,
  sampledCounter,
  sampledGauge,
  single,
  startAgentHttp,
  type AgentHttpServer,
  type Logger,
  type PtablesConfig,
  type Registry,
} from "@ptables/runtime";
import type { FlowCounts } from "./flow-ager";
import type { OffloadDaemon } from "./offload-daemon";

const P = "ptables_offload_daemon_";

/** Registers the offload daemon's metrics on `registry`, read from `daemon`. */
export function registerOffloadDaemonMetrics(registry: Registry, daemon: OffloadDaemon): void {
  const counts = (): FlowCounts | undefined => daemon.flowCounts();
  const total = (pick: (c: FlowCounts) => number) => () => single(((c) => (c ? pick(c) : 0))(counts()));
  sampledGauge({
    registry,
    name: `${P}flows`,
    help: "Flows (conntrack entries) in the datapath at the last scan, by protocol and state",
    labelNames: ["protocol", "state"],
    read: () =>
      Object.entries(counts()?.byProtocolAndState ?? {}).map(([key, n]) => {
        const slash = key.indexOf("/");
        return [{ protocol: key.slice(0, slash), state: key.slice(slash + 1) }, n] as const;
      }),
  });
  sampledCounter({ registry, name: `${P}flows_created_total`, help: "Flows first seen by a scan (flows present when the daemon started are not counted)", read: total((c) => c.created) });
  sampledCounter({ registry, name: `${P}flows_expired_total`, help: "Flows the daemon removed for being idle past their timeout", read: total((c) => c.expired) });
  sampledCounter({ registry, name: `${P}flows_vanished_total`, help: "Flows that left the table without being expired here (removed by the datapath or another tool)", read: total((c) => c.vanished) });
  sampledCounter({ registry, name: `${P}flows_adopted_total`, help: "Flows already in the table when the daemon started", read: total((c) => c.adopted) });
  sampledCounter({
    registry,
    name: `${P}scans_total`,
    help: "Scans of the flow table, by result",
    labelNames: ["result"],
    read: () => {
      const c = counts();
      return [
        [{ result: "ok" }, c?.scans ?? 0],
        [{ result: "error" }, c?.failedScans ?? 0],
      ];
    },
  });
  sampledCounter({
    registry,
    name: `${P}flow_log_lines_total`,
    help: "Flow-log lines, by outcome (suppressed: over PTABLES_FLOW_LOG_MAX_PER_SEC)",
    labelNames: ["outcome"],
    read: () => {
      const l = daemon.flowLogCounts();
      return [
        [{ outcome: "written" }, l.written],
        [{ outcome: "suppressed" }, l.suppressed],
      ];
    },
  });
  const scanDuration = new Histogram({ name: `${P}scan_duration_seconds`, help: "Time of each scan of the flow table", buckets: LATENCY_BUCKETS_SECONDS, registers: [registry] });
  daemon.onScan((_ok, durationMs) => scanDuration.observe(durationMs / 1000));
}

/** Serves the offload daemon's /liveness, /readiness and /metrics; undefined when its port is 0. */
export async function startOffloadDaemonHttp(daemon: OffloadDaemon, config: PtablesConfig, logger: Logger): Promise<AgentHttpServer | undefined> {
  const registry = createAgentRegistry("offload-daemon");
  registerOffloadDaemonMetrics(registry, daemon);
  return startAgentHttp({
    agent: "offload-daemon",
    config,
    portOf: "offloadDaemon",
    registry,
    liveness: () => daemon.liveness(),
    readiness: () => daemon.readiness(),
    logger,
  });
}
