/**
 * IPv4/IPv6 addresses and prefixes as unsigned integers (bigint), with strict parsing and
 * canonical text. Pure: no Node APIs, so the compiler and interpreter can run anywhere.
 *
 * Canonical text: dotted quad for IPv4; RFC 5952 for IPv6 (lower case, no leading zeros, the
 * longest run of two or more zero groups shortened to "::", the first one on a tie). Embedded
 * IPv4 notation is accepted on input but never produced, so every address has one spelling.
 */
import type { Family } from "@ptables/api";

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
  if (text.includes(":")) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
    if (!DECIMAL_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return BigInt(value);
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1]!, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** Groups of one side of "::"; an embedded IPv4 address is allowed only at the very end. */
function parseGroups(side: string, mayEndWithIpv4: boolean): number[] | undefined {
  if (side === "") return [];
  const parts = side.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i === parts.length - 1 && mayEndWithIpv4 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      continue;
    }
    if (!HEX_GROUP.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

/** Canonical text of an address. */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // Find the longest run of zero groups (length >= 2); the first wins a tie (RFC 5952 4.2.3).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
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
