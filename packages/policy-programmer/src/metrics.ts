/**
 * The policy programmer's Prometheus metrics (docs/metrics.md): how applies go (Felix's
 * felix_int_dataplane_apply_time_seconds and _failures, from our side), what is written where,
 * object states, and the datapath's own counters: per policy rule and per drop reason.
 */
import { DROP_REASON_NAMES, errorMessage, type Counter, type DropReason } from "@ptables/api";
import { sync } from "@ptables/proto";
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
  type Sample,
} from "@ptables/runtime";
import type { CounterOwner } from "./compiler";
import type { RunningPolicyProgrammer } from "./daemon";
import { MANAGED_TABLES, type ManagedTable, type Programmer } from "./programmer";

const P = "ptables_policy_programmer_";
const D = "ptables_datapath_";

/**
 * Most per-rule series exported: rules whose counters are non-zero, the busiest first (by
 * packets). A node with thousands of active rules would otherwise flood Prometheus; the full
 * set is always in `ptablesctl policy`.
 */
export const MAX_RULE_COUNTER_SERIES = 500;

const TABLE_LABELS: Record<ManagedTable, string> = { setMembers: "set_members", portSets: "port_sets", rules: "rules", endpoints: "endpoints" };

/** "OBJECT_KIND_WORKLOAD_ENDPOINT" -> "workload_endpoint". */
function enumLabel(name: string | undefined, prefix: string): string {
  return (name ?? "unknown").replace(prefix, "").toLowerCase();
}

function perTable(counts: Record<ManagedTable, number>): Array<Sample<"table">> {
  return MANAGED_TABLES.map((t) => [{ table: TABLE_LABELS[t] }, counts[t]] as const);
}

/** One per-rule series: its labels and counter. */
export interface RuleCounterSample {
  labels: { tier: string; policy: string; rule: string; direction: string };
  counter: Counter;
}

/**
 * Joins the datapath's rule counters with the rules they count, keeps non-zero ones, and caps
 * the result at `max` (busiest first). Returns how many were left out.
 */
export function ruleCounterSamples(counters: Map<bigint, Counter>, owners: Map<bigint, CounterOwner>, max = MAX_RULE_COUNTER_SERIES): { samples: RuleCounterSample[]; omitted: number } {
  const all: RuleCounterSample[] = [];
  for (const [id, counter] of counters) {
    const owner = owners.get(id);
    if (!owner || (counter.packets === 0n && counter.bytes === 0n)) continue;
    all.push({
      labels: {
        tier: owner.tier ?? "",
        policy: owner.policy ?? `profile:${owner.profile ?? ""}`,
        rule: String(owner.ruleIndex),
        direction: owner.direction,
      },
      counter,
    });
  }
  all.sort((a, b) => (a.counter.packets === b.counter.packets ? 0 : a.counter.packets > b.counter.packets ? -1 : 1));
  return { samples: all.slice(0, max), omitted: Math.max(0, all.length - max) };
}

/**
 * Reads the datapath's counters at most once per scrape: the packet and byte series of one
 * scrape come from the same read, and a scrape costs one map walk, not two.
 */
function perScrape<T>(read: () => Promise<T>, maxAgeMs = 1000): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > maxAgeMs) cached = { at: now, value: read() };
    return cached.value;
  };
}

