/**
 * IP addresses as the maps hold them: 16 bytes, IPv4 in the first 4 and zeros after. Text goes
 * in as any valid form and comes out canonical (dotted quad; RFC 5952 for IPv6), so keys read
 * back from a map compare equal to the keys that were written.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Family } from "@ptables/api";

/** Parses `text` of the given family into 16 bytes, or returns undefined if it is not one. */
export function parseIpBytes(text: string, family: Family): Buffer | undefined {
  const out = Buffer.alloc(16);
  if (family === 4) {
    if (!isIPv4(text)) return undefined;
    text.split(".").forEach((part, i) => (out[i] = Number(part)));
    return out;
  }
  if (!isIPv6(text) || text.includes("%")) return undefined;
  let body = text;
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (embedded) {
    const v4 = embedded[1]!.split(".").map(Number);
    body = `${body.slice(0, embedded.index)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, tail] = body.includes("::") ? body.split("::") : [body, undefined];
  const groups = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** The canonical text of the first 4 (family 4) or 16 bytes of `bytes`. */
export function formatIpBytes(bytes: Buffer, family: Family): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(i * 2));
  // RFC 5952: compress the longest run (first on ties) of two or more zero groups.
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

/** Clears the bits after the first `prefixLen` in place; returns `bytes`. */
export function maskIpBytes(bytes: Buffer, prefixLen: number): Buffer {
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return bytes;
}

/** Parses "a.b.c.d" or an IPv6 address of either family. */
export function parseAnyIp(text: string): { family: Family; bytes: Buffer } | undefined {
  if (isIPv4(text)) return { family: 4, bytes: parseIpBytes(text, 4)! };
  const v6 = parseIpBytes(text, 6);
  return v6 ? { family: 6, bytes: v6 } : undefined;
}
