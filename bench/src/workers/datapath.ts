/**
 * Worker (runs inside the datapath node namespace): programs the datapath benchmark's policy
 * configurations through the real pipeline (store -> Programmer -> EbpfBackend) and keeps the
 * datapath in place while the orchestrator sends traffic. BENCH_RULES_MAP=<n> sizes pt_rules
 * (default 1M entries), for experiments on the rule map's footprint.
 */
import { DesiredStateStore } from "@ptables/felix";
import { EbpfBackend } from "@ptables/backend-ebpf";
import { Programmer } from "@ptables/policy-programmer";
import { sync } from "@ptables/proto";
import { dpStartOfDay, type DpConfig } from "../lib/dp-scenario";
import { nowMs } from "../lib/stats";
import { serveWorker } from "../lib/worker";

let backend: EbpfBackend;
let programmer: Programmer;
let version = 0n;

serveWorker({
  async setup(params: { bpfDir: string }) {
    backend = new EbpfBackend({ bpfDir: params.bpfDir, ...(process.env.BENCH_RULES_MAP ? { mapSizes: { rules: Number(process.env.BENCH_RULES_MAP) } } : {}) });
    await backend.open();
    programmer = new Programmer(backend);
    return {};
  },

  async configure(params: DpConfig) {
    const t = nowMs();
    const store = new DesiredStateStore();
    for (const m of dpStartOfDay(params)) store.apply(m);
    programmer.applySnapshot({ version: ++version, state: store.snapshot(), inSync: true });
    const res = await programmer.apply();
    const errors = res.statuses.filter((s) => s.state === sync.ObjectState.OBJECT_STATE_ERROR).map((s) => `${s.id}: ${s.reason}`);
    const programmed = res.statuses.filter((s) => s.kind === sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT && s.state === sync.ObjectState.OBJECT_STATE_PROGRAMMED).length;
    return { ms: nowMs() - t, writes: programmer.lastApply?.writes ?? 0, errors, programmed };
  },

  /** Sum of all rule counters (packets): how many packets matched a counted rule (new flows, policy evaluations). */
  async ruleHits() {
    let packets = 0n;
    for (const c of (await backend.readRuleCounters()).values()) packets += c.packets;
    return Number(packets);
  },

  async drops() {
    const out: Record<string, number> = {};
    for (const [reason, c] of await backend.readDropCounters()) out[String(reason)] = Number(c.packets);
    return out;
  },

  async cleanup() {
    await backend.cleanup();
    return {};
  },
});
