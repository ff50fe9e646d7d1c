/**
 * Routes, VXLAN tunnel endpoints, IPAM pools and host metadata -> model objects. Host
 * metadata arrives in two wire generations (v3.33's one message on field 14; v3.32's v4-only,
 * v6-only and v4v6 messages on 14, 35 and 37), which are merged into one HostMetadata per host.
 */
import { ValidationError } from "@ptables/api";
import type { Encapsulation, HostMetadata, IpamPool, Route, Vtep } from "@ptables/api";
import type { felix } from "@ptables/proto";
import { converting, type Converted } from "./object-kinds";
import { canonicalAddress, canonicalInterfaceAddress, canonicalMac, canonicalNet, required } from "./validate";

/** The key a route is known by: its canonical destination, or the raw text if that is invalid. */
export function routeKeyOf(dst: string): string {
  try {
    return canonicalNet(dst, "route dst");
  } catch (err) {
    if (err instanceof ValidationError) return dst;
    throw err;
  }
}

export function convertRoute(key: string, update: felix.RouteUpdate): Converted<"route"> {
  return converting(() => {
    const label = `route ${key}`;
    const dst = canonicalNet(update.dst, `${label} dst`);
    const model: Route = {
      dst,
      types: nonNegative(update.types, `${label} types`),
      ipPoolType: nonNegative(update.ipPoolType, `${label} ip_pool_type`),
      dstNodeName: update.dstNodeName,
      dstNodeIp: update.dstNodeIp === "" ? "" : canonicalAddress(update.dstNodeIp, `${label} dst_node_ip`),
      sameSubnet: update.sameSubnet,
      natOutgoing: update.natOutgoing,
      localWorkload: update.localWorkload,
      tunnelIpip: update.tunnelType?.ipip ?? false,
      tunnelVxlan: update.tunnelType?.vxlan ?? false,
      tunnelWireguard: update.tunnelType?.wireguard ?? false,
      borrowed: update.borrowed,
    };
    return { model: () => model, deps: [] };
  });
}

function nonNegative(value: number, path: string): number {
  if (!Number.isInteger(value) || value < 0) throw new ValidationError(path, `${value} is negative`);
  return value;
}

export function convertVtep(key: string, update: felix.VXLANTunnelEndpointUpdate): Converted<"vtep"> {
  return converting(() => {
    const label = `VXLAN tunnel endpoint ${key}`;
    const address = (text: string, field: string, family: 4 | 6): string =>
      text === "" ? "" : canonicalAddress(text, `${label} ${field}`, family);
    const model: Vtep = {
      node: key,
      mac: canonicalMac(update.mac, `${label} mac`),
      ipv4Addr: address(update.ipv4Addr, "ipv4_addr", 4),
      parentDeviceIp: address(update.parentDeviceIp, "parent_device_ip", 4),
      macV6: canonicalMac(update.macV6, `${label} mac_v6`),
      ipv6Addr: address(update.ipv6Addr, "ipv6_addr", 6),
      parentDeviceIpv6: address(update.parentDeviceIpv6, "parent_device_ipv6", 6),
    };
    return { model: () => model, deps: [] };
  });
}

export function convertIpamPool(key: string, pool: felix.IPAMPool | undefined): Converted<"ipamPool"> {
  return converting(() => {
    const label = `IPAM pool ${key}`;
    if (pool === undefined) throw new ValidationError(label, "update has no pool body");
    const model: IpamPool = {
      id: key,
      cidr: canonicalNet(required(pool.cidr, `${label} cidr`), `${label} cidr`),
      masquerade: pool.masquerade,
      ipipMode: pool.ipipMode,
      vxlanMode: pool.vxlanMode,
      allowedUses: [...pool.allowedUses],
    };
    return { model: () => model, deps: [] };
  });
}

export function convertEncapsulation(encap: felix.Encapsulation): Encapsulation {
  return {
    ipipEnabled: encap.ipipEnabled,
    vxlanEnabled: encap.vxlanEnabled,
    vxlanEnabledV6: encap.vxlanEnabledV6,
    noEncapEnabled: encap.noEncapEnabled,
  };
}

/**
 * What Felix has said about one host, by message kind. v3.33 only uses `current` (field 14,
 * five fields). v3.32 sends `current` with just a bare IPv4 address, plus `v6` (35) and
 * `v4v6` (37); each has its own remove.
 */
export interface HostMetadataSources {
  current?: felix.HostMetadataUpdate;
  v6?: felix.HostMetadataV6Update;
  v4v6?: felix.HostMetadataV4V6Update;
}

/**
 * One HostMetadata from whatever Felix sent; the most complete message wins per field.
 * Addresses keep their host bits ("10.0.0.5/24": the node's address and subnet); a bare
 * address becomes /32 or /128.
 */
export function mergeHostMetadata(hostname: string, sources: HostMetadataSources): Converted<"host"> {
  return converting(() => {
    const label = `host ${hostname}`;
    const pick = (values: Array<string | undefined>): string => values.find((v) => v) ?? "";
    const ipv4 = pick([sources.v4v6?.ipv4Addr, sources.current?.ipv4Addr]);
    const ipv6 = pick([sources.v4v6?.ipv6Addr, sources.current?.ipv6Addr, sources.v6?.ipv6Addr]);
    const model: HostMetadata = {
      hostname,
      ipv4Addr: ipv4 === "" ? "" : canonicalInterfaceAddress(ipv4, `${label} ipv4_addr`, 4),
      ipv6Addr: ipv6 === "" ? "" : canonicalInterfaceAddress(ipv6, `${label} ipv6_addr`, 6),
      asnumber: pick([sources.v4v6?.asnumber, sources.current?.asnumber]),
      labels: { ...sources.current?.labels, ...sources.v4v6?.labels },
    };
    return { model: () => model, deps: [] };
  });
}
