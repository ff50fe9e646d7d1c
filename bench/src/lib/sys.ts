/** Commands as argv arrays (never a shell), and small /proc readers. */
import { execFile, spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export function run(argv: readonly string[], options: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error("run: empty argv"));
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 << 20, encoding: "utf8", env: options.env ?? process.env },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${argv.slice(0, 6).join(" ")}${argv.length > 6 ? " …" : ""}: ${(stderr || err.message).trim().slice(0, 2000)}`));
        else resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) {
      child.stdin!.on("error", () => undefined);
      child.stdin!.end(options.input);
    }
  });
}

/** Runs argv inside a named network namespace, keeping the mount namespace (nsenter --net). */
export function nsArgv(ns: string, argv: readonly string[]): string[] {
  return ["nsenter", `--net=/run/netns/${ns}`, "--", ...argv];
}

export function runIn(ns: string, argv: readonly string[], options: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return run(nsArgv(ns, argv), options);
}

/** `ip -n ns -batch -` with the given lines. */
export function ipBatch(ns: string, lines: readonly string[], timeoutMs = 120_000): Promise<unknown> {
  return run(["ip", "-n", ns, "-batch", "-"], { input: lines.join("\n") + "\n", timeoutMs });
}

export function spawnLogged(argv: readonly string[], env?: NodeJS.ProcessEnv) {
  const [file, ...args] = argv;
  return spawn(file!, args, { stdio: ["pipe", "pipe", "pipe"], env: env ?? process.env });
}

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on Linux). */
export const CLK_TCK = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, seconds. */
  cpuSeconds: number;
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const f = text.slice(close + 2).split(" ");
    // f[0] = state (field 3); utime = field 14 -> f[11], stime = field 15 -> f[12]
    return { pid, ppid: Number(f[1]), comm, cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** VmHWM and VmRSS in KiB. */
export function procMemory(pid: number): { hwmKiB: number; rssKiB: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const get = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
    return { hwmKiB: get("VmHWM"), rssKiB: get("VmRSS") };
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Every descendant of `root` (not including it), by walking /proc once. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(st.pid);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
