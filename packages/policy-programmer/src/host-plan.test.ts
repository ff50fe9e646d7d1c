/**
 * The host-mode plan: what Felix's endpoint, VXLAN, IPIP and route managers would program for
 * a given model, route type by route type, and what is deliberately left to BIRD.
 */
import { defaultDataplaneConfig, type Encapsulation, type IpamPool, type Route, type Vtep } from "@ptables/api";
import { testing } from "@ptables/policy-core";
import { computeHostPlan, IPIP_DEVICE, PoolType, RouteType, VXLAN_DEVICE_V4, VXLAN_DEVICE_V6, type HostPlanInput } from "./host-plan";

const NONE: Encapsulation = { ipipEnabled: false, vxlanEnabled: false, vxlanEnabledV6: false, noEncapEnabled: false };

function route(init: Partial<Route> & { dst: string }): Route {
  return {
    types: 0,
    ipPoolType: 0,
    dstNodeName: "",
    dstNodeIp: "",
    sameSubnet: false,
    natOutgoing: false,
    localWorkload: false,
    tunnelIpip: false,
    tunnelVxlan: false,
    tunnelWireguard: false,
    borrowed: false,
    ...init,
  };
}

const VTEP_A: Vtep = { node: "node-a", mac: "66:00:00:00:00:0a", ipv4Addr: "10.65.0.0", parentDeviceIp: "10.254.0.1", macV6: "66:00:00:00:06:0a", ipv6Addr: "fd00:65::", parentDeviceIpv6: "fd00:fe::1" };
const VTEP_B: Vtep = { node: "node-b", mac: "66:00:00:00:00:0b", ipv4Addr: "10.65.1.0", parentDeviceIp: "10.254.0.2", macV6: "66:00:00:00:06:0b", ipv6Addr: "fd00:65::100", parentDeviceIpv6: "fd00:fe::2" };
const HOSTS = [
  { hostname: "node-a", ipv4Addr: "10.254.0.1/24", ipv6Addr: "fd00:fe::1/64", asnumber: "", labels: {} },
  { hostname: "node-b", ipv4Addr: "10.254.0.2/24", ipv6Addr: "fd00:fe::2/64", asnumber: "", labels: {} },
];
const POOL_V4: IpamPool = { id: "10.65.0.0-16", cidr: "10.65.0.0/16", masquerade: true, ipipMode: "Never", vxlanMode: "Always", allowedUses: ["Workload", "Tunnel"] };
const POOL_V6: IpamPool = { id: "fd00:65::-112", cidr: "fd00:65::/112", masquerade: false, ipipMode: "Never", vxlanMode: "Always", allowedUses: ["Workload"] };

function input(over: Partial<HostPlanInput> = {}): HostPlanInput {
  return {
    config: { ...defaultDataplaneConfig(), hostname: "node-a" },
    encapsulation: { ...NONE, vxlanEnabled: true, vxlanEnabledV6: true },
    workloads: [],
    routes: [],
    vteps: [VTEP_A, VTEP_B],
    hosts: HOSTS,
    pools: [POOL_V4, POOL_V6],
    defaultRpFilter: "2",
    ...over,
  };
}

const remoteBlock = (dst: string, poolType: number, extra: Partial<Route> = {}) =>
  route({ dst, types: RouteType.REMOTE_WORKLOAD, ipPoolType: poolType, dstNodeName: "node-b", dstNodeIp: dst.includes(":") ? "fd00:fe::2" : "10.254.0.2", ...extra });

