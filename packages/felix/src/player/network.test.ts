/**
 * The player's cluster networking: IP pools, blocks, VTEPs and routes for each node's view, in
 * Felix's flush order, accepted by the driver's own store; and the scenario checks.
 */
import { felix } from "@ptables/proto";
import { DesiredStateStore } from "../store";
import { parseScenario } from "./scenario";
import { buildFelixStream } from "./stream";

const T = felix.RouteType;

const CLUSTER = `
nodes:
  - {name: node-a, ip: 10.254.0.1/24, ipv6: "fd00:fe::1/64"}
  - {name: node-b, ip: 10.254.0.2/24, ipv6: "fd00:fe::2/64", vtep: {mac: "66:00:00:00:00:0b", ip: 10.65.1.63}}
  - {name: node-c, ip: 10.9.0.3/24, blocks: [10.65.9.0/26]}
ipPools:
  - {cidr: 10.65.0.0/16, vxlanMode: CrossSubnet, natOutgoing: true}
  - {cidr: "fd00:65::/112", vxlanMode: Always, blockSize: 122}
namespaces: [{name: ns}]
pods:
  - {name: a1, namespace: ns, node: node-a, ips: [10.65.0.1, "fd00:65::1"]}
  - {name: b1, namespace: ns, node: node-b, ips: [10.65.1.1, "fd00:65::41"]}
  - {name: b2, namespace: ns, node: node-b, ips: [10.65.0.2]}
steps:
  - {after: 1s, addPod: {name: a2, namespace: ns, node: node-a, ips: [10.65.2.5]}}
  - {after: 2s, removePod: {namespace: ns, name: b2}}
`;

/** Group 6-7 ranks; within one flush they never go backwards. */
const RANK: Record<string, number> = { routeRemove: 1, vtepRemove: 2, vtepUpdate: 3, routeUpdate: 4, hostMetadataRemove: 5, hostMetadataUpdate: 6, ipamPoolRemove: 7, ipamPoolUpdate: 8, encapsulation: 9 };

function networkMessages(messages: felix.ToDataplane[]): Array<NonNullable<felix.ToDataplane["payload"]>> {
  return messages.map((m) => m.payload!).filter((p) => RANK[p.$case] !== undefined);
}

function routesOf(messages: felix.ToDataplane[]): Map<string, felix.RouteUpdate> {
  return new Map(networkMessages(messages).flatMap((p) => (p.$case === "routeUpdate" ? [[p.value.dst, p.value] as const] : [])));
}

