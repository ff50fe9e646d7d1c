/** pt_config[0] (struct pt_config) <-> DatapathConfig. */
import { ValidationError } from "@ptables/api";
import { CT_STATES, type CtStateName } from "./ct-codec";
import { checkInt, checkU64 } from "./field-checks";
import { formatIpBytes, parseIpBytes } from "./ip-bytes";
import { CONFIG } from "./layouts";

const F = CONFIG.fields;

/** Conntrack idle timeouts by state, in nanoseconds; 0n means the datapath's built-in default. */
export type ConntrackTimeouts = Record<CtStateName, bigint>;

export interface DatapathConfig {
  /** The IPv4 address pods use as their gateway; ARP requests for it are answered. */
  gatewayIpv4: string;
  /** The MAC given in those answers. */
  gatewayMac: string;
  arpEnabled: boolean;
  /** UDP port whose traffic from workloads counts as VXLAN. */
  vxlanPort: number;
  timeoutsNs: ConntrackTimeouts;
}

const SECOND = 1_000_000_000n;

/** The built-in conntrack timeouts (Felix's BPF-mode defaults); the C program has the same numbers. */
export const DEFAULT_CONNTRACK_TIMEOUTS_NS: Readonly<ConntrackTimeouts> = {
  "syn-sent": 20n * SECOND,
  "syn-recv": 20n * SECOND,
  established: 3600n * SECOND,
  "fin-wait": 30n * SECOND,
  closed: 40n * SECOND,
  udp: 60n * SECOND,
  icmp: 5n * SECOND,
  other: 600n * SECOND,
};

export const DEFAULT_DATAPATH_CONFIG: Readonly<DatapathConfig> = {
  gatewayIpv4: "169.254.1.1",
  gatewayMac: "ee:ee:ee:ee:ee:ee",
  arpEnabled: true,
  vxlanPort: 4789,
  timeoutsNs: DEFAULT_CONNTRACK_TIMEOUTS_NS,
};

const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function parseMac(where: string, mac: string): Buffer {
  if (typeof mac !== "string" || !MAC_PATTERN.test(mac)) throw new ValidationError(where, `MAC "${String(mac)}" is not xx:xx:xx:xx:xx:xx`);
  return Buffer.from(mac.split(":").map((b) => parseInt(b, 16)));
}

export function formatMac(bytes: Buffer): string {
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export function encodeConfig(config: DatapathConfig, out: Buffer): void {
  const where = "datapath config";
  const ip = parseIpBytes(config.gatewayIpv4, 4);
  if (!ip) throw new ValidationError(where, `gatewayIpv4 "${String(config.gatewayIpv4)}" is not an IPv4 address`);
  const mac = parseMac(where, config.gatewayMac);
  out.fill(0, 0, CONFIG.size);
  ip.copy(out, F.gateway_ipv4, 0, 4);
  mac.copy(out, F.gateway_mac);
  out.writeUInt8(config.arpEnabled ? 1 : 0, F.arp_enabled);
  out.writeUInt16BE(checkInt(where, "vxlanPort", config.vxlanPort, 1, 65535), F.vxlan_port_be);
  CT_STATES.forEach((state, i) => {
    out.writeBigUInt64LE(checkU64(where, `timeout ${state}`, config.timeoutsNs[state]), F.timeouts_ns + i * 8);
  });
}

export function decodeConfig(buf: Buffer): DatapathConfig {
  const timeoutsNs = {} as ConntrackTimeouts;
  CT_STATES.forEach((state, i) => (timeoutsNs[state] = buf.readBigUInt64LE(F.timeouts_ns + i * 8)));
  return {
    gatewayIpv4: formatIpBytes(buf.subarray(F.gateway_ipv4, F.gateway_ipv4 + 4), 4),
    gatewayMac: formatMac(buf.subarray(F.gateway_mac, F.gateway_mac + 6)),
    arpEnabled: buf.readUInt8(F.arp_enabled) !== 0,
    vxlanPort: buf.readUInt16BE(F.vxlan_port_be),
    timeoutsNs,
  };
}

/** A zeroed pt_config (never written) is recognisable: no gateway MAC. */
export function isUnsetConfig(buf: Buffer): boolean {
  return buf.subarray(0, CONFIG.size).every((b) => b === 0);
}
