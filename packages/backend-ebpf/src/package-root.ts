/**
 * This package's root directory (where bpf/ and build/ live), found from wherever the code runs:
 * src/ under jest, dist/ when built, build/bench/src/ for the bench.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "@ptables/backend-ebpf") return dir;
    if (dirname(dir) === dir) throw new Error(`@ptables/backend-ebpf: no package root above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);