describe("workload interfaces", () => {
  test("an admin-up endpoint in the datapath gets a scope-link route per address, an IPv4 neighbour and Felix's sysctls", () => {
    const ep = testing.workload({ ifname: "cali1", mac: "0a:58:0a:41:00:02", ipv4Nets: ["10.65.0.2/32"], ipv6Nets: ["fd00:65::2/128"] });
    const plan = computeHostPlan(input({ workloads: [{ endpoint: ep, inDatapath: true }] }));
    expect([...plan.routes.values()]).toEqual([
      [{ dst: "10.65.0.2/32" }, { ifname: "cali1", via: "", kind: "unicast", onlink: false }],
      [{ dst: "fd00:65::2/128" }, { ifname: "cali1", via: "", kind: "unicast", onlink: false }],
    ]);
    expect([...plan.neighbours.values()].filter(([k]) => k.ifname === "cali1")).toEqual([[{ ifname: "cali1", ip: "10.65.0.2" }, { mac: "0a:58:0a:41:00:02" }]]);
    expect(plan.sysctls.get("cali1")).toEqual([
      { path: "net/ipv4/conf/cali1/route_localnet", value: "1" },
      { path: "net/ipv4/neigh/cali1/proxy_delay", value: "0" },
      { path: "net/ipv4/conf/cali1/forwarding", value: "1" },
      { path: "net/ipv4/conf/cali1/rp_filter", value: "2" },
      { path: "net/ipv6/conf/cali1/accept_ra", value: "0" },
      { path: "net/ipv6/conf/cali1/proxy_ndp", value: "1" },
      { path: "net/ipv6/conf/cali1/forwarding", value: "1" },
    ]);
    expect(plan.sysctls.get("cali1")!.some((s) => s.path.endsWith("/proxy_arp"))).toBe(false);
  });

  test("allowed source spoofing turns rp_filter off, as in Felix", () => {
    const ep = testing.workload({ ifname: "cali1", allowSpoofedSourcePrefixes: ["192.0.2.0/24"] });
    const plan = computeHostPlan(input({ workloads: [{ endpoint: ep, inDatapath: true }] }));
    expect(plan.sysctls.get("cali1")!.find((s) => s.path.endsWith("rp_filter"))!.value).toBe("0");
  });

  test("nothing for an endpoint whose entry is not in the datapath, or that is admin down", () => {
    const a = testing.workload({ key: "k8s/default/a/eth0", ifname: "cali-a", ipv4Nets: ["10.65.0.2/32"] });
    const b = testing.workload({ key: "k8s/default/b/eth0", ifname: "cali-b", ipv4Nets: ["10.65.0.3/32"], adminUp: false });
    const plan = computeHostPlan(input({ workloads: [{ endpoint: a, inDatapath: false }, { endpoint: b, inDatapath: true }] }));
    expect(plan.routes.size).toBe(0);
    expect(plan.sysctls.size).toBe(0);
  });

  test("two endpoints claiming one address: the first by key keeps the route", () => {
    const a = testing.workload({ key: "k8s/default/a/eth0", ifname: "cali-a", ipv4Nets: ["10.65.0.2/32"] });
    const b = testing.workload({ key: "k8s/default/b/eth0", ifname: "cali-b", ipv4Nets: ["10.65.0.2/32"] });
    const plan = computeHostPlan(input({ workloads: [{ endpoint: b, inDatapath: true }, { endpoint: a, inDatapath: true }] }));
    expect(plan.routes.get("10.65.0.2/32")![1].ifname).toBe("cali-a");
  });

  test("Felix's local-workload /32 routes add nothing: the endpoint's own route is the one", () => {
    const ep = testing.workload({ ifname: "cali1", ipv4Nets: ["10.65.0.2/32"] });
    const r = route({ dst: "10.65.0.2/32", types: RouteType.LOCAL_WORKLOAD, localWorkload: true, ipPoolType: PoolType.VXLAN, dstNodeName: "node-a" });
    const withEp = computeHostPlan(input({ workloads: [{ endpoint: ep, inDatapath: true }], routes: [r] }));
    expect(withEp.routes.get("10.65.0.2/32")![1].ifname).toBe("cali1");
    const withoutEp = computeHostPlan(input({ routes: [r] }));
    expect(withoutEp.routes.has("10.65.0.2/32")).toBe(false);
    expect(withoutEp.routeStatus.get("10.65.0.2/32")).toEqual({ state: "none", reason: expect.stringContaining("local workload") });
  });
});

