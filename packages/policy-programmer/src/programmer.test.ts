/**
 * The programmer's write discipline: what each kind of change costs in writes, the order of the
 * writes, fail-closed errors, InSync-gated sweeping, retries with backoff, id collisions and
 * adoption after a restart.
 */
import { testing, programId } from "@ptables/policy-core";
import { emptyDesiredState, DropReason } from "@ptables/api";
import { HOST_ENDPOINTS_NOT_PROGRAMMED } from "./endpoint-manager";
import { Programmer } from "./programmer";
import { compilerWith, deltaOf, HEP, IPSET, POLICY, programmed, snapshotOf, statusOf, TestClock, WEP } from "./testing/fixtures";
import { RecordingBackend, type WriteRecord } from "./testing/recording-backend";
import { STATES } from "./testing/states";

const { allow, ipSet, policy, tier, workload, hostEndpoint } = testing;

const web = STATES.web!.state;
const pWeb = web.policies[0]!;
const key = (n: number): string => `k8s/default/pod${n}/eth0`;

function writesOf(log: WriteRecord[], table: string, op: "upsert" | "delete", prefix = ""): number {
  return log.filter((w) => w.table === table && w.op === op && w.key.startsWith(prefix)).length;
}

describe("write counts", () => {
  test("one IP-set member added or removed is exactly one write", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, web);
    backend.clearLog();
    p.applyDelta(deltaOf(2n, [{ $case: "ipSetDelta", value: { id: "s-web", added: ["10.0.1.9/32"], removed: [] } }]));
    await p.apply();
    expect(backend.log).toEqual([{ table: "setMembers", op: "upsert", key: expect.stringContaining("10.0.1.9/32") }]);
    backend.clearLog();
    p.applyDelta(deltaOf(3n, [{ $case: "ipSetDelta", value: { id: "s-web", added: [], removed: ["10.0.1.1/32"] } }]));
    await p.apply();
    expect(backend.log).toEqual([{ table: "setMembers", op: "delete", key: expect.stringContaining("10.0.1.1/32") }]);
  });

  test("a policy change writes the new slot's rules, one endpoint entry, then deletes the old slot", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, web);
    const before = new Map(backend.tables.endpoints.values().map((v, i) => [backend.tables.endpoints.keys()[i]!.ifname, v]));
    backend.clearLog();
    const changed = policy("web", { inbound: [allow({ protocol: 6, dstPorts: [{ first: 81, last: 81 }], srcIpSetIds: ["s-web"] })], outbound: [allow()] });
    p.applyDelta(deltaOf(2n, [{ $case: "policy", value: changed }]));
    await p.apply();
    for (const ifname of ["cali1", "cali2"]) {
      const old = before.get(ifname)!;
      const now = backend.tables.endpoints.entries.get(ifname)![1];
      // Only ingress changed: it moved to the other slot; egress stayed where it was.
      expect(now.ingressProgram).toBe(programId(ifname, "ingress", 1));
      expect(old.ingressProgram).toBe(programId(ifname, "ingress", 0));
      expect(now.egressProgram).toBe(old.egressProgram);
      expect(writesOf(backend.log, "rules", "upsert", `${now.ingressProgram}/`)).toBe(now.ingressLength);
      expect(writesOf(backend.log, "endpoints", "upsert", ifname)).toBe(1);
      expect(writesOf(backend.log, "rules", "delete", `${old.ingressProgram}/`)).toBe(old.ingressLength);
    }
    // The port set for 80 is replaced by one for 81; nothing else is touched.
    expect(writesOf(backend.log, "setMembers", "upsert") + writesOf(backend.log, "setMembers", "delete")).toBe(0);
    expect(p.lastApply!.writes).toBe(backend.log.length);
  });

  test("an unchanged policy resent writes nothing", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, web);
    p.applyDelta(deltaOf(2n, [{ $case: "policy", value: pWeb }]));
    await p.apply();
    expect(p.lastApply!.writes).toBe(0);
  });
});

