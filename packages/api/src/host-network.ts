/**
 * Host-mode plumbing: what a backend that forwards through the host kernel (the eBPF/tc
 * fallback) needs besides routes and neighbours to give pods connectivity the way Felix's own
 * dataplane does: tunnel devices (vxlan.calico, vxlan-v6.calico, tunl0), the VXLAN forwarding
 * database, NAT-outgoing masquerade, and per-interface sysctls. See docs/host-mode.md.
 *
 * Tunnels, FDB and NAT are plain tables (TableBackend): loadAll returns only objects ptables
 * owns, recognisable without history, so a restarted programmer that computes the same desired
 * state writes nothing. Sysctls have no owner mark and die with their interface, so they are an
 * idempotent operation instead of a table.
 */
import type { TableBackend } from "./backend";

/** A tunnel device, by name. */
export interface TunnelKey {
  ifname: string;
}

export interface TunnelValue {
  kind: "vxlan" | "ipip";
  /** VXLAN network identifier (VXLAN only; 0 otherwise). */
  vni: number;
  /** VXLAN UDP port (VXLAN only; 0 otherwise). */
  port: number;
  /** The node's own address the tunnel sends from ("" = any); also picks the parent device. */
  local: string;
  /** Device MTU; 0 = the parent device's MTU minus the encapsulation overhead. */
  mtu: number;
  /** The device's MAC (VXLAN: the node's VTEP MAC); "" = whatever the kernel chose. */
  mac: string;
  /** The node's tunnel address, a bare IP put on the device as /32 or /128; "" = none. */
  address: string;
  /**
   * Readback only: why the live device no longer matches what was written (a changed parent
   * MTU, a missing address, the device down). Desired values never carry it, so a drifted
   * device is rewritten.
   */
  drift?: string;
}

/** A VXLAN forwarding entry: which remote VTEP (by its MAC) lives behind which node address. */
export interface FdbKey {
  /** The VXLAN device. */
  ifname: string;
  mac: string;
}

export interface FdbValue {
  /** The remote node's address (the VTEP's parent device address). */
  dst: string;
}

/** One masquerade table per address family. */
export interface NatOutgoingKey {
  family: 4 | 6;
}

/**
 * Traffic from `masquerade` to destinations outside every pool in `pools` is masqueraded
 * (Felix's NAT outgoing). Both lists hold canonical CIDRs, sorted.
 */
export interface NatOutgoingValue {
  masquerade: string[];
  pools: string[];
  /** Readback only, as for TunnelValue.drift. */
  drift?: string;
}

/** One sysctl under /proc/sys, e.g. { path: "net/ipv4/conf/cali1/forwarding", value: "1" }. */
export interface Sysctl {
  path: string;
  value: string;
}

export interface HostNetwork {
  tunnels: TableBackend<TunnelKey, TunnelValue>;
  fdb: TableBackend<FdbKey, FdbValue>;
  natOutgoing: TableBackend<NatOutgoingKey, NatOutgoingValue>;
  /**
   * Sets sysctls, writing only those whose value differs; resolves to how many it wrote.
   * Sysctls whose file does not exist are skipped when `optional` (e.g. IPv6 settings on an
   * interface without IPv6); a missing required one rejects naming it.
   */
  setSysctls(settings: Sysctl[], optional?: (s: Sysctl) => boolean): Promise<number>;
  /** The rp_filter value a new interface gets (net.ipv4.conf.default.rp_filter). */
  defaultRpFilter(): Promise<string>;
  /** Removes every tunnel and NAT table ptables created (their FDB entries go with the devices). */
  cleanup(): Promise<void>;
}

export const tunnelKeyString = (k: TunnelKey): string => k.ifname;
export const fdbKeyString = (k: FdbKey): string => `${k.ifname}|${String(k.mac).toLowerCase()}`;
export const natOutgoingKeyString = (k: NatOutgoingKey): string => `ipv${k.family}`;

export function tunnelValueEquals(a: TunnelValue, b: TunnelValue): boolean {
  return (
    a.kind === b.kind &&
    a.vni === b.vni &&
    a.port === b.port &&
    a.local === b.local &&
    a.mtu === b.mtu &&
    a.mac.toLowerCase() === b.mac.toLowerCase() &&
    a.address === b.address &&
    (a.drift ?? "") === (b.drift ?? "")
  );
}

export const fdbValueEquals = (a: FdbValue, b: FdbValue): boolean => a.dst === b.dst;

export function natOutgoingValueEquals(a: NatOutgoingValue, b: NatOutgoingValue): boolean {
  const same = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.masquerade, b.masquerade) && same(a.pools, b.pools) && (a.drift ?? "") === (b.drift ?? "");
}
