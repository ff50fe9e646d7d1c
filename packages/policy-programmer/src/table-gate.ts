/**
 * A pass-through TableBackend between a CachingTable and the backend's table that adds what the
 * programmer needs to know about writes and nothing else:
 *
 * - it counts entries handed to the backend (the number the zero-write resync check and the
 *   benchmarks look at);
 * - it remembers failed entries with their message, and holds each one back with its own
 *   exponential backoff: CachingTable offers every dirty entry on every apply, and without the
 *   gate one entry the backend keeps refusing would be rewritten on every apply. A held-back
 *   entry is reported failed again with its last message, so it stays dirty and its owner's
 *   status stays stable;
 * - optionally it keeps the last readback, so the endpoint manager can adopt what a previous
 *   run left programmed.
 *
 * Rounds: beginRound() at the start of an apply, endRound() at its end forgets failures of
 * entries no longer offered (they were fixed by a later write or are no longer wanted).
 */
import type { EntryError, TableBackend } from "@ptables/api";

export interface RetryPolicy {
  /** Delay after the first failure. */
  minMs: number;
  /** Upper bound of the doubling delay. */
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { minMs: 200, maxMs: 30_000 };

export interface EntryFailure<K> {
  key: K;
  op: "upsert" | "delete";
  message: string;
  attempts: number;
  /** Clock time (ms) before which the entry is not sent again. */
  retryAt: number;
}

export class TableGate<K, V> implements TableBackend<K, V> {
  /** Entries handed to the backend, successful or not. */
  writes = 0;
  /** Entries the backend refused (or lost when the whole batch threw). */
  writeFailures = 0;
  private readonly failures = new Map<string, EntryFailure<K>>();
  private readonly offered = new Set<string>();
  private loaded: Array<[K, V]> | undefined;

  constructor(
    private readonly inner: TableBackend<K, V>,
    private readonly retry: RetryPolicy,
    private readonly now: () => number,
    private readonly keepLoaded = false,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  keyString(key: K): string {
    return this.inner.keyString(key);
  }

  valueEquals(a: V, b: V): boolean {
    return this.inner.valueEquals(a, b);
  }

  async loadAll(): Promise<Array<[K, V]>> {
    const entries = await this.inner.loadAll();
    if (this.keepLoaded) this.loaded = entries;
    return entries;
  }

  /** The entries of the latest readback, once (undefined if there was none since the last call). */
  takeLoaded(): Array<[K, V]> | undefined {
    const l = this.loaded;
    this.loaded = undefined;
    return l;
  }

  async applyBatch(upserts: Array<[K, V]>, deletes: K[]): Promise<EntryError[]> {
    const t = this.now();
    const errors: EntryError[] = [];
    const sendUps: Array<[K, V]> = [];
    const upIndex: number[] = [];
    const sendDels: K[] = [];
    const delIndex: number[] = [];
    upserts.forEach((entry, i) => {
      const held = this.heldBack(entry[0], "upsert", t);
      if (held) errors.push({ index: i, op: "upsert", message: held });
      else {
        sendUps.push(entry);
        upIndex.push(i);
      }
    });
    deletes.forEach((key, i) => {
      const held = this.heldBack(key, "delete", t);
      if (held) errors.push({ index: i, op: "delete", message: held });
      else {
        sendDels.push(key);
        delIndex.push(i);
      }
    });
    if (sendUps.length === 0 && sendDels.length === 0) return errors;

    this.writes += sendUps.length + sendDels.length;
    let failed: EntryError[];
    try {
      failed = await this.inner.applyBatch(sendUps, sendDels);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      for (const [key] of sendUps) this.recordFailure(key, "upsert", message, t);
      for (const key of sendDels) this.recordFailure(key, "delete", message, t);
      throw err;
    }
    const failedUp = new Set<number>();
    const failedDel = new Set<number>();
    for (const f of failed) {
      const orig = f.op === "upsert" ? upIndex[f.index] : delIndex[f.index];
      const key = f.op === "upsert" ? sendUps[f.index]?.[0] : sendDels[f.index];
      if (orig === undefined || key === undefined) continue; // a backend reporting an index it was not given
      (f.op === "upsert" ? failedUp : failedDel).add(f.index);
      this.recordFailure(key, f.op, f.message, t);
      errors.push({ index: orig, op: f.op, message: f.message });
    }
    sendUps.forEach(([key], i) => failedUp.has(i) || this.failures.delete(this.inner.keyString(key)));
    sendDels.forEach((key, i) => failedDel.has(i) || this.failures.delete(this.inner.keyString(key)));
    return errors;
  }

  beginRound(): void {
    this.offered.clear();
  }

  /** Forgets failures of entries not offered since beginRound(). */
  endRound(): void {
    for (const k of [...this.failures.keys()]) if (!this.offered.has(k)) this.failures.delete(k);
  }

  /** Entries whose last write failed, among those offered since beginRound(). */
  *failingThisRound(): IterableIterator<EntryFailure<K>> {
    for (const [k, f] of this.failures) if (this.offered.has(k)) yield f;
  }

  failureOf(key: K): EntryFailure<K> | undefined {
    return this.failures.get(this.inner.keyString(key));
  }

  get failureCount(): number {
    return this.failures.size;
  }

  /** When the earliest held-back entry may be sent again; undefined if none is held back. */
  nextRetryAt(): number | undefined {
    let next: number | undefined;
    for (const f of this.failures.values()) if (next === undefined || f.retryAt < next) next = f.retryAt;
    return next;
  }

  private heldBack(key: K, op: "upsert" | "delete", t: number): string | undefined {
    const k = this.inner.keyString(key);
    this.offered.add(k);
    const f = this.failures.get(k);
    return f && f.op === op && f.retryAt > t ? f.message : undefined;
  }

  private recordFailure(key: K, op: "upsert" | "delete", message: string, t: number): void {
    this.writeFailures++;
    const k = this.inner.keyString(key);
    const prev = this.failures.get(k);
    const attempts = prev && prev.op === op ? prev.attempts + 1 : 1;
    const delay = Math.min(this.retry.maxMs, this.retry.minMs * 2 ** Math.min(attempts - 1, 30));
    this.failures.set(k, { key, op, message, attempts, retryAt: t + delay });
  }
}
