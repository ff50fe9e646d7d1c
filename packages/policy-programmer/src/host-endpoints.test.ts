/**
 * Host endpoints through the programmer over a recording backend that enforces them: which
 * interfaces get entries ("*", by name, by expected address, watch-only), what their programs
 * decide (run with policy-core's table interpreter over the recorded tables), failsafes, fail
 * closed, statuses, DefaultEndpointToHostAction, the well-known sets, interfaces appearing, and
 * a restart that writes nothing.
 */
import { DropReason, EndpointFlags, WELL_KNOWN_SETS, emptyDesiredState, type DesiredState, type EndpointValue, type HostInterface, type ProgramRef } from "@ptables/api";
import { runProgram, TableSetLookup, testing, type Packet } from "@ptables/policy-core";
import { Programmer } from "./programmer";
import { deltaOf, HEP, snapshotOf, statusOf, TestClock, WEP } from "./testing/fixtures";
import { DEFAULT_TEST_CAPS, RecordingBackend } from "./testing/recording-backend";

const { allow, deny, hostEndpoint, policy, tier, workload, profile, tcp, udp } = testing;

class HostBackend extends RecordingBackend {
  interfaces: HostInterface[] = [
    { ifname: "lo", ethernet: false, up: true, addrs: ["127.0.0.1/8", "::1/128"] },
    { ifname: "eth0", ethernet: true, up: true, addrs: ["10.0.0.1/24", "10.0.0.255/32", "fe80::1/64"] },
    { ifname: "eth1", ethernet: true, up: true, addrs: ["192.168.5.1/24"] },
    { ifname: "tunl0", ethernet: false, up: true, addrs: ["10.65.7.1/32"] },
    { ifname: "cali1", ethernet: true, up: true, addrs: [] },
  ];
  scans = 0;

  constructor() {
    super({ ...DEFAULT_TEST_CAPS, hostEndpoints: true });
  }

  hostInterfaces(): Promise<HostInterface[]> {
    this.scans++;
    return Promise.resolve(structuredClone(this.interfaces));
  }
}

function entry(b: RecordingBackend, ifname: string): EndpointValue | undefined {
  return b.tables.endpoints.entries.get(ifname)?.[1];
}

type Hook = "ingress" | "egress" | "untrackedIngress" | "untrackedEgress" | "preDnatIngress" | "forwardIngress" | "forwardEgress" | "toHost";

/** Runs one program of an entry with the recorded tables: "allow", "continue", "deny/<reason>" or "none". */
function verdict(b: RecordingBackend, ifname: string, hook: Hook, packet: Packet): string {
  const v = entry(b, ifname);
  if (!v) throw new Error(`no entry for ${ifname}`);
  const ref: ProgramRef | undefined =
    hook === "ingress" ? { program: v.ingressProgram, length: v.ingressLength } : hook === "egress" ? { program: v.egressProgram, length: v.egressLength } : v[hook];
  if (!ref || ref.length === 0) return "none";
  const rules = Array.from({ length: ref.length }, (_, i) => b.tables.rules.entries.get(`${ref.program}/${i}`)?.[1]);
  if (rules.some((r) => r === undefined)) throw new Error(`${ifname} ${hook}: program ${ref.program} is incomplete`);
  const sets = TableSetLookup.from(
    [...b.tables.setMembers.entries.values()].map(([k]) => k),
    [...b.tables.portSets.entries.values()].map(([k]) => k),
  );
  const r = runProgram(rules as never, sets, packet);
  return r.verdict === "deny" ? `deny/${DropReason[r.reason]}` : r.verdict;
}

function wellKnown(b: RecordingBackend, setId: number): string[] {
  return [...b.tables.setMembers.entries.values()]
    .map(([k]) => k)
    .filter((k) => k.setId === setId)
    .map((k) => `${k.addr}/${k.prefixLen}`)
    .sort();
}

const denyAll = policy("deny-all", { inbound: [deny()], outbound: [deny()] });
const allowWeb = policy("allow-web", { inbound: [allow({ protocol: 6, dstPorts: [{ first: 80, last: 80 }] })] });
const from = "10.0.0.9";
const toHost = (port: number): Packet => tcp(`${from}:40000`, `10.0.0.1:${port}`);

