/**
 * tc attachment through libbpf's bpf_tc_* (clsact qdisc + direct-action cls_bpf filter), and
 * interface name/index lookups. ptables' filters are recognisable after a restart by their
 * handle and priority (PT_TC_HANDLE, PT_TC_PRIORITY): nothing else needs to be remembered.
 */
import { BpfError, Errno, check } from "./bpf-error";
import { decodeNameIndex, lastErrno, libBpf, libC } from "./native-libs";

/** cls_bpf filter handle of every ptables filter ("pt"). */
export const PT_TC_HANDLE = 0x7074;
/**
 * Priority of every ptables filter. Below tc's automatic priorities (49152 and up), so a filter
 * added later without an explicit priority runs after ours.
 */
export const PT_TC_PRIORITY = 0x7074;

/** enum bpf_tc_attach_point */
export enum TcHook {
  /** Packets received by the interface (from a workload, for its host-side veth). */
  Ingress = 1,
  /** Packets sent by the interface (to a workload). */
  Egress = 2,
}

const BPF_TC_F_REPLACE = 1;

function hookStruct(ifindex: number, hook: number): Buffer {
  // struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; }
  const buf = Buffer.alloc(24);
  buf.writeBigUInt64LE(24n, 0);
  buf.writeInt32LE(ifindex, 8);
  buf.writeUInt32LE(hook, 12);
  return buf;
}

function optsStruct(progFd = 0, flags = 0): Buffer {
  // struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags, prog_id, handle, priority; }
  const buf = Buffer.alloc(32);
  buf.writeBigUInt64LE(32n, 0);
  buf.writeInt32LE(progFd, 8);
  buf.writeUInt32LE(flags, 12);
  buf.writeUInt32LE(PT_TC_HANDLE, 20);
  buf.writeUInt32LE(PT_TC_PRIORITY, 24);
  return buf;
}

/** Creates the clsact qdisc on `ifindex` unless it exists. */
export function ensureClsact(ifindex: number, ifname: string): void {
  const ret = libBpf().bpf_tc_hook_create(hookStruct(ifindex, TcHook.Ingress | TcHook.Egress));
  if (ret === -Errno.EEXIST) return;
  check(ret, `create clsact on ${ifname}`);
}

/** Attaches (or atomically replaces) ptables' filter on one hook; returns the program id. */
export function attachFilter(ifindex: number, ifname: string, hook: TcHook, progFd: number): number {
  const opts = optsStruct(progFd, BPF_TC_F_REPLACE);
  check(libBpf().bpf_tc_attach(hookStruct(ifindex, hook), opts), `attach ${TcHook[hook].toLowerCase()} filter on ${ifname}`);
  return opts.readUInt32LE(16);
}

/** The program id of ptables' filter on one hook, or undefined if there is none. */
export function queryFilter(ifindex: number, ifname: string, hook: TcHook): number | undefined {
  const opts = optsStruct();
  const ret = libBpf().bpf_tc_query(hookStruct(ifindex, hook), opts);
  // No clsact qdisc gives EINVAL; no filter gives ENOENT.
  if (ret === -Errno.ENOENT || ret === -Errno.EINVAL) return undefined;
  check(ret, `query ${TcHook[hook].toLowerCase()} filter on ${ifname}`);
  return opts.readUInt32LE(16);
}

/** Removes ptables' filter from one hook; false if it was not there. */
export function detachFilter(ifindex: number, ifname: string, hook: TcHook): boolean {
  const ret = libBpf().bpf_tc_detach(hookStruct(ifindex, hook), optsStruct());
  if (ret === -Errno.ENOENT || ret === -Errno.EINVAL || ret === -Errno.ENODEV) return false;
  check(ret, `detach ${TcHook[hook].toLowerCase()} filter from ${ifname}`);
  return true;
}

/** The ifindex of `ifname` in this network namespace, or undefined if there is no such link. */
export function ifnameToIndex(ifname: string): number | undefined {
  const index = libC().if_nametoindex(ifname);
  if (index !== 0) return index;
  const errno = lastErrno();
  if (errno === Errno.ENODEV || errno === Errno.ENOENT || errno === 0) return undefined;
  throw new BpfError(`look up interface ${ifname}`, errno);
}

/** The name of link `ifindex`, or undefined if it does not exist. */
export function ifindexToName(ifindex: number): string | undefined {
  const buf = Buffer.alloc(16);
  const ret = libC().if_indextoname(ifindex, buf);
  if (ret === null) {
    const errno = lastErrno();
    if (errno === Errno.ENODEV || errno === 6 /* ENXIO */ || errno === 0) return undefined;
    throw new BpfError(`look up interface ${ifindex}`, errno);
  }
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? 16 : nul).toString("utf8");
}

/** Every link in this network namespace. */
export function listLinks(): Array<{ ifindex: number; ifname: string }> {
  const list = libC().if_nameindex();
  if (list === null) throw new BpfError("list interfaces", lastErrno());
  try {
    return decodeNameIndex(list);
  } finally {
    libC().if_freenameindex(list);
  }
}
