/**
 * What Felix on one node sends about cluster networking (felix-protocol.md §3.7): RouteUpdates
 * from its L3 route resolver (felix/calc/l3_route_resolver.go), VXLANTunnelEndpointUpdates from
 * the VXLAN resolver, IPAMPoolUpdates and the Encapsulation summary.
 *
 * Routes, as the resolver computes them for node N:
 *  - every IP pool: CIDR_INFO (types 0) with the pool's type and natOutgoing;
 *  - every IPAM block: LOCAL_WORKLOAD if affine to N, else REMOTE_WORKLOAD, to its node, with
 *    same_subnet when the pool is CrossSubnet and the node's address is in N's subnet;
 *  - N's pods' addresses: LOCAL_WORKLOAD with local_workload; an address a pod borrowed from
 *    another node's block: its own /32 to the pod's node, with borrowed;
 *  - every node's address: LOCAL_HOST / REMOTE_HOST; every tunnel address: LOCAL_TUNNEL /
 *    REMOTE_TUNNEL with its tunnel type.
 * Felix runs the resolver only when VXLAN, no-encap it owns, or IPIP with Felix programming
 * cluster routes is enabled (calc_graph.go); otherwise no RouteUpdate is sent at all.
 */
import { felix } from "@ptables/proto";
import type { ClusterState } from "./cluster";
import { clusterRouteOwnership, poolFamily } from "./cluster-network";
import { parseCidr, type IpFamily } from "./ip";
import type { IpPoolSpec, NodeSpec } from "./scenario-types";

export interface NetworkView {
  routes: Map<string, felix.RouteUpdate>;
  vteps: Map<string, felix.VXLANTunnelEndpointUpdate>;
  ipamPools: Map<string, felix.IPAMPoolUpdate>;
  /** Undefined when Felix would not have sent one (no pools, nothing stated). */
  encapsulation: felix.Encapsulation | undefined;
}

const T = felix.RouteType;
const bare = (addr: string | undefined): string => addr?.split("/")[0] ?? "";
const familyOf = (ip: string): IpFamily => (ip.includes(":") ? 6 : 4);
const hostCidr = (ip: string) => `${ip}/${familyOf(ip) === 4 ? 32 : 128}`;

function poolType(pool: IpPoolSpec | undefined): felix.IPPoolType {
  if (!pool) return felix.IPPoolType.NONE;
  if (pool.vxlanMode !== "Never") return felix.IPPoolType.VXLAN;
  if (pool.ipipMode !== "Never") return felix.IPPoolType.IPIP;
  return felix.IPPoolType.NO_ENCAP;
}

/** Whether `remote`'s address of `family` is in `local`'s subnet (the node address's prefix). */
function sameSubnet(local: NodeSpec | undefined, remote: NodeSpec | undefined, family: IpFamily): boolean {
  const mine = family === 4 ? local?.ipv4 : local?.ipv6;
  const theirs = bare(family === 4 ? remote?.ipv4 : remote?.ipv6);
  if (!mine || !theirs) return false;
  const net = parseCidr(mine)!;
  const other = parseCidr(`${theirs}/${net.prefixLength}`)!;
  return Buffer.from(net.bytes).equals(Buffer.from(other.bytes));
}

export function emptyNetworkView(): NetworkView {
  return { routes: new Map(), vteps: new Map(), ipamPools: new Map(), encapsulation: undefined };
}

