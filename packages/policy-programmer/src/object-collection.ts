/**
 * One kind of model object (policies, endpoints, routes, ...) keyed by its id, with
 * whole-object replacement and change detection: an upsert equal to what is stored (compared
 * on the protobuf encoding, so field order and defaults do not matter) records nothing.
 */
import type { sync } from "@ptables/proto";
import type { Rejection } from "./model-changes";

export interface ObjectCodec<T> {
  fns: { encode(message: T): { finish(): Uint8Array }; fromPartial(object: any): T };
  kind: sync.ObjectKind;
  /** Human name for messages ("workload endpoint"). */
  what: string;
  /** The object's id; "" when it has none (it is then rejected). */
  key(o: T): string;
  /** Where changed keys are recorded; kinds nothing depends on leave it out. */
  dirty?: () => Set<string>;
}

export class ObjectCollection<T> {
  private readonly map = new Map<string, T>();
  /** Kept from before a partial snapshot; removed at InSync unless re-sent. */
  private readonly unconfirmed = new Set<string>();

  constructor(private readonly codec: ObjectCodec<T>) {}

  get(key: string): T | undefined {
    return this.map.get(key);
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  values(): IterableIterator<T> {
    return this.map.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.map.entries();
  }

  get size(): number {
    return this.map.size;
  }

  /** Stores a copy of `value`. Returns a rejection (and stores nothing) if it has no id. */
  upsert(value: T, where: string): Rejection | undefined {
    const normal = this.normalise(value, where);
    return "reason" in normal ? normal : this.store(normal.key, normal.value);
  }

  private normalise(value: unknown, where: string): { key: string; value: T } | Rejection {
    let normal: T;
    try {
      normal = this.codec.fns.fromPartial(value ?? {});
    } catch (err) {
      return { kind: this.codec.kind, id: "", reason: `${where}: malformed ${this.codec.what}: ${String(err)}` };
    }
    const key = this.codec.key(normal);
    if (!key) return { kind: this.codec.kind, id: "", reason: `${where}: ${this.codec.what} without an id` };
    return { key, value: normal };
  }

  private store(key: string, value: T): undefined {
    this.unconfirmed.delete(key);
    const existing = this.map.get(key);
    if (existing !== undefined && sameEncoding(this.codec, existing, value)) return undefined;
    this.map.set(key, value);
    this.codec.dirty?.().add(key);
    return undefined;
  }

  remove(key: string): void {
    this.unconfirmed.delete(key);
    if (this.map.delete(key)) this.codec.dirty?.().add(key);
  }

  /**
   * Makes the collection hold exactly `items`. Duplicates after the first are rejected. Stored
   * objects missing from `items` are removed when `authoritative`, else kept as unconfirmed.
   */
  replaceAll(items: unknown[] | undefined, where: string, authoritative: boolean): Rejection[] {
    const rejected: Rejection[] = [];
    const seen = new Set<string>();
    (items ?? []).forEach((item, i) => {
      const normal = this.normalise(item, `${where}[${i}]`);
      if ("reason" in normal) {
        rejected.push(normal);
      } else if (seen.has(normal.key)) {
        rejected.push({ kind: this.codec.kind, id: normal.key, reason: `${where}[${i}]: duplicate ${this.codec.what}; the first one is kept` });
      } else {
        seen.add(normal.key);
        this.store(normal.key, normal.value);
      }
    });
    for (const key of [...this.map.keys()]) {
      if (seen.has(key)) continue;
      if (authoritative) this.remove(key);
      else this.unconfirmed.add(key);
    }
    return rejected;
  }

  removeUnconfirmed(): void {
    for (const key of [...this.unconfirmed]) this.remove(key);
  }
}

function sameEncoding<T>(codec: ObjectCodec<T>, a: T, b: T): boolean {
  const x = codec.fns.encode(a).finish();
  const y = codec.fns.encode(b).finish();
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
