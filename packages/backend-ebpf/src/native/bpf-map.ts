/**
 * One BPF map, by fd: element and batch operations over caller-allocated buffers. Keys and
 * values are raw bytes; the codecs in src/codec/ give them meaning. Batch calls fall back to
 * per-element calls when the kernel or map type does not support them.
 */
import { BpfError, Errno, check } from "./bpf-error";
import { libBpf, libC } from "./native-libs";

export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

/** Map types the backend uses (enum bpf_map_type). */
export const BpfMapType = {
  HASH: 1,
  ARRAY: 2,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LPM_TRIE: 11,
} as const;

const PER_CPU_TYPES = new Set<number>([BpfMapType.PERCPU_HASH, BpfMapType.PERCPU_ARRAY]);

/** Elements fetched per BPF_MAP_LOOKUP_BATCH call. */
const LOOKUP_CHUNK = 1024;

/** The kernel's view of a map (struct bpf_map_info, first fields). */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

/** Reads struct bpf_map_info for a map fd. */
export function mapInfo(fd: number, what: string): MapInfo {
  const info = Buffer.alloc(40);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(info.length);
  check(libBpf().bpf_obj_get_info_by_fd(fd, info, len), `map info ${what}`);
  const nameBytes = info.subarray(24, 40);
  const nul = nameBytes.indexOf(0);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12),
    maxEntries: info.readUInt32LE(16),
    flags: info.readUInt32LE(20),
    name: nameBytes.subarray(0, nul < 0 ? 16 : nul).toString("latin1"),
  };
}

/** Outcome of a batch call: how many leading elements were applied, and the error that stopped it. */
export interface BatchProgress {
  done: number;
  error?: BpfError;
}

function batchOpts(): Buffer {
  // struct bpf_map_batch_opts { size_t sz; __u64 elem_flags; __u64 flags; }
  const opts = Buffer.alloc(24);
  opts.writeBigUInt64LE(24n, 0);
  return opts;
}

function isUnsupported(errno: number): boolean {
  return errno === Errno.EINVAL || errno === Errno.ENOTSUPP || errno === Errno.EOPNOTSUPP;
}

export class BpfMap {
  /** Size of one value as user space sees it (per-CPU maps: one slot per possible CPU). */
  readonly valueSize: number;
  /** Bytes per CPU slot of a per-CPU value (the kernel rounds each slot up to 8). */
  readonly slotSize: number;
  readonly cpuCount: number;
  private batchUnsupported = false;
  private closed = false;

  constructor(
    readonly name: string,
    readonly fd: number,
    readonly info: MapInfo,
    /** Whether close() closes the fd (false when a bpf_object owns it). */
    private readonly ownsFd: boolean,
  ) {
    const perCpu = PER_CPU_TYPES.has(info.type);
    this.cpuCount = perCpu ? possibleCpus() : 1;
    this.slotSize = perCpu ? Math.ceil(info.valueSize / 8) * 8 : info.valueSize;
    this.valueSize = this.slotSize * this.cpuCount;
  }

  get keySize(): number {
    return this.info.keySize;
  }

  /** Copies the value of `key` into `value`; false if the key is absent. */
  lookup(key: Buffer, value: Buffer): boolean {
    this.checkSizes(key, value, 1);
    const ret = libBpf().bpf_map_lookup_elem(this.fd, key, value);
    if (ret === -Errno.ENOENT) return false;
    check(ret, `lookup ${this.name}`);
    return true;
  }

  update(key: Buffer, value: Buffer, flags: number = BPF_ANY): void {
    this.checkSizes(key, value, 1);
    check(libBpf().bpf_map_update_elem(this.fd, key, value, flags), `update ${this.name}`);
  }

  /** Deletes `key`; false if it was absent. */
  delete(key: Buffer): boolean {
    this.checkSizes(key, undefined, 1);
    const ret = libBpf().bpf_map_delete_elem(this.fd, key);
    if (ret === -Errno.ENOENT) return false;
    check(ret, `delete ${this.name}`);
    return true;
  }

  /** Writes `count` consecutive keys/values; stops at the first failing element. */
  updateBatch(keys: Buffer, values: Buffer, count: number, flags: number = BPF_ANY): BatchProgress {
    this.checkSizes(keys, values, count);
    if (count === 0) return { done: 0 };
    if (!this.batchUnsupported) {
      const countBuf = Buffer.alloc(4);
      countBuf.writeUInt32LE(count);
      const opts = batchOpts();
      opts.writeBigUInt64LE(BigInt(flags), 8);
      const ret = libBpf().bpf_map_update_batch(this.fd, keys, values, countBuf, opts);
      const done = countBuf.readUInt32LE();
      if (ret === 0) return { done: count };
      if (!(isUnsupported(-ret) && done === 0)) return { done, error: new BpfError(`update ${this.name}`, -ret) };
      // EINVAL before the first element: batch ops are not available for this map here.
      this.batchUnsupported = true;
    }
    for (let i = 0; i < count; i++) {
      const ret = libBpf().bpf_map_update_elem(
        this.fd,
        keys.subarray(i * this.keySize, (i + 1) * this.keySize),
        values.subarray(i * this.valueSize, (i + 1) * this.valueSize),
        flags,
      );
      if (ret < 0) return { done: i, error: new BpfError(`update ${this.name}`, -ret) };
    }
    return { done: count };
  }

