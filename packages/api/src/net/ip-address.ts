/**
 * The one strict parser and formatter for IPv4/IPv6 addresses and CIDRs, shared by Felix's
 * converters, the scenario player, policy-core and the eBPF codecs. Pure: no Node APIs.
 *
 * Accepted syntax mirrors Go's net/netip (and Node's net.isIP without zones): dotted quads
 * without leading zeros, RFC 4291 IPv6 text (with "::" and an embedded dotted quad at the end),
 * no zones. Output is canonical: RFC 5952 lower-case IPv6 with the first longest run of two or
 * more zero groups compressed.
 */

/** Thrown by the throwing parsers here; callers add where the text came from. */
export class AddressSyntaxError extends Error {}

export type IpFamily = 4 | 6;

export interface IpAddress {
  family: IpFamily;
  /** 4 bytes for IPv4, 16 for IPv6, network byte order. */
  bytes: Uint8Array;
}

export interface IpPrefix {
  address: IpAddress;
  prefixLength: number;
  /** False for a bare address, whose prefix length defaults to the full width. */
  hadPrefix: boolean;
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/;

/** Parses "10.0.0.1" or "fd00::1"; throws AddressSyntaxError. */
export function parseIpAddress(text: string): IpAddress {
  if (text.includes(":")) return { family: 6, bytes: orThrow(ipv6Bytes(text)) };
  return { family: 4, bytes: orThrow(ipv4Bytes(text)) };
}

/** parseIpAddress, but undefined instead of an error. */
export function tryParseIpAddress(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const bytes = ipv6Bytes(text);
    return typeof bytes === "string" ? undefined : { family: 6, bytes };
  }
  const bytes = ipv4Bytes(text);
  return typeof bytes === "string" ? undefined : { family: 4, bytes };
}

/** The 4 bytes of a dotted quad, or undefined. */
export function tryParseIpv4(text: string): Uint8Array | undefined {
  const bytes = ipv4Bytes(text);
  return typeof bytes === "string" ? undefined : bytes;
}

/** The 16 bytes of an IPv6 address (no zone), or undefined. */
export function tryParseIpv6(text: string): Uint8Array | undefined {
  const bytes = ipv6Bytes(text);
  return typeof bytes === "string" ? undefined : bytes;
}

/** Parses "10.0.0.0/24", "fd00::/64" or a bare address (prefix length = full width). */
export function parseIpPrefix(text: string): IpPrefix {
  const slash = text.indexOf("/");
  if (slash < 0) {
    const address = parseIpAddress(text);
    return { address, prefixLength: address.bytes.length * 8, hadPrefix: false };
  }
  const address = parseIpAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  const width = address.bytes.length * 8;
  if (!PREFIX_LENGTH.test(lengthText)) throw new AddressSyntaxError(`prefix length "${lengthText}" is not a number`);
  const prefixLength = Number(lengthText);
  if (prefixLength > width) {
    throw new AddressSyntaxError(`prefix length ${prefixLength} is longer than ${width} bits`);
  }
  return { address, prefixLength, hadPrefix: true };
}

/** A copy of the address with every bit after `prefixLength` cleared. */
export function maskAddress(address: IpAddress, prefixLength: number): IpAddress {
  return { family: address.family, bytes: maskBytes(Uint8Array.from(address.bytes), prefixLength) };
}

/** Clears every bit of `bytes` after the first `prefixLength`, in place; returns `bytes`. */
export function maskBytes<T extends Uint8Array>(bytes: T, prefixLength: number): T {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLength - i * 8));
    bytes[i] &= keep === 8 ? 0xff : (0xff << (8 - keep)) & 0xff;
  }
  return bytes;
}

/** Canonical text, as Go's netip.Addr.String: IPv4-mapped IPv6 keeps its dotted tail. */
export function formatIpAddress(address: IpAddress): string {
  return address.family === 4 ? address.bytes.join(".") : formatIpv6(address.bytes, { dottedIpv4Mapped: true });
}