describe("write order", () => {
  /** Asserts every `first` write in the log comes before every `second` write. */
  function before(log: WriteRecord[], first: [string, string], second: [string, string]): void {
    const idx = (t: [string, string]) => log.flatMap((w, i) => (w.table === t[0] && w.op === t[1] ? [i] : []));
    const a = idx(first);
    const b = idx(second);
    expect({ first, second, bothWritten: a.length > 0 && b.length > 0, ordered: Math.max(...a) < Math.min(...b) }).toEqual({ first, second, bothWritten: true, ordered: true });
  }

  test("members and port sets before rules before endpoints; deletes in reverse", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, STATES.nets!.state);
    expect(backend.log.every((w) => w.op === "upsert")).toBe(true);
    before(backend.log, ["setMembers", "upsert"], ["rules", "upsert"]);
    before(backend.log, ["portSets", "upsert"], ["rules", "upsert"]);
    before(backend.log, ["rules", "upsert"], ["endpoints", "upsert"]);
    backend.clearLog();
    p.applySnapshot(snapshotOf(STATES.web!.state, 2n));
    await p.apply();
    // From nets to web: web's set and rules are written first, then the endpoint flips, then
    // the old programs and the sets only they used are deleted.
    before(backend.log, ["setMembers", "upsert"], ["rules", "upsert"]);
    before(backend.log, ["rules", "upsert"], ["endpoints", "upsert"]);
    before(backend.log, ["endpoints", "upsert"], ["rules", "delete"]);
    before(backend.log, ["rules", "delete"], ["portSets", "delete"]);
    before(backend.log, ["rules", "delete"], ["setMembers", "delete"]);
    backend.clearLog();
    p.applySnapshot(snapshotOf({}, 3n));
    await p.apply();
    expect(backend.log.every((w) => w.op === "delete")).toBe(true);
    before(backend.log, ["endpoints", "delete"], ["rules", "delete"]);
    before(backend.log, ["rules", "delete"], ["setMembers", "delete"]);
  });
});

describe("fail closed", () => {
  test("an endpoint whose policy is beyond the backend gets the error program; the others are programmed", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, STATES.tooBig!.state);
    const st = statusOf(p, WEP, key(3))!;
    expect(st.state).toBe("ERROR");
    expect(st.reason).toMatch(/at most 64 rules per program.*failing closed/);
    const entry = backend.tables.endpoints.entries.get("cali3")![1];
    expect(entry.ingressLength).toBe(1);
    expect(backend.tables.rules.entries.get(`${entry.ingressProgram}/0`)![1].reason).toBe(DropReason.ProgramError);
    expect(statusOf(p, WEP, key(1))!.state).toBe("PROGRAMMED");
    expect(statusOf(p, POLICY, "GlobalNetworkPolicy//big")!.state).toBe("ERROR");
    expect(statusOf(p, POLICY, "GlobalNetworkPolicy//web")!.state).toBe("PROGRAMMED");
  });

  test("a rule with five source IP sets: endpoint and policy ERROR naming the limit", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, STATES.tooManySets!.state);
    expect(statusOf(p, WEP, key(2))).toEqual({ state: "ERROR", reason: expect.stringMatching(/5 ip sets.*at most 4.*failing closed/) });
    expect(statusOf(p, POLICY, "GlobalNetworkPolicy//many-sets")!.reason).toMatch(/at most 4/);
    expect(statusOf(p, WEP, key(1))!.state).toBe("PROGRAMMED");
  });

  test("a compiler that throws unexpectedly still leaves the endpoint closed", async () => {
    const backend = new RecordingBackend();
    const compiler = compilerWith({
      compileWorkloadProgram: () => {
        throw new TypeError("boom");
      },
    });
    const p = await programmed(backend, STATES.profileOnly!.state, { compiler });
    expect(statusOf(p, WEP, key(1))).toEqual({ state: "ERROR", reason: "boom; failing closed (all traffic dropped)" });
    expect(backend.tables.endpoints.entries.has("cali1")).toBe(true);
  });
});

