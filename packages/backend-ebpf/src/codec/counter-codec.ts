/** struct pt_counter values of the per-CPU maps (pt_counters, pt_drops), summed over CPUs. */
import type { Counter } from "@ptables/api";
import { COUNTER } from "./layouts";

/** Sums the per-CPU slots of one value (`slotSize` bytes apart). */
export function decodePerCpuCounter(buf: Buffer, cpuCount: number, slotSize: number): Counter {
  let packets = 0n;
  let bytes = 0n;
  for (let cpu = 0; cpu < cpuCount; cpu++) {
    packets += buf.readBigUInt64LE(cpu * slotSize + COUNTER.fields.packets);
    bytes += buf.readBigUInt64LE(cpu * slotSize + COUNTER.fields.bytes);
  }
  return { packets, bytes };
}
