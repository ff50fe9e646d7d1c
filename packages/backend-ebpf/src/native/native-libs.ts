/**
 * The C functions ptables calls, bound with koffi: libbpf.so.1 (object loading, pinning, map
 * syscalls, tc attach, test runs) and a few libc calls. Each binding is a 1:1 call with no
 * logic; buffers are allocated by the caller and passed as `void *`. libbpf >= 1.0 returns
 * negative errno values directly, which the callers turn into BpfError.
 *
 * The libraries are loaded on first use, so importing this package (e.g. for its codecs) does
 * not require libbpf to be installed.
 */
import koffi from "koffi";
import { captureLibbpfLog } from "./libbpf-log";

/** An opaque C pointer as koffi returns it (null for NULL). */
export type CPointer = unknown;

type Fn<A extends unknown[], R> = (...args: A) => R;

export interface LibBpf {
  bpf_object__open_file: Fn<[path: string, opts: null], CPointer>;
  bpf_object__load: Fn<[obj: CPointer], number>;
  bpf_object__close: Fn<[obj: CPointer], void>;
  bpf_object__find_map_by_name: Fn<[obj: CPointer, name: string], CPointer>;
  bpf_object__find_program_by_name: Fn<[obj: CPointer, name: string], CPointer>;
  bpf_map__set_pin_path: Fn<[map: CPointer, path: string], number>;
  bpf_map__set_max_entries: Fn<[map: CPointer, max: number], number>;
  bpf_map__max_entries: Fn<[map: CPointer], number>;
  bpf_map__type: Fn<[map: CPointer], number>;
  bpf_map__key_size: Fn<[map: CPointer], number>;
  bpf_map__value_size: Fn<[map: CPointer], number>;
  bpf_map__map_flags: Fn<[map: CPointer], number>;
  bpf_map__fd: Fn<[map: CPointer], number>;
  bpf_program__fd: Fn<[prog: CPointer], number>;
  bpf_obj_pin: Fn<[fd: number, path: string], number>;
  bpf_obj_get: Fn<[path: string], number>;
  bpf_obj_get_info_by_fd: Fn<[fd: number, info: Buffer, len: Buffer], number>;
  bpf_map_update_elem: Fn<[fd: number, key: Buffer, value: Buffer, flags: number], number>;
  bpf_map_lookup_elem: Fn<[fd: number, key: Buffer, value: Buffer], number>;
  bpf_map_delete_elem: Fn<[fd: number, key: Buffer], number>;
  bpf_map_get_next_key: Fn<[fd: number, key: Buffer | null, next: Buffer], number>;
  bpf_map_update_batch: Fn<[fd: number, keys: Buffer, values: Buffer, count: Buffer, opts: Buffer], number>;
  bpf_map_delete_batch: Fn<[fd: number, keys: Buffer, count: Buffer, opts: Buffer], number>;
  bpf_map_lookup_batch: Fn<
    [fd: number, inBatch: Buffer | null, outBatch: Buffer, keys: Buffer, values: Buffer, count: Buffer, opts: Buffer],
    number
  >;
  bpf_tc_hook_create: Fn<[hook: Buffer], number>;
  bpf_tc_attach: Fn<[hook: Buffer, opts: Buffer], number>;
  bpf_tc_detach: Fn<[hook: Buffer, opts: Buffer], number>;
  bpf_tc_query: Fn<[hook: Buffer, opts: Buffer], number>;
  bpf_prog_test_run_opts: Fn<[fd: number, opts: Buffer], number>;
  libbpf_num_possible_cpus: Fn<[], number>;
}

export interface LibC {
  if_nametoindex: Fn<[name: string], number>;
  if_indextoname: Fn<[index: number, buf: Buffer], CPointer>;
  if_nameindex: Fn<[], CPointer>;
  if_freenameindex: Fn<[list: CPointer], void>;
  strerror: Fn<[errnum: number], string>;
  close: Fn<[fd: number], number>;
  flock: Fn<[fd: number, operation: number], number>;
}

let libbpf: LibBpf | undefined;
let libc: LibC | undefined;

