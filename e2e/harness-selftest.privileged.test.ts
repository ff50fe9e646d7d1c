/**
 * Self-test of the network-namespace harness, before any ptables code is involved: one node, two
 * pods wired the Calico way (with a static gateway neighbour instead of an ARP responder), and
 * every traffic tool checked for both outcomes so none of them can pass by accident.
 */
import {
  CALICO_GATEWAY_V4,
  CALICO_HOST_VETH_MAC,
  createTopology,
  expectMatrix,
  holdTcp,
  listNamespaces,
  ping,
  startServer,
  sweepStale,
  tcpConnect,
  udpExchange,
  type EchoServer,
  type NodeNs,
  type PodNs,
  type Topology,
} from "../packages/testkit/src/netns";
import { addNamespace } from "../packages/testkit/src/netns/namespaces";

const PREFIX = "hst";
const TCP_PORT = 8080;
const UDP_PORT = 5353;
/** Nothing listens here. */
const CLOSED_PORT = 9999;
/** Inside the pod range but no pod has it, so the node has no route for it. */
const UNROUTED_IP = "10.65.0.99";

const isRoot = process.getuid?.() === 0;

/** Namespaces this process made under our prefix: other suites may create theirs in parallel. */
async function ourNamespaces(): Promise<string[]> {
  return (await listNamespaces()).filter((ns) => ns.startsWith(`${PREFIX}-${process.pid}-`));
}
const describeIfRoot = isRoot ? describe : describe.skip;

