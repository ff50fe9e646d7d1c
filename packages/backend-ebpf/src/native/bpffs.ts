/**
 * The bpf filesystem under ptables' pins. Pins only work on a bpffs; when the configured
 * directory is not on one, ptables mounts one (`mount -t bpf`) rather than fail, because a
 * freshly booted node often has none at /sys/fs/bpf.
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmdirSync, statfsSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { PtablesError } from "@ptables/api";
import { libC } from "./native-libs";

const BPF_FS_MAGIC = 0xcafe4a11;
/** The conventional bpffs mount point; a plain sysfs directory until something mounts on it. */
export const SYS_FS_BPF = "/sys/fs/bpf";
/** Serialises "is it mounted? then mount" across processes, so two never stack mounts. */
const MOUNT_LOCK = "/run/ptables-bpffs.lock";
/** Files the kernel puts in the root of every bpffs instance (the preloaded iterators). */
const BPFFS_ROOT_FILES = new Set(["maps.debug", "progs.debug"]);
const LOCK_EX = 2;
const LOCK_UN = 8;

function isBpfFs(path: string): boolean {
  return statfsSync(path).type === BPF_FS_MAGIC;
}

function mountBpfFs(dir: string): void {
  try {
    execFileSync("mount", ["-t", "bpf", "bpf", dir], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new PtablesError(`bpf dir ${dir}: not on a bpf filesystem, and mounting one failed: ${stderr || String(err)}`);
  }
}

function withMountLock<T>(fn: () => T): T {
  const fd = openSync(MOUNT_LOCK, "a");
  try {
    libC().flock(fd, LOCK_EX);
    return fn();
  } finally {
    libC().flock(fd, LOCK_UN);
    closeSync(fd);
  }
}

/**
 * Makes `dir` an existing directory on a bpffs: creates it inside an existing bpffs, or mounts
 * a bpffs on /sys/fs/bpf (when `dir` is below it) or on `dir` itself.
 */
export function ensureBpfDir(dirPath: string): void {
  const dir = resolve(dirPath);
  if (existsSync(dir) && isBpfFs(dir)) return;
  withMountLock(() => {
    if (existsSync(dir)) {
      if (!isBpfFs(dir)) mountBpfFs(dir);
      return;
    }
    if (dir.startsWith(`${SYS_FS_BPF}/`) && !isBpfFs(SYS_FS_BPF)) mountBpfFs(SYS_FS_BPF);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!isBpfFs(dir)) mountBpfFs(dir);
  });
}

/**
 * Removes the pins named `pt_*` in `dir`, then the directory itself (unmounting it first when it
 * is a bpffs that ptables mounted on it). Anything else found there is left alone.
 */
export function removeBpfDir(dirPath: string): void {
  const dir = resolve(dirPath);
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith("pt_")) unlinkSync(join(dir, name));
  }
  if (dir === SYS_FS_BPF || readdirSync(dir).some((name) => !BPFFS_ROOT_FILES.has(name))) return;
  withMountLock(() => {
    if (isBpfFs(dir) && !isBpfFs(dirname(dir))) {
      execFileSync("umount", [dir], { stdio: ["ignore", "ignore", "pipe"] });
    }
    rmdirSync(dir);
  });
}
