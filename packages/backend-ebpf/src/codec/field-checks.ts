/**
 * Range checks shared by the codecs. Each throws ValidationError naming the table and field, so
 * a bad entry is reported as that entry's error and never reaches the kernel half-encoded.
 */
import { ValidationError } from "@ptables/api";

/** Throws unless `value` is an integer in [min, max]. */
export function checkInt(where: string, field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(where, `${field} ${String(value)} is not an integer in ${min}..${max}`);
  }
  return value;
}

export function checkU32(where: string, field: string, value: unknown): number {
  return checkInt(where, field, value, 0, 0xffffffff);
}

/** A set id: non-zero, because 0 means "no set" in the datapath's fixed-size lists. */
export function checkSetId(where: string, field: string, value: unknown): number {
  return checkInt(where, field, value, 1, 0xffffffff);
}

export function checkU64(where: string, field: string, value: unknown): bigint {
  if (typeof value !== "bigint" || value < 0n || value > 0xffffffffffffffffn) {
    throw new ValidationError(where, `${field} ${String(value)} is not a 64-bit unsigned bigint`);
  }
  return value;
}

export function checkFamily(where: string, value: unknown): 4 | 6 {
  if (value !== 4 && value !== 6) throw new ValidationError(where, `family ${String(value)} is not 4 or 6`);
  return value;
}