describeIfRoot("netns harness self-test", () => {
  let namespacesBefore: string[];
  let topology: Topology;
  let node: NodeNs;
  let podA: PodNs;
  let podB: PodNs;
  let tcpServer: EchoServer;
  let udpServer: EchoServer;

  beforeAll(async () => {
    await sweepStale(PREFIX);
    namespacesBefore = await ourNamespaces();
    topology = createTopology({ prefix: PREFIX });
    node = await topology.addNode("n1");
    [podA, podB] = await Promise.all([
      topology.addPod(node, { name: "a", ifname: "caliaaaa0001", ipv4: "10.65.0.2", ipv6: "fd00:65::2", staticGatewayNeigh: true }),
      topology.addPod(node, { name: "b", ifname: "calibbbb0002", ipv4: "10.65.0.3", ipv6: "fd00:65::3", staticGatewayNeigh: true }),
    ]);
    [tcpServer, udpServer] = await Promise.all([
      startServer(podB, { proto: "tcp", port: TCP_PORT }),
      startServer(podB, { proto: "udp", port: UDP_PORT }),
    ]);
  });

  afterAll(async () => {
    await topology?.destroy();
  });

  test("pods are wired the way Calico's CNI wires them", async () => {
    const [hostLink] = JSON.parse((await topology.ip(node.ns, ["-j", "addr", "show", "dev", podA.ifname])).stdout);
    expect(hostLink.address).toBe(CALICO_HOST_VETH_MAC);
    expect(hostLink.addr_info.filter((a: { family: string }) => a.family === "inet")).toEqual([]);
    expect(hostLink.addr_info).toContainEqual(expect.objectContaining({ family: "inet6", local: "fe80::ecee:eeff:feee:eeee" }));

    const podRoutes = JSON.parse((await topology.ip(podA.ns, ["-j", "-4", "route", "show", "default"])).stdout);
    expect(podRoutes).toEqual([expect.objectContaining({ gateway: CALICO_GATEWAY_V4, dev: "eth0", flags: ["onlink"] })]);
    const podAddrs = (await topology.ip(podA.ns, ["-o", "addr", "show", "dev", "eth0"])).stdout;
    expect(podAddrs).toContain("10.65.0.2/32");
    expect(podAddrs).toContain("fd00:65::2/128");

    const nodeRoutes = (await topology.ip(node.ns, ["-4", "route", "show", "10.65.0.3/32"])).stdout;
    expect(nodeRoutes).toContain(`dev ${podB.ifname}`);
    expect(podB.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });

  test("ping works over IPv4 and IPv6 and reports unreachable addresses", async () => {
    const [v4, v6, back, unrouted] = await Promise.all([
      ping(podA, podB.ipv4!, { count: 2 }),
      ping(podA, podB.ipv6!, { count: 2 }),
      ping(podB, podA.ipv4!),
      ping(podA, UNROUTED_IP, { timeoutMs: 500 }),
    ]);
    expect(v4).toEqual({ ok: true });
    expect(v6).toEqual({ ok: true });
    expect(back).toEqual({ ok: true });
    expect(unrouted.ok).toBe(false);
  });

  test("TCP and UDP echo between pods over both families, and closed ports fail", async () => {
    const results = await Promise.all([
      tcpConnect(podA, podB.ipv4!, TCP_PORT),
      tcpConnect(podA, podB.ipv6!, TCP_PORT),
      udpExchange(podA, podB.ipv4!, UDP_PORT),
      udpExchange(podA, podB.ipv6!, UDP_PORT),
    ]);
    expect(results).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    // The servers saw pod A's own addresses: nothing in between rewrote them.
    expect(tcpServer.peers).toEqual(expect.arrayContaining([podA.ipv4, podA.ipv6]));
    expect(udpServer.peers).toEqual(expect.arrayContaining([podA.ipv4, podA.ipv6]));

    const [tcpClosed, udpClosed] = await Promise.all([
      tcpConnect(podA, podB.ipv4!, CLOSED_PORT, { timeoutMs: 500 }),
      udpExchange(podA, podB.ipv4!, CLOSED_PORT, { timeoutMs: 500 }),
    ]);
    expect(tcpClosed).toEqual({ ok: false, error: "ECONNREFUSED" });
    expect(udpClosed).toEqual({ ok: false, error: "ECONNREFUSED" });
  });

  test("a held TCP connection keeps echoing until its server goes away", async () => {
    const server = await startServer(podB, { proto: "tcp", port: TCP_PORT + 1, family: "ipv6" });
    const held = await holdTcp(podA, podB.ipv6!, server.port);
    try {
      expect(await held.probe()).toEqual({ ok: true });
      expect(await held.probe()).toEqual({ ok: true });
      expect(server.peers).toEqual([podA.ipv6]);
      await server.stop();
      const afterStop = await held.probe({ timeoutMs: 1_000 });
      expect(afterStop.ok).toBe(false);
    } finally {
      await held.close();
    }
  });

  test("expectMatrix reports matches and mismatches in a readable table", async () => {
    const good = await expectMatrix([
      { from: podA, to: podB.ipv4!, proto: "tcp", port: TCP_PORT, expect: "allow" },
      { from: podA, to: podB.ipv6!, proto: "udp", port: UDP_PORT, expect: "allow" },
      { from: podB, to: podA.ipv6!, proto: "icmp", expect: "allow" },
      { from: podA, to: podB.ipv4!, proto: "tcp", port: CLOSED_PORT, expect: "deny" },
      { from: podA, to: UNROUTED_IP, proto: "icmp", expect: "deny" },
    ]);
    expect(good.table).not.toContain("MISMATCH");
    expect(good.ok).toBe(true);
    expect(good.rows.map((row) => row.actual)).toEqual(["allow", "allow", "allow", "deny", "deny"]);

    const wrong = await expectMatrix(
      [
        { from: podA, to: podB.ipv4!, proto: "udp", port: UDP_PORT, expect: "deny" },
        { from: podA, to: podB.ipv4!, proto: "udp", port: CLOSED_PORT, expect: "allow" },
      ],
      { allowAttempts: 2, allowTimeoutMs: 300, retryDelayMs: 50 },
    );
    expect(wrong.ok).toBe(false);
    const lines = wrong.table.split("\n");
    expect(lines[0]).toMatch(/^from\s+to\s+proto\s+expected\s+actual\s+detail$/);
    expect(lines[2]).toMatch(/^a\s+10\.65\.0\.3\s+udp\/5353\s+deny\s+allow\s+<-- MISMATCH$/);
    expect(lines[3]).toMatch(/^a\s+10\.65\.0\.3\s+udp\/9999\s+allow\s+deny\s+ECONNREFUSED \(2 attempts\)\s+<-- MISMATCH$/);
  });

  test("a fabric joins nodes so that pods on different nodes can talk", async () => {
    const multi = createTopology({ prefix: PREFIX });
    try {
      const [n1, n2] = await Promise.all([multi.addNode("n1"), multi.addNode("n2")]);
      const fabric = await multi.addFabric([n1, n2]);
      expect(fabric.nodes.map((member) => [member.ipv4, member.ipv6])).toEqual([
        ["10.254.0.1", "fd00:fe::1"],
        ["10.254.0.2", "fd00:fe::2"],
      ]);
      const [p1, p2] = await Promise.all([
        multi.addPod(n1, { name: "p1", ifname: "cali1", ipv4: "10.65.1.2", ipv6: "fd00:65:1::2", staticGatewayNeigh: true }),
        multi.addPod(n2, { name: "p2", ifname: "cali2", ipv4: "10.65.2.2", ipv6: "fd00:65:2::2", staticGatewayNeigh: true }),
      ]);
      // What Calico's BGP would add: each node reaches the other node's pod block via its address.
      await Promise.all([
        multi.ip(n1.ns, ["-4", "route", "add", "10.65.2.0/26", "via", n2.ipv4!]),
        multi.ip(n2.ns, ["-4", "route", "add", "10.65.1.0/26", "via", n1.ipv4!]),
        multi.ip(n1.ns, ["-6", "route", "add", "fd00:65:2::/122", "via", n2.ipv6!]),
        multi.ip(n2.ns, ["-6", "route", "add", "fd00:65:1::/122", "via", n1.ipv6!]),
      ]);
      await startServer(p2, { proto: "tcp", port: TCP_PORT });
      const matrix = await expectMatrix([
        { from: n1, to: n2.ipv4!, proto: "icmp", expect: "allow" },
        { from: n1, to: n2.ipv6!, proto: "icmp", expect: "allow" },
        { from: p1, to: p2.ipv4!, proto: "tcp", port: TCP_PORT, expect: "allow" },
        { from: p1, to: p2.ipv6!, proto: "tcp", port: TCP_PORT, expect: "allow" },
        { from: p2, to: p1.ipv4!, proto: "icmp", expect: "allow" },
      ]);
      expect(matrix.table).not.toContain("MISMATCH");
      expect(matrix.ok).toBe(true);
    } finally {
      await multi.destroy();
    }
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`${multi.baseName}-`))).toEqual([]);
  });

  test("sweepStale removes namespaces of dead runs only", async () => {
    // Above the kernel's largest pid_max, so no process can have this pid.
    const stale = `${PREFIX}-4194305-1-x`;
    await addNamespace(stale);
    const swept = await sweepStale(PREFIX);
    expect(swept).toEqual([stale]);
    const remaining = await listNamespaces();
    expect(remaining).not.toContain(stale);
    expect(remaining).toEqual(expect.arrayContaining(topology.namespaceNames));
  });

  test("destroy kills the servers and leaves no namespaces behind", async () => {
    expect(topology.namespaceNames.length).toBe(3);
    const serverPid = tcpServer.pid!;
    await topology.destroy();
    expect(await ourNamespaces()).toEqual(namespacesBefore);
    expect(() => process.kill(serverPid, 0)).toThrow();
    // A second destroy (afterAll) is harmless.
    await topology.destroy();
  });

  test("a step failing mid-creation still cleans up", async () => {
    const broken = createTopology({ prefix: PREFIX });
    try {
      const brokenNode = await broken.addNode("n1");
      await expect(broken.addPod(brokenNode, { name: "bad4", ifname: "calibad4", ipv4: "10.65.0.300" })).rejects.toThrow(
        /not a bare IPv4 address/,
      );
      // Passes address validation but the kernel refuses a multicast address on an interface,
      // so this fails after the pod's namespace and veth exist.
      await expect(broken.addPod(brokenNode, { name: "bad6", ifname: "calibad6", ipv6: "ff02::5" })).rejects.toThrow(/ff02::5/);
      expect(await listNamespaces()).toContain(`${broken.baseName}-bad6`);
    } finally {
      await broken.destroy();
    }
    expect(await ourNamespaces()).toEqual(namespacesBefore);
  });
});
