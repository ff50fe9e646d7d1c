import { CachingTable, DropReason, EndpointFlags, TABLE_UPSERT_ORDER, ValidationError, type EndpointValue, type Tables, type WorkloadEndpoint } from "@ptables/api";
import { compileWorkloadProgram, createModelLookup, evaluatePolicy, programId, programSetEntries, verdictDropReason, type Direction, type Packet, type PolicyLookup } from "@ptables/policy-core";
import { testing as t } from "@ptables/policy-core";
import { ReferenceDpuBackend } from "./index";

/** Writes an endpoint's programs and their sets, in apply order, as the policy programmer would. */
async function programEndpoint(backend: ReferenceDpuBackend, ep: WorkloadEndpoint, lookup: PolicyLookup, flags = 0): Promise<void> {
  const caches = Object.fromEntries(TABLE_UPSERT_ORDER.map((name) => [name, new CachingTable(backend.tables[name] as never)])) as { [K in keyof Tables]: CachingTable<unknown, unknown> };
  const value: EndpointValue = { ingressProgram: 0, egressProgram: 0, flags, ingressLength: 0, egressLength: 0 };
  for (const direction of ["ingress", "egress"] as const) {
    const prog = compileWorkloadProgram(ep, direction, lookup, backend.capabilities());
    const id = programId(ep.ifname, direction, 0);
    const { members, ports } = programSetEntries(prog, lookup);
    for (const m of members) caches.setMembers.setDesired(m, true);
    for (const p of ports) caches.portSets.setDesired(p, true);
    prog.rules.forEach((r, index) => caches.rules.setDesired({ programId: id, index }, r));
    if (direction === "ingress") [value.ingressProgram, value.ingressLength] = [id, prog.rules.length];
    else [value.egressProgram, value.egressLength] = [id, prog.rules.length];
  }
  caches.endpoints.setDesired({ ifname: ep.ifname }, value);
  for (const name of TABLE_UPSERT_ORDER) expect((await caches[name].applyUpserts()).errors.size).toBe(0);
}

const web = t.ipSet("s:web", "net", ["10.65.0.0/24", "fd00:65::/64"]);
const http = t.ipSet("n:http", "ip-port", ["10.65.0.2,tcp:8080", "fd00:65::2,tcp:8080"]);
const allowHttp = t.policy("allow-http", { namespace: "ns", kind: "NetworkPolicy", inbound: [t.log({ protocol: 6 }), t.allow({ srcIpSetIds: ["s:web"], dstNamedPortIpSetIds: ["n:http"] }), t.deny({ protocol: 17 })], outbound: [t.pass()] });
const lookup = createModelLookup({ policies: [allowHttp], ipSets: [web, http], profiles: [t.profile("kns.ns", [], [t.allow({ dstNets: ["0.0.0.0/0"] })])] });
const ep = t.workload({ ifname: "cali12345", tiers: [t.tier("default", { ingress: [allowHttp], egress: [allowHttp] })], profileIds: ["kns.ns"] });

