/**
 * Host-mode plumbing as desired state: from the model (workload endpoints, Felix's routes,
 * VTEPs, hosts, IP pools, encapsulation, config) to the routes, neighbours, tunnel devices, FDB
 * entries, NAT tables and interface sysctls a Linux node needs, as Felix's endpoint, VXLAN, IPIP
 * and route managers would program them. Pure: no I/O; route-manager.ts writes the result.
 *
 * Who programs what (docs/host-mode.md):
 *  - workload interfaces (admin-up endpoints whose entry is in the datapath): a scope-link route
 *    per address, a PERMANENT IPv4 neighbour (address -> the endpoint's MAC), Felix's sysctls;
 *  - VXLAN pools: always ptables (Felix's VXLAN manager): `<block> via <VTEP ip> dev vxlan.calico
 *    onlink`, or `via <node ip>` when Felix says the node shares our subnet (CrossSubnet); a
 *    remote VTEP's own address directly on the device; the device itself from our VTEP;
 *  - IPIP pools: only when Felix's ProgramClusterRoutes gives IPIP routes to Felix
 *    (Enabled, EnabledIPIPOnly); otherwise BIRD programs them. tunl0 is ours whenever IPIP
 *    is enabled (Felix's IPIP manager owns it either way);
 *  - no-encap pools: only when ProgramClusterRoutes gives them to Felix (Enabled,
 *    EnabledNoEncapOnly) and Felix reports no-encap as enabled; otherwise BIRD;
 *  - local blocks of pools whose routes are ours: a blackhole route, so an unused address in
 *    our block is dropped instead of following the default route;
 *  - host and tunnel-address routes otherwise: nothing (the underlay reaches hosts).
 */
import type {
  DataplaneConfig,
  Encapsulation,
  FdbKey,
  FdbValue,
  HostMetadata,
  IpamPool,
  NatOutgoingKey,
  NatOutgoingValue,
  NeighbourKey,
  NeighbourValue,
  Route,
  RouteKey,
  RouteValue,
  Sysctl,
  TunnelKey,
  TunnelValue,
  Vtep,
  WorkloadEndpoint,
} from "@ptables/api";

/** Felix's RouteType bits (v3.30+). */
export const RouteType = {
  REMOTE_WORKLOAD: 1,
  REMOTE_HOST: 2,
  LOCAL_WORKLOAD: 4,
  LOCAL_HOST: 8,
  REMOTE_TUNNEL: 16,
  LOCAL_TUNNEL: 32,
} as const;

/** Felix's IPPoolType. */
export const PoolType = { NONE: 0, NO_ENCAP: 1, VXLAN: 2, IPIP: 3 } as const;

export const VXLAN_DEVICE_V4 = "vxlan.calico";
export const VXLAN_DEVICE_V6 = "vxlan-v6.calico";
export const IPIP_DEVICE = "tunl0";

export interface PlanWorkload {
  endpoint: WorkloadEndpoint;
  /** Whether its endpoint entry is in the datapath (its policy is enforced on the interface). */
  inDatapath: boolean;
}

export interface HostPlanInput {
  config: DataplaneConfig;
  encapsulation: Encapsulation;
  workloads: PlanWorkload[];
  routes: Route[];
  vteps: Vtep[];
  hosts: HostMetadata[];
  pools: IpamPool[];
  /** The rp_filter value new interfaces get on this node (Felix's default for workload interfaces). */
  defaultRpFilter: string;
  /** Whether the backend can hold tunnel devices, FDB, NAT and sysctls (Backend.hostNetwork); default true. */
  hostNetwork?: boolean;
}

/** What a model object amounts to on this node. */
export type Disposition =
  | { state: "programmed" }
  | { state: "pending"; reason: string }
  | { state: "none"; reason: string };