describe("InSync gating", () => {
  test("entries a restarted programmer does not know are swept only once in sync", async () => {
    const backend = new RecordingBackend();
    await programmed(backend, web);
    const rulesBefore = backend.tables.rules.entries.size;
    backend.clearLog();
    // Restart; the proxy has so far only re-sent endpoint 1.
    const p = new Programmer(backend);
    p.applySnapshot(snapshotOf({ ...web, workloadEndpoints: [web.workloadEndpoints[0]!] }, 1n, false));
    await p.apply();
    expect(backend.log).toEqual([]);
    expect(backend.tables.endpoints.entries.has("cali2")).toBe(true);
    expect(backend.tables.rules.entries.size).toBe(rulesBefore);
    p.applyDelta(deltaOf(2n, [], true));
    await p.apply();
    expect(backend.tables.endpoints.entries.has("cali2")).toBe(false);
    expect(backend.tables.rules.entries.size).toBe(rulesBefore / 2);
    expect(writesOf(backend.log, "endpoints", "delete")).toBe(1);
  });

  test("a partial snapshot on a live programmer removes what it leaves out only at InSync", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, web);
    p.applySnapshot(snapshotOf({ ...web, workloadEndpoints: [web.workloadEndpoints[0]!] }, 2n, false));
    await p.apply();
    expect(backend.tables.endpoints.entries.has("cali2")).toBe(true);
    expect(statusOf(p, WEP, key(2))!.state).toBe("PROGRAMMED");
    p.applyDelta(deltaOf(3n, [], true));
    const resp = await p.apply();
    expect(backend.tables.endpoints.entries.has("cali2")).toBe(false);
    expect(resp.statuses).toContainEqual({ kind: WEP, id: key(2), state: 4, reason: "" });
  });

  test("a removal this process asked for is written before InSync", async () => {
    const backend = new RecordingBackend();
    const p = new Programmer(backend);
    p.applySnapshot(snapshotOf(web, 1n, false));
    await p.apply();
    p.applyDelta(deltaOf(2n, [{ $case: "removeWorkloadEndpoint", value: key(2) }], false));
    await p.apply();
    expect(backend.tables.endpoints.entries.has("cali2")).toBe(false);
  });
});

describe("failures and retries", () => {
  test("failing rule writes keep the old program in place, report ERROR, and are retried with backoff", async () => {
    const clock = new TestClock();
    const backend = new RecordingBackend();
    const p = await programmed(backend, web, { now: clock.now, retry: { minMs: 100, maxMs: 1000 } });
    const oldEntry = backend.tables.endpoints.entries.get("cali1")![1];
    const newSlot = programId("cali1", "ingress", 1);
    backend.fault = (table, op, k) => (table === "rules" && op === "upsert" && k.startsWith(`${newSlot}/`) ? "table full" : undefined);
    const changed = policy("web", { inbound: [allow({ protocol: 6, dstPorts: [{ first: 81, last: 81 }], srcIpSetIds: ["s-web"] })], outbound: [allow()] });
    p.applyDelta(deltaOf(2n, [{ $case: "policy", value: changed }]));
    await p.apply();
    expect(backend.tables.endpoints.entries.get("cali1")![1]).toEqual(oldEntry);
    expect(statusOf(p, WEP, key(1))).toEqual({ state: "ERROR", reason: expect.stringContaining("table full") });
    expect(statusOf(p, WEP, key(2))!.state).toBe("PROGRAMMED");
    const attempts = () => backend.log.filter((w) => w.table === "rules" && w.key === `${newSlot}/0`).length;
    expect(attempts()).toBe(1);
    expect(p.nextRetryAt()).toBe(clock.t + 100);

    await p.apply(); // not due yet: held back
    expect(attempts()).toBe(1);
    clock.advance(100);
    expect(p.needsApply()).toBe(true);
    await p.apply(); // due: retried, fails again, next delay doubles
    expect(attempts()).toBe(2);
    expect(p.nextRetryAt()).toBe(clock.t + 200);

    backend.fault = undefined;
    clock.advance(200);
    await p.apply();
    expect(backend.tables.endpoints.entries.get("cali1")![1].ingressProgram).toBe(newSlot);
    expect(statusOf(p, WEP, key(1))!.state).toBe("PROGRAMMED");
    expect(p.nextRetryAt()).toBeUndefined();
  });

  test("a backend that fails as a whole is reported and retried; nothing is lost", async () => {
    const clock = new TestClock();
    const backend = new RecordingBackend();
    backend.tables.rules.broken = "device gone";
    const p = new Programmer(backend, { now: clock.now, retry: { minMs: 50, maxMs: 1000 } });
    p.applySnapshot(snapshotOf(web, 1n));
    const resp = await p.apply();
    expect(p.lastApply!.error).toBe("device gone");
    expect(resp.appliedVersion).toBe(0n);
    expect(p.nextRetryAt()).toBe(clock.t + 50);
    // The changes are still pending, but nothing is due before the backoff ends.
    expect(p.needsApply()).toBe(false);
    clock.advance(50);
    expect(p.needsApply()).toBe(true);
    clock.t -= 50;
    backend.tables.rules.broken = undefined;
    clock.advance(50);
    const ok = await p.apply();
    expect(ok.appliedVersion).toBe(1n);
    expect(statusOf(p, WEP, key(1))!.state).toBe("PROGRAMMED");
  });

  test("an endpoint entry delete that fails keeps its programs until it succeeds", async () => {
    const clock = new TestClock();
    const backend = new RecordingBackend();
    const p = await programmed(backend, web, { now: clock.now, retry: { minMs: 10, maxMs: 10 } });
    backend.fault = (table, op, k) => (table === "endpoints" && op === "delete" && k === "cali2" ? "busy" : undefined);
    p.applyDelta(deltaOf(2n, [{ $case: "removeWorkloadEndpoint", value: key(2) }]));
    await p.apply();
    const entry = backend.tables.endpoints.entries.get("cali2")![1];
    expect(backend.tables.rules.entries.has(`${entry.ingressProgram}/0`)).toBe(true);
    backend.fault = undefined;
    clock.advance(10);
    await p.apply();
    expect(backend.tables.endpoints.entries.has("cali2")).toBe(false);
    expect(backend.tables.rules.entries.has(`${entry.ingressProgram}/0`)).toBe(false);
  });
});

