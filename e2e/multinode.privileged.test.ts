/**
 * Host-mode connectivity across nodes: two node namespaces joined by the harness's fabric, each
 * running its own real driver (own PTABLES_* directories and bpffs) fed by the Felix player with
 * that node's view of one cluster (VXLAN pools for IPv4 and IPv6, NAT outgoing for IPv4). The
 * harness adds no routes: every route, neighbour, tunnel device, FDB entry and NAT rule a packet
 * needs is ptables'.
 *
 * Proves: the first packet of a pod resolves the gateway through ptables' ARP responder (no
 * static neighbour, proxy ARP off); the workload interfaces, VXLAN devices and NAT table are
 * exactly what Felix would program; pod to pod on a node and across nodes (v4 and v6 over VXLAN),
 * pod to host (own and remote, masqueraded for IPv4), host to pod (own and remote), each path
 * with kernel == reference evaluator == the test's expectation; a driver restart rewrites no
 * device or NAT table; removing everything leaves nothing of ptables' but its pins, and `ptables
 * cleanup` removes those too (on the other node: everything, still programmed) — and everything
 * ptables does not own stays.
 */
import { emptyView, flushPayloads, computeNodeView, ClusterState, parseScenario, type Scenario } from "@ptables/felix";
import { CALICO_GATEWAY_V4, CALICO_GATEWAY_V6, createTopology, type NodeNs, type Topology } from "@ptables/testkit";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { felix } from "@ptables/proto";
import { assertCases, assertMatrix, isRoot, probes, sweepLeftovers } from "./lib/e2e-helpers";
import { ipJson, ptablesObjects, routeLines, runHostProbes, sysctls, type HostProbe, type IpLink } from "./lib/host-net";
import type { ProbeCase } from "./lib/matrix";
import { PodAgent } from "./lib/pod-agent";
import { createPtablesNode, repoRoot, type PtablesNode } from "./lib/ptables-node";
import { runCommand } from "./lib/run";

const PREFIX = "mnode";
const describeIfRoot = isRoot ? describe : describe.skip;

const CLUSTER = `
# Workload-to-own-host traffic is accepted once the workload's egress policy allows it, so pod
# to host is decided by policy alone (Felix's default, DROP, is another suite's subject).
config: {DefaultEndpointToHostAction: ACCEPT}
nodes:
  - {name: node-a, ip: 10.254.0.1/24, ipv6: "fd00:fe::1/64"}
  - {name: node-b, ip: 10.254.0.2/24, ipv6: "fd00:fe::2/64"}
ipPools:
  - {cidr: 10.65.0.0/16, vxlanMode: Always, natOutgoing: true}
  - {cidr: "fd00:65::/112", vxlanMode: Always}
namespaces: [{name: mn}]
pods:
  - {name: a1, namespace: mn, node: node-a, ifname: cali-a1, ips: [10.65.0.11, "fd00:65::11"], mac: "0a:58:0a:41:00:0b", labels: {app: client}}
  - {name: a2, namespace: mn, node: node-a, ifname: cali-a2, ips: [10.65.0.12, "fd00:65::12"], mac: "0a:58:0a:41:00:0c", labels: {app: web}}
  - {name: b1, namespace: mn, node: node-b, ifname: cali-b1, ips: [10.65.1.11, "fd00:65::51"], mac: "0a:58:0a:41:01:0b", labels: {app: client}}
  - {name: b2, namespace: mn, node: node-b, ifname: cali-b2, ips: [10.65.1.12, "fd00:65::52"], mac: "0a:58:0a:41:01:0c", labels: {app: web}}
policies:
  - name: web-ingress            # web pods: TCP 8080 and pings from clients only
    namespace: mn
    selector: app == 'web'
    types: [Ingress]
    ingress:
      - {action: Allow, protocol: TCP, source: {selector: app == 'client'}, destination: {ports: [8080]}}
      - {action: Allow, protocol: ICMP, source: {selector: app == 'client'}}
      - {action: Allow, protocol: ICMPv6, source: {selector: app == 'client'}}
  - name: web-egress             # web pods may only reach the hosts' TCP 7000
    namespace: mn
    selector: app == 'web'
    types: [Egress]
    egress:
      - {action: Allow, protocol: TCP, destination: {nets: [10.254.0.0/24, "fd00:fe::/64"], ports: [7000]}}
  - name: client-ingress         # clients: TCP 8080 from hosts' addresses and clients, pings from anyone
    namespace: mn
    selector: app == 'client'
    types: [Ingress]
    ingress:
      - {action: Allow, protocol: TCP, source: {nets: [10.254.0.0/24, "fd00:fe::/64"]}, destination: {ports: [8080]}}
      - {action: Allow, protocol: TCP, source: {selector: app == 'client'}, destination: {ports: [8080]}}
      - {action: Allow, protocol: ICMP}
      - {action: Allow, protocol: ICMPv6}
`;