export interface HostPlan {
  routes: Map<string, [RouteKey, RouteValue]>;
  neighbours: Map<string, [NeighbourKey, NeighbourValue]>;
  tunnels: Map<string, [TunnelKey, TunnelValue]>;
  fdb: Map<string, [FdbKey, FdbValue]>;
  nat: Map<4 | 6, [NatOutgoingKey, NatOutgoingValue]>;
  /** Per workload interface, the sysctls to set; IPv6 ones are optional (skipped if the interface has no IPv6). */
  sysctls: Map<string, Sysctl[]>;
  /** Route destination -> what it became ("programmed" = it has the kernel route of the same destination). */
  routeStatus: Map<string, Disposition>;
  /** VTEP (node name) -> its neighbour/FDB entries or device ("programmed" = entries below depend on writes). */
  vtepStatus: Map<string, Disposition>;
  /** Per VTEP node, the entries it owns (for status after writes). */
  vtepEntries: Map<string, { neighbours: string[]; fdb: string[]; tunnels: string[] }>;
  /** Tunnel device -> why it is not desired (only devices that would be needed). */
  deviceProblems: Map<string, string>;
}

const familyOf = (cidrOrIp: string): 4 | 6 => (cidrOrIp.includes(":") ? 6 : 4);
const bare = (addr: string): string => addr.split("/")[0] ?? "";
const isHostPrefix = (cidr: string): boolean => cidr.endsWith(familyOf(cidr) === 4 ? "/32" : "/128");

/** Felix's ProgramClusterRoutes: whether Felix (so ptables) owns IPIP and no-encap cluster routes. */
export function clusterRouteOwnership(mode: string): { ipip: boolean; noEncap: boolean } {
  switch (mode) {
    case "Enabled":
      return { ipip: true, noEncap: true };
    case "EnabledIPIPOnly":
      return { ipip: true, noEncap: false };
    case "EnabledNoEncapOnly":
      return { ipip: false, noEncap: true };
    default:
      return { ipip: false, noEncap: false };
  }
}

/** The per-interface sysctls Felix's endpoint manager sets on a workload interface (iptables mode). */
export function workloadSysctls(ifname: string, rpFilter: string): Sysctl[] {
  return [
    { path: `net/ipv4/conf/${ifname}/route_localnet`, value: "1" },
    { path: `net/ipv4/neigh/${ifname}/proxy_delay`, value: "0" },
    { path: `net/ipv4/conf/${ifname}/forwarding`, value: "1" },
    { path: `net/ipv4/conf/${ifname}/rp_filter`, value: rpFilter },
    // proxy_arp is left alone: ptables' eBPF responder answers the gateway ARP.
    { path: `net/ipv6/conf/${ifname}/accept_ra`, value: "0" },
    { path: `net/ipv6/conf/${ifname}/proxy_ndp`, value: "1" },
    { path: `net/ipv6/conf/${ifname}/forwarding`, value: "1" },
  ];
}

export const isOptionalSysctl = (s: Sysctl): boolean => s.path.startsWith("net/ipv6/");

