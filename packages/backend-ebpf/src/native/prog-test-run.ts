/**
 * BPF_PROG_TEST_RUN: runs a loaded tc program on a packet built in memory, with no interface
 * involved (the kernel uses loopback unless `ifindex` names another device). Used by the
 * datapath tests and the bench.
 */
import { check } from "./bpf-error";
import { addressOf, libBpf } from "./native-libs";

export interface TestRunOptions {
  /** skb->ifindex seen by the program (1 = lo, the default). */
  ifindex?: number;
  /** Runs the program this many times (for timing); the result is the last run's. */
  repeat?: number;
  /** skb->mark on entry. */
  mark?: number;
  /** skb->ingress_ifindex (the interface the packet arrived on; 0 = sent by the host itself). */
  ingressIfindex?: number;
}

export interface TestRunResult {
  /** The program's return value (TC_ACT_*). */
  retval: number;
  /** The packet as the program left it. */
  data: Buffer;
  /** Average run time per repetition, as measured by the kernel. */
  durationNs: number;
  /** skb->mark as the program left it. */
  mark: number;
}

/** Size of the leading part of struct __sk_buff we pass: up to and including `ifindex`. */
const SKB_CTX_SIZE = 44;
/** Room for the struct __sk_buff the kernel writes back (192 bytes on Linux 6.x). */
const SKB_CTX_OUT_SIZE = 512;
const SKB_MARK_OFFSET = 8;
const SKB_INGRESS_IFINDEX_OFFSET = 36;
const SKB_IFINDEX_OFFSET = 40;

export function progTestRun(progFd: number, packet: Buffer, options: TestRunOptions = {}): TestRunResult {
  const dataOut = Buffer.alloc(packet.length + 256);
  const ctx = Buffer.alloc(SKB_CTX_SIZE);
  ctx.writeUInt32LE(options.ifindex ?? 1, SKB_IFINDEX_OFFSET);
  ctx.writeUInt32LE(options.mark ?? 0, SKB_MARK_OFFSET);
  ctx.writeUInt32LE(options.ingressIfindex ?? 0, SKB_INGRESS_IFINDEX_OFFSET);
  // The kernel copies the whole struct __sk_buff back (ENOSPC if it does not fit).
  const ctxOut = Buffer.alloc(SKB_CTX_OUT_SIZE);
  // struct bpf_test_run_opts (80 bytes), see <bpf/bpf.h>.
  const opts = Buffer.alloc(80);
  opts.writeBigUInt64LE(80n, 0);
  opts.writeBigUInt64LE(addressOf(packet), 8);
  opts.writeBigUInt64LE(addressOf(dataOut), 16);
  opts.writeUInt32LE(packet.length, 24);
  opts.writeUInt32LE(dataOut.length, 28);
  opts.writeBigUInt64LE(addressOf(ctx), 32);
  opts.writeBigUInt64LE(addressOf(ctxOut), 40);
  opts.writeUInt32LE(ctx.length, 48);
  opts.writeUInt32LE(ctxOut.length, 52);
  opts.writeInt32LE(options.repeat ?? 1, 60);
  check(libBpf().bpf_prog_test_run_opts(progFd, opts), "test run");
  return {
    retval: opts.readUInt32LE(56),
    data: Buffer.from(dataOut.subarray(0, opts.readUInt32LE(28))),
    durationNs: opts.readUInt32LE(64),
    mark: ctxOut.readUInt32LE(SKB_MARK_OFFSET),
  };
}
