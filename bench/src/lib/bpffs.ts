/**
 * The suite's own bpffs, mounted at /run/ptables-bench-<pid> in the root mount namespace (the
 * agents run under `nsenter --net`, which keeps the mount namespace, so they all see it).
 * Each phase pins under its own sub-directory. A mount left by a run whose process is gone is
 * swept at start.
 */
import { mkdirSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { onCleanup } from "./cleanup";
import { alive, run } from "./sys";

const ROOT = "/run";
const PREFIX = "ptables-bench-";

function mounted(path: string): boolean {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[1] === path);
}

async function unmount(mountPoint: string): Promise<void> {
  if (mounted(mountPoint)) await run(["umount", mountPoint]);
  try {
    rmdirSync(mountPoint);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

export async function sweepStaleBpffs(): Promise<string[]> {
  const swept: string[] = [];
  for (const name of readdirSync(ROOT)) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)$`).exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    await unmount(join(ROOT, name));
    swept.push(join(ROOT, name));
  }
  return swept;
}

export interface BenchBpffs {
  mountPoint: string;
  /** A fresh directory for one phase's pins. */
  dir(phase: string): string;
}

let current: BenchBpffs | undefined;

export async function mountBenchBpffs(): Promise<BenchBpffs> {
  if (current) return current;
  const mountPoint = join(ROOT, `${PREFIX}${process.pid}`);
  mkdirSync(mountPoint, { recursive: true, mode: 0o700 });
  try {
    await run(["mount", "-t", "bpf", "bpf", mountPoint]);
  } catch (err) {
    rmdirSync(mountPoint);
    throw err;
  }
  onCleanup(`unmount ${mountPoint}`, async () => {
    current = undefined;
    await unmount(mountPoint);
  });
  current = { mountPoint, dir: (phase: string) => join(mountPoint, phase) };
  return current;
}
