/**
 * Test support (not built into dist): run bin/ptables-felix-driver the way Felix does, with
 * real pipes (FIFOs) as fd 3 and fd 4, and look at its process tree through /proc.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export const DRIVER_BIN = path.resolve(__dirname, "../../../../bin/ptables-felix-driver");

export interface DriverProcess {
  child: ChildProcess;
  /** Felix's write end of fd 3. */
  toDriver: net.Socket;
  /** Felix's read end of fd 4. */
  fromDriver: net.Socket;
  received: () => Buffer;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the driver with FIFOs at fd 3/fd 4, like Felix's os.Pipe pairs. */
export function startDriver(dir: string, env: NodeJS.ProcessEnv): DriverProcess {
  const toPath = path.join(dir, "to-driver.fifo");
  const fromPath = path.join(dir, "from-driver.fifo");
  for (const p of [toPath, fromPath]) {
    const r = spawnSync("mkfifo", ["-m", "0600", p]);
    if (r.status !== 0) throw new Error(`mkfifo ${p}: ${r.stderr.toString()}`);
  }
  const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;
  // Opening a FIFO's read end with O_NONBLOCK never blocks; the write end then has a reader.
  const driverIn = fs.openSync(toPath, O_RDONLY | O_NONBLOCK);
  const felixOut = fs.openSync(toPath, O_WRONLY | O_NONBLOCK);
  const felixIn = fs.openSync(fromPath, O_RDONLY | O_NONBLOCK);
  const driverOut = fs.openSync(fromPath, O_WRONLY | O_NONBLOCK);
  const child = spawn(process.execPath, [DRIVER_BIN], { env, stdio: ["ignore", "pipe", "pipe", driverIn, driverOut] });
  // Like Felix: keep only our ends, so EOF works in both directions.
  fs.closeSync(driverIn);
  fs.closeSync(driverOut);
  const toDriver = new net.Socket({ fd: felixOut, readable: false, writable: true });
  const fromDriver = new net.Socket({ fd: felixIn, readable: true, writable: false });
  const chunks: Buffer[] = [];
  fromDriver.on("data", (c: Buffer) => chunks.push(c));
  fromDriver.on("error", () => undefined);
  toDriver.on("error", () => undefined);
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, toDriver, fromDriver, received: () => Buffer.concat(chunks), stderr: () => stderr, exit };
}

/** Direct children of a process, from /proc/<pid>/stat (field 4 is the parent pid). */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === parent) out.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** The script a node child runs (argv[1]), or "" if gone. */
export function scriptOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[1] ?? "";
  } catch {
    return "";
  }
}

/** What a process's fd points to ("/dev/null", "socket:[…]", "pipe:[…]"), or "" if closed. */
export function fdTarget(pid: number, fd: number): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return "";
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
