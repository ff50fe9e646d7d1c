/**
 * State-sequence tests in the style of Felix's calc-graph FV: named input states, applied in
 * many orders; after every step the tables must hold exactly what that state means, whatever
 * came before. Each sequence is walked forwards, reversed, with an empty state between steps,
 * and each state alone from empty; and each walk is driven three ways: by snapshots, by deltas,
 * and by snapshots with a restart (a fresh Programmer over the same backend) at every step.
 * After every step, re-applying the same snapshot, and starting a fresh Programmer on it, must
 * write nothing.
 */
import { sync } from "@ptables/proto";
import { compileWorkloadProgram, adminDownProgram, createModelLookup, errorProgram, ipSetNumericId } from "@ptables/policy-core";
import type { DesiredState } from "@ptables/api";
import { Programmer } from "./programmer";
import { viewDatapath } from "./testing/datapath-view";
import { DEFAULT_TEST_CAPS, RecordingBackend } from "./testing/recording-backend";
import { deltaBetween } from "./testing/state-delta";
import { SEQUENCES, STATES, type NamedState } from "./testing/states";

type Mode = "snapshot" | "delta" | "restart";

function expectState(backend: RecordingBackend, programmer: Programmer, s: NamedState): void {
  const felixIds = new Set(s.state.ipSets.map((x) => ipSetNumericId(x.id)));
  const view = viewDatapath(backend, felixIds);
  expect(view.problems).toEqual([]);
  expect([...view.endpoints.keys()].sort()).toEqual(Object.keys(s.endpoints).sort());
  const lookup = createModelLookup(s.state);
  for (const [ifname, kind] of Object.entries(s.endpoints)) {
    const ep = s.state.workloadEndpoints.find((e) => e.ifname === ifname)!;
    for (const dir of ["ingress", "egress"] as const) {
      const want = kind === "policy" ? compileWorkloadProgram(ep, dir, lookup, DEFAULT_TEST_CAPS).rules : kind === "admin-down" ? adminDownProgram() : errorProgram();
      expect({ ifname, dir, rules: view.endpoints.get(ifname)![dir] }).toEqual({ ifname, dir, rules: want });
    }
  }
  for (const [id, members] of Object.entries(s.ipSets)) {
    expect({ id, members: view.sets.get(ipSetNumericId(id)) ?? [] }).toEqual({ id, members: [...members].sort() });
  }
  const endpointStatuses: Record<string, string> = {};
  for (const st of programmer.statuses()) {
    if (st.kind === sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT) endpointStatuses[st.id] = sync.ObjectState[st.state]!.replace("OBJECT_STATE_", "");
  }
  expect(endpointStatuses).toEqual(s.statuses);
}

function snapshot(state: DesiredState, version: bigint): sync.Snapshot {
  return { version, state, inSync: true };
}

async function walk(names: string[], mode: Mode): Promise<void> {
  const backend = new RecordingBackend();
  let programmer = new Programmer(backend);
  let prev: DesiredState | undefined;
  let version = 0n;
  for (const name of names) {
    const s = STATES[name]!;
    version++;
    if (mode === "delta" && prev) programmer.applyDelta(deltaBetween(prev, s.state, version));
    else programmer.applySnapshot(snapshot(s.state, version));
    const resp = await programmer.apply();
    expect(resp.appliedVersion).toBe(version);
    expectState(backend, programmer, s);

    // Re-applying the same state writes nothing.
    programmer.applySnapshot(snapshot(s.state, version));
    await programmer.apply();
    expect({ step: name, writes: programmer.lastApply!.writesByTable }).toEqual({ step: name, writes: { setMembers: 0, portSets: 0, rules: 0, endpoints: 0 } });

    // A restarted programmer computing the same state writes nothing either.
    const fresh = new Programmer(backend);
    fresh.applySnapshot(snapshot(s.state, version));
    await fresh.apply();
    expect({ step: name, restartWrites: fresh.lastApply!.writesByTable }).toEqual({ step: name, restartWrites: { setMembers: 0, portSets: 0, rules: 0, endpoints: 0 } });
    expectState(backend, fresh, s);
    if (mode === "restart") programmer = fresh;
    prev = s.state;
  }
}

function expansions(seq: string[]): Array<[string, string[]]> {
  const withEmpties = seq.flatMap((n, i) => (i === 0 ? [n] : ["empty", n]));
  return [
    ["forwards", seq],
    ["reversed", [...seq].reverse()],
    ["with empty states between", withEmpties],
  ];
}

describe("state sequences", () => {
  for (const mode of ["snapshot", "delta", "restart"] as Mode[]) {
    describe(`driven by ${mode}`, () => {
      for (const seq of SEQUENCES) {
        for (const [how, names] of expansions(seq)) {
          test(`${how}: ${names.join(" -> ")}`, () => walk(names, mode));
        }
      }
      for (const name of Object.keys(STATES)) {
        test(`from empty: ${name}`, () => walk(["empty", name, "empty"], mode));
      }
    });
  }
});