/** libbpf.so.1, loaded on first use. */
export function libBpf(): LibBpf {
  if (libbpf) return libbpf;
  const lib = koffi.load("libbpf.so.1");
  const f = (decl: string) => lib.func(decl);
  libbpf = {
    bpf_object__open_file: f("void *bpf_object__open_file(const char *path, void *opts)"),
    bpf_object__load: f("int bpf_object__load(void *obj)"),
    bpf_object__close: f("void bpf_object__close(void *obj)"),
    bpf_object__find_map_by_name: f("void *bpf_object__find_map_by_name(void *obj, const char *name)"),
    bpf_object__find_program_by_name: f("void *bpf_object__find_program_by_name(void *obj, const char *name)"),
    bpf_map__set_pin_path: f("int bpf_map__set_pin_path(void *map, const char *path)"),
    bpf_map__set_max_entries: f("int bpf_map__set_max_entries(void *map, uint32_t max_entries)"),
    bpf_map__max_entries: f("uint32_t bpf_map__max_entries(void *map)"),
    bpf_map__type: f("int bpf_map__type(void *map)"),
    bpf_map__key_size: f("uint32_t bpf_map__key_size(void *map)"),
    bpf_map__value_size: f("uint32_t bpf_map__value_size(void *map)"),
    bpf_map__map_flags: f("uint32_t bpf_map__map_flags(void *map)"),
    bpf_map__fd: f("int bpf_map__fd(void *map)"),
    bpf_program__fd: f("int bpf_program__fd(void *prog)"),
    bpf_obj_pin: f("int bpf_obj_pin(int fd, const char *pathname)"),
    bpf_obj_get: f("int bpf_obj_get(const char *pathname)"),
    bpf_obj_get_info_by_fd: f("int bpf_obj_get_info_by_fd(int fd, void *info, void *info_len)"),
    bpf_map_update_elem: f("int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)"),
    bpf_map_lookup_elem: f("int bpf_map_lookup_elem(int fd, void *key, void *value)"),
    bpf_map_delete_elem: f("int bpf_map_delete_elem(int fd, void *key)"),
    bpf_map_get_next_key: f("int bpf_map_get_next_key(int fd, void *key, void *next_key)"),
    bpf_map_update_batch: f("int bpf_map_update_batch(int fd, void *keys, void *values, void *count, void *opts)"),
    bpf_map_delete_batch: f("int bpf_map_delete_batch(int fd, void *keys, void *count, void *opts)"),
    bpf_map_lookup_batch: f(
      "int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, void *opts)",
    ),
    bpf_tc_hook_create: f("int bpf_tc_hook_create(void *hook)"),
    bpf_tc_attach: f("int bpf_tc_attach(void *hook, void *opts)"),
    bpf_tc_detach: f("int bpf_tc_detach(void *hook, void *opts)"),
    bpf_tc_query: f("int bpf_tc_query(void *hook, void *opts)"),
    bpf_prog_test_run_opts: f("int bpf_prog_test_run_opts(int prog_fd, void *opts)"),
    libbpf_num_possible_cpus: f("int libbpf_num_possible_cpus(void)"),
  };
  captureLibbpfLog();
  return libbpf;
}

/** The C library, loaded on first use. */
export function libC(): LibC {
  if (libc) return libc;
  const lib = koffi.load("libc.so.6");
  const f = (decl: string) => lib.func(decl);
  libc = {
    if_nametoindex: f("unsigned int if_nametoindex(const char *ifname)"),
    if_indextoname: f("void *if_indextoname(unsigned int ifindex, void *ifname)"),
    if_nameindex: f("void *if_nameindex(void)"),
    if_freenameindex: f("void if_freenameindex(void *ptr)"),
    strerror: f("const char *strerror(int errnum)"),
    close: f("int close(int fd)"),
    flock: f("int flock(int fd, int operation)"),
  };
  return libc;
}

/** The errno of the last failed C call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

/** The address of a buffer, for pointer fields inside option structs. */
export function addressOf(buf: Buffer): bigint {
  return koffi.address(buf);
}

/** Reads the `struct if_nameindex` array at `list` (terminated by index 0). */
export function decodeNameIndex(list: CPointer): Array<{ ifindex: number; ifname: string }> {
  const entrySize = 16; // unsigned int if_index; (pad); char *if_name
  const out: Array<{ ifindex: number; ifname: string }> = [];
  for (let i = 0; ; i++) {
    const ifindex = koffi.decode(list, i * entrySize, "unsigned int") as number;
    if (ifindex === 0) break;
    const ifname = koffi.decode(list, i * entrySize + 8, "const char *") as string;
    out.push({ ifindex, ifname });
  }
  return out;
}