  /** Deletes `count` consecutive keys; stops at the first failing element (ENOENT included). */
  deleteBatch(keys: Buffer, count: number): BatchProgress {
    this.checkSizes(keys, undefined, count);
    if (count === 0) return { done: 0 };
    if (!this.batchUnsupported) {
      const countBuf = Buffer.alloc(4);
      countBuf.writeUInt32LE(count);
      const ret = libBpf().bpf_map_delete_batch(this.fd, keys, countBuf, batchOpts());
      const done = countBuf.readUInt32LE();
      if (ret === 0) return { done: count };
      if (!(isUnsupported(-ret) && done === 0)) return { done, error: new BpfError(`delete ${this.name}`, -ret) };
      this.batchUnsupported = true;
    }
    for (let i = 0; i < count; i++) {
      const ret = libBpf().bpf_map_delete_elem(this.fd, keys.subarray(i * this.keySize, (i + 1) * this.keySize));
      if (ret < 0) return { done: i, error: new BpfError(`delete ${this.name}`, -ret) };
    }
    return { done: count };
  }

  /**
   * Every entry, as [key, value] buffer pairs (copies). `limit` bounds how many are returned.
   * Uses BPF_MAP_LOOKUP_BATCH, or get-next-key + lookup where that is unsupported.
   */
  entries(limit = Number.POSITIVE_INFINITY): Array<[Buffer, Buffer]> {
    if (!this.batchUnsupported) {
      const viaBatch = this.entriesByBatch(limit);
      if (viaBatch) return viaBatch;
    }
    return this.entriesByIteration(limit);
  }

  /** Every key (for maps whose values are not needed). */
  keys(limit = Number.POSITIVE_INFINITY): Buffer[] {
    const out: Buffer[] = [];
    let prev: Buffer | null = null;
    while (out.length < limit) {
      const next = Buffer.alloc(this.keySize);
      const ret = libBpf().bpf_map_get_next_key(this.fd, prev, next);
      if (ret === -Errno.ENOENT) break;
      check(ret, `iterate ${this.name}`);
      out.push(next);
      prev = next;
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) libC().close(this.fd);
  }

  private entriesByBatch(limit: number): Array<[Buffer, Buffer]> | undefined {
    const out: Array<[Buffer, Buffer]> = [];
    const tokenSize = Math.max(this.keySize, 8);
    let inBatch: Buffer | null = null;
    let chunk = LOOKUP_CHUNK;
    for (;;) {
      const keys = Buffer.alloc(chunk * this.keySize);
      const values = Buffer.alloc(chunk * this.valueSize);
      const outBatch = Buffer.alloc(tokenSize);
      const countBuf = Buffer.alloc(4);
      countBuf.writeUInt32LE(chunk);
      const ret = libBpf().bpf_map_lookup_batch(this.fd, inBatch, outBatch, keys, values, countBuf, batchOpts());
      const got = countBuf.readUInt32LE();
      if (ret < 0 && -ret === Errno.ENOSPC && got === 0) {
        chunk *= 2; // a hash bucket holds more than `chunk` entries
        continue;
      }
      if (ret < 0 && -ret !== Errno.ENOENT) {
        if (isUnsupported(-ret) && out.length === 0 && got === 0) {
          this.batchUnsupported = true;
          return undefined;
        }
        throw new BpfError(`read ${this.name}`, -ret);
      }
      for (let i = 0; i < got && out.length < limit; i++) {
        out.push([
          Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          Buffer.from(values.subarray(i * this.valueSize, (i + 1) * this.valueSize)),
        ]);
      }
      if (ret < 0 || out.length >= limit) return out; // ENOENT: that was the last batch
      inBatch = outBatch;
    }
  }

  private entriesByIteration(limit: number): Array<[Buffer, Buffer]> {
    const out: Array<[Buffer, Buffer]> = [];
    for (const key of this.keys(limit)) {
      const value = Buffer.alloc(this.valueSize);
      if (this.lookup(key, value)) out.push([key, value]); // it may have gone meanwhile
    }
    return out;
  }

  private checkSizes(keys: Buffer, values: Buffer | undefined, count: number): void {
    if (keys.length < count * this.keySize) {
      throw new RangeError(`${this.name}: key buffer of ${keys.length} bytes is too small for ${count} keys of ${this.keySize}`);
    }
    if (values && values.length < count * this.valueSize) {
      throw new RangeError(
        `${this.name}: value buffer of ${values.length} bytes is too small for ${count} values of ${this.valueSize}`,
      );
    }
  }
}

let cpus: number | undefined;

/** Possible CPUs: the number of slots in every per-CPU map value. */
export function possibleCpus(): number {
  cpus ??= check(libBpf().libbpf_num_possible_cpus(), "count possible cpus");
  return cpus;
}
