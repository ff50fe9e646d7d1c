/**
 * The cluster's IPAM as the player models it: IP pools, which node each IPAM block is affine to,
 * and each node's tunnel addresses — what Felix's route resolver, VXLAN resolver and IPAM pool
 * updates are computed from (network-calc.ts).
 *
 * Like Calico IPAM, a block is claimed by the first node that allocates from it (a node's
 * explicit `blocks`, then pods in the order they appear) and stays claimed; an address a pod
 * uses in another node's block is "borrowed". Tunnel addresses are allocated once, after the
 * initial pods: a node without a block in a VXLAN (IPIP) pool claims the first free one, and its
 * VTEP (IPIP) address is the lowest address of its first such block that no pod of the scenario
 * uses. VTEP MACs, when not given, are derived from the node name (locally administered,
 * unicast), so streams are reproducible.
 */
import { createHash } from "node:crypto";
import { formatIp, parseCidr, parseIp, type IpFamily } from "./ip";
import type { EncapsulationSpec, IpPoolSpec, NodeSpec, PodSpec, Scenario } from "./scenario-types";
import { fail, indexPath, keyPath } from "./validate";

/** A node's tunnel endpoints, complete (what VXLANTunnelEndpointUpdate carries). */
export interface NodeTunnels {
  vxlanMac?: string;
  vxlanIpv4?: string;
  vxlanMacV6?: string;
  vxlanIpv6?: string;
  ipipAddr?: string;
}

const bitsOf = (family: IpFamily) => (family === 4 ? 32 : 128);

function toBig(ip: string): { family: IpFamily; value: bigint } | undefined {
  const parsed = parseIp(ip);
  if (!parsed) return undefined;
  let value = 0n;
  for (const b of parsed.bytes) value = (value << 8n) | BigInt(b);
  return { family: parsed.family, value };
}

function fromBig(family: IpFamily, value: bigint): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return formatIp({ family, bytes });
}

/** Start and prefix length of a canonical CIDR. */
function netOf(cidr: string): { family: IpFamily; start: bigint; prefix: number } {
  const [addr, len] = cidr.split("/");
  const ip = toBig(addr!)!;
  return { family: ip.family, start: ip.value, prefix: Number(len) };
}

export function cidrContainsIp(cidr: string, ip: string): boolean {
  const net = netOf(cidr);
  const addr = toBig(ip);
  if (!addr || addr.family !== net.family) return false;
  const shift = BigInt(bitsOf(net.family) - net.prefix);
  return addr.value >> shift === net.start >> shift;
}

function cidrsOverlap(a: string, b: string): boolean {
  const [x, y] = [netOf(a), netOf(b)];
  return x.family === y.family && (cidrContainsIp(a, fromBig(y.family, y.start)) || cidrContainsIp(b, fromBig(x.family, x.start)));
}

/** The block of `pool` holding `ip`. */
function blockOf(pool: IpPoolSpec, ip: string): string {
  const net = parseCidr(`${ip}/${pool.blockSize}`)!;
  return `${formatIp(net)}/${pool.blockSize}`;
}

export const poolFamily = (pool: IpPoolSpec): IpFamily => (pool.cidr.includes(":") ? 6 : 4);