describe("identifiers", () => {
  test("two IP sets hashing to one id: the later one is ERROR, and so are the endpoints using it", async () => {
    const backend = new RecordingBackend();
    const compiler = compilerWith({ ipSetNumericId: () => 42 });
    const other = ipSet("s-other", "ip", ["10.9.9.9/32"]);
    const pOther = policy("other", { inbound: [allow({ srcIpSetIds: ["s-other"] })] });
    const user = workload({ key: key(5), ifname: "cali5", tiers: [tier("default", { ingress: [pOther] })], profileIds: [] });
    const p = await programmed(backend, { ...web, ipSets: [...web.ipSets, other], policies: [pWeb, pOther], workloadEndpoints: [...web.workloadEndpoints, user] }, { compiler });
    expect(statusOf(p, IPSET, "s-web")!.state).toBe("PROGRAMMED");
    expect(statusOf(p, IPSET, "s-other")).toEqual({ state: "ERROR", reason: expect.stringContaining("already used by ip set s-web") });
    expect(statusOf(p, WEP, key(5))).toEqual({ state: "ERROR", reason: expect.stringContaining("already used by ip set s-web") });
    expect(statusOf(p, WEP, key(1))!.state).toBe("PROGRAMMED");
    expect([...backend.tables.setMembers.entries.keys()].some((k) => k.includes("10.9.9.9"))).toBe(false);

    // When the holder goes, the waiting set takes the id over.
    p.applySnapshot(snapshotOf({ ipSets: [other], policies: [pOther], workloadEndpoints: [user] }, 2n));
    await p.apply();
    await p.apply(); // the freed id is picked up by the apply after the one that freed it
    expect(statusOf(p, IPSET, "s-other")!.state).toBe("PROGRAMMED");
    expect(statusOf(p, WEP, key(5))!.state).toBe("PROGRAMMED");
    expect(p.needsApply()).toBe(false);
  });

  test("two interfaces whose program ids collide: the later endpoint is ERROR with no entry", async () => {
    const backend = new RecordingBackend();
    const compiler = compilerWith({ programId: (_ifname, dir, slot) => (dir === "ingress" ? 10 : 20) + slot });
    const p = await programmed(backend, STATES.web!.state, { compiler });
    expect(statusOf(p, WEP, key(1))!.state).toBe("PROGRAMMED");
    expect(statusOf(p, WEP, key(2))).toEqual({ state: "ERROR", reason: expect.stringContaining("already used by interface cali1") });
    expect(backend.tables.endpoints.entries.has("cali2")).toBe(false);
  });

  test("two endpoints on one interface: the later is ERROR until the first goes", async () => {
    const backend = new RecordingBackend();
    const a = workload({ key: key(1), ifname: "cali1", profileIds: ["kns.default"] });
    const b = workload({ key: key(9), ifname: "cali1", profileIds: ["kns.default"] });
    const base = STATES.profileOnly!.state;
    const p = await programmed(backend, { ...base, workloadEndpoints: [a, b] });
    expect(statusOf(p, WEP, key(9))).toEqual({ state: "ERROR", reason: `interface cali1 is already used by endpoint ${key(1)}` });
    p.applyDelta(deltaOf(2n, [{ $case: "removeWorkloadEndpoint", value: key(1) }]));
    await p.apply();
    while (p.needsApply()) await p.apply();
    expect(statusOf(p, WEP, key(9))!.state).toBe("PROGRAMMED");
    expect(backend.tables.endpoints.entries.has("cali1")).toBe(true);
  });
});

