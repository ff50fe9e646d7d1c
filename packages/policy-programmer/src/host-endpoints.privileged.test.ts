/**
 * privileged: host endpoints, DefaultEndpointToHostAction and Service traffic with real packets.
 * The programmer (in this process) compiles Calico model states and programs the eBPF backend
 * running inside an emulated node (RemoteBackend); a second node on the same fabric is the
 * outside world; two pods hang off the first node. Services are a kube-proxy-style DNAT with
 * iptables inside the node's namespace. Everything lives in namespaces this test creates.
 *
 *   node2 (10.254.0.2) --fabric-- eth0 (10.254.0.1) node1 --cali..a-- pod1 10.65.0.2
 *                                                          \--cali..b-- pod2 10.65.0.3
 */
import { emptyDesiredState, type DataplaneConfig, type DesiredState, type HostEndpoint, type Policy, type WorkloadEndpoint } from "@ptables/api";
import { testing as ebpfTesting } from "@ptables/backend-ebpf";
import { testing } from "@ptables/policy-core";
import { createTopology, startServer, tcpConnect, udpExchange, type EchoServer, type NodeNs, type PodNs } from "@ptables/testkit";
import { Programmer } from "./programmer";
import { HEP, snapshotOf, statusOf, WEP } from "./testing/fixtures";

const { allow, deny, hostEndpoint, policy, profile, tier, workload } = testing;

const isRoot = process.getuid?.() === 0;
const describeIfRoot = isRoot ? describe : describe.skip;

const tag = String(process.pid % 100000);
const topology = createTopology({ prefix: "pthep" });
const bpfDir = ebpfTesting.uniqueBpfDir();

const POD1_IP = "10.65.0.2";
const POD2_IP = "10.65.0.3";
const NODE1_IP = "10.254.0.1";
const NODE2_IP = "10.254.0.2";
const DENIED = { timeoutMs: 1000 };

let node1: NodeNs;
let node2: NodeNs;
let pod1: PodNs;
let pod2: PodNs;
let backend: ebpfTesting.RemoteBackend;
let programmer: Programmer;
let version = 0n;
const servers: Record<string, EchoServer> = {};

const allowAll = profile("allow-all", [allow()], [allow()]);

function pod(p: PodNs, init: Partial<WorkloadEndpoint> = {}): WorkloadEndpoint {
  // The real MAC: the programmer's route manager writes the node's neighbour entry from it.
  return workload({ key: `k8s/default/${p.name}/eth0`, workloadId: `default/${p.name}`, ifname: p.ifname, mac: p.mac, ipv4Nets: [`${p.ipv4}/32`], profileIds: ["allow-all"], ...init });
}

function config(init: Partial<DataplaneConfig> = {}): DataplaneConfig {
  return { ...emptyDesiredState().config!, ...init };
}

/** Programs a whole state (a snapshot) and waits until nothing is left to do. */
async function programState(state: Partial<DesiredState>): Promise<void> {
  version += 1n;
  programmer.applySnapshot(snapshotOf({ profiles: [allowAll], workloadEndpoints: [pod(pod1), pod(pod2)], ...state, policies: state.policies ?? [] }, version));
  for (let i = 0; i < 5; i++) {
    await programmer.apply();
    expect(programmer.lastApply!.error).toBeUndefined();
    if (!programmer.needsApply()) break;
  }
}

const eth0 = (init: Partial<HostEndpoint>): HostEndpoint => hostEndpoint({ key: "node1-eth0", ifname: "eth0", ...init });
const denyAll = policy("deny-all", { inbound: [deny()], outbound: [deny()] });
const allowEverything = policy("allow-everything", { inbound: [allow()], outbound: [allow()] });

async function ok(p: Promise<{ ok: boolean; error?: string }>): Promise<boolean> {
  return (await p).ok;
}

async function iptables(args: string[]): Promise<void> {
  await topology.exec(node1.ns, ["iptables", "-w", ...args]);
}

