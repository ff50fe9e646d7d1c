/**
 * FNV-1a over UTF-8, 32- and 64-bit. Identifiers in the datapath are hashes of names so that a
 * restarted agent computes the same ids as those already programmed (its resync writes nothing).
 */

/** UTF-8 bytes of a string, without TextEncoder (this package uses no host APIs). */
function* utf8(text: string): Generator<number> {
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) yield cp;
    else if (cp < 0x800) {
      yield 0xc0 | (cp >> 6);
      yield 0x80 | (cp & 63);
    } else if (cp < 0x10000) {
      yield 0xe0 | (cp >> 12);
      yield 0x80 | ((cp >> 6) & 63);
      yield 0x80 | (cp & 63);
    } else {
      yield 0xf0 | (cp >> 18);
      yield 0x80 | ((cp >> 12) & 63);
      yield 0x80 | ((cp >> 6) & 63);
      yield 0x80 | (cp & 63);
    }
  }
}

/** 32-bit FNV-1a, as an unsigned number. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of utf8(text)) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** 64-bit FNV-1a, as an unsigned bigint. */
export function fnv1a64(text: string): bigint {
  let h = FNV64_OFFSET;
  for (const b of utf8(text)) h = ((h ^ BigInt(b)) * FNV64_PRIME) & MASK64;
  return h;
}
