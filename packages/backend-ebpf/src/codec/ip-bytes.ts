/**
 * IP addresses as the maps hold them: 16 bytes, IPv4 in the first 4 and zeros after. Text goes
 * in as any valid form and comes out canonical (dotted quad; RFC 5952 for IPv6), so keys read
 * back from a map compare equal to the keys that were written. A thin Buffer adapter over
 * @ptables/api's shared IP parser/formatter.
 */
import { formatIpv6, maskBytes, tryParseIpv4, tryParseIpv6, type Family } from "@ptables/api";

/** Parses `text` of the given family into 16 bytes, or returns undefined if it is not one. */
export function parseIpBytes(text: string, family: Family): Buffer | undefined {
  const bytes = family === 4 ? tryParseIpv4(text) : tryParseIpv6(text);
  if (!bytes) return undefined;
  const out = Buffer.alloc(16);
  out.set(bytes);
  return out;
}

/** The canonical text of the first 4 (family 4) or 16 bytes of `bytes`. */
export function formatIpBytes(bytes: Buffer, family: Family): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  return formatIpv6(bytes);
}

/** Clears the bits after the first `prefixLen` in place; returns `bytes`. */
export function maskIpBytes(bytes: Buffer, prefixLen: number): Buffer {
  return maskBytes(bytes, prefixLen);
}

/** Parses "a.b.c.d" or an IPv6 address of either family. */
export function parseAnyIp(text: string): { family: Family; bytes: Buffer } | undefined {
  const v4 = parseIpBytes(text, 4);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIpBytes(text, 6);
  return v6 ? { family: 6, bytes: v6 } : undefined;
}