export function computeHostPlan(input: HostPlanInput): HostPlan {
  const { config, encapsulation: encap } = input;
  const hostname = config.hostname;
  const plan: HostPlan = {
    routes: new Map(),
    neighbours: new Map(),
    tunnels: new Map(),
    fdb: new Map(),
    nat: new Map(),
    sysctls: new Map(),
    routeStatus: new Map(),
    vtepStatus: new Map(),
    vtepEntries: new Map(),
    deviceProblems: new Map(),
  };
  const owns = clusterRouteOwnership(config.programClusterRoutes);
  const vteps = new Map(input.vteps.map((v) => [v.node, v]));
  const hosts = new Map(input.hosts.map((h) => [h.hostname, h]));
  const localHost = hostname ? hosts.get(hostname) : undefined;
  const localVtep = hostname ? vteps.get(hostname) : undefined;

  // --- workload interfaces --------------------------------------------------------------
  const workloadDsts = new Set<string>();
  for (const { endpoint: ep, inDatapath } of [...input.workloads].sort((a, b) => (a.endpoint.key < b.endpoint.key ? -1 : 1))) {
    if (!inDatapath || !ep.adminUp) continue;
    const spoofing = ep.allowSpoofedSourcePrefixes.length > 0;
    plan.sysctls.set(ep.ifname, workloadSysctls(ep.ifname, spoofing ? "0" : input.defaultRpFilter));
    for (const cidr of [...ep.ipv4Nets, ...ep.ipv6Nets]) {
      if (plan.routes.has(cidr)) continue; // two endpoints claiming one address: the first (by key) keeps it
      plan.routes.set(cidr, [{ dst: cidr }, { ifname: ep.ifname, via: "", kind: "unicast", onlink: false }]);
      workloadDsts.add(cidr);
      plan.routeStatus.set(cidr, { state: "programmed" });
      if (ep.mac && familyOf(cidr) === 4 && isHostPrefix(cidr)) {
        const key = { ifname: ep.ifname, ip: bare(cidr) };
        plan.neighbours.set(`${key.ifname}|${key.ip}`, [key, { mac: ep.mac }]);
      }
    }
  }

  // --- tunnel devices -------------------------------------------------------------------
  const vxlanEnabled = (family: 4 | 6) => (family === 4 ? encap.vxlanEnabled : encap.vxlanEnabledV6);
  const vxlanDevice = (family: 4 | 6) => (family === 4 ? VXLAN_DEVICE_V4 : VXLAN_DEVICE_V6);
  const deviceReady = new Map<string, boolean>();
  for (const family of [4, 6] as const) {
    const dev = vxlanDevice(family);
    if (!vxlanEnabled(family)) continue;
    const nodeAddr = bare((family === 4 ? localHost?.ipv4Addr : localHost?.ipv6Addr) ?? "");
    const tunnelIp = (family === 4 ? localVtep?.ipv4Addr : localVtep?.ipv6Addr) ?? "";
    const mac = (family === 4 ? localVtep?.mac : localVtep?.macV6) ?? "";
    let problem: string | undefined;
    if (input.hostNetwork === false) problem = "this backend has no host tunnel devices";
    else if (!hostname) problem = "FelixHostname is not known";
    else if (!nodeAddr) problem = `waiting for HostMetadata with an IPv${family} address for ${hostname}`;
    else if (!tunnelIp || !mac) problem = `waiting for the IPv${family} VTEP of ${hostname}`;
    if (problem !== undefined) {
      plan.deviceProblems.set(dev, problem);
      deviceReady.set(dev, false);
      continue;
    }
    plan.tunnels.set(dev, [
      { ifname: dev },
      { kind: "vxlan", vni: config.vxlanVni, port: config.vxlanPort, local: nodeAddr, mtu: family === 4 ? config.vxlanMtu : config.vxlanMtuV6, mac, address: tunnelIp },
    ]);
    deviceReady.set(dev, true);
  }
  if (encap.ipipEnabled && input.hostNetwork === false) {
    plan.deviceProblems.set(IPIP_DEVICE, "this backend has no host tunnel devices");
    deviceReady.set(IPIP_DEVICE, false);
  } else if (encap.ipipEnabled) {
    const ipipAddr = input.routes.find((r) => r.types & RouteType.LOCAL_TUNNEL && r.tunnelIpip && familyOf(r.dst) === 4 && isHostPrefix(r.dst));
    plan.tunnels.set(IPIP_DEVICE, [
      { ifname: IPIP_DEVICE },
      { kind: "ipip", vni: 0, port: 0, local: bare(localHost?.ipv4Addr ?? ""), mtu: config.ipipMtu, mac: "", address: ipipAddr ? bare(ipipAddr.dst) : "" },
    ]);
    deviceReady.set(IPIP_DEVICE, true);
  }

  // --- remote VTEPs: neighbour (tunnel IP -> VTEP MAC) and FDB (VTEP MAC -> node address) ----
  for (const vtep of [...input.vteps].sort((a, b) => (a.node < b.node ? -1 : 1))) {
    const entries = { neighbours: [] as string[], fdb: [] as string[], tunnels: [] as string[] };
    plan.vtepEntries.set(vtep.node, entries);
    if (vtep.node === hostname) {
      const devs = [VXLAN_DEVICE_V4, VXLAN_DEVICE_V6].filter((d) => plan.tunnels.has(d));
      entries.tunnels.push(...devs);
      const problems = [VXLAN_DEVICE_V4, VXLAN_DEVICE_V6].flatMap((d) => (plan.deviceProblems.has(d) ? [`${d}: ${plan.deviceProblems.get(d)}`] : []));
      plan.vtepStatus.set(vtep.node, devs.length > 0 ? { state: "programmed" } : problems.length > 0 ? { state: "pending", reason: problems.join("; ") } : { state: "none", reason: "VXLAN is not enabled" });
      continue;
    }
    const waits: string[] = [];
    for (const family of [4, 6] as const) {
      const dev = vxlanDevice(family);
      const ip = family === 4 ? vtep.ipv4Addr : vtep.ipv6Addr;
      const mac = family === 4 ? vtep.mac : vtep.macV6;
      const parent = family === 4 ? vtep.parentDeviceIp : vtep.parentDeviceIpv6;
      if (!vxlanEnabled(family) || !ip || !mac || !parent) continue;
      if (!deviceReady.get(dev)) {
        waits.push(`${dev}: ${plan.deviceProblems.get(dev) ?? "not set up"}`);
        continue;
      }
      const nKey = { ifname: dev, ip };
      plan.neighbours.set(`${dev}|${ip}`, [nKey, { mac }]);
      entries.neighbours.push(`${dev}|${ip}`);
      const fKey = { ifname: dev, mac: mac.toLowerCase() };
      plan.fdb.set(`${dev}|${fKey.mac}`, [fKey, { dst: parent }]);
      entries.fdb.push(`${dev}|${fKey.mac}`);
    }
    if (entries.neighbours.length > 0) plan.vtepStatus.set(vtep.node, { state: "programmed" });
    else if (waits.length > 0) plan.vtepStatus.set(vtep.node, { state: "pending", reason: waits.join("; ") });
    else plan.vtepStatus.set(vtep.node, { state: "none", reason: "VXLAN is not enabled for its address families" });
  }

  // --- Felix's routes ---------------------------------------------------------------------
  for (const r of [...input.routes].sort((a, b) => (a.dst < b.dst ? -1 : 1))) {
    if (workloadDsts.has(r.dst)) continue; // a local workload's own route, already planned
    const d = planRoute(r);
    if ("route" in d) {
      plan.routes.set(r.dst, [{ dst: r.dst }, d.route]);
      plan.routeStatus.set(r.dst, { state: "programmed" });
    } else {
      plan.routeStatus.set(r.dst, d);
    }
  }

  function ownsPoolRoutes(poolType: number, family: 4 | 6): string | undefined {
    switch (poolType) {
      case PoolType.VXLAN:
        return vxlanEnabled(family) ? undefined : `VXLAN is not enabled for IPv${family}`;
      case PoolType.IPIP:
        if (!owns.ipip) return `BIRD programs IPIP cluster routes (ProgramClusterRoutes=${config.programClusterRoutes})`;
        return encap.ipipEnabled ? undefined : "IPIP is not enabled";
      case PoolType.NO_ENCAP:
        if (!owns.noEncap) return `BIRD programs no-encap cluster routes (ProgramClusterRoutes=${config.programClusterRoutes})`;
        return encap.noEncapEnabled ? undefined : "no-encap routing is not enabled";
      default:
        return "not in an IP pool";
    }
  }

  function planRoute(r: Route): { route: RouteValue } | Exclude<Disposition, { state: "programmed" }> {
    const family = familyOf(r.dst);
    if (r.types & RouteType.LOCAL_WORKLOAD) {
      if (r.localWorkload || isHostPrefix(r.dst)) return { state: "none", reason: "local workload: routed to its interface from its workload endpoint" };
      const notOurs = ownsPoolRoutes(r.ipPoolType, family);
      if (notOurs) return { state: "none", reason: `local block: ${notOurs}` };
      return { route: { ifname: "", via: "", kind: "blackhole", onlink: false } };
    }
    if (!(r.types & (RouteType.REMOTE_WORKLOAD | RouteType.REMOTE_TUNNEL))) {
      if (r.types & (RouteType.REMOTE_HOST | RouteType.LOCAL_HOST)) return { state: "none", reason: "host address: reached through the underlay" };
      if (r.types & RouteType.LOCAL_TUNNEL) return { state: "none", reason: "this node's tunnel address: on its tunnel device" };
      return { state: "none", reason: "IP pool (CIDR information only)" };
    }
    if (r.dstNodeName === hostname) return { state: "none", reason: "routed to this node" };
    const isTunnelAddr = (r.types & RouteType.REMOTE_TUNNEL) !== 0 && (r.types & RouteType.REMOTE_WORKLOAD) === 0;
    const poolType = isTunnelAddr && r.tunnelVxlan ? PoolType.VXLAN : isTunnelAddr && r.tunnelIpip ? PoolType.IPIP : r.ipPoolType;
    const notOurs = ownsPoolRoutes(poolType, family);
    if (notOurs) return { state: "none", reason: notOurs };
    if (r.sameSubnet || poolType === PoolType.NO_ENCAP) {
      if (!r.dstNodeIp) return { state: "pending", reason: `waiting for the address of node ${r.dstNodeName}` };
      return { route: { ifname: "", via: r.dstNodeIp, kind: "unicast", onlink: false } };
    }
    if (poolType === PoolType.IPIP) {
      if (family !== 4) return { state: "none", reason: "IPIP carries IPv4 only" };
      if (!deviceReady.get(IPIP_DEVICE)) return { state: "pending", reason: `${IPIP_DEVICE}: ${plan.deviceProblems.get(IPIP_DEVICE) ?? "not set up"}` };
      if (!r.dstNodeIp) return { state: "pending", reason: `waiting for the address of node ${r.dstNodeName}` };
      return { route: { ifname: IPIP_DEVICE, via: r.dstNodeIp, kind: "unicast", onlink: true } };
    }
    // VXLAN.
    const dev = vxlanDevice(family);
    if (!deviceReady.get(dev)) return { state: "pending", reason: `${dev}: ${plan.deviceProblems.get(dev) ?? "not set up"}` };
    // A remote VTEP's own address is directly on the device (it IS the VTEP).
    if (isTunnelAddr) return { route: { ifname: dev, via: "", kind: "unicast", onlink: false } };
    const vtep = vteps.get(r.dstNodeName);
    const gw = family === 4 ? vtep?.ipv4Addr : vtep?.ipv6Addr;
    if (!gw) return { state: "pending", reason: `waiting for the IPv${family} VTEP of node ${r.dstNodeName}` };
    return { route: { ifname: dev, via: gw, kind: "unicast", onlink: true } };
  }

  // --- NAT outgoing -----------------------------------------------------------------------
  for (const family of [4, 6] as const) {
    const pools = input.pools.filter((p) => familyOf(p.cidr) === family);
    const masquerade = pools.filter((p) => p.masquerade).map((p) => p.cidr);
    if (masquerade.length === 0) continue;
    plan.nat.set(family, [{ family }, { masquerade: [...new Set(masquerade)].sort(), pools: [...new Set(pools.map((p) => p.cidr))].sort() }]);
  }
  return plan;
}