/** Registers every policy-programmer metric on `registry`, read from the running programmer. */
export function registerPolicyProgrammerMetrics(registry: Registry, running: Pick<RunningPolicyProgrammer, "programmer" | "service">, logger?: Logger): void {
  const p: Programmer = running.programmer;
  const service = running.service;
  let counterReadFailures = 0;
  const guarded = <T>(what: string, read: () => Promise<T>, empty: T) =>
    perScrape(async () => {
      try {
        return await read();
      } catch (err) {
        counterReadFailures++;
        logger?.debug(`reading ${what} for metrics failed`, { error: errorMessage(err) });
        return empty;
      }
    });
  const ruleCounters = guarded("rule counters", async () => ruleCounterSamples(await p.backend.readRuleCounters(), p.counterOwners()), { samples: [], omitted: 0 });
  const dropCounters = guarded("drop counters", () => p.backend.readDropCounters(), new Map<number, Counter>());

  const applyDuration = new Histogram({
    name: `${P}apply_duration_seconds`,
    help: "Time of each apply: the model's changes resolved and written to the backend's tables",
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  p.onApply((stats) => applyDuration.observe(stats.durationMs / 1000));
  sampledCounter({
    registry,
    name: `${P}applies_total`,
    help: "Applies, by result (error: the backend failed as a whole and the apply is retried)",
    labelNames: ["result"],
    read: () => [
      [{ result: "ok" }, p.applies - p.failedApplies],
      [{ result: "error" }, p.failedApplies],
    ],
  });
  sampledCounter({ registry, name: `${P}table_writes_total`, help: "Entries written to (or deleted from) the backend's tables, by table", labelNames: ["table"], read: () => perTable(p.writeCounts()) });
  sampledCounter({
    registry,
    name: `${P}resync_writes_total`,
    help: "Entries written by applies that began by reading the tables back (after a start or a failure); 0 after a hitless restart",
    labelNames: ["table"],
    read: () => perTable(p.resyncWrites),
  });
  sampledCounter({
    registry,
    name: `${P}errors_total`,
    help: "Errors by kind: backend (an apply failed as a whole), table_write (an entry the backend refused), rejected_input (an invalid object in the model), sync_protocol (a Sync stream that broke the protocol), counter_read (datapath counters could not be read)",
    labelNames: ["kind"],
    read: () => {
      const failures = p.writeFailureCounts();
      return [
        [{ kind: "backend" }, p.failedApplies],
        [{ kind: "table_write" }, MANAGED_TABLES.reduce((n, t) => n + failures[t], 0)],
        [{ kind: "rejected_input" }, p.rejectedInputs],
        [{ kind: "sync_protocol" }, service.rejectedStreams],
        [{ kind: "counter_read" }, counterReadFailures],
      ];
    },
  });
  sampledGauge({
    registry,
    name: `${P}objects`,
    help: "Objects of the model by kind and programming state (programmed, pending, error, down)",
    labelNames: ["kind", "state"],
    read: () => {
      const counts = new Map<string, { kind: string; state: string; n: number }>();
      for (const s of p.statuses()) {
        const kind = enumLabel(sync.ObjectKind[s.kind], "OBJECT_KIND_");
        const state = enumLabel(sync.ObjectState[s.state], "OBJECT_STATE_");
        const key = `${kind}/${state}`;
        const entry = counts.get(key) ?? { kind, state, n: 0 };
        entry.n++;
        counts.set(key, entry);
      }
      return [...counts.values()].map((c) => [{ kind: c.kind, state: c.state }, c.n] as const);
    },
  });
  sampledGauge({ registry, name: `${P}in_sync`, help: "1 once the model has seen Felix's InSync (stale entries may then be removed)", read: () => single(p.inSync ? 1 : 0) });
  sampledGauge({ registry, name: `${P}sync_connected`, help: "1 while a Sync stream from the felix proxy is open", read: () => single(service.syncConnected ? 1 : 0) });

  const ruleLabels = ["tier", "policy", "rule", "direction"] as const;
  sampledCounter({
    registry,
    name: `${D}rule_packets_total`,
    help: `Packets matched by each policy rule in the datapath (rules with non-zero counters, at most ${MAX_RULE_COUNTER_SERIES}, busiest first)`,
    labelNames: ruleLabels,
    read: async () => (await ruleCounters()).samples.map((s) => [s.labels, Number(s.counter.packets)] as const),
  });
  sampledCounter({
    registry,
    name: `${D}rule_bytes_total`,
    help: "Bytes matched by each policy rule in the datapath (the same rules as rule_packets_total)",
    labelNames: ruleLabels,
    read: async () => (await ruleCounters()).samples.map((s) => [s.labels, Number(s.counter.bytes)] as const),
  });
  sampledGauge({
    registry,
    name: `${D}rule_counter_series_omitted`,
    help: `Rules with non-zero counters left out of rule_packets_total/rule_bytes_total by the cap of ${MAX_RULE_COUNTER_SERIES}`,
    read: async () => single((await ruleCounters()).omitted),
  });
  const dropSamples = (which: keyof Counter) => async () =>
    [...(await dropCounters())].map(([reason, c]) => [{ reason: DROP_REASON_NAMES[reason as DropReason] ?? String(reason) }, Number(c[which])] as const);
  sampledCounter({ registry, name: `${D}dropped_packets_total`, help: "Packets the datapath dropped, by reason", labelNames: ["reason"], read: dropSamples("packets") });
  sampledCounter({ registry, name: `${D}dropped_bytes_total`, help: "Bytes the datapath dropped, by reason", labelNames: ["reason"], read: dropSamples("bytes") });
}

/** Serves the programmer's /liveness, /readiness and /metrics; undefined when its port is 0. */
export async function startPolicyProgrammerHttp(running: RunningPolicyProgrammer, config: PtablesConfig, logger: Logger): Promise<AgentHttpServer | undefined> {
  const registry = createAgentRegistry("policy-programmer");
  registerPolicyProgrammerMetrics(registry, running, logger);
  return startAgentHttp({
    agent: "policy-programmer",
    config,
    portOf: "policyProgrammer",
    registry,
    liveness: () => running.liveness(),
    readiness: () => running.readiness(),
    logger,
  });
}