describe("ReferenceDpuBackend packet path", () => {
  test("judges packets exactly as the reference evaluator, and counts rules and drops", async () => {
    const backend = new ReferenceDpuBackend();
    await programEndpoint(backend, ep, lookup);
    const cases: Array<[Direction, Packet]> = [
      ["ingress", t.tcp("10.65.0.9:4000", "10.65.0.2:8080")],
      ["ingress", t.tcp("[fd00:65::9]:4000", "[fd00:65::2]:8080")],
      ["ingress", t.tcp("10.66.0.9:4000", "10.65.0.2:8080")],
      ["ingress", t.udp("10.65.0.9:4000", "10.65.0.2:53")],
      ["ingress", t.icmp("10.65.0.9", "10.65.0.2")],
      ["egress", t.udp("10.65.0.2:4000", "8.8.8.8:53")],
      ["egress", t.udp("[fd00:65::2]:4000", "[2001:db8::1]:53")],
    ];
    for (const [direction, packet] of cases) {
      const want = evaluatePolicy(lookup, { kind: "workload", endpoint: ep }, direction, packet);
      const got = backend.processPacket(ep.ifname, direction, packet, 100);
      expect([direction, packet, got.verdict, got.reason]).toEqual([direction, packet, want.verdict, verdictDropReason(want)]);
    }
    const prog = compileWorkloadProgram(ep, "ingress", lookup, backend.capabilities());
    const counters = await backend.readRuleCounters();
    const logCounter = counters.get(prog.rules[0]!.counterId);
    const allowCounter = counters.get(prog.rules[1]!.counterId);
    expect(logCounter).toEqual({ packets: 3n, bytes: 300n }); // the three tcp packets
    expect(allowCounter).toEqual({ packets: 2n, bytes: 200n });
    const drops = await backend.readDropCounters();
    expect(drops.get(DropReason.PolicyDeny)).toEqual({ packets: 1n, bytes: 100n });
    expect(drops.get(DropReason.EndOfTier)).toEqual({ packets: 2n, bytes: 200n });
    expect(drops.get(DropReason.NoProfileMatch)).toEqual({ packets: 1n, bytes: 100n });
    expect(await backend.listFlows(100)).toEqual([]);
  });

  test("no endpoint and missing rules fail closed", async () => {
    const backend = new ReferenceDpuBackend();
    expect(backend.processPacket("cali-nothing", "ingress", t.tcp("10.0.0.1:1", "10.0.0.2:2"))).toMatchObject({ verdict: "deny", reason: DropReason.NoEndpoint });
    await programEndpoint(backend, ep, lookup);
    await backend.tables.rules.applyBatch([], [{ programId: programId(ep.ifname, "ingress", 0), index: 1 }]);
    expect(backend.processPacket(ep.ifname, "ingress", t.tcp("10.65.0.9:4000", "10.65.0.2:8080"))).toMatchObject({ verdict: "deny", reason: DropReason.ProgramError });
    expect((await backend.readDropCounters()).get(DropReason.NoEndpoint)?.packets).toBe(1n);
  });

  test("VXLAN and IPIP from a workload are dropped when the endpoint asks for it", async () => {
    const allowAll = t.policy("all", { inbound: [t.allow()], outbound: [t.allow()] });
    const l = createModelLookup({ policies: [allowAll] });
    const open = t.workload({ ifname: "cali1", tiers: [t.tier("t", { ingress: [allowAll], egress: [allowAll] })] });
    const backend = new ReferenceDpuBackend({ vxlanPort: 4789 });
    await programEndpoint(backend, open, l, EndpointFlags.DropEncapFromWorkload);
    const vxlan = t.udp("10.65.0.2:5000", "192.168.0.2:4789");
    const ipip = t.raw(4, "10.65.0.2", "192.168.0.2");
    expect(backend.processPacket("cali1", "egress", vxlan)).toMatchObject({ reason: DropReason.EncapFromWorkload });
    expect(backend.processPacket("cali1", "egress", ipip)).toMatchObject({ reason: DropReason.EncapFromWorkload });
    expect(backend.processPacket("cali1", "ingress", vxlan).verdict).toBe("allow");
    await programEndpoint(backend, open, l, 0);
    expect(backend.processPacket("cali1", "egress", vxlan).verdict).toBe("allow");
  });

  test("cleanup empties tables, the set index and counters", async () => {
    const backend = new ReferenceDpuBackend();
    await programEndpoint(backend, ep, lookup);
    backend.processPacket(ep.ifname, "ingress", t.tcp("10.65.0.9:4000", "10.65.0.2:8080"));
    await backend.cleanup();
    expect((await backend.readRuleCounters()).size + (await backend.readDropCounters()).size).toBe(0);
    for (const table of Object.values(backend.tables)) expect(table.size).toBe(0);
    // Reprogram only rules and the endpoint: without their sets the named-port allow cannot match.
    await programEndpoint(backend, ep, lookup);
    await backend.tables.setMembers.applyBatch([], (await backend.tables.setMembers.loadAll()).map(([k]) => k));
    expect(backend.processPacket(ep.ifname, "ingress", t.tcp("10.65.0.9:4000", "10.65.0.2:8080")).reason).toBe(DropReason.EndOfTier);
  });

  test("bad arguments are ValidationErrors", () => {
    const backend = new ReferenceDpuBackend();
    expect(() => backend.processPacket("x", "sideways" as Direction, t.tcp("10.0.0.1:1", "10.0.0.2:2"))).toThrow(ValidationError);
    expect(() => backend.processPacket("x", "ingress", t.tcp("10.0.0.1:1", "10.0.0.2:2"), -1)).toThrow("bytes -1 is not a non-negative integer");
    expect(() => backend.processPacket("x", "ingress", { ...t.tcp("10.0.0.1:1", "10.0.0.2:2"), dstIp: "nope" })).toThrow(ValidationError);
  });
});
