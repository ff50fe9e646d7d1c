/**
 * An in-memory TableBackend: the fake every test of table users runs against, and the storage
 * of the reference DPU. It stores exactly what it is given (deep copies), counts writes, and
 * can be told to fail chosen entries or a whole batch, to exercise the callers' error paths.
 */
import type { EntryError, TableBackend } from "../backend";
import { clonePlain } from "./plain-clone";

export interface MemoryTableOptions<K, V> {
  name: string;
  keyString(key: K): string;
  valueEquals(a: V, b: V): boolean;
  /** Why the table cannot hold this entry, or undefined if it can. Reported per entry. */
  reject?(key: K, value: V, table: MemoryTable<K, V>): string | undefined;
  /** Called after an entry was stored (with what it replaced, if anything). */
  onUpsert?(key: K, value: V, previous: V | undefined): void;
  /** Called after a present entry was removed. */
  onDelete?(key: K, previous: V): void;
}

export class MemoryTable<K, V> implements TableBackend<K, V> {
  readonly name: string;
  private readonly entries = new Map<string, [K, V]>();
  private readonly failures = new Map<string, string>();
  private batchFailure: Error | undefined;
  /** Entries written (upserts and deletes, including deletes of absent entries), successful or not. */
  writes = 0;
  /** applyBatch calls that reached the table. */
  batches = 0;

  constructor(private readonly options: MemoryTableOptions<K, V>) {
    this.name = options.name;
  }

  keyString(key: K): string {
    return this.options.keyString(key);
  }

  valueEquals(a: V, b: V): boolean {
    return this.options.valueEquals(a, b);
  }

  async loadAll(): Promise<Array<[K, V]>> {
    if (this.batchFailure) throw this.batchFailure;
    return [...this.entries.values()].map(([k, v]) => [clonePlain(k), clonePlain(v)]);
  }

  async applyBatch(upserts: Array<[K, V]>, deletes: K[]): Promise<EntryError[]> {
    if (this.batchFailure) throw this.batchFailure;
    this.batches++;
    this.writes += upserts.length + deletes.length;
    const errors: EntryError[] = [];
    upserts.forEach(([key, value], index) => {
      const k = this.keyString(key);
      const message = this.failures.get(k) ?? this.options.reject?.(key, value, this);
      if (message !== undefined) {
        errors.push({ index, op: "upsert", message });
        return;
      }
      const previous = this.entries.get(k)?.[1];
      const stored: [K, V] = [clonePlain(key), clonePlain(value)];
      this.entries.set(k, stored);
      this.options.onUpsert?.(stored[0], stored[1], previous);
    });
    deletes.forEach((key, index) => {
      const k = this.keyString(key);
      const message = this.failures.get(k);
      if (message !== undefined) {
        errors.push({ index, op: "delete", message });
        return;
      }
      const previous = this.entries.get(k);
      if (!previous) return;
      this.entries.delete(k);
      this.options.onDelete?.(previous[0], previous[1]);
    });
    return errors;
  }

  /** Makes every upsert or delete of this key fail with `message` until cleared. */
  failKey(key: K, message: string): void {
    this.failures.set(this.keyString(key), message);
  }

  /** Makes loadAll and applyBatch throw `error` (the table is unusable) until cleared. */
  failAll(error: Error): void {
    this.batchFailure = error;
  }

  clearFailures(): void {
    this.failures.clear();
    this.batchFailure = undefined;
  }

  /** The stored value (a copy), or undefined. */
  get(key: K): V | undefined {
    const entry = this.entries.get(this.keyString(key));
    return entry && clonePlain(entry[1]);
  }

  has(key: K): boolean {
    return this.entries.has(this.keyString(key));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Removes everything without counting writes (a datapath reset, not a table write). */
  clear(): void {
    for (const [key, value] of [...this.entries.values()]) {
      this.entries.delete(this.keyString(key));
      this.options.onDelete?.(key, value);
    }
  }
}