export interface FormatIpv6Options {
  /** Write "::ffff:a.b.c.d" for IPv4-mapped addresses (netip style) instead of hex groups. */
  dottedIpv4Mapped?: boolean;
}

/** RFC 5952 text of the first 16 bytes of `bytes`. */
export function formatIpv6(bytes: Uint8Array, options: FormatIpv6Options = {}): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[i * 2] << 8) | bytes[i * 2 + 1]);
  return formatIpv6Groups(groups, options);
}

/** RFC 5952 text of eight 16-bit groups. */
export function formatIpv6Groups(groups: readonly number[], options: FormatIpv6Options = {}): string {
  if (options.dottedIpv4Mapped && isIpv4Mapped(groups)) {
    return `::ffff:${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  }
  // RFC 5952: compress the first longest run of two or more zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4_CIDR = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}(?:/(3[0-2]|[12]?[0-9]))?$`);

/**
 * The canonical network of a well-formed IPv4 CIDR or address, computed with plain integer
 * arithmetic; undefined for anything else (the general parser then decides). IP sets hold
 * hundreds of thousands of such members, so this path matters.
 */
export function canonicalIpv4Net(text: string): string | undefined {
  const m = IPV4_CIDR.exec(text);
  if (!m) return undefined;
  const length = m[5] === undefined ? 32 : Number(m[5]);
  if (length === 32) return m[5] === undefined ? `${text}/32` : text;
  const value = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const network = length === 0 ? 0 : (value & (0xffffffff << (32 - length))) >>> 0;
  return `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}/${length}`;
}

/** Bytes, or the reason the text is not an address (a string, so failures need no throw). */
type Parsed = Uint8Array | string;

function orThrow(parsed: Parsed): Uint8Array {
  if (typeof parsed === "string") throw new AddressSyntaxError(parsed);
  return parsed;
}

function ipv4Bytes(text: string): Parsed {
  const parts = text.split(".");
  if (parts.length !== 4) return "not an IPv4 address (needs 4 dotted parts)";
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!DECIMAL_OCTET.test(part)) return `"${part}" is not a decimal octet`;
    const value = Number(part);
    if (value > 255) return `octet ${value} is out of range`;
    bytes[i] = value;
  }
  return bytes;
}

function ipv6Bytes(text: string): Parsed {
  if (text.includes("%")) return "IPv6 zones are not allowed";
  const halves = text.split("::");
  if (halves.length > 2) return `"::" appears more than once`;
  const head = parseGroups(halves[0], halves.length === 1);
  if (typeof head === "string") return head;
  const tail = halves.length === 2 ? parseGroups(halves[1], true) : [];
  if (typeof tail === "string") return tail;
  const groups = head.length + tail.length;
  if (halves.length === 1 && groups !== 8) return "not an IPv6 address (needs 8 groups)";
  if (halves.length === 2 && groups > 7) return 'not an IPv6 address (too many groups with "::")';
  const bytes = new Uint8Array(16);
  head.forEach((g, i) => writeGroup(bytes, i, g));
  tail.forEach((g, i) => writeGroup(bytes, 8 - tail.length + i, g));
  return bytes;
}

/** Groups of one side of "::"; a trailing dotted quad counts as two groups. */
function parseGroups(side: string, mayEndInIpv4: boolean): number[] | string {
  if (side === "") return [];
  const parts = side.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part.includes(".") && mayEndInIpv4 && i === parts.length - 1) {
      const v4 = ipv4Bytes(part);
      if (typeof v4 === "string") return v4;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      continue;
    }
    if (!HEX_GROUP.test(part)) return `"${part}" is not a hex group`;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

function writeGroup(bytes: Uint8Array, index: number, value: number): void {
  bytes[index * 2] = value >> 8;
  bytes[index * 2 + 1] = value & 0xff;
}

function isIpv4Mapped(groups: readonly number[]): boolean {
  return groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff;
}
