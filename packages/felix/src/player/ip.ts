/**
 * IP addresses and CIDRs in the exact string forms Felix puts on the wire: Go's `net.IP.String`
 * (RFC 5952 for IPv6: lower case, longest zero run compressed) and `net.IPNet.String` with host
 * bits cleared. IP set members and rule nets are compared as strings by drivers, so the form
 * matters, not just the value.
 */
import { isIP } from "node:net";

export type IpFamily = 4 | 6;

/** An address as bytes (4 or 16). */
export interface IpAddress {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
}

/** A network: address (host bits cleared by `parseCidr`) plus prefix length. */
export interface IpNetwork extends IpAddress {
  readonly prefixLength: number;
}

/** Parses a literal IPv4 or IPv6 address (no zone, no prefix); undefined if it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const family = isIP(text);
  if (family === 4) return { family, bytes: Uint8Array.from(text.split(".").map(Number)) };
  if (family === 6 && !text.includes("%")) return { family, bytes: parseIpv6(text) };
  return undefined;
}

function parseIpv6(text: string): Uint8Array {
  // isIP has already checked the syntax; expand "::" and an embedded dotted IPv4 tail.
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const expand = (part: string | undefined): number[] =>
    (part ? part.split(":") : []).flatMap((group) => {
      if (!group.includes(".")) return [parseInt(group, 16)];
      const v4 = group.split(".").map(Number);
      return [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    });
  const before = expand(head);
  const after = expand(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - before.length - after.length).fill(0);
  const bytes = new Uint8Array(16);
  [...before, ...zeros, ...after].forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** Formats an address the way Go's net.IP.String does. */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return Array.from(ip.bytes).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i] << 8) | ip.bytes[i + 1]);
  // Find the first longest run of zero groups; a single zero group is never compressed.
  let bestStart = -1;
  let bestLength = 0;
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
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * Parses "addr/len" or a bare address (taken as a host route, /32 or /128) and clears the host
 * bits, as libcalico-go's ParseCIDROrIP + Network() do. Undefined if the text is not a CIDR.
 */
export function parseCidr(text: string): IpNetwork | undefined {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const maxLength = ip.family === 4 ? 32 : 128;
  let prefixLength = maxLength;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText)) return undefined;
    prefixLength = Number(lengthText);
    if (prefixLength > maxLength) return undefined;
  }
  const bytes = Uint8Array.from(ip.bytes);
  for (let bit = prefixLength; bit < maxLength; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family: ip.family, bytes, prefixLength };
}

/** "10.0.0.0/24", "fd00::/64": Go's net.IPNet.String. */
export function formatCidr(net: IpNetwork): string {
  return `${formatIp(net)}/${net.prefixLength}`;
}

/** The host route for an address: "10.65.0.2/32", "fd00:65::2/128". */
export function hostCidr(ip: IpAddress): string {
  return `${formatIp(ip)}/${ip.family === 4 ? 32 : 128}`;
}