const PODS = ["a1", "a2", "b1", "b2"];
const POD_PROBES = probes("ping tcp/8080 tcp/8081 ping6 tcp6/8080");
/** AllowSpec labels: "tcp/8080" covers both families. */
const FROM_CLIENTS = "ping tcp/8080 ping6";
const POD_TO_POD: Record<string, string> = {
  "a1>a2": FROM_CLIENTS,
  "a1>b1": FROM_CLIENTS,
  "a1>b2": FROM_CLIENTS,
  "b1>a1": FROM_CLIENTS,
  "b1>a2": FROM_CLIENTS,
  "b1>b2": FROM_CLIENTS,
};

/** A node answering on TCP with the address it sees the connection come from. */
const WHOAMI = String.raw`
const net = require('net');
const s = net.createServer((c) => { c.on('error', () => {}); c.end(String(c.remoteAddress).replace(/^::ffff:/, '') + '\n'); });
s.listen({ port: Number(process.argv[1]), host: '::', ipv6Only: false }, () => process.stdout.write('ready\n'));
`;
const WHOAMI_CLIENT = String.raw`
const net = require('net');
const c = net.connect({ host: process.argv[1], port: Number(process.argv[2]) });
let data = '';
const t = setTimeout(() => { process.stdout.write('timeout\n'); process.exit(2); }, 5000);
c.on('data', (d) => (data += d));
c.on('end', () => { clearTimeout(t); process.stdout.write(data); process.exit(0); });
c.on('error', (e) => { clearTimeout(t); process.stdout.write('error ' + e.code + '\n'); process.exit(3); });
`;

