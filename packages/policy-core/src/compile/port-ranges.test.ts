import type { PortRange, PortSetKey } from "@ptables/api";
import { ValidationError } from "@ptables/api";
import { normalizePortRanges, portRangePrefixes, portSetKeys } from "../index";
import { Rng } from "../testing";

/** Marks every port the keys cover; throws if two keys overlap. */
function coverage(keys: PortSetKey[]): Uint8Array {
  const covered = new Uint8Array(65536);
  for (const k of keys) {
    const size = 1 << (16 - k.prefixLen);
    if (k.port % size !== 0) throw new Error(`key ${k.port}/${k.prefixLen} has bits set below its prefix`);
    for (let p = k.port; p < k.port + size; p++) {
      if (covered[p]) throw new Error(`port ${p} covered twice`);
      covered[p] = 1;
    }
  }
  return covered;
}

/** True if two keys are the halves of one larger aligned block (so the list was not minimal). */
function hasMergeableBuddies(keys: PortSetKey[]): boolean {
  const set = new Set(keys.map((k) => `${k.port}/${k.prefixLen}`));
  return keys.some((k) => k.prefixLen > 0 && set.has(`${k.port ^ (1 << (16 - k.prefixLen))}/${k.prefixLen}`));
}

describe("port range decomposition", () => {
  test("covers exactly the ranges' ports, for every port 0..65535, over random range lists", () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const ranges: PortRange[] = Array.from({ length: 1 + rng.int(4) }, () => {
        const first = rng.chance(0.2) ? rng.pick([0, 1, 65534, 65535]) : rng.int(65536);
        return { first, last: Math.min(65535, first + rng.pick([0, 1, 2, 7, 100, 4096, rng.int(65536)])) };
      });
      const keys = portSetKeys(42, ranges);
      const covered = coverage(keys);
      for (let port = 0; port < 65536; port++) {
        const want = ranges.some((r) => r.first <= port && port <= r.last) ? 1 : 0;
        if (covered[port] !== want) throw new Error(`seed 7 trial ${trial}: port ${port} is ${covered[port] ? "" : "not "}covered for ${JSON.stringify(ranges)}`);
      }
      expect(hasMergeableBuddies(keys)).toBe(false);
      expect(keys.every((k) => k.setId === 42)).toBe(true);
    }
  });

  test("known sizes: a whole space is one key, the worst case is 30", () => {
    expect(portRangePrefixes(0, 65535)).toEqual([{ port: 0, prefixLen: 0 }]);
    expect(portRangePrefixes(80, 80)).toEqual([{ port: 80, prefixLen: 16 }]);
    expect(portRangePrefixes(1, 65534)).toHaveLength(30);
    expect(portRangePrefixes(1024, 65535)).toEqual([1024, 2048, 4096, 8192, 16384, 32768].map((port, i) => ({ port, prefixLen: 6 - i })));
  });

  test("ranges are sorted and merged before decomposition", () => {
    expect(normalizePortRanges([{ first: 90, last: 95 }, { first: 80, last: 85 }, { first: 86, last: 89 }, { first: 1, last: 1 }])).toEqual([
      { first: 1, last: 1 },
      { first: 80, last: 95 },
    ]);
  });

  test("a bad range is a ValidationError naming the port set", () => {
    expect(() => portSetKeys(7, [{ first: 5, last: 4 }])).toThrow(new ValidationError("port set 7", "5-4 is not a port range within 0..65535"));
    expect(() => portSetKeys(7, [{ first: 0, last: 65536 }])).toThrow(ValidationError);
  });
});