describe("start of day", () => {
  const scenario = parseScenario(CLUSTER);
  const a = buildFelixStream(scenario, { node: "node-a" });

  test("groups 6 and 7 in Felix's order, each kind once, after the endpoints", () => {
    const cases = networkMessages(a.startOfDay).map((p) => p.$case);
    const ranks = cases.map((c) => RANK[c]!);
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    expect([...new Set(cases)]).toEqual(["vtepUpdate", "routeUpdate", "hostMetadataUpdate", "ipamPoolUpdate", "encapsulation"]);
    const all = a.startOfDay.map((m) => m.payload!.$case);
    expect(all.indexOf("vtepUpdate")).toBeGreaterThan(all.lastIndexOf("workloadEndpointUpdate"));
    expect(all[all.length - 1]).toBe("inSync");
  });

  test("pools and the Encapsulation derived from them", () => {
    const pools = networkMessages(a.startOfDay).filter((p) => p.$case === "ipamPoolUpdate").map((p) => p.value);
    expect(pools).toEqual([
      { id: "10.65.0.0-16", pool: { cidr: "10.65.0.0/16", masquerade: true, ipipMode: "Never", vxlanMode: "CrossSubnet", allowedUses: ["Workload", "Tunnel"] } },
      { id: "fd00:65::-112", pool: { cidr: "fd00:65::/112", masquerade: false, ipipMode: "Never", vxlanMode: "Always", allowedUses: ["Workload", "Tunnel"] } },
    ]);
    const encap = networkMessages(a.startOfDay).find((p) => p.$case === "encapsulation")!.value;
    expect(encap).toEqual({ ipipEnabled: false, vxlanEnabled: true, vxlanEnabledV6: true, noEncapEnabled: false });
  });

  test("VTEPs: given parts kept, the rest allocated from the node's block (lowest free address) and derived MACs", () => {
    const vteps = new Map(networkMessages(a.startOfDay).flatMap((p) => (p.$case === "vtepUpdate" ? [[p.value.node, p.value] as const] : [])));
    expect(vteps.get("node-a")).toEqual({ node: "node-a", mac: expect.stringMatching(/^66(:[0-9a-f]{2}){5}$/), ipv4Addr: "10.65.0.0", parentDeviceIp: "10.254.0.1", macV6: expect.stringMatching(/^66:/), ipv6Addr: "fd00:65::", parentDeviceIpv6: "fd00:fe::1" });
    expect(vteps.get("node-b")).toMatchObject({ mac: "66:00:00:00:00:0b", ipv4Addr: "10.65.1.63", parentDeviceIp: "10.254.0.2", ipv6Addr: "fd00:65::40" });
    // node-c has no IPv6 address: an IPv4 VTEP only, in its explicit block.
    expect(vteps.get("node-c")).toMatchObject({ ipv4Addr: "10.65.9.0", macV6: "", ipv6Addr: "" });
    expect(vteps.get("node-a")!.mac).not.toBe(vteps.get("node-a")!.macV6);
  });

  test("routes: pools, blocks (local and remote, CrossSubnet same_subnet), local pods, borrowed, hosts and tunnels", () => {
    const routes = routesOf(a.startOfDay);
    expect(routes.get("10.65.0.0/16")).toMatchObject({ types: T.CIDR_INFO, ipPoolType: felix.IPPoolType.VXLAN, natOutgoing: true });
    expect(routes.get("10.65.0.0/26")).toMatchObject({ types: T.LOCAL_WORKLOAD, dstNodeName: "node-a", localWorkload: false });
    expect(routes.get("10.65.1.0/26")).toMatchObject({ types: T.REMOTE_WORKLOAD, dstNodeName: "node-b", dstNodeIp: "10.254.0.2", sameSubnet: true, natOutgoing: true });
    expect(routes.get("10.65.9.0/26")).toMatchObject({ types: T.REMOTE_WORKLOAD, dstNodeName: "node-c", dstNodeIp: "10.9.0.3", sameSubnet: false });
    expect(routes.get("fd00:65::40/122")).toMatchObject({ types: T.REMOTE_WORKLOAD, dstNodeIp: "fd00:fe::2", sameSubnet: false, ipPoolType: felix.IPPoolType.VXLAN });
    expect(routes.get("10.65.0.1/32")).toMatchObject({ types: T.LOCAL_WORKLOAD, localWorkload: true, dstNodeName: "node-a" });
    // b2 on node-b took an address in node-a's block: a borrowed /32 towards node-b.
    expect(routes.get("10.65.0.2/32")).toMatchObject({ types: T.REMOTE_WORKLOAD, dstNodeName: "node-b", borrowed: true, localWorkload: false });
    expect(routes.has("10.65.1.1/32")).toBe(false);
    expect(routes.get("10.254.0.1/32")).toMatchObject({ types: T.LOCAL_HOST });
    expect(routes.get("fd00:fe::2/128")).toMatchObject({ types: T.REMOTE_HOST, dstNodeName: "node-b" });
    expect(routes.get("10.65.1.63/32")).toMatchObject({ types: T.REMOTE_TUNNEL, tunnelType: { ipip: false, vxlan: true, wireguard: false } });
    expect(routes.get("10.65.0.0/32")).toMatchObject({ types: T.LOCAL_TUNNEL });
  });

  test("every node's stream is valid for the driver's store", () => {
    for (const node of ["node-a", "node-b", "node-c"]) {
      const stream = buildFelixStream(scenario, { node });
      const store = new DesiredStateStore();
      const errors = [...stream.startOfDay, ...stream.steps.flatMap((s) => s.messages)].flatMap((m) => store.apply(m).errors);
      expect({ node, errors }).toEqual({ node, errors: [] });
      const snap = store.snapshot();
      expect(snap.vteps.map((v) => v.node).sort()).toEqual(["node-a", "node-b", "node-c"]);
      expect(snap.ipamPools).toHaveLength(2);
    }
  });
});

describe("steps", () => {
  const a = buildFelixStream(parseScenario(CLUSTER), { node: "node-a" });

  test("a pod in a new block: its block and /32 announced; nothing else re-sent", () => {
    const msgs = networkMessages(a.steps[0]!.messages);
    expect(msgs.map((p) => `${p.$case} ${p.$case === "routeUpdate" ? p.value.dst : ""}`.trim())).toEqual(["routeUpdate 10.65.2.0/26", "routeUpdate 10.65.2.5/32"]);
  });

  test("a remote pod that borrowed an address goes: only its /32 is removed", () => {
    expect(networkMessages(a.steps[1]!.messages)).toEqual([{ $case: "routeRemove", value: { dst: "10.65.0.2/32" } }]);
  });
});

