/** Open-descriptor statistics from /proc, for Info and for leak checks in tests. */
import * as fs from "node:fs";

/**
 * How many sockets a process holds open (Unix and TCP alike), or -1 where /proc is not
 * available. A number that only grows means a connection leak.
 */
export function countOpenSockets(pid: number | "self" = "self"): number {
  let names: string[];
  try {
    names = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return -1;
  }
  let n = 0;
  for (const name of names) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${name}`).startsWith("socket:")) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}