describeIfRoot("multi-node host mode: real drivers on two nodes, VXLAN between them", () => {
  let topology: Topology;
  let scenario: Scenario;
  const nodes: PtablesNode[] = [];
  const hostAgents = new Map<PtablesNode, PodAgent>();
  let nsA: NodeNs;
  let nsB: NodeNs;
  let a: PtablesNode;
  let b: PtablesNode;
  const ip = async (ns: NodeNs | string, ...args: string[]) => (await topology.ip(typeof ns === "string" ? ns : ns.ns, args)).stdout;
  const link = async (ns: NodeNs, ifname: string) => (await ipJson<IpLink>(topology, ns.ns, ["-d", "link", "show"])).find((l) => l.ifname === ifname);
  const natTable = async (ns: NodeNs) => JSON.parse((await topology.exec(ns.ns, ["nft", "-j", "list", "table", "ip", "ptables-nat"])).stdout) as { nftables: Array<Record<string, any>> };
  const natCounter = async (ns: NodeNs) => (await natTable(ns)).nftables.find((i) => i.rule)!.rule.expr.find((e: Record<string, unknown>) => e.counter).counter.packets as number;
  const vtepOf = (node: string) => {
    const stream = a.stream.startOfDay.map((m) => m.payload!).find((p) => p.$case === "vtepUpdate" && p.value.node === node);
    return (stream as { value: felix.VXLANTunnelEndpointUpdate }).value;
  };

  beforeAll(async () => {
    await sweepLeftovers(PREFIX);
    topology = createTopology({ prefix: PREFIX });
    scenario = parseScenario(CLUSTER, "multinode");
    nsA = await topology.addNode("nodea");
    nsB = await topology.addNode("nodeb");
    await topology.addFabric([nsA, nsB]);
    // Things ptables does not own, which must survive everything below, cleanup included.
    await ip(nsA, "route", "add", "192.0.2.0/24", "via", "10.254.0.254", "proto", "static");
    await ip(nsA, "neigh", "add", "10.254.0.250", "lladdr", "02:00:00:00:00:fa", "dev", "eth0", "nud", "permanent");
    await topology.exec(nsA.ns, ["nft", "add", "table", "ip", "sentinel"]);
    const options = { withHostRoutes: false, keepTopology: true, tcpPorts: [8080, 8081] };
    a = createPtablesNode(topology, "node-a", scenario, { ...options, node: nsA });
    b = createPtablesNode(topology, "node-b", scenario, { ...options, node: nsB });
    nodes.push(a, b);
    await Promise.all(nodes.map((n) => n.start()));
    for (const n of nodes) hostAgents.set(n, await PodAgent.start(n.node!, { tcp: [7000, 7001], udp: [] }));
  }, 120_000);

  afterAll(async () => {
    const failures: string[] = [];
    for (const agent of hostAgents.values()) await agent.close();
    for (const n of nodes) await n.cleanup().catch((err: Error) => failures.push(err.message));
    await topology?.destroy().catch((err: Error) => failures.push(err.message));
    if (failures.length > 0) throw new Error(failures.join("\n"));
  }, 60_000);

  test("a pod's first packet resolves the gateway through ptables' ARP responder; IPv6 through the host's own link-local", async () => {
    const pod = a.pod("a1").ns;
    const neigh = async () => (await ip(pod.ns, "neigh", "show", "dev", "eth0")).trim();
    expect(await neigh()).toBe("");
    // The host side does not answer ARP itself.
    expect(await sysctls(topology, nsA.ns, ["net/ipv4/conf/cali-a1/proxy_arp", "net/ipv4/conf/all/proxy_arp"])).toEqual({
      "net/ipv4/conf/cali-a1/proxy_arp": "0",
      "net/ipv4/conf/all/proxy_arp": "0",
    });
    expect((await a.probe("a1", { proto: "icmp", host: "10.65.1.12", timeoutMs: 3000 })).outcome).toBe("echo");
    expect((await a.probe("a1", { proto: "icmp", host: "fd00:65::52", timeoutMs: 3000 })).outcome).toBe("echo");
    const entries = (await neigh()).split("\n");
    const gw4 = entries.find((l) => l.startsWith(`${CALICO_GATEWAY_V4} `));
    const gw6 = entries.find((l) => l.startsWith(`${CALICO_GATEWAY_V6} `));
    expect(gw4).toMatch(/^169\.254\.1\.1 lladdr ee:ee:ee:ee:ee:ee (REACHABLE|STALE|DELAY|PROBE)/);
    expect(gw6).toMatch(/^fe80::ecee:eeff:feee:eeee lladdr ee:ee:ee:ee:ee:ee router (REACHABLE|STALE|DELAY|PROBE)/);
  });

  test("each node holds exactly Felix's host plumbing: workload routes, neighbours and sysctls; VXLAN devices, FDB and routes; NAT", async () => {
    const vA = vtepOf("node-a");
    const vB = vtepOf("node-b");
    const objects = await ptablesObjects(topology, nsA.ns);
    expect(objects.routes).toEqual(
      [
        "10.65.0.11 dev cali-a1 proto 80 scope link",
        "10.65.0.12 dev cali-a2 proto 80 scope link",
        "blackhole 10.65.0.0/26 proto 80",
        `10.65.1.0/26 via ${vB.ipv4Addr} dev vxlan.calico proto 80 onlink`,
        `${vB.ipv4Addr} dev vxlan.calico proto 80 scope link`,
        "fd00:65::11 dev cali-a1 proto 80",
        "fd00:65::12 dev cali-a2 proto 80",
        "blackhole fd00:65::/122 dev lo proto 80",
        `fd00:65::40/122 via ${vB.ipv6Addr} dev vxlan-v6.calico proto 80 onlink`,
        `${vB.ipv6Addr} dev vxlan-v6.calico proto 80`,
      ].sort(),
    );
    expect(objects.neighbours).toEqual(
      [
        "10.65.0.11 dev cali-a1 lladdr 0a:58:0a:41:00:0b PERMANENT proto 80",
        "10.65.0.12 dev cali-a2 lladdr 0a:58:0a:41:00:0c PERMANENT proto 80",
        `${vB.ipv4Addr} dev vxlan.calico lladdr ${vB.mac} PERMANENT proto 80`,
        `${vB.ipv6Addr} dev vxlan-v6.calico lladdr ${vB.macV6} PERMANENT proto 80`,
      ].sort(),
    );
    expect(objects.tunnels).toEqual(["vxlan-v6.calico", "vxlan.calico"]);
    expect(objects.nftTables).toEqual(["table ip ptables-nat"]);
    expect(objects.filters).toEqual(["cali-a1 egress", "cali-a1 ingress", "cali-a2 egress", "cali-a2 ingress"]);

    // Nothing but ptables' routes and the kernel's own: the harness added none.
    const others = (await routeLines(topology, nsA.ns)).filter((l) => !/ proto (80|kernel)( |$)/.test(l) && !l.startsWith("192.0.2.0/24"));
    expect(others).toEqual([]);

    const v4 = (await link(nsA, "vxlan.calico"))!;
    expect(v4.linkinfo!.info_data).toMatchObject({ id: 4096, port: 4789, local: "10.254.0.1", link: "eth0", learning: false });
    expect({ mtu: v4.mtu, mac: v4.address, up: v4.flags.includes("UP") }).toEqual({ mtu: 1450, mac: vA.mac, up: true });
    const v6 = (await link(nsA, "vxlan-v6.calico"))!;
    expect(v6.linkinfo!.info_data).toMatchObject({ id: 4096, port: 4789, local6: "fd00:fe::1", link: "eth0" });
    expect({ mtu: v6.mtu, mac: v6.address }).toEqual({ mtu: 1430, mac: vA.macV6 });
    const addrs = await ipJson<{ ifname: string; addr_info: Array<{ local: string; prefixlen: number; scope: string }> }>(topology, nsA.ns, ["addr", "show"]);
    const global = (ifname: string) => addrs.find((x) => x.ifname === ifname)!.addr_info.filter((i) => i.scope === "global").map((i) => `${i.local}/${i.prefixlen}`);
    expect(global("vxlan.calico")).toEqual([`${vA.ipv4Addr}/32`]);
    expect(global("vxlan-v6.calico")).toEqual([`${vA.ipv6Addr}/128`]);
    const fdb = (await topology.exec(nsA.ns, ["bridge", "fdb", "show", "dev", "vxlan.calico"])).stdout;
    expect(fdb).toContain(`${vB.mac} dst 10.254.0.2 self permanent`);
    const fdb6 = (await topology.exec(nsA.ns, ["bridge", "fdb", "show", "dev", "vxlan-v6.calico"])).stdout;
    expect(fdb6).toContain(`${vB.macV6} dst fd00:fe::2 self permanent`);

    expect(await sysctls(topology, nsA.ns, ["net/ipv4/conf/cali-a1/forwarding", "net/ipv4/conf/cali-a1/route_localnet", "net/ipv4/neigh/cali-a1/proxy_delay", "net/ipv4/conf/cali-a1/rp_filter", "net/ipv6/conf/cali-a1/forwarding", "net/ipv6/conf/cali-a1/accept_ra", "net/ipv6/conf/cali-a1/proxy_ndp"])).toEqual({
      "net/ipv4/conf/cali-a1/forwarding": "1",
      "net/ipv4/conf/cali-a1/route_localnet": "1",
      "net/ipv4/neigh/cali-a1/proxy_delay": "0",
      // Felix gives workload interfaces the node's default (the harness's nodes use 0).
      "net/ipv4/conf/cali-a1/rp_filter": (await sysctls(topology, nsA.ns, ["net/ipv4/conf/default/rp_filter"]))["net/ipv4/conf/default/rp_filter"],
      "net/ipv6/conf/cali-a1/forwarding": "1",
      "net/ipv6/conf/cali-a1/accept_ra": "0",
      "net/ipv6/conf/cali-a1/proxy_ndp": "1",
    });
    const nat = (await topology.exec(nsA.ns, ["nft", "list", "table", "ip", "ptables-nat"])).stdout;
    expect(nat).toContain("ip saddr @masq-pools ip daddr != @all-pools counter");
    expect(nat).toMatch(/set masq-pools \{[^}]*elements = \{ 10\.65\.0\.0\/16 \}/);
  });

  test("pod to pod on a node and across nodes (v4 and v6 over VXLAN): kernel == oracle == expectation", async () => {
    await assertMatrix(nodes, "pods, start of day", PODS, POD_PROBES, POD_TO_POD);
  });

  test("pod to host, own and remote: egress policy decides; IPv4 to a remote host is masqueraded, IPv6 (no natOutgoing) is not", async () => {
    const c = (from: string, to: string, label: string, expect: "allow" | "deny"): ProbeCase => ({ from, to, ...probes(label)[0]!, expect });
    await assertCases(nodes, "pods to hosts", [
      c("a2", "10.254.0.1", "tcp/7000", "allow"),
      c("a2", "10.254.0.1", "tcp/7001", "deny"),
      c("a2", "10.254.0.2", "tcp/7000", "allow"),
      c("a2", "10.254.0.2", "tcp/7001", "deny"),
      c("b2", "fd00:fe::1", "tcp6/7000", "allow"),
      c("b2", "10.254.0.2", "tcp/7001", "deny"),
      c("a1", "10.254.0.2", "tcp/7001", "allow"),
      c("b1", "fd00:fe::1", "tcp6/7001", "allow"),
    ]);
    const server = topology.spawnIn(nsB.ns, [process.execPath, "-e", WHOAMI, "7002"]);
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
        server.once("exit", (code) => reject(new Error(`whoami server exited ${code}`)));
      });
      const whoami = async (dst: string) => (await topology.exec(a.pod("a1").ns.ns, [process.execPath, "-e", WHOAMI_CLIENT, dst, "7002"])).stdout.trim();
      const before = await natCounter(nsA);
      expect(await whoami("10.254.0.2")).toBe("10.254.0.1");
      expect(await natCounter(nsA)).toBeGreaterThan(before);
      expect(await whoami("fd00:fe::2")).toBe("fd00:65::11");
      // Pod to pod across nodes is not masqueraded.
      const afterHost = await natCounter(nsA);
      expect((await a.probe("a1", { proto: "tcp", host: "10.65.1.11", port: 8080, timeoutMs: 3000 })).outcome).toBe("echo");
      expect(await natCounter(nsA)).toBe(afterHost);
    } finally {
      server.kill("SIGTERM");
    }
  });

  test("host to pod, own node and across nodes: the pod's ingress policy decides, for the source the kernel picks", async () => {
    const h = (from: PtablesNode, to: string, label: string, expect: "allow" | "deny"): HostProbe => ({ from, to, ...probes(label)[0]!, expect });
    const result = await runHostProbes(nodes, hostAgents, [
      h(a, "a1", "tcp/8080", "allow"),
      h(a, "a1", "ping", "allow"),
      h(a, "a2", "tcp/8080", "deny"),
      h(a, "a2", "ping", "deny"),
      // Across nodes the host sends from its VXLAN tunnel address, which client-ingress's host
      // nets do not hold: TCP is denied, pings (from anyone) pass and come back through VXLAN.
      h(a, "b1", "tcp/8080", "deny"),
      h(a, "b1", "ping", "allow"),
      h(b, "b1", "tcp/8080", "allow"),
      h(b, "a2", "tcp/8080", "deny"),
      h(b, "a1", "ping6", "allow"),
      h(a, "a1", "ping6", "allow"),
    ]);
    if (!result.ok) throw new Error(`host to pod:\n${result.table}\n${a.outputTail(15)}\n${b.outputTail(15)}`);
    expect(result.rows.find((r) => r.probe.to === "b1" && r.probe.proto === "icmp")!.srcIp).toBe(vtepOf("node-a").ipv4Addr);
  });

  test("a driver restart finds its devices, routes and NAT table and rewrites none of them", async () => {
    const before = { routes: await routeLines(topology, nsA.ns), vxlan: (await link(nsA, "vxlan.calico"))!.ifindex, vxlan6: (await link(nsA, "vxlan-v6.calico"))!.ifindex };
    const tableHandle = async () => (await natTable(nsA)).nftables.find((i) => i.table)!.table.handle as number;
    const handle = await tableHandle();
    const counter = await natCounter(nsA);
    expect(counter).toBeGreaterThan(0);
    await a.restartDriver();
    expect({ routes: await routeLines(topology, nsA.ns), vxlan: (await link(nsA, "vxlan.calico"))!.ifindex, vxlan6: (await link(nsA, "vxlan-v6.calico"))!.ifindex }).toEqual(before);
    expect(await tableHandle()).toBe(handle);
    expect(await natCounter(nsA)).toBe(counter);
    await assertMatrix(nodes, "pods, after node-a's driver restarted", PODS, POD_PROBES, POD_TO_POD);
  });

  test("removal: with every endpoint, route, VTEP and pool removed and the pods gone, node-a holds nothing of ptables' but its pins", async () => {
    const state = ClusterState.fromScenario({ ...scenario, node: "node-a" });
    const removeAll = [
      ...flushPayloads(computeNodeView(state, "node-a"), emptyView()),
      { $case: "encapsulation" as const, value: { ipipEnabled: false, vxlanEnabled: false, vxlanEnabledV6: false, noEncapEnabled: false } },
    ];
    await a.sendMessages(removeAll, "everything removed");
    const afterRemoval = await ptablesObjects(topology, nsA.ns);
    // Endpoints gone: their interfaces keep ptables' filters (fail closed) until they disappear.
    expect(afterRemoval).toEqual({ routes: [], neighbours: [], tunnels: [], nftTables: [], filters: ["cali-a1 egress", "cali-a1 ingress", "cali-a2 egress", "cali-a2 ingress"] });
    // The CNI plugin's DEL: the pods' interfaces go.
    for (const pod of a.pods.values()) {
      await pod.agent.close();
      await topology.exec(nsA.ns, ["ip", "link", "del", pod.spec.ifname]);
    }
    expect(await ptablesObjects(topology, nsA.ns)).toEqual({ routes: [], neighbours: [], tunnels: [], nftTables: [], filters: [] });
    expect(existsSync(a.bpfDir)).toBe(true);
  });

  test("`ptables cleanup` removes the rest: node-a's pins; on node-b everything still programmed", async () => {
    for (const n of nodes) await n.stopDriver();
    const programmed = await ptablesObjects(topology, nsB.ns);
    expect(programmed.tunnels).toEqual(["vxlan-v6.calico", "vxlan.calico"]);
    expect(programmed.nftTables).toEqual(["table ip ptables-nat"]);
    expect(programmed.routes.length).toBeGreaterThan(0);
    const cli = join(repoRoot(), "packages", "cli", "bin", "ptables.js");
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    for (const n of nodes) {
      const { stdout } = await runCommand(["ip", "netns", "exec", n.node!.ns, process.execPath, cli, "cleanup", "--bpf-dir", n.bpfDir, "--run-dir", n.runDir], { env });
      expect(stdout).toContain("Removed");
    }
    for (const n of nodes) {
      expect(await ptablesObjects(topology, n.node!.ns)).toEqual({ routes: [], neighbours: [], tunnels: [], nftTables: [], filters: [] });
      expect(existsSync(n.bpfDir)).toBe(false);
    }
    // What ptables does not own is still there.
    expect(await routeLines(topology, nsA.ns)).toContain("192.0.2.0/24 via 10.254.0.254 dev eth0 proto static");
    expect(await ip(nsA, "neigh", "show", "10.254.0.250")).toContain("lladdr 02:00:00:00:00:fa PERMANENT");
    expect((await topology.exec(nsA.ns, ["nft", "list", "tables"])).stdout).toContain("table ip sentinel");
  });
});
