/**
 * IPv4/IPv6 addresses and prefixes as unsigned integers (bigint), with strict parsing and
 * canonical text. Pure: no Node APIs, so the compiler and interpreter can run anywhere. The
 * text syntax itself is @ptables/api's shared IP parser/formatter; this adds the bigint view.
 *
 * Canonical text: dotted quad for IPv4; RFC 5952 for IPv6 (lower case, no leading zeros, the
 * longest run of two or more zero groups shortened to "::", the first one on a tie). Embedded
 * IPv4 notation is accepted on input but never produced, so every address has one spelling.
 */
import { formatIpv6Groups, tryParseIpAddress, type Family } from "@ptables/api";

export interface IpAddress {
  family: Family;
  value: bigint;
}

/** A prefix with its host bits cleared. */
export interface Cidr {
  family: Family;
  addr: bigint;
  prefixLen: number;
}

/** Number of address bits of a family (32 or 128). */
export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

const MASKS: Record<Family, bigint[]> = { 4: buildMasks(32), 6: buildMasks(128) };

function buildMasks(bits: number): bigint[] {
  const all = (1n << BigInt(bits)) - 1n;
  const masks: bigint[] = [];
  for (let len = 0; len <= bits; len++) masks.push(all ^ ((1n << BigInt(bits - len)) - 1n));
  return masks;
}

/** The network mask of a prefix length, as an integer of the family's width. */
export function prefixMask(family: Family, prefixLen: number): bigint {
  const mask = MASKS[family][prefixLen];
  if (mask === undefined) throw new RangeError(`prefix length ${prefixLen} out of range for IPv${family}`);
  return mask;
}

/** Parses an IPv4 or IPv6 address; undefined when the text is not exactly one address. */
export function parseIp(text: string): IpAddress | undefined {
  const ip = tryParseIpAddress(text);
  if (!ip) return undefined;
  const b = ip.bytes;
  if (ip.family === 4) return { family: 4, value: BigInt(((b[0]! * 256 + b[1]!) * 256 + b[2]!) * 256 + b[3]!) };
  let value = 0n;
  for (let i = 0; i < 16; i += 2) value = (value << 16n) | BigInt((b[i]! << 8) | b[i + 1]!);
  return { family: 6, value };
}

/** Canonical text of an address (IPv4-mapped IPv6 is written in hex groups like any other). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  return formatIpv6Groups(groups);
}

/**
 * Parses "addr/len" (or a bare address, taken as a full-length prefix) and clears host bits,
 * as Felix does. Undefined when the text is not a prefix.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const bits = familyBits(ip.family);
  let prefixLen = bits;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
    prefixLen = Number(lenText);
    if (prefixLen > bits) return undefined;
  }
  return { family: ip.family, addr: ip.value & prefixMask(ip.family, prefixLen), prefixLen };
}

/** Canonical "addr/len" text of a prefix. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.family, cidr.addr)}/${cidr.prefixLen}`;
}

/** Whether an address of `family` lies inside the prefix. */
export function cidrContains(cidr: Cidr, family: Family, value: bigint): boolean {
  return cidr.family === family && (value & prefixMask(family, cidr.prefixLen)) === cidr.addr;
}

/** Whether the prefix is 0.0.0.0/0 or ::/0. */
export function isCatchAll(cidr: Cidr): boolean {
  return cidr.prefixLen === 0;
}
