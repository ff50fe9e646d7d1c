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
}

export interface TestRunResult {
  /** The program's return value (TC_ACT_*). */
  retval: number;
  /** The packet as the program left it. */
  data: Buffer;
  /** Average run time per repetition, as measured by the kernel. */
  durationNs: number;
}

/** Size of the leading part of struct __sk_buff we pass: up to and including `ifindex`. */
const SKB_CTX_SIZE = 44;
const SKB_IFINDEX_OFFSET = 40;

export function progTestRun(progFd: number, packet: Buffer, options: TestRunOptions = {}): TestRunResult {
  const dataOut = Buffer.alloc(packet.length + 256);
  const ctx = Buffer.alloc(SKB_CTX_SIZE);
  ctx.writeUInt32LE(options.ifindex ?? 1, SKB_IFINDEX_OFFSET);
  // struct bpf_test_run_opts (80 bytes), see <bpf/bpf.h>.
  const opts = Buffer.alloc(80);
  opts.writeBigUInt64LE(80n, 0);
  opts.writeBigUInt64LE(addressOf(packet), 8);
  opts.writeBigUInt64LE(addressOf(dataOut), 16);
  opts.writeUInt32LE(packet.length, 24);
  opts.writeUInt32LE(dataOut.length, 28);
  opts.writeBigUInt64LE(addressOf(ctx), 32);
  opts.writeUInt32LE(ctx.length, 48);
  opts.writeInt32LE(options.repeat ?? 1, 60);
  check(libBpf().bpf_prog_test_run_opts(progFd, opts), "test run");
  return {
    retval: opts.readUInt32LE(56),
    data: Buffer.from(dataOut.subarray(0, opts.readUInt32LE(28))),
    durationNs: opts.readUInt32LE(64),
  };
}
