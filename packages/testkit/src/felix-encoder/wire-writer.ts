/**
 * The protobuf wire format, written out by hand: varints, tags, length-delimited fields and
 * little-endian doubles. Kept separate from the generated code on purpose.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;

/** An unsigned varint of a value in 0..2^64-1. */
export function varint(value: bigint): Uint8Array {
  if (value >= 0n && value < 0x8000_0000n) return smallVarint(Number(value));
  if (value < 0n || value >= 1n << 64n) throw new RangeError(`varint ${value} is outside 0..2^64-1`);
  const bytes: number[] = [];
  let rest = value;
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest !== 0n);
  return Uint8Array.from(bytes);
}

/** The common case (tags, lengths, small values) without bigint arithmetic. */
function smallVarint(value: number): Uint8Array {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Uint8Array.from(bytes);
}

export function tag(fieldNumber: number, wireType: number): Uint8Array {
  return varint((BigInt(fieldNumber) << 3n) | BigInt(wireType));
}

export function lengthDelimited(fieldNumber: number, body: Uint8Array): Uint8Array {
  return concat([tag(fieldNumber, WIRE_LENGTH_DELIMITED), varint(BigInt(body.length)), body]);
}

export function double(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, value, true);
  return bytes;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
