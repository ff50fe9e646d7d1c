/** Port ranges: normalisation and their exact decomposition into 16-bit prefixes. */
import type { PortRange } from "@ptables/api";

/** Sorted, with overlapping and adjacent ranges merged: one spelling per set of ports. */
export function normalizePortRanges(ranges: PortRange[]): PortRange[] {
  const sorted = ranges.map((r) => ({ first: r.first, last: r.last })).sort((a, b) => a.first - b.first || a.last - b.last);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && r.first <= prev.last + 1) prev.last = Math.max(prev.last, r.last);
    else out.push(r);
  }
  return out;
}

/**
 * The minimal list of (port, prefixLen) blocks over 16 bits that covers exactly [first, last]:
 * at each step take the largest aligned block that starts at `first` and fits.
 */
export function portRangePrefixes(first: number, last: number): Array<{ port: number; prefixLen: number }> {
  const out: Array<{ port: number; prefixLen: number }> = [];
  let start = first;
  while (start <= last) {
    let size = 1;
    // Grow while the block stays aligned at `start` and inside the range.
    while (size < 65536 && start % (size * 2) === 0 && start + size * 2 - 1 <= last) size *= 2;
    out.push({ port: start, prefixLen: 16 - Math.log2(size) });
    start += size;
  }
  return out;
}