async function start(state: Partial<DesiredState>, backend = new HostBackend(), clock = new TestClock()): Promise<{ p: Programmer; backend: HostBackend; clock: TestClock }> {
  const p = new Programmer(backend, { now: clock.now, hostInterfaceScanMs: 1000 });
  p.applySnapshot(snapshotOf(state, 1n));
  await p.apply();
  return { p, backend, clock };
}

describe("host endpoints", () => {
  test("a named host endpoint: normal deny-all policy lets the failsafe ports through, nothing else", async () => {
    const hep = hostEndpoint({ key: "hep-eth0", ifname: "eth0", tiers: [tier("default", { ingress: [denyAll], egress: [denyAll] })] });
    const { p, backend } = await start({ policies: [denyAll], hostEndpoints: [hep] });
    expect(statusOf(p, HEP, "hep-eth0")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect([...backend.tables.endpoints.entries.keys()]).toEqual(["eth0"]);
    expect(entry(backend, "eth0")!.flags).toBe(EndpointFlags.HostEndpoint);
    // Felix's default failsafes: tcp 22 and 6443 in, udp 53 out.
    expect(verdict(backend, "eth0", "ingress", toHost(22))).toBe("allow");
    expect(verdict(backend, "eth0", "ingress", toHost(6443))).toBe("allow");
    expect(verdict(backend, "eth0", "ingress", toHost(80))).toBe("deny/PolicyDeny");
    expect(verdict(backend, "eth0", "egress", udp("10.0.0.1:40000", "10.0.0.53:53"))).toBe("allow");
    expect(verdict(backend, "eth0", "egress", tcp("10.0.0.1:40000", "10.0.0.53:80"))).toBe("deny/PolicyDeny");
    // No untracked, pre-DNAT or forward policy: those hooks have no program.
    for (const hook of ["untrackedIngress", "untrackedEgress", "preDnatIngress", "forwardIngress", "forwardEgress"] as const) {
      expect([hook, verdict(backend, "eth0", hook, toHost(80))]).toEqual([hook, "none"]);
    }
  });

  test("untracked, pre-DNAT and apply-on-forward policy go to their hooks; failsafes skip the early ones", async () => {
    const untracked = policy("untracked", { inbound: [deny({ protocol: 17 })], outbound: [allow()], untracked: true });
    const preDnat = policy("pre-dnat", { inbound: [deny({ protocol: 6, dstPorts: [{ first: 30000, last: 32767 }] })], preDnat: true });
    const aof = policy("aof", { inbound: [allow({ dstNets: ["10.65.0.0/16"] })] });
    const hep = hostEndpoint({
      key: "hep-eth0",
      ifname: "eth0",
      untrackedTiers: [tier("u", { ingress: [untracked], egress: [untracked], defaultAction: "pass" })],
      preDnatTiers: [tier("p", { ingress: [preDnat], defaultAction: "pass" })],
      forwardTiers: [tier("f", { ingress: [aof] })],
      tiers: [tier("default", { ingress: [allowWeb] })],
    });
    const { backend } = await start({ policies: [untracked, preDnat, aof, allowWeb], hostEndpoints: [hep] });
    expect(verdict(backend, "eth0", "untrackedIngress", udp(`${from}:1`, "10.0.0.1:9999"))).toBe("deny/PolicyDeny");
    expect(verdict(backend, "eth0", "untrackedIngress", udp(`${from}:67`, "10.0.0.1:68"))).toBe("continue"); // failsafe udp 68
    expect(verdict(backend, "eth0", "untrackedEgress", udp("10.0.0.1:1", `${from}:9`))).toBe("allow");
    expect(verdict(backend, "eth0", "preDnatIngress", toHost(30080))).toBe("deny/PolicyDeny");
    expect(verdict(backend, "eth0", "preDnatIngress", toHost(80))).toBe("continue");
    expect(verdict(backend, "eth0", "forwardIngress", tcp(`${from}:1`, "10.65.0.5:80"))).toBe("allow");
    expect(verdict(backend, "eth0", "forwardIngress", tcp(`${from}:1`, "10.66.0.5:80"))).toBe("deny/EndOfTier");
    // No forward egress policy: forwarded traffic leaving by eth0 is allowed.
    expect(verdict(backend, "eth0", "forwardEgress", tcp("10.65.0.5:1", `${from}:80`))).toBe("allow");
    expect(verdict(backend, "eth0", "ingress", toHost(80))).toBe("allow");
    expect(verdict(backend, "eth0", "ingress", toHost(81))).toBe("deny/EndOfTier");
  });

  test('"*" covers every host interface but loopback and workloads; a named or by-address host endpoint wins its interface', async () => {
    const star = hostEndpoint({ key: "all", ifname: "*", tiers: [tier("default", { ingress: [denyAll] })] });
    const byIp = hostEndpoint({ key: "by-ip", ifname: "", expectedIpv4Addrs: ["192.168.5.1"], tiers: [tier("default", { ingress: [allowWeb] })] });
    const ep = workload({ key: "k8s/default/pod1/eth0", ifname: "cali1", profileIds: ["allow-all"] });
    const { p, backend } = await start({ policies: [denyAll, allowWeb], profiles: [profile("allow-all", [allow()], [allow()])], hostEndpoints: [star, byIp], workloadEndpoints: [ep] });
    expect([...backend.tables.endpoints.entries.keys()].sort()).toEqual(["cali1", "eth0", "eth1", "tunl0"]);
    expect(entry(backend, "tunl0")!.flags).toBe(EndpointFlags.HostEndpoint | EndpointFlags.NoL2Header);
    expect(verdict(backend, "eth0", "ingress", toHost(80))).toBe("deny/PolicyDeny");
    expect(verdict(backend, "eth1", "ingress", tcp(`${from}:1`, "192.168.5.1:80"))).toBe("allow");
    expect(verdict(backend, "tunl0", "ingress", toHost(80))).toBe("deny/PolicyDeny");
    expect(statusOf(p, HEP, "all")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(statusOf(p, HEP, "by-ip")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(statusOf(p, WEP, "k8s/default/pod1/eth0")!.state).toBe("PROGRAMMED");
  });

  test("a host endpoint matching no interface is DOWN; one appearing later is programmed at the next scan", async () => {
    const hep = hostEndpoint({ key: "hep-eth2", ifname: "eth2", tiers: [tier("default", { ingress: [denyAll] })] });
    const { p, backend, clock } = await start({ policies: [denyAll], hostEndpoints: [hep] });
    expect(statusOf(p, HEP, "hep-eth2")).toEqual({ state: "DOWN", reason: "no host interface matches it" });
    expect(backend.tables.endpoints.entries.size).toBe(0);
    backend.interfaces.push({ ifname: "eth2", ethernet: true, up: true, addrs: ["10.2.0.1/24"] });
    // Not due yet: nothing to do, nothing scanned.
    const scans = backend.scans;
    expect(p.needsApply()).toBe(false);
    clock.advance(1000);
    expect(p.needsApply()).toBe(true);
    await p.apply();
    expect(backend.scans).toBe(scans + 1);
    expect(statusOf(p, HEP, "hep-eth2")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(verdict(backend, "eth2", "ingress", tcp(`${from}:1`, "10.2.0.1:80"))).toBe("deny/PolicyDeny");
    // The interface goes: its entry is deleted and the host endpoint is DOWN again.
    backend.interfaces = backend.interfaces.filter((i) => i.ifname !== "eth2");
    clock.advance(1000);
    await p.apply();
    expect(backend.tables.endpoints.entries.has("eth2")).toBe(false);
    expect(statusOf(p, HEP, "hep-eth2")!.state).toBe("DOWN");
  });

  test("a host endpoint whose policy cannot be compiled is ERROR and fails closed except for the failsafes", async () => {
    const hep = hostEndpoint({ key: "bad", ifname: "eth0", tiers: [tier("default", { ingress: [policy("missing")] })] });
    const { p, backend } = await start({ hostEndpoints: [hep] });
    expect(statusOf(p, HEP, "bad")!.state).toBe("ERROR");
    expect(statusOf(p, HEP, "bad")!.reason).toMatch(/policy GlobalNetworkPolicy\/\/missing is not known; failing closed \(all but the failsafe ports dropped\)/);
    expect(verdict(backend, "eth0", "ingress", toHost(22))).toBe("allow");
    expect(verdict(backend, "eth0", "ingress", toHost(80))).toBe("deny/ProgramError");
    expect(verdict(backend, "eth0", "egress", udp("10.0.0.1:1", "10.0.0.53:53"))).toBe("allow");
    expect(verdict(backend, "eth0", "forwardIngress", tcp(`${from}:1`, "10.65.0.5:80"))).toBe("deny/ProgramError");
  });

  test("DefaultEndpointToHostAction: DROP by default, ACCEPT, RETURN through the * host endpoint", async () => {
    const ep = workload({ key: "k8s/default/pod1/eth0", ifname: "cali1", profileIds: ["allow-all"] });
    const base = { profiles: [profile("allow-all", [allow()], [allow()])], workloadEndpoints: [ep] };
    const podToHost = tcp("10.65.0.2:40000", "10.0.0.1:10250");
    const { p, backend } = await start(base);
    expect(verdict(backend, "cali1", "toHost", podToHost)).toBe("deny/EndpointToHost");

    const cfg = (action: string) => ({ ...emptyDesiredState().config!, defaultEndpointToHostAction: action });
    p.applyDelta(deltaOf(2n, [{ $case: "config", value: cfg("ACCEPT") }]));
    await p.apply();
    expect(verdict(backend, "cali1", "toHost", podToHost)).toBe("allow");

    const kubelet = policy("kubelet", { inbound: [allow({ protocol: 6, dstPorts: [{ first: 10250, last: 10250 }] })] });
    const star = hostEndpoint({ key: "all", ifname: "*", tiers: [tier("default", { ingress: [kubelet] })] });
    p.applyDelta(deltaOf(3n, [{ $case: "config", value: cfg("RETURN") }, { $case: "policy", value: kubelet }, { $case: "hostEndpoint", value: star }]));
    await p.apply();
    expect(verdict(backend, "cali1", "toHost", podToHost)).toBe("allow");
    expect(verdict(backend, "cali1", "toHost", tcp("10.65.0.2:40000", "10.0.0.1:9100"))).toBe("deny/EndOfTier");
    expect(verdict(backend, "cali1", "toHost", tcp("10.65.0.2:40000", "10.0.0.1:22"))).toBe("allow"); // failsafe
    expect(statusOf(p, WEP, ep.key)!.state).toBe("PROGRAMMED");
  });

  test("well-known sets: Service destinations, the host's addresses; watch-only entries while there are Service destinations", async () => {
    const config = { ...emptyDesiredState().config!, serviceNets: ["10.96.0.0/12", "fd00:96::/112"] };
    const { p, backend, clock } = await start({ config });
    expect(wellKnown(backend, WELL_KNOWN_SETS.serviceNets)).toEqual(["10.96.0.0/12", "fd00:96::/112"]);
    expect(wellKnown(backend, WELL_KNOWN_SETS.hostAddresses)).toEqual(["10.0.0.1/32", "10.0.0.255/32", "10.65.7.1/32", "127.0.0.0/8", "192.168.5.1/32", "::1/128", "fe80::1/128"]);
    // Every host interface is watched (all programs empty), workload and loopback interfaces are not.
    expect([...backend.tables.endpoints.entries.keys()].sort()).toEqual(["eth0", "eth1", "tunl0"]);
    expect(entry(backend, "eth0")).toEqual({ ingressProgram: 0, egressProgram: 0, flags: EndpointFlags.HostEndpoint, ingressLength: 0, egressLength: 0 });
    // A new address shows up at the next scan.
    backend.interfaces[1]!.addrs.push("10.0.0.2/24");
    clock.advance(1000);
    await p.apply();
    expect(wellKnown(backend, WELL_KNOWN_SETS.hostAddresses)).toContain("10.0.0.2/32");
    // No Service destinations any more: the watch-only entries go.
    p.applyDelta(deltaOf(2n, [{ $case: "config", value: { ...config, serviceNets: [] } }]));
    await p.apply();
    expect(backend.tables.endpoints.entries.size).toBe(0);
    expect(wellKnown(backend, WELL_KNOWN_SETS.serviceNets)).toEqual([]);
  });

  test("with VXLAN in use, tunnel packets from and to the other Calico hosts pass a deny-all host endpoint; new hosts are picked up", async () => {
    const hep = hostEndpoint({ key: "hep-eth0", ifname: "eth0", tiers: [tier("default", { ingress: [denyAll], egress: [denyAll] })] });
    const host = (hostname: string, ipv4Addr: string) => ({ hostname, ipv4Addr, ipv6Addr: "", asnumber: "", labels: {} });
    const encapsulation = { ipipEnabled: false, vxlanEnabled: true, vxlanEnabledV6: false, noEncapEnabled: false };
    const { p, backend } = await start({ policies: [denyAll], hostEndpoints: [hep], encapsulation, hosts: [host("node1", "10.0.0.1/24"), host("node2", "10.0.0.2/24")] });
    expect(verdict(backend, "eth0", "ingress", udp("10.0.0.2:40000", "10.0.0.1:4789"))).toBe("allow");
    expect(verdict(backend, "eth0", "egress", udp("10.0.0.1:40000", "10.0.0.2:4789"))).toBe("allow");
    expect(verdict(backend, "eth0", "ingress", udp("10.0.0.3:40000", "10.0.0.1:4789"))).toBe("deny/PolicyDeny");
    expect(verdict(backend, "eth0", "ingress", udp("10.0.0.2:40000", "10.0.0.1:4790"))).toBe("deny/PolicyDeny");
    p.applyDelta(deltaOf(2n, [{ $case: "host", value: host("node3", "10.0.0.3/24") }]));
    await p.apply();
    expect(verdict(backend, "eth0", "ingress", udp("10.0.0.3:40000", "10.0.0.1:4789"))).toBe("allow");
  });

  test("a restarted programmer over the same backend writes nothing", async () => {
    const star = hostEndpoint({ key: "all", ifname: "*", tiers: [tier("default", { ingress: [allowWeb] })], untrackedTiers: [] });
    const named = hostEndpoint({ key: "eth1", ifname: "eth1", forwardTiers: [tier("f", { ingress: [allowWeb] })] });
    const ep = workload({ key: "k8s/default/pod1/eth0", ifname: "cali1", profileIds: ["allow-all"] });
    const state = {
      config: { ...emptyDesiredState().config!, serviceNets: ["10.96.0.0/12"], defaultEndpointToHostAction: "RETURN" },
      policies: [allowWeb],
      profiles: [profile("allow-all", [allow()], [allow()])],
      hostEndpoints: [star, named],
      workloadEndpoints: [ep],
    };
    const { backend } = await start(state);
    expect(backend.tables.endpoints.entries.size).toBe(4);
    const again = new Programmer(backend, { hostInterfaceScanMs: 1000 });
    again.applySnapshot(snapshotOf(state, 1n));
    await again.apply();
    expect(again.lastApply!.writesByTable).toEqual({ setMembers: 0, portSets: 0, rules: 0, endpoints: 0 });
    expect(statusOf(again, HEP, "all")!.state).toBe("PROGRAMMED");
    expect(statusOf(again, HEP, "eth1")!.state).toBe("PROGRAMMED");
  });

  test("removing a host endpoint deletes its entries and programs and reports it removed", async () => {
    const hep = hostEndpoint({ key: "hep-eth0", ifname: "eth0", tiers: [tier("default", { ingress: [denyAll] })] });
    const { p, backend } = await start({ policies: [denyAll], hostEndpoints: [hep] });
    expect(backend.tables.rules.entries.size).toBeGreaterThan(0);
    p.applyDelta(deltaOf(2n, [{ $case: "removeHostEndpoint", value: "hep-eth0" }]));
    const resp = await p.apply();
    expect(backend.tables.endpoints.entries.size).toBe(0);
    expect(backend.tables.rules.entries.size).toBe(0);
    expect(resp.statuses).toEqual([{ kind: HEP, id: "hep-eth0", state: 4, reason: "" }]);
  });
});
