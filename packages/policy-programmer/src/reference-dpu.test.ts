/**
 * The programmer over the reference DPU, judged by packets: after every step the DPU's verdicts
 * agree with the reference evaluator, and *during* a transition (checked after every single
 * entry written) every packet gets either the old state's verdict or the new one's, never
 * something in between: programs are flipped atomically and sets outlive the rules using them.
 */
import { ReferenceDpuBackend } from "@ptables/backend-ref";
import { createModelLookup, evaluatePolicy, testing, type Packet } from "@ptables/policy-core";
import { sync } from "@ptables/proto";
import type { Backend, DesiredState, EntryError, TableBackend, Tables } from "@ptables/api";
import { Programmer } from "./programmer";
import { snapshotOf } from "./testing/fixtures";
import { STATES } from "./testing/states";

const { Rng, aimedPacket, workload, hostEndpoint } = testing;

/** Passes writes to the DPU one entry at a time, calling `afterEach` after every entry. */
function oneEntryAtATime(dpu: ReferenceDpuBackend, afterEach: () => void): Backend {
  const wrap = <K, V>(t: TableBackend<K, V>): TableBackend<K, V> => ({
    name: t.name,
    keyString: (k) => t.keyString(k),
    valueEquals: (a, b) => t.valueEquals(a, b),
    loadAll: () => t.loadAll(),
    async applyBatch(upserts, deletes): Promise<EntryError[]> {
      const errors: EntryError[] = [];
      for (const [i, entry] of upserts.entries()) {
        for (const e of await t.applyBatch([entry], [])) errors.push({ ...e, index: i });
        afterEach();
      }
      for (const [i, key] of deletes.entries()) {
        for (const e of await t.applyBatch([], [key])) errors.push({ ...e, index: i });
        afterEach();
      }
      return errors;
    },
  });
  const tables = Object.fromEntries(Object.entries(dpu.tables).map(([n, t]) => [n, wrap(t as TableBackend<unknown, unknown>)])) as unknown as Tables;
  return new Proxy(dpu, { get: (target, prop) => (prop === "tables" ? tables : Reflect.get(target, prop, target)) });
}

type Verdicts = Map<string, string>;

/** VXLAN or IPIP: dropped on egress from a workload before policy (Felix's default). */
function isEncap(pkt: Packet): boolean {
  return pkt.proto === 4 || (pkt.proto === 17 && pkt.dstPort === 4789);
}

/** The expected verdict of every probe packet at every workload: the evaluator's, after the encap drop. */
function expectedVerdicts(state: DesiredState, packets: Packet[]): Verdicts {
  const lookup = createModelLookup(state);
  const out: Verdicts = new Map();
  for (const ep of state.workloadEndpoints) {
    for (const dir of ["ingress", "egress"] as const) {
      packets.forEach((pkt, i) => {
        const verdict = dir === "egress" && ep.adminUp && isEncap(pkt) ? "deny" : evaluatePolicy(lookup, { kind: "workload", endpoint: ep }, dir, pkt).verdict;
        out.set(`${ep.ifname} ${dir} ${i}`, verdict);
      });
    }
  }
  return out;
}

function dpuVerdicts(dpu: ReferenceDpuBackend, keys: Iterable<string>, packets: Packet[]): Verdicts {
  const out: Verdicts = new Map();
  for (const k of keys) {
    const [ifname, dir, i] = k.split(" ") as [string, "ingress" | "egress", string];
    out.set(k, dpu.processPacket(ifname, dir, packets[Number(i)]!).verdict);
  }
  return out;
}

function probePackets(state: DesiredState, seed: number): Packet[] {
  const rng = new Rng(seed);
  const scenario = {
    policies: state.policies,
    profiles: state.profiles,
    ipSets: state.ipSets,
    lookup: createModelLookup(state),
    workload: workload(),
    host: hostEndpoint(),
  };
  return Array.from({ length: 60 }, () => aimedPacket(rng, scenario));
}

/** States whose endpoints are all PROGRAMMED, and the same endpoints throughout. */
const PROGRAMMED_WALK = ["web", "webMembersChanged", "nets", "web"];

describe("programmer over the reference DPU", () => {
  test("after each step the DPU agrees with the reference evaluator", async () => {
    const dpu = new ReferenceDpuBackend({ capabilities: { maxRulesPerProgram: 64 } });
    const p = new Programmer(dpu);
    let version = 0n;
    for (const name of ["profileOnly", "web", "adminDown", "tooBig", "tooManySets", "namedPort", "nets", "danglingSet", "empty"]) {
      const s = STATES[name]!;
      p.applySnapshot(snapshotOf(s.state, ++version));
      await p.apply();
      const packets = probePackets(s.state, 7 + Number(version));
      const want = expectedVerdicts(s.state, packets);
      for (const [k, v] of dpuVerdicts(dpu, want.keys(), packets)) {
        const ifname = k.split(" ")[0]!;
        const ep = s.state.workloadEndpoints.find((e) => e.ifname === ifname)!;
        const status = p.status.get(sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT, ep.key)!.state;
        // An endpoint in ERROR fails closed even where the evaluator, which knows no backend
        // limits, would allow.
        const expected = status === sync.ObjectState.OBJECT_STATE_ERROR ? "deny" : want.get(k);
        expect({ step: name, packet: k, verdict: v }).toEqual({ step: name, packet: k, verdict: expected });
      }
    }
  });

  test("during each transition every packet gets the old or the new verdict, after every single write", async () => {
    const dpu = new ReferenceDpuBackend();
    let check: (() => void) | undefined;
    let checks = 0;
    const violations: string[] = [];
    const p = new Programmer(oneEntryAtATime(dpu, () => check?.()));
    let version = 0n;
    let prev: DesiredState | undefined;
    for (const name of PROGRAMMED_WALK) {
      const next = STATES[name]!.state;
      if (prev) {
        const packets = [...probePackets(prev, 11), ...probePackets(next, 13)];
        const before = expectedVerdicts(prev, packets);
        const after = expectedVerdicts(next, packets);
        check = () => {
          checks++;
          for (const [k, v] of dpuVerdicts(dpu, after.keys(), packets)) {
            if (v !== before.get(k) && v !== after.get(k)) violations.push(`${name}: ${k} got ${v}, neither ${before.get(k)} (before) nor ${after.get(k)} (after)`);
          }
        };
      }
      p.applySnapshot(snapshotOf(next, ++version));
      await p.apply();
      expect(p.lastApply!.error).toBeUndefined();
      prev = next;
    }
    expect(violations.slice(0, 20)).toEqual([]);
    expect(checks).toBeGreaterThan(20);
  });
});
