/**
 * Writes encoded entries to one map with batch syscalls, turning the element a batch stopped
 * at into that entry's error and carrying on with the rest. Deleting an absent key counts as
 * success (the tables' contract).
 */
import type { EntryError } from "@ptables/api";
import { Errno } from "../native/bpf-error";
import type { BpfMap } from "../native/bpf-map";

/** Entries of one batch, encoded back to back. */
export interface EncodedEntries {
  keys: Buffer;
  /** Absent for deletes. */
  values?: Buffer;
  /** Index of each encoded entry in the caller's list (entries that failed to encode are skipped). */
  indexes: number[];
}

/** Upserts every entry; returns per-entry errors (op "upsert"). Indexes that succeeded are in `applied`. */
export function writeUpserts(map: BpfMap, entries: EncodedEntries, applied?: number[]): EntryError[] {
  const errors: EntryError[] = [];
  const { keys, values, indexes } = entries;
  if (!values) throw new Error("writeUpserts: values are required");
  let start = 0;
  while (start < indexes.length) {
    const count = indexes.length - start;
    const progress = map.updateBatch(
      keys.subarray(start * map.keySize),
      values.subarray(start * map.valueSize),
      count,
    );
    for (let i = 0; i < progress.done; i++) applied?.push(indexes[start + i]!);
    if (!progress.error) break;
    const failed = start + progress.done;
    errors.push({ index: indexes[failed]!, op: "upsert", message: progress.error.message });
    start = failed + 1;
  }
  return errors;
}

/** Deletes every key; absent keys succeed. Returns per-entry errors (op "delete"). */
export function writeDeletes(map: BpfMap, entries: EncodedEntries, applied?: number[]): EntryError[] {
  const errors: EntryError[] = [];
  const { keys, indexes } = entries;
  let start = 0;
  while (start < indexes.length) {
    const progress = map.deleteBatch(keys.subarray(start * map.keySize), indexes.length - start);
    for (let i = 0; i < progress.done; i++) applied?.push(indexes[start + i]!);
    if (!progress.error) break;
    const failed = start + progress.done;
    if (progress.error.errno === Errno.ENOENT) applied?.push(indexes[failed]!);
    else errors.push({ index: indexes[failed]!, op: "delete", message: progress.error.message });
    start = failed + 1;
  }
  return errors;
}

/**
 * Encodes `items` back to back: `encode` writes item `index` at slot `slot` of `keys` (and of
 * `values`, for upserts). An item whose encoding throws becomes an entry error instead, so bad
 * input never reaches the kernel, and the slot is reused by the next item.
 */
export function encodeEntries<T>(
  items: T[],
  sizes: { key: number; value?: number },
  op: "upsert" | "delete",
  encode: (item: T, keys: Buffer, values: Buffer | undefined, slot: number, index: number) => void,
  errors: EntryError[],
): EncodedEntries {
  const n = Math.max(1, items.length);
  const keys = Buffer.alloc(n * sizes.key);
  const values = sizes.value === undefined ? undefined : Buffer.alloc(n * sizes.value);
  const indexes: number[] = [];
  items.forEach((item, index) => {
    try {
      encode(item, keys, values, indexes.length, index);
      indexes.push(index);
    } catch (err) {
      errors.push({ index, op, message: err instanceof Error ? err.message : String(err) });
    }
  });
  return values ? { keys, values, indexes } : { keys, indexes };
}