export function computeNetworkView(state: ClusterState, node: string): NetworkView {
  const view = emptyNetworkView();
  const net = state.network;
  for (const pool of net.pools) {
    const id = pool.cidr.replace("/", "-");
    view.ipamPools.set(id, felix.IPAMPoolUpdate.fromPartial({ id, pool: { cidr: pool.cidr, masquerade: pool.natOutgoing, ipipMode: pool.ipipMode, vxlanMode: pool.vxlanMode, allowedUses: pool.allowedUses } }));
  }
  const encap = net.encapsulation();
  if (encap) view.encapsulation = felix.Encapsulation.fromPartial(encap);

  const tunnelsOf = (name: string) => net.tunnels.get(name) ?? {};
  if (encap?.vxlanEnabled || encap?.vxlanEnabledV6) {
    for (const n of [...state.nodes.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const t = tunnelsOf(n.name);
      const v4 = encap.vxlanEnabled && t.vxlanIpv4 !== undefined;
      const v6 = encap.vxlanEnabledV6 && t.vxlanIpv6 !== undefined;
      if (!v4 && !v6) continue;
      view.vteps.set(
        n.name,
        felix.VXLANTunnelEndpointUpdate.fromPartial({
          node: n.name,
          ...(v4 ? { mac: t.vxlanMac, ipv4Addr: t.vxlanIpv4, parentDeviceIp: bare(n.ipv4) } : {}),
          ...(v6 ? { macV6: t.vxlanMacV6, ipv6Addr: t.vxlanIpv6, parentDeviceIpv6: bare(n.ipv6) } : {}),
        }),
      );
    }
  }

  const owns = clusterRouteOwnership(net.config);
  const resolverRuns = encap !== undefined && (encap.vxlanEnabled || encap.vxlanEnabledV6 || encap.noEncapEnabled || (encap.ipipEnabled && owns.ipip));
  if (!resolverRuns) return view;

  const local = state.nodes.get(node);
  const put = (dst: string, fields: Partial<felix.RouteUpdate>) => {
    const prev = view.routes.get(dst);
    view.routes.set(dst, felix.RouteUpdate.fromPartial({ ...prev, dst, ...fields, types: ((prev?.types ?? 0) | (fields.types ?? 0)) as felix.RouteType }));
  };
  const towards = (owner: string, family: IpFamily, pool: IpPoolSpec | undefined): Partial<felix.RouteUpdate> => {
    const remote = state.nodes.get(owner);
    const crossSubnet = pool !== undefined && (pool.vxlanMode === "CrossSubnet" || pool.ipipMode === "CrossSubnet");
    return {
      dstNodeName: owner,
      dstNodeIp: bare(family === 4 ? remote?.ipv4 : remote?.ipv6),
      ipPoolType: poolType(pool),
      natOutgoing: pool?.natOutgoing ?? false,
      sameSubnet: owner !== node && crossSubnet && sameSubnet(local, remote, family),
    };
  };

  for (const pool of net.pools) put(pool.cidr, { types: T.CIDR_INFO, ipPoolType: poolType(pool), natOutgoing: pool.natOutgoing });
  for (const [block, owner] of [...net.blocks].sort()) {
    const pool = net.poolOf(block.split("/")[0]!);
    put(block, { ...towards(owner, poolFamily(pool!), pool), types: owner === node ? T.LOCAL_WORKLOAD : T.REMOTE_WORKLOAD });
  }
  for (const { spec: pod } of state.pods.values()) {
    for (const ip of [...pod.ipv4, ...pod.ipv6]) {
      const block = net.blockFor(ip);
      const borrowed = block !== undefined && block.owner !== pod.node;
      if (pod.node !== node && !borrowed) continue;
      put(hostCidr(ip), {
        ...towards(pod.node, familyOf(ip), net.poolOf(ip)),
        types: pod.node === node ? T.LOCAL_WORKLOAD : T.REMOTE_WORKLOAD,
        localWorkload: pod.node === node,
        borrowed,
      });
    }
  }
  for (const n of state.nodes.values()) {
    for (const family of [4, 6] as const) {
      const ip = bare(family === 4 ? n.ipv4 : n.ipv6);
      if (ip) put(hostCidr(ip), { ...towards(n.name, family, net.poolOf(ip)), types: n.name === node ? T.LOCAL_HOST : T.REMOTE_HOST });
    }
    const t = tunnelsOf(n.name);
    const tunnel = (ip: string | undefined, type: Partial<felix.TunnelType>) => {
      if (ip === undefined) return;
      put(hostCidr(ip), { ...towards(n.name, familyOf(ip), net.poolOf(ip)), types: n.name === node ? T.LOCAL_TUNNEL : T.REMOTE_TUNNEL, tunnelType: felix.TunnelType.fromPartial(type) });
    };
    if (encap.vxlanEnabled) tunnel(t.vxlanIpv4, { vxlan: true });
    if (encap.vxlanEnabledV6) tunnel(t.vxlanIpv6, { vxlan: true });
    if (encap.ipipEnabled) tunnel(t.ipipAddr, { ipip: true });
  }
  return view;
}