/** A locally administered unicast MAC from a name. */
function derivedMac(seed: string): string {
  const h = createHash("sha256").update(seed).digest();
  return ["66", ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** Felix's ProgramClusterRoutes, as the scenario's config sets it (default Disabled). */
export function clusterRouteOwnership(config: Record<string, string>): { ipip: boolean; noEncap: boolean } {
  const mode = (Object.entries(config).find(([k]) => k.toLowerCase() === "programclusterroutes")?.[1] ?? "Disabled").toLowerCase();
  return { ipip: mode === "enabled" || mode === "enabledipiponly", noEncap: mode === "enabled" || mode === "enablednoencaponly" };
}

export class ClusterNetwork {
  pools: IpPoolSpec[] = [];
  config: Record<string, string> = {};
  private encapOverride: EncapsulationSpec | undefined;
  /** Block CIDR -> the node it is affine to. */
  readonly blocks = new Map<string, string>();
  readonly tunnels = new Map<string, NodeTunnels>();

  /** Pools, explicit node blocks and the scenario's config (before any pod is added). */
  load(scenario: Scenario): void {
    this.config = scenario.config;
    this.encapOverride = scenario.encapsulation;
    scenario.ipPools.forEach((pool, i) => {
      const path = indexPath("ipPools", i);
      const clash = this.pools.find((p) => cidrsOverlap(p.cidr, pool.cidr));
      if (clash) fail(keyPath(path, "cidr"), `${pool.cidr} overlaps pool ${clash.cidr}`);
      this.pools.push(pool);
    });
    scenario.nodes.forEach((node, i) =>
      (node.blocks ?? []).forEach((block, j) => {
        const path = indexPath(keyPath(indexPath("nodes", i), "blocks"), j);
        const pool = this.pools.find((p) => cidrContainsIp(p.cidr, block.split("/")[0]!));
        if (!pool) fail(path, `${block} is in no IP pool`);
        if (blockOf(pool, block.split("/")[0]!) !== block) fail(path, `${block} is not a /${pool.blockSize} block of pool ${pool.cidr}`);
        const owner = this.blocks.get(block);
        if (owner !== undefined && owner !== node.name) fail(path, `block ${block} is already affine to node ${owner}`);
        this.blocks.set(block, node.name);
      }),
    );
  }

  /** The pool holding `ip`, if any. */
  poolOf(ip: string): IpPoolSpec | undefined {
    return this.pools.find((p) => cidrContainsIp(p.cidr, ip));
  }

  /** A pod was allocated its addresses: claim their blocks; refuse a node's tunnel address. */
  podAdded(pod: PodSpec, path: string): void {
    for (const ip of [...pod.ipv4, ...pod.ipv6]) {
      for (const [node, t] of this.tunnels) {
        if ([t.vxlanIpv4, t.vxlanIpv6, t.ipipAddr].includes(ip)) fail(keyPath(path, "ips"), `${ip} is the tunnel address of node ${node}`);
      }
      const pool = this.poolOf(ip);
      if (!pool) continue;
      const block = blockOf(pool, ip);
      if (!this.blocks.has(block)) this.blocks.set(block, pod.node);
    }
  }

  /** The block holding `ip` and the node it is affine to. */
  blockFor(ip: string): { block: string; owner: string; pool: IpPoolSpec } | undefined {
    const pool = this.poolOf(ip);
    if (!pool) return undefined;
    const block = blockOf(pool, ip);
    const owner = this.blocks.get(block);
    return owner === undefined ? undefined : { block, owner, pool };
  }

  /** Felix's Encapsulation: from the pools (felix/calc/encapsulation_resolver.go) unless overridden. */
  encapsulation(): EncapsulationSpec | undefined {
    if (this.encapOverride) return this.encapOverride;
    if (this.pools.length === 0) return undefined;
    const owns = clusterRouteOwnership(this.config);
    return {
      ipipEnabled: this.pools.some((p) => p.ipipMode !== "Never"),
      vxlanEnabled: this.pools.some((p) => poolFamily(p) === 4 && p.vxlanMode !== "Never"),
      vxlanEnabledV6: this.pools.some((p) => poolFamily(p) === 6 && p.vxlanMode !== "Never"),
      noEncapEnabled: owns.noEncap && this.pools.some((p) => p.vxlanMode === "Never" && p.ipipMode === "Never"),
    };
  }

  /**
   * Allocates each node's tunnel addresses (after the initial pods). `usedIps` are every pod
   * address the scenario ever uses, so no later pod lands on a tunnel address.
   */
  allocateTunnels(nodes: NodeSpec[], usedIps: Set<string>): void {
    const encap = this.encapsulation();
    nodes.forEach((node, i) => {
      const path = indexPath("nodes", i);
      const t: NodeTunnels = {};
      const v = node.vtep ?? {};
      if (encap?.vxlanEnabled && node.ipv4) {
        t.vxlanMac = v.mac ?? derivedMac(`vxlan-v4/${node.name}`);
        t.vxlanIpv4 = v.ipv4 ?? this.allocate(node.name, 4, (p) => p.vxlanMode !== "Never", usedIps, keyPath(path, "vtep"));
      }
      if (encap?.vxlanEnabledV6 && node.ipv6) {
        t.vxlanMacV6 = v.macV6 ?? derivedMac(`vxlan-v6/${node.name}`);
        t.vxlanIpv6 = v.ipv6 ?? this.allocate(node.name, 6, (p) => p.vxlanMode !== "Never", usedIps, keyPath(path, "vtep"));
      }
      if (encap?.ipipEnabled && node.ipv4) {
        t.ipipAddr = node.ipipTunnelAddr ?? this.allocate(node.name, 4, (p) => p.ipipMode !== "Never", usedIps, keyPath(path, "ipipTunnelAddr"));
      }
      for (const ip of [t.vxlanIpv4, t.vxlanIpv6, t.ipipAddr]) {
        if (ip !== undefined && usedIps.has(ip)) fail(path, `tunnel address ${ip} is also a pod's address`);
        if (ip !== undefined) usedIps.add(ip);
      }
      this.tunnels.set(node.name, t);
    });
  }

  /** The lowest unused address of the node's first block in a matching pool, claiming a free block if it has none. */
  private allocate(node: string, family: IpFamily, wanted: (p: IpPoolSpec) => boolean, used: Set<string>, path: string): string {
    const pools = this.pools.filter((p) => poolFamily(p) === family && wanted(p));
    const mine = [...this.blocks].filter(([b, owner]) => owner === node && pools.some((p) => cidrContainsIp(p.cidr, b.split("/")[0]!))).map(([b]) => b);
    const candidates = mine.length > 0 ? mine : this.freeBlocks(pools, used);
    for (const block of candidates) {
      const net = netOf(block);
      const size = 1n << BigInt(bitsOf(family) - net.prefix);
      for (let i = 0n; i < size; i++) {
        const ip = fromBig(family, net.start + i);
        if (used.has(ip)) continue;
        this.blocks.set(block, node);
        return ip;
      }
    }
    fail(path, `no free IPv${family} address for node ${node}'s tunnel in pools ${pools.map((p) => p.cidr).join(", ")}`);
  }

  /** Blocks of `pools` nobody has claimed and no pod address falls in, in address order. */
  private *freeBlocks(pools: IpPoolSpec[], used: Set<string>): Generator<string> {
    for (const pool of pools) {
      const net = netOf(pool.cidr);
      const step = 1n << BigInt(bitsOf(net.family) - pool.blockSize);
      const count = 1n << BigInt(pool.blockSize - net.prefix);
      for (let i = 0n; i < count && i < 65536n; i++) {
        const block = `${fromBig(net.family, net.start + i * step)}/${pool.blockSize}`;
        if (this.blocks.has(block) || [...used].some((ip) => cidrContainsIp(block, ip))) continue;
        yield block;
      }
    }
  }
}