describe("restart", () => {
  test("a restarted programmer writes changes into the slot the datapath is not using", async () => {
    const backend = new RecordingBackend();
    const first = await programmed(backend, web);
    const v2 = policy("web", { inbound: [allow({ protocol: 6, dstPorts: [{ first: 81, last: 81 }], srcIpSetIds: ["s-web"] })], outbound: [allow()] });
    first.applyDelta(deltaOf(2n, [{ $case: "policy", value: v2 }]));
    await first.apply();
    expect(backend.tables.endpoints.entries.get("cali1")![1].ingressProgram).toBe(programId("cali1", "ingress", 1));

    const second = new Programmer(backend);
    second.applySnapshot(snapshotOf({ ...web, policies: [pWeb] }, 1n));
    await second.apply();
    expect(backend.tables.endpoints.entries.get("cali1")![1].ingressProgram).toBe(programId("cali1", "ingress", 0));
    expect(second.lastApply!.writesByTable.endpoints).toBe(2);
  });
});

describe("statuses", () => {
  test("host endpoints are recorded and reported as not programmed by a backend without host endpoints", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, { ...emptyDesiredState(), hostEndpoints: [hostEndpoint({ key: "hep1" })] });
    expect(statusOf(p, HEP, "hep1")).toEqual({ state: "ERROR", reason: HOST_ENDPOINTS_NOT_PROGRAMMED });
    expect(backend.tables.endpoints.entries.size).toBe(0);
    p.applyDelta(deltaOf(2n, [{ $case: "removeHostEndpoint", value: "hep1" }]));
    const resp = await p.apply();
    expect(resp.statuses).toEqual([{ kind: HEP, id: "hep1", state: 4, reason: "" }]);
  });

  test("the first response after a snapshot carries every status, later ones only changes", async () => {
    const backend = new RecordingBackend();
    const p = new Programmer(backend);
    p.applySnapshot(snapshotOf(web, 1n));
    const first = await p.apply();
    expect(first.statuses.filter((s) => s.kind === WEP).map((s) => s.id).sort()).toEqual([key(1), key(2)]);
    p.applyDelta(deltaOf(2n, [{ $case: "workloadEndpoint", value: { ...web.workloadEndpoints[0]!, adminUp: false } }]));
    const second = await p.apply();
    expect(second.statuses).toEqual([{ kind: WEP, id: key(1), state: 3, reason: "" }]);
    p.applySnapshot(snapshotOf({ ...web, workloadEndpoints: [{ ...web.workloadEndpoints[0]!, adminUp: false }, web.workloadEndpoints[1]!] }, 3n));
    const third = await p.apply();
    expect(third.statuses.filter((s) => s.kind === WEP)).toHaveLength(2);
    expect(p.lastApply!.writes).toBe(0);
  });

  test("a delta for an unknown IP set is reported once as an error and changes nothing", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, web);
    p.applyDelta(deltaOf(2n, [{ $case: "ipSetDelta", value: { id: "nope", added: ["10.1.1.1/32"], removed: [] } }]));
    const resp = await p.apply();
    expect(resp.statuses).toEqual([{ kind: IPSET, id: "nope", state: 2, reason: expect.stringContaining("unknown ip set") }]);
    expect(p.lastApply!.writes).toBe(0);
    expect((await p.apply()).statuses).toEqual([]);
  });

  test("the counter map names the policy rule behind each counter", async () => {
    const backend = new RecordingBackend();
    const p = await programmed(backend, web);
    const owners = [...p.counterOwners().values()];
    expect(owners).toContainEqual(expect.objectContaining({ policy: "GlobalNetworkPolicy//web", tier: "default", ruleIndex: 0, direction: "ingress" }));
    expect(owners).toContainEqual(expect.objectContaining({ profile: "kns.default", direction: "egress" }));
  });

  test("a backend full of endpoints: the extra endpoint is ERROR and gets in when one leaves", async () => {
    const backend = new RecordingBackend({ ...new RecordingBackend().capabilities(), maxEndpoints: 1 });
    const p = await programmed(backend, STATES.web!.state);
    expect(statusOf(p, WEP, key(1))!.state).toBe("PROGRAMMED");
    expect(statusOf(p, WEP, key(2))).toEqual({ state: "ERROR", reason: "the backend holds at most 1 endpoints" });
    p.applyDelta(deltaOf(2n, [{ $case: "removeWorkloadEndpoint", value: key(1) }]));
    await p.apply();
    while (p.needsApply()) await p.apply();
    expect(statusOf(p, WEP, key(2))!.state).toBe("PROGRAMMED");
  });
});