describe("without pools nothing changes", () => {
  test("no routes, VTEPs, pools or Encapsulation; hosts as before", () => {
    const s = buildFelixStream(parseScenario("nodes: [{name: a, ip: 10.0.0.1}]"));
    expect(s.startOfDay.map((m) => m.payload!.$case)).toEqual(["configUpdate", "hostMetadataUpdate", "inSync"]);
  });

  test("IPIP pools with BIRD in charge (ProgramClusterRoutes unset): pools, Encapsulation, no routes", () => {
    const s = buildFelixStream(parseScenario("nodes: [{name: a, ip: 10.0.0.1/24}]\nipPools: [{cidr: 10.70.0.0/16, ipipMode: Always}]"));
    expect(s.startOfDay.map((m) => m.payload!.$case)).toEqual(["configUpdate", "hostMetadataUpdate", "ipamPoolUpdate", "encapsulation", "inSync"]);
    const owned = buildFelixStream(parseScenario("nodes: [{name: a, ip: 10.0.0.1/24}]\nconfig: {ProgramClusterRoutes: Enabled}\nipPools: [{cidr: 10.70.0.0/16, ipipMode: Always}]"));
    const routes = routesOf(owned.startOfDay);
    expect(routes.get("10.70.0.0/32")).toMatchObject({ types: T.LOCAL_TUNNEL, tunnelType: { ipip: true }, ipPoolType: felix.IPPoolType.IPIP });
  });
});

describe("scenario checks", () => {
  test.each([
    ["ipPools: [{cidr: 10.0.0.0/16, vxlanMode: Always, ipipMode: Always}]", "ipPools[0]: a pool cannot use both VXLAN and IPIP"],
    ["ipPools: [{cidr: 10.0.0.0/16}, {cidr: 10.0.128.0/17}]", "ipPools[1].cidr: 10.0.128.0/17 overlaps pool 10.0.0.0/16"],
    ["ipPools: [{cidr: 10.0.0.0/16, blockSize: 19}]", "ipPools[0].blockSize: expected an integer from 20 to 32"],
    ["ipPools: [{cidr: 10.0.0.0/24, blockSize: 23}]", "ipPools[0].blockSize: blocks of /23 do not fit in a /24 pool"],
    ["ipPools: [{cidr: 10.0.0.0/16, vxlanMode: Sometimes}]", "ipPools[0].vxlanMode: expected one of Always, CrossSubnet, Never"],
    ["ipPools: [{cidr: 'fd00::/64', ipipMode: Always}]", "ipPools[0].ipipMode: IPIP is IPv4 only"],
  ])("%s", (yaml, message) => {
    expect(() => parseScenario(`nodes: [{name: a, ip: 10.0.0.1}]\n${yaml}`)).toThrow(message);
  });

  test("node blocks must be pool blocks, not claimed twice; VTEP MACs unicast; pods never on a tunnel address", () => {
    const base = "ipPools: [{cidr: 10.0.0.0/16, vxlanMode: Always}]\nnamespaces: [{name: n}]\n";
    expect(() => parseScenario(`${base}nodes: [{name: a, ip: 10.9.0.1, blocks: [10.0.0.8/26]}]`)).toThrow('nodes[0].blocks[0]: "10.0.0.8/26" has host bits set (the block is 10.0.0.0/26)');
    expect(() => parseScenario(`${base}nodes: [{name: a, ip: 10.9.0.1, blocks: [10.0.0.64/27]}]`)).toThrow("is not a /26 block of pool 10.0.0.0/16");
    expect(() => parseScenario(`${base}nodes: [{name: a, ip: 10.9.0.1, blocks: [10.0.0.0/26]}, {name: b, ip: 10.9.0.2, blocks: [10.0.0.0/26]}]`)).toThrow("block 10.0.0.0/26 is already affine to node a");
    expect(() => parseScenario(`${base}nodes: [{name: a, ip: 10.9.0.1, vtep: {mac: "01:00:00:00:00:01"}}]`)).toThrow("is a multicast MAC");
    expect(() => parseScenario(`${base}nodes: [{name: a, ip: 10.9.0.1, vtep: {ip: 10.0.0.5}}]\npods: [{name: p, namespace: n, ips: [10.0.0.5]}]`)).toThrow("nodes[0]: tunnel address 10.0.0.5 is also a pod's address");
  });
});