describe("VXLAN", () => {
  test("the device from our VTEP and HostMetadata; Calico's VNI/port; MTU from config (0 = derived)", () => {
    const plan = computeHostPlan(input({ config: { ...defaultDataplaneConfig(), hostname: "node-a", vxlanMtu: 1400 } }));
    expect(plan.tunnels.get(VXLAN_DEVICE_V4)).toEqual([
      { ifname: "vxlan.calico" },
      { kind: "vxlan", vni: 4096, port: 4789, local: "10.254.0.1", mtu: 1400, mac: "66:00:00:00:00:0a", address: "10.65.0.0" },
    ]);
    expect(plan.tunnels.get(VXLAN_DEVICE_V6)).toEqual([
      { ifname: "vxlan-v6.calico" },
      { kind: "vxlan", vni: 4096, port: 4789, local: "fd00:fe::1", mtu: 0, mac: "66:00:00:00:06:0a", address: "fd00:65::" },
    ]);
    expect(plan.vtepStatus.get("node-a")).toEqual({ state: "programmed" });
  });

  test("remote VTEPs: a PERMANENT neighbour (tunnel IP -> MAC) and an FDB entry (MAC -> node address) per family", () => {
    const plan = computeHostPlan(input());
    expect(plan.neighbours.get("vxlan.calico|10.65.1.0")).toEqual([{ ifname: "vxlan.calico", ip: "10.65.1.0" }, { mac: "66:00:00:00:00:0b" }]);
    expect(plan.fdb.get("vxlan.calico|66:00:00:00:00:0b")).toEqual([{ ifname: "vxlan.calico", mac: "66:00:00:00:00:0b" }, { dst: "10.254.0.2" }]);
    expect(plan.neighbours.get("vxlan-v6.calico|fd00:65::100")).toEqual([{ ifname: "vxlan-v6.calico", ip: "fd00:65::100" }, { mac: "66:00:00:00:06:0b" }]);
    expect(plan.fdb.get("vxlan-v6.calico|66:00:00:00:06:0b")).toEqual([{ ifname: "vxlan-v6.calico", mac: "66:00:00:00:06:0b" }, { dst: "fd00:fe::2" }]);
    expect(plan.vtepStatus.get("node-b")).toEqual({ state: "programmed" });
  });

  test("remote blocks via the VTEP onlink; a remote tunnel address directly on the device; same subnet (CrossSubnet) via the node", () => {
    const plan = computeHostPlan(
      input({
        routes: [
          remoteBlock("10.65.1.0/26", PoolType.VXLAN),
          remoteBlock("fd00:65::100/122", PoolType.VXLAN),
          route({ dst: "10.65.1.0/32", types: RouteType.REMOTE_TUNNEL, tunnelVxlan: true, ipPoolType: PoolType.VXLAN, dstNodeName: "node-b", dstNodeIp: "10.254.0.2" }),
          remoteBlock("10.66.1.0/26", PoolType.VXLAN, { sameSubnet: true }),
          remoteBlock("10.65.2.7/32", PoolType.VXLAN, { borrowed: true }),
        ],
      }),
    );
    expect(plan.routes.get("10.65.1.0/26")![1]).toEqual({ ifname: "vxlan.calico", via: "10.65.1.0", kind: "unicast", onlink: true });
    expect(plan.routes.get("fd00:65::100/122")![1]).toEqual({ ifname: "vxlan-v6.calico", via: "fd00:65::100", kind: "unicast", onlink: true });
    expect(plan.routes.get("10.65.1.0/32")![1]).toEqual({ ifname: "vxlan.calico", via: "", kind: "unicast", onlink: false });
    expect(plan.routes.get("10.66.1.0/26")![1]).toEqual({ ifname: "", via: "10.254.0.2", kind: "unicast", onlink: false });
    expect(plan.routes.get("10.65.2.7/32")![1].via).toBe("10.65.1.0");
  });

  test("our own blocks get a blackhole route", () => {
    const plan = computeHostPlan(input({ routes: [route({ dst: "10.65.0.0/26", types: RouteType.LOCAL_WORKLOAD, ipPoolType: PoolType.VXLAN, dstNodeName: "node-a" })] }));
    expect(plan.routes.get("10.65.0.0/26")![1]).toEqual({ ifname: "", via: "", kind: "blackhole", onlink: false });
  });

  test("without our VTEP or HostMetadata there is no device, and routes through it wait", () => {
    const plan = computeHostPlan(input({ vteps: [VTEP_B], routes: [remoteBlock("10.65.1.0/26", PoolType.VXLAN)] }));
    expect(plan.tunnels.size).toBe(0);
    expect(plan.deviceProblems.get(VXLAN_DEVICE_V4)).toBe("waiting for the IPv4 VTEP of node-a");
    expect(plan.routeStatus.get("10.65.1.0/26")).toEqual({ state: "pending", reason: "vxlan.calico: waiting for the IPv4 VTEP of node-a" });
    expect(plan.vtepStatus.get("node-b")!.state).toBe("pending");
    const noHost = computeHostPlan(input({ hosts: [HOSTS[1]!] }));
    expect(noHost.deviceProblems.get(VXLAN_DEVICE_V4)).toBe("waiting for HostMetadata with an IPv4 address for node-a");
  });

  test("a backend without host networking gets no devices; routes through them wait, workload routes do not", () => {
    const ep = testing.workload({ ifname: "cali1", ipv4Nets: ["10.65.0.2/32"] });
    const plan = computeHostPlan(input({ hostNetwork: false, workloads: [{ endpoint: ep, inDatapath: true }], routes: [remoteBlock("10.65.1.0/26", PoolType.VXLAN)] }));
    expect(plan.tunnels.size + plan.fdb.size).toBe(0);
    expect(plan.routeStatus.get("10.65.1.0/26")).toEqual({ state: "pending", reason: "vxlan.calico: this backend has no host tunnel devices" });
    expect(plan.routes.get("10.65.0.2/32")![1].ifname).toBe("cali1");
  });

  test("a remote block whose VTEP is unknown waits for it", () => {
    const plan = computeHostPlan(input({ vteps: [VTEP_A], routes: [remoteBlock("10.65.1.0/26", PoolType.VXLAN)] }));
    expect(plan.routeStatus.get("10.65.1.0/26")).toEqual({ state: "pending", reason: "waiting for the IPv4 VTEP of node node-b" });
  });

  test("VXLAN disabled for a family: no device, no routes for that family", () => {
    const plan = computeHostPlan(input({ encapsulation: { ...NONE, vxlanEnabled: true }, routes: [remoteBlock("fd00:65::100/122", PoolType.VXLAN)] }));
    expect(plan.tunnels.has(VXLAN_DEVICE_V6)).toBe(false);
    expect(plan.routeStatus.get("fd00:65::100/122")).toEqual({ state: "none", reason: "VXLAN is not enabled for IPv6" });
    expect([...plan.neighbours.keys()].some((k) => k.startsWith("vxlan-v6"))).toBe(false);
  });
});

