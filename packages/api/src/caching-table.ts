/**
 * Desired vs actual for one backend table. Updates are cheap and only mark keys dirty; apply
 * writes just the difference. The first apply reads the table back (that is the resync), so
 * a restarted agent that computes the same desired state writes nothing at all.
 */
import type { EntryError, TableBackend } from "./backend";

export interface ApplyOutcome {
  writes: number;
  /** Failed entries by key string. They stay dirty and are retried on the next apply. */
  errors: Map<string, string>;
}

export class CachingTable<K, V> {
  private readonly desired = new Map<string, [K, V]>();
  /** What we believe the backend holds; undefined until loaded. */
  private actual: Map<string, [K, V]> | undefined;
  private readonly dirty = new Set<string>();
  /** Keys removed from the desired state by this process (always safe to delete). */
  private readonly requestedDeletes = new Set<string>();
  /** Total writes ever made (upserts + deletes), for tests and metrics. */
  writes = 0;

  constructor(readonly backend: TableBackend<K, V>) {}

  get name(): string {
    return this.backend.name;
  }

  setDesired(key: K, value: V): void {
    const k = this.backend.keyString(key);
    this.desired.set(k, [key, value]);
    this.dirty.add(k);
    this.requestedDeletes.delete(k);
  }

  deleteDesired(key: K): void {
    const k = this.backend.keyString(key);
    if (this.desired.delete(k)) {
      this.dirty.add(k);
      this.requestedDeletes.add(k);
    }
  }

  getDesired(key: K): V | undefined {
    return this.desired.get(this.backend.keyString(key))?.[1];
  }

  getActual(key: K): V | undefined {
    return this.actual?.get(this.backend.keyString(key))?.[1];
  }

  desiredEntries(): IterableIterator<[K, V]> {
    return this.desired.values();
  }

  /** Forget what we believe is programmed; the next apply reads the backend again. */
  invalidate(): void {
    this.actual = undefined;
  }

  get loaded(): boolean {
    return this.actual !== undefined;
  }

  /** Reads the backend if needed; every entry that differs becomes dirty. */
  async load(): Promise<void> {
    if (this.actual) return;
    const entries = await this.backend.loadAll();
    const actual = new Map<string, [K, V]>();
    for (const [key, value] of entries) actual.set(this.backend.keyString(key), [key, value]);
    this.actual = actual;
    for (const k of actual.keys()) this.dirty.add(k);
    for (const k of this.desired.keys()) this.dirty.add(k);
  }

  /** Writes desired entries that are missing or different. */
  async applyUpserts(): Promise<ApplyOutcome> {
    await this.load();
    const actual = this.actual!;
    const batch: Array<[K, V]> = [];
    const keys: string[] = [];
    for (const k of this.dirty) {
      const want = this.desired.get(k);
      if (!want) continue;
      const have = actual.get(k);
      if (have && this.backend.valueEquals(have[1], want[1])) {
        this.dirty.delete(k);
        continue;
      }
      batch.push(want);
      keys.push(k);
    }
    const errors = await this.write(batch, [], keys, []);
    return { writes: batch.length, errors };
  }

  /**
   * Removes entries that are not desired. With `allowStale` false only entries this process
   * removed from the desired state are deleted; entries found at load that nobody asked for
   * (stale after a restart) wait until the caller knows its snapshot is complete (Felix's InSync).
   */
  async applyDeletes(allowStale: boolean): Promise<ApplyOutcome> {
    await this.load();
    const actual = this.actual!;
    const dels: K[] = [];
    const keys: string[] = [];
    for (const k of this.dirty) {
      if (this.desired.has(k)) continue;
      const have = actual.get(k);
      if (!have) {
        this.dirty.delete(k);
        this.requestedDeletes.delete(k);
        continue;
      }
      if (!allowStale && !this.requestedDeletes.has(k)) continue;
      dels.push(have[0]);
      keys.push(k);
    }
    const errors = await this.write([], dels, [], keys);
    return { writes: dels.length, errors };
  }

  /** Number of entries that still differ from the backend (0 when in sync). */
  pendingCount(): number {
    let n = 0;
    for (const k of this.dirty) {
      const want = this.desired.get(k);
      const have = this.actual?.get(k);
      if (!want && !have) continue;
      if (want && have && this.backend.valueEquals(have[1], want[1])) continue;
      n++;
    }
    return n;
  }

  keyString(key: K): string {
    return this.backend.keyString(key);
  }

  private async write(ups: Array<[K, V]>, dels: K[], upKeys: string[], delKeys: string[]): Promise<Map<string, string>> {
    const errors = new Map<string, string>();
    if (ups.length === 0 && dels.length === 0) return errors;
    let failed: EntryError[];
    try {
      failed = await this.backend.applyBatch(ups, dels);
    } catch (err) {
      // The table is unusable: everything stays dirty and the cache is dropped so the next
      // apply reads the truth back instead of trusting our guess.
      this.actual = undefined;
      const msg = err instanceof Error ? err.message : String(err);
      for (const k of [...upKeys, ...delKeys]) errors.set(k, msg);
      return errors;
    }
    this.writes += ups.length + dels.length;
    const failedUp = new Set<number>();
    const failedDel = new Set<number>();
    for (const f of failed) {
      if (f.op === "upsert") {
        failedUp.add(f.index);
        errors.set(upKeys[f.index]!, f.message);
      } else {
        failedDel.add(f.index);
        errors.set(delKeys[f.index]!, f.message);
      }
    }
    const actual = this.actual!;
    ups.forEach((entry, i) => {
      if (failedUp.has(i)) return;
      actual.set(upKeys[i]!, entry);
      this.dirty.delete(upKeys[i]!);
    });
    delKeys.forEach((k, i) => {
      if (failedDel.has(i)) return;
      actual.delete(k);
      this.dirty.delete(k);
      this.requestedDeletes.delete(k);
    });
    return errors;
  }
}
