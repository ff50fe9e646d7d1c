/**
 * A private bpffs per e2e node, mounted in the ROOT mount namespace. `ip netns exec` gives each
 * command its own mount namespace with a fresh /sys, so /sys/fs/bpf is not visible inside it and
 * a bpffs mounted inside one exec would be gone for the next (no hitless restart). A bpffs under
 * /run, mounted here before the driver starts, is seen by every exec alike.
 *
 * Mount points are /run/ptables-e2e-<pid>-<n>: a later run can tell from the pid whether the
 * owner of a leftover mount is still alive, and sweep it if not.
 */
import { mkdirSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "./run";

const MOUNT_ROOT = "/run";
const MOUNT_PREFIX = "ptables-e2e-";

let counter = 0;

export interface BpffsMount {
  /** Where the bpffs is mounted. */
  mountPoint: string;
  /** PTABLES_BPF_DIR for the node: a directory inside the mount. */
  bpfDir: string;
}

function mountedAt(path: string): boolean {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[1] === path);
}

/** Mounts a fresh bpffs for one node. */
export async function mountBpffs(): Promise<BpffsMount> {
  counter += 1;
  const mountPoint = join(MOUNT_ROOT, `${MOUNT_PREFIX}${process.pid}-${counter}`);
  mkdirSync(mountPoint, { recursive: true, mode: 0o700 });
  try {
    await runCommand(["mount", "-t", "bpf", "bpf", mountPoint]);
  } catch (err) {
    rmdirSync(mountPoint);
    throw err;
  }
  return { mountPoint, bpfDir: join(mountPoint, "bpf") };
}

/** Unmounts (dropping every pin in it) and removes the mount point; idempotent. */
export async function unmountBpffs(mount: BpffsMount): Promise<void> {
  if (mountedAt(mount.mountPoint)) await runCommand(["umount", mount.mountPoint]);
  try {
    rmdirSync(mount.mountPoint);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Removes mounts left by e2e runs whose process is gone; returns the mount points removed. */
export async function sweepStaleBpffs(): Promise<string[]> {
  const swept: string[] = [];
  let names: string[];
  try {
    names = readdirSync(MOUNT_ROOT).filter((name) => name.startsWith(MOUNT_PREFIX));
  } catch {
    return swept;
  }
  for (const name of names) {
    const pid = Number(/^ptables-e2e-(\d+)-\d+$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    const mountPoint = join(MOUNT_ROOT, name);
    await unmountBpffs({ mountPoint, bpfDir: join(mountPoint, "bpf") });
    swept.push(mountPoint);
  }
  return swept;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