describeIfRoot("privileged: host endpoints and Services over the eBPF datapath", () => {
  beforeAll(async () => {
    ebpfTesting.ensureBpfObject();
    node1 = await topology.addNode("node1");
    node2 = await topology.addNode("node2");
    pod1 = await topology.addPod(node1, { name: "pod1", ifname: `calih${tag}a`, ipv4: POD1_IP });
    pod2 = await topology.addPod(node1, { name: "pod2", ifname: `calih${tag}b`, ipv4: POD2_IP });
    await topology.addFabric([node1, node2]);
    await topology.ip(node2.ns, ["-4", "route", "add", "10.65.0.0/16", "via", NODE1_IP]);
    for (const [name, where, port] of [
      ["node1:22", node1, 22],
      ["node1:8080", node1, 8080],
      ["node1:8081", node1, 8081],
      ["node2:8080", node2, 8080],
      ["node2:8081", node2, 8081],
      ["pod2:8080", pod2, 8080],
      ["pod2:9090", pod2, 9090],
    ] as const) {
      servers[name] = await startServer(where, { proto: "tcp", port, family: "ipv4" });
    }
    servers["node2:53/udp"] = await startServer(node2, { proto: "udp", port: 53, family: "ipv4" });
    backend = ebpfTesting.RemoteBackend.start({ ns: node1.ns, bpfDir, mapSizes: { members: 8192, portSets: 2048, rules: 8192, endpoints: 64, conntrack: 8192, counters: 8192, frags: 64, svcPending: 1024 } });
    await backend.open();
    programmer = new Programmer(backend, { hostInterfaceScanMs: 200 });
  }, 120_000);

  afterAll(async () => {
    try {
      for (const s of Object.values(servers)) await s.stop();
      await backend?.cleanup().catch(() => undefined);
      await backend?.stop();
    } finally {
      await topology.destroy();
    }
  }, 60_000);

  test("normal policy deny-all on eth0: failsafe ports still pass both ways, other ports do not; forwarded traffic is not affected", async () => {
    await programState({ policies: [denyAll], hostEndpoints: [eth0({ tiers: [tier("default", { ingress: [denyAll], egress: [denyAll] })] })] });
    expect(statusOf(programmer, HEP, "node1-eth0")).toEqual({ state: "PROGRAMMED", reason: "" });
    expect(await backend.filters("eth0")).toEqual({ ingress: expect.any(Number), egress: expect.any(Number) });
    expect(await ok(tcpConnect(node2, NODE1_IP, 22))).toBe(true); // FailsafeInboundHostPorts tcp:22
    expect(await ok(tcpConnect(node2, NODE1_IP, 8080, DENIED))).toBe(false);
    expect(await ok(udpExchange(node1, NODE2_IP, 53))).toBe(true); // FailsafeOutboundHostPorts udp:53
    expect(await ok(tcpConnect(node1, NODE2_IP, 8080, DENIED))).toBe(false);
    // Routed through eth0 to a pod: no apply-on-forward policy, so allowed.
    expect(await ok(tcpConnect(node2, POD2_IP, 8080))).toBe(true);
  });

  test("pre-DNAT policy: judged on every new flow arriving on eth0, to the host or forwarded", async () => {
    const noWeb = policy("no-8080", { inbound: [deny({ protocol: 6, dstPorts: [{ first: 8080, last: 8080 }] })], preDnat: true });
    await programState({
      policies: [noWeb, allowEverything],
      hostEndpoints: [eth0({ preDnatTiers: [tier("default", { ingress: [noWeb], defaultAction: "pass" })], tiers: [tier("default", { ingress: [allowEverything], egress: [allowEverything] })] })],
    });
    expect(await ok(tcpConnect(node2, NODE1_IP, 8081))).toBe(true);
    expect(await ok(tcpConnect(node2, NODE1_IP, 8080, DENIED))).toBe(false);
    expect(await ok(tcpConnect(node2, POD2_IP, 9090))).toBe(true);
    expect(await ok(tcpConnect(node2, POD2_IP, 8080, DENIED))).toBe(false);
  });

  test("apply-on-forward policy judges forwarded traffic only; the host's own traffic meets the normal tiers", async () => {
    const onlyWeb = policy("only-pod2-web", { inbound: [allow({ protocol: 6, dstNets: [`${POD2_IP}/32`], dstPorts: [{ first: 8080, last: 8080 }] })] });
    await programState({
      policies: [onlyWeb, allowEverything],
      hostEndpoints: [eth0({ forwardTiers: [tier("default", { ingress: [onlyWeb] })], tiers: [tier("default", { ingress: [allowEverything], egress: [allowEverything] })] })],
    });
    expect(await ok(tcpConnect(node2, POD2_IP, 8080))).toBe(true);
    expect(await ok(tcpConnect(node2, POD2_IP, 9090, DENIED))).toBe(false);
    expect(await ok(tcpConnect(node2, NODE1_IP, 8080))).toBe(true);
  });

  test("untracked allow lets a flow through a deny-all normal policy without conntrack entries", async () => {
    const untracked = policy("untracked-8081", {
      inbound: [allow({ protocol: 6, dstPorts: [{ first: 8081, last: 8081 }] })],
      outbound: [allow({ protocol: 6, srcPorts: [{ first: 8081, last: 8081 }] })],
      untracked: true,
    });
    await programState({
      policies: [untracked, denyAll],
      hostEndpoints: [eth0({ untrackedTiers: [tier("untracked", { ingress: [untracked], egress: [untracked], defaultAction: "pass" })], tiers: [tier("default", { ingress: [denyAll], egress: [denyAll] })] })],
    });
    // Forget eth0's flows from earlier tests, so any entry found below is this test's.
    const onEth0 = async () => (await backend.listFlows(10000)).filter((f) => f.ifname === "eth0");
    await backend.deleteFlows(await onEth0());
    expect(await onEth0()).toEqual([]);
    expect(await ok(tcpConnect(node2, NODE1_IP, 8081))).toBe(true);
    expect(await ok(tcpConnect(node2, NODE1_IP, 8080, DENIED))).toBe(false);
    expect(await onEth0()).toEqual([]);
  });

  test('"*" covers every host interface, including one created after programming', async () => {
    const denyIn = policy("deny-in", { inbound: [deny()] });
    await programState({ policies: [denyIn], hostEndpoints: [hostEndpoint({ key: "all-interfaces", ifname: "*", tiers: [tier("default", { ingress: [denyIn] })] })] });
    expect(await ok(tcpConnect(node2, NODE1_IP, 8080, DENIED))).toBe(false);
    expect(await ok(tcpConnect(node2, NODE1_IP, 22))).toBe(true);
    // Workload interfaces and loopback are not host interfaces.
    expect(await backend.filters(pod1.ifname)).toEqual({ ingress: expect.any(Number), egress: expect.any(Number) });
    expect((await backend.filters("lo")).ingress).toBeNull();
    const late = `hostv${tag}`;
    await topology.ip(node1.ns, ["link", "add", late, "type", "veth", "peer", "name", `${late}p`]);
    expect((await backend.filters(late)).ingress).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 250)); // one scan interval
    expect(programmer.needsApply()).toBe(true);
    await programmer.apply();
    expect(await backend.filters(late)).toEqual({ ingress: expect.any(Number), egress: expect.any(Number) });
    expect(await backend.filters(`${late}p`)).toEqual({ ingress: expect.any(Number), egress: expect.any(Number) });
    expect(statusOf(programmer, HEP, "all-interfaces")).toEqual({ state: "PROGRAMMED", reason: "" });
    await topology.ip(node1.ns, ["link", "del", late]);
  });

  test("DefaultEndpointToHostAction: DROP stops a pod's traffic to its own node, ACCEPT lets it through", async () => {
    await programState({ config: config({ defaultEndpointToHostAction: "DROP" }) });
    expect(await ok(tcpConnect(pod1, NODE1_IP, 8080, DENIED))).toBe(false);
    expect(await ok(tcpConnect(pod1, NODE2_IP, 8080))).toBe(true); // not the host: unaffected
    await programState({ config: config({ defaultEndpointToHostAction: "ACCEPT" }) });
    expect(await ok(tcpConnect(pod1, NODE1_IP, 8080))).toBe(true);
    expect(statusOf(programmer, WEP, `k8s/default/pod1/eth0`)!.state).toBe("PROGRAMMED");
  });

  describe("Services: kube-proxy-style DNAT in the node, verdicts on the real backend", () => {
    const services = config({ serviceNets: ["10.96.0.0/12"] });
    /** pod1's egress: TCP to pod2:8080 and to node2:8080 only. */
    const egressToBackends = policy("to-backends", {
      outbound: [allow({ protocol: 6, dstNets: [`${POD2_IP}/32`, `${NODE2_IP}/32`], dstPorts: [{ first: 8080, last: 8080 }] })],
    });
    const withEgress = (p: Policy, extra: Partial<WorkloadEndpoint> = {}): WorkloadEndpoint => pod(pod1, { tiers: [tier("default", { egress: [p] })], ...extra });

    beforeAll(async () => {
      const dnat = (vip: string, port: number, to: string) => ["-t", "nat", "-A", "PREROUTING", "-d", vip, "-p", "tcp", "--dport", String(port), "-j", "DNAT", "--to-destination", to];
      await iptables(dnat("10.96.0.10", 80, `${POD2_IP}:8080`));
      await iptables(dnat("10.96.0.10", 81, `${POD2_IP}:9090`));
      await iptables(dnat("10.96.0.11", 80, `${NODE2_IP}:8080`));
      await iptables(dnat("10.96.0.13", 80, `${NODE2_IP}:8081`));
      await iptables(dnat("10.96.0.12", 80, `${NODE1_IP}:8080`));
    });

    test("the client's egress policy is decided on the backend pod after DNAT (local backend)", async () => {
      await programState({ config: services, policies: [egressToBackends], workloadEndpoints: [withEgress(egressToBackends), pod(pod2)] });
      expect(await ok(tcpConnect(pod1, "10.96.0.10", 80))).toBe(true);
      const before = servers["pod2:9090"]!.peers.length;
      expect(await ok(tcpConnect(pod1, "10.96.0.10", 81, DENIED))).toBe(false);
      expect(servers["pod2:9090"]!.peers.length).toBe(before); // the denied request never reached pod2
    });

    test("... and on a remote backend, at the egress of the interface it leaves by; a denied one never leaves", async () => {
      await programState({ config: services, policies: [egressToBackends], workloadEndpoints: [withEgress(egressToBackends), pod(pod2)] });
      expect(await backend.filters("eth0")).toEqual({ ingress: expect.any(Number), egress: expect.any(Number) }); // watched for Service verdicts
      expect(await ok(tcpConnect(pod1, "10.96.0.11", 80))).toBe(true);
      const before = servers["node2:8081"]!.peers.length;
      expect(await ok(tcpConnect(pod1, "10.96.0.13", 80, DENIED))).toBe(false);
      expect(servers["node2:8081"]!.peers.length).toBe(before);
    });

    test("allowing the Service address itself is not enough: the backend is what egress policy sees", async () => {
      const toServiceIp = policy("to-service-ip", { outbound: [allow({ dstNets: ["10.96.0.0/12"] })] });
      await programState({ config: services, policies: [toServiceIp], workloadEndpoints: [withEgress(toServiceIp), pod(pod2)] });
      expect(await ok(tcpConnect(pod1, "10.96.0.10", 80, DENIED))).toBe(false);
      expect(await ok(tcpConnect(pod1, "10.96.0.11", 80, DENIED))).toBe(false);
    });

    test("the server's ingress policy sees the DNAT'd flow at its own interface", async () => {
      const notFromPod1 = policy("not-from-pod1", { inbound: [deny({ srcNets: [`${POD1_IP}/32`] }), allow()] });
      const server = pod(pod2, { tiers: [tier("default", { ingress: [notFromPod1] })] });
      await programState({ config: services, policies: [egressToBackends, notFromPod1], workloadEndpoints: [withEgress(egressToBackends), server] });
      expect(await ok(tcpConnect(pod1, "10.96.0.10", 80, DENIED))).toBe(false);
      expect(await ok(tcpConnect(node2, POD2_IP, 8080))).toBe(true); // others still reach pod2
    });

    test("a backend on the node itself: DefaultEndpointToHostAction DROP denies, ACCEPT with egress allowing the Service passes", async () => {
      const toServiceIp = policy("to-service-ip", { outbound: [allow({ dstNets: ["10.96.0.12/32"] })] });
      await programState({ config: { ...services, defaultEndpointToHostAction: "DROP" }, policies: [toServiceIp], workloadEndpoints: [withEgress(toServiceIp), pod(pod2)] });
      expect(await ok(tcpConnect(pod1, "10.96.0.12", 80, DENIED))).toBe(false);
      await programState({ config: { ...services, defaultEndpointToHostAction: "ACCEPT" }, policies: [toServiceIp], workloadEndpoints: [withEgress(toServiceIp), pod(pod2)] });
      expect(await ok(tcpConnect(pod1, "10.96.0.12", 80))).toBe(true);
      // The same client egress still cannot reach a pod backend it does not allow.
      expect(await ok(tcpConnect(pod1, "10.96.0.10", 80, DENIED))).toBe(false);
    });
  });
});
