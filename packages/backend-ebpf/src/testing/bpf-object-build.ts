/**
 * Tests and the bench need build/ptables.bpf.o; jest runs from sources without a build step,
 * so this builds it (bpf/build.sh) when it is missing or older than a C source.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_OBJECT_PATH } from "../ebpf-backend";
import { PACKAGE_ROOT } from "../package-root";

const BPF_DIR = join(PACKAGE_ROOT, "bpf");

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Returns the object path, building it first if needed. */
export function ensureBpfObject(): string {
  if (!existsSync(DEFAULT_OBJECT_PATH) || statSync(DEFAULT_OBJECT_PATH).mtimeMs < newestSourceMtime(BPF_DIR)) {
    execFileSync("bash", [join(BPF_DIR, "build.sh")], { stdio: ["ignore", "inherit", "inherit"] });
  }
  return DEFAULT_OBJECT_PATH;
}
