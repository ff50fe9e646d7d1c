/**
 * A TableBackend stored in one BPF map: encode with a codec, write with batch syscalls, read
 * everything back for the resync. The set-member, port-set and rule tables are instances.
 */
import type { EntryError, TableBackend } from "@ptables/api";
import type { BpfMap } from "../native/bpf-map";
import { encodeEntries, writeDeletes, writeUpserts } from "./batch-writer";

export interface MapTableCodec<K, V> {
  keyString(key: K): string;
  valueEquals(a: V, b: V): boolean;
  /** Writes the key at `offset`; throws (ValidationError) for invalid keys. */
  encodeKey(key: K, out: Buffer, offset: number): void;
  /** Writes the value at `offset`; may validate it against its key. */
  encodeValue(key: K, value: V, out: Buffer, offset: number): void;
  decode(key: Buffer, value: Buffer): [K, V];
}

/** Told which entries were written, after each batch (e.g. to maintain counter references). */
export interface MapTableObserver<K, V> {
  /** Everything loadAll read. */
  loaded?(entries: Array<[K, V]>): void;
  /** Before a batch is written. */
  prepare?(): void;
  /** After a batch, with the entries that were written. */
  applied(upserted: Array<[K, V]>, deleted: K[]): void;
}

export class MapTable<K, V> implements TableBackend<K, V> {
  constructor(
    readonly name: string,
    /** The map; throws if the backend is not open. */
    private readonly map: () => BpfMap,
    private readonly codec: MapTableCodec<K, V>,
    private readonly observer?: MapTableObserver<K, V>,
  ) {}

  keyString(key: K): string {
    return this.codec.keyString(key);
  }

  valueEquals(a: V, b: V): boolean {
    return this.codec.valueEquals(a, b);
  }

  async loadAll(): Promise<Array<[K, V]>> {
    const entries = this.map()
      .entries()
      .map(([key, value]) => this.codec.decode(key, value));
    this.observer?.loaded?.(entries);
    return entries;
  }

  async applyBatch(upserts: Array<[K, V]>, deletes: K[]): Promise<EntryError[]> {
    const map = this.map();
    const errors: EntryError[] = [];
    const encodedUps = encodeEntries(
      upserts,
      { key: map.keySize, value: map.valueSize },
      "upsert",
      ([key, value], keys, values, slot) => {
        this.codec.encodeKey(key, keys, slot * map.keySize);
        this.codec.encodeValue(key, value, values!, slot * map.valueSize);
      },
      errors,
    );
    const encodedDels = encodeEntries(deletes, { key: map.keySize }, "delete", (key, keys, _v, slot) => this.codec.encodeKey(key, keys, slot * map.keySize), errors);
    this.observer?.prepare?.();
    const upserted: number[] = [];
    const deleted: number[] = [];
    errors.push(...writeUpserts(map, encodedUps, upserted));
    errors.push(...writeDeletes(map, encodedDels, deleted));
    this.observer?.applied(
      upserted.map((i) => upserts[i]!),
      deleted.map((i) => deletes[i]!),
    );
    return errors;
  }
}

/** Value codec of presence tables: one byte, always 1. */
export function encodePresent(out: Buffer, offset: number): void {
  out.writeUInt8(1, offset);
}