describe("IPIP, no-encap and BIRD", () => {
  const ipipInput = (mode: string, extra: Partial<HostPlanInput> = {}) =>
    input({
      config: { ...defaultDataplaneConfig(), hostname: "node-a", programClusterRoutes: mode },
      encapsulation: { ...NONE, ipipEnabled: true, noEncapEnabled: true },
      routes: [
        remoteBlock("10.70.1.0/26", PoolType.IPIP),
        remoteBlock("10.71.1.0/26", PoolType.IPIP, { sameSubnet: true }),
        remoteBlock("10.80.1.0/26", PoolType.NO_ENCAP),
        route({ dst: "10.70.0.1/32", types: RouteType.LOCAL_TUNNEL, tunnelIpip: true, dstNodeName: "node-a" }),
        route({ dst: "10.70.0.0/26", types: RouteType.LOCAL_WORKLOAD, ipPoolType: PoolType.IPIP, dstNodeName: "node-a" }),
      ],
      ...extra,
    });

  test("by default (ProgramClusterRoutes Disabled) BIRD programs IPIP and no-encap routes; tunl0 is still ours", () => {
    const plan = computeHostPlan(ipipInput("Disabled"));
    for (const dst of ["10.70.1.0/26", "10.71.1.0/26", "10.80.1.0/26"]) {
      expect(plan.routes.has(dst)).toBe(false);
      expect(plan.routeStatus.get(dst)).toEqual({ state: "none", reason: expect.stringContaining("BIRD programs") });
    }
    expect(plan.routeStatus.get("10.70.0.0/26")).toEqual({ state: "none", reason: expect.stringContaining("local block: BIRD programs") });
    expect(plan.tunnels.get(IPIP_DEVICE)).toEqual([{ ifname: "tunl0" }, { kind: "ipip", vni: 0, port: 0, local: "10.254.0.1", mtu: 0, mac: "", address: "10.70.0.1" }]);
  });

  test("EnabledIPIPOnly: IPIP routes via the node on tunl0 onlink (same subnet: directly), no-encap still BIRD's", () => {
    const plan = computeHostPlan(ipipInput("EnabledIPIPOnly"));
    expect(plan.routes.get("10.70.1.0/26")![1]).toEqual({ ifname: "tunl0", via: "10.254.0.2", kind: "unicast", onlink: true });
    expect(plan.routes.get("10.71.1.0/26")![1]).toEqual({ ifname: "", via: "10.254.0.2", kind: "unicast", onlink: false });
    expect(plan.routes.get("10.70.0.0/26")![1].kind).toBe("blackhole");
    expect(plan.routes.has("10.80.1.0/26")).toBe(false);
  });

  test("Enabled: no-encap routes too, via the node address", () => {
    const plan = computeHostPlan(ipipInput("Enabled"));
    expect(plan.routes.get("10.80.1.0/26")![1]).toEqual({ ifname: "", via: "10.254.0.2", kind: "unicast", onlink: false });
  });

  test("no-encap routes need Felix to report no-encap as enabled as well", () => {
    const plan = computeHostPlan(ipipInput("Enabled", { encapsulation: { ...NONE, ipipEnabled: true } }));
    expect(plan.routes.has("10.80.1.0/26")).toBe(false);
    expect(plan.routeStatus.get("10.80.1.0/26")).toEqual({ state: "none", reason: "no-encap routing is not enabled" });
  });

  test("host routes, this node's tunnel address and pool CIDR information program nothing", () => {
    const plan = computeHostPlan(
      input({
        routes: [
          route({ dst: "10.254.0.2/32", types: RouteType.REMOTE_HOST, dstNodeName: "node-b", dstNodeIp: "10.254.0.2" }),
          route({ dst: "10.254.0.1/32", types: RouteType.LOCAL_HOST, dstNodeName: "node-a", dstNodeIp: "10.254.0.1" }),
          route({ dst: "10.65.0.0/32", types: RouteType.LOCAL_TUNNEL, tunnelVxlan: true, dstNodeName: "node-a" }),
          route({ dst: "10.65.0.0/16", types: 0, ipPoolType: PoolType.VXLAN, natOutgoing: true }),
        ],
      }),
    );
    expect(plan.routes.size).toBe(0);
    expect([...plan.routeStatus.values()].every((d) => d.state === "none")).toBe(true);
  });
});

describe("NAT outgoing", () => {
  test("one table per family with natOutgoing pools; masquerade to outside every pool of that family", () => {
    const other: IpamPool = { ...POOL_V4, id: "10.66.0.0-16", cidr: "10.66.0.0/16", masquerade: false };
    const plan = computeHostPlan(input({ pools: [other, POOL_V4, POOL_V6] }));
    expect([...plan.nat.values()]).toEqual([[{ family: 4 }, { masquerade: ["10.65.0.0/16"], pools: ["10.65.0.0/16", "10.66.0.0/16"] }]]);
  });
});
