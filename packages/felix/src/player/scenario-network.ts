/**
 * Reading the networking part of a scenario: IP pools, an Encapsulation override, and per node
 * its extra IPAM blocks, VXLAN tunnel endpoint and IPIP tunnel address.
 *
 * ```yaml
 * ipPools:
 *   - {cidr: 10.65.0.0/16, vxlanMode: Always, ipipMode: Never, natOutgoing: true, blockSize: 26}
 * encapsulation: {vxlanEnabled: true}        # optional; derived from the pools otherwise
 * nodes:
 *   - name: node-a
 *     ip: 10.254.0.1/24
 *     blocks: [10.65.7.0/26]                 # optional; pods' addresses claim their blocks anyway
 *     vtep: {mac: "66:00:00:00:00:0a", ip: 10.65.0.0, macV6: ..., ipv6: ...}   # optional
 *     ipipTunnelAddr: 10.70.0.1              # optional
 * ```
 */
import { formatCidr, formatIp, parseCidr, parseIp, type IpFamily } from "./ip";
import type { EncapMode, EncapsulationSpec, IpPoolSpec, NodeSpec, VtepSpec } from "./scenario-types";
import { describe, fail, indexPath, keyPath, readEnum, readInteger, readList, readObject, readString } from "./validate";

const MODES = ["Always", "CrossSubnet", "Never"] as const;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Calico's default block sizes. */
export const DEFAULT_BLOCK_SIZE: Record<IpFamily, number> = { 4: 26, 6: 122 };

export const NODE_NETWORK_KEYS = ["blocks", "vtep", "ipipTunnelAddr"] as const;

function readCidr(value: unknown, path: string): { cidr: string; family: IpFamily; prefixLength: number } {
  const text = readString(value, path, "a CIDR");
  const net = text.includes("/") ? parseCidr(text) : undefined;
  if (!net) fail(path, `${describe(text)} is not a CIDR`);
  return { cidr: formatCidr(net), family: net.family, prefixLength: net.prefixLength };
}

function readAddress(value: unknown, path: string, family: IpFamily): string {
  const text = readString(value, path, `an IPv${family} address`);
  const ip = parseIp(text);
  if (!ip || ip.family !== family) fail(path, `${describe(text)} is not an IPv${family} address`);
  return formatIp(ip);
}

function readMac(value: unknown, path: string): string {
  const text = readString(value, path, "a MAC address");
  if (!MAC.test(text)) fail(path, `${describe(text)} is not a MAC address (six hex octets separated by ':')`);
  if (parseInt(text.slice(0, 2), 16) & 1) fail(path, `${describe(text)} is a multicast MAC; a VTEP needs a unicast one`);
  return text.toLowerCase();
}

function readBool(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") fail(path, `expected true or false, got ${describe(value)}`);
  return value;
}

export function readIpPool(value: unknown, path: string): IpPoolSpec {
  const obj = readObject(value, path, ["cidr", "vxlanMode", "ipipMode", "natOutgoing", "blockSize", "allowedUses"]);
  const { cidr, family, prefixLength } = readCidr(obj.cidr, keyPath(path, "cidr"));
  const mode = (key: string): EncapMode => (obj[key] === undefined ? "Never" : readEnum(obj[key], keyPath(path, key), MODES));
  const pool: IpPoolSpec = {
    cidr,
    vxlanMode: mode("vxlanMode"),
    ipipMode: mode("ipipMode"),
    natOutgoing: obj.natOutgoing === undefined ? false : readBool(obj.natOutgoing, keyPath(path, "natOutgoing")),
    blockSize: obj.blockSize === undefined ? DEFAULT_BLOCK_SIZE[family] : readInteger(obj.blockSize, keyPath(path, "blockSize"), family === 4 ? 20 : 116, family === 4 ? 32 : 128),
    allowedUses: obj.allowedUses === undefined ? ["Workload", "Tunnel"] : readList(obj.allowedUses, keyPath(path, "allowedUses")).map((u, i) => readEnum(u, indexPath(keyPath(path, "allowedUses"), i), ["Workload", "Tunnel", "LoadBalancer"] as const)),
  };
  // The Calico API server's rules.
  if (pool.vxlanMode !== "Never" && pool.ipipMode !== "Never") fail(path, "a pool cannot use both VXLAN and IPIP");
  if (family === 6 && pool.ipipMode !== "Never") fail(keyPath(path, "ipipMode"), "IPIP is IPv4 only");
  if (pool.blockSize < prefixLength) fail(keyPath(path, "blockSize"), `blocks of /${pool.blockSize} do not fit in a /${prefixLength} pool`);
  return pool;
}

export function readEncapsulation(value: unknown, path: string): EncapsulationSpec {
  const obj = readObject(value, path, ["ipipEnabled", "vxlanEnabled", "vxlanEnabledV6", "noEncapEnabled"]);
  const flag = (key: string) => (obj[key] === undefined ? false : readBool(obj[key], keyPath(path, key)));
  return { ipipEnabled: flag("ipipEnabled"), vxlanEnabled: flag("vxlanEnabled"), vxlanEnabledV6: flag("vxlanEnabledV6"), noEncapEnabled: flag("noEncapEnabled") };
}

/** Reads a node's networking keys (see NODE_NETWORK_KEYS) into `node`. */
export function readNodeNetwork(obj: Record<string, unknown>, path: string, node: NodeSpec): void {
  if (obj.blocks !== undefined) {
    node.blocks = readList(obj.blocks, keyPath(path, "blocks")).map((b, i) => {
      const bpath = indexPath(keyPath(path, "blocks"), i);
      const { cidr } = readCidr(b, bpath);
      if (cidr !== b) fail(bpath, `${describe(b)} has host bits set (the block is ${cidr})`);
      return cidr;
    });
  }
  if (obj.ipipTunnelAddr !== undefined) node.ipipTunnelAddr = readAddress(obj.ipipTunnelAddr, keyPath(path, "ipipTunnelAddr"), 4);
  if (obj.vtep !== undefined) {
    const vpath = keyPath(path, "vtep");
    const v = readObject(obj.vtep, vpath, ["mac", "ip", "macV6", "ipv6"]);
    const vtep: VtepSpec = {};
    if (v.mac !== undefined) vtep.mac = readMac(v.mac, keyPath(vpath, "mac"));
    if (v.ip !== undefined) vtep.ipv4 = readAddress(v.ip, keyPath(vpath, "ip"), 4);
    if (v.macV6 !== undefined) vtep.macV6 = readMac(v.macV6, keyPath(vpath, "macV6"));
    if (v.ipv6 !== undefined) vtep.ipv6 = readAddress(v.ipv6, keyPath(vpath, "ipv6"), 6);
    node.vtep = vtep;
  }
}
