/**
 * Test support: run build/ptables-felix-relay the way Felix does (no arguments, fd 3 and fd 4 as
 * its pipes), a stand-in felix-proxy on felix.sock, Felix-style frames, and a look at /proc for
 * leftover processes.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export const BUILD_DIR = path.resolve(__dirname, "../../build");
export const RELAY_BIN = path.join(BUILD_DIR, "ptables-felix-relay");

/** A relay binary and the command that runs it here (an emulator for the other architecture). */
export interface RelayTarget {
  arch: "amd64" | "arm64";
  binary: string;
  /** argv prefix: [] when the binary runs natively, ["qemu-aarch64-static"] otherwise. */
  runner: string[];
}

const NATIVE_ARCH = process.arch === "arm64" ? "arm64" : "amd64";
const QEMU: Record<RelayTarget["arch"], string> = { amd64: "qemu-x86_64-static", arm64: "qemu-aarch64-static" };

/** The absolute path of a command on this process's PATH (the relay runs with an empty one). */
export function commandPath(name: string): string | undefined {
  const r = spawnSync("sh", ["-c", 'command -v "$1"', "sh", name]);
  const found = r.stdout?.toString().trim();
  return r.status === 0 && found ? found : undefined;
}

/** The relay for this machine and the cross-built one for the other architecture. */
export function relayTargets(): RelayTarget[] {
  const other = NATIVE_ARCH === "amd64" ? "arm64" : "amd64";
  return [
    { arch: NATIVE_ARCH, binary: path.join(BUILD_DIR, `ptables-felix-relay-linux-${NATIVE_ARCH}`), runner: [] },
    { arch: other, binary: path.join(BUILD_DIR, `ptables-felix-relay-linux-${other}`), runner: [commandPath(QEMU[other]) ?? QEMU[other]] },
  ];
}

/** Fails with what to install when a target cannot be run here. */
export function checkTargetRunnable(t: RelayTarget): void {
  if (!fs.existsSync(t.binary)) {
    throw new Error(`${t.binary} is missing: install the cross compiler (scripts/setup.sh) and run "npm run build -w @ptables/relay"`);
  }
  if (t.runner.length > 0 && !path.isAbsolute(t.runner[0]!)) {
    throw new Error(`${t.runner[0]} is missing: install qemu-user-static (scripts/setup.sh) to run the ${t.arch} relay here`);
  }
}

export type FdKind = "fifo" | "socketpair";

export interface RelayProcess {
  child: ChildProcess;
  /** Felix's write end of fd 3. */
  toRelay: net.Socket;
  /** Felix's read end of fd 4. */
  fromRelay: net.Socket;
  received(): Buffer;
  stdout(): string;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the relay with Felix's pipes as fd 3 and fd 4: "fifo" gives real pipes, as Felix's
 * os.Pipe pairs are; "socketpair" is what Node's stdio "pipe" creates.
 */
export function startRelay(target: RelayTarget, dir: string, env: NodeJS.ProcessEnv, fdKind: FdKind, args: string[] = []): RelayProcess {
  const argv = [...target.runner, target.binary, ...args];
  let child: ChildProcess;
  let toRelay: net.Socket;
  let fromRelay: net.Socket;
  if (fdKind === "socketpair") {
    child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"] });
    toRelay = child.stdio[3] as net.Socket;
    fromRelay = child.stdio[4] as net.Socket;
  } else {
    const toPath = path.join(dir, "to-relay.fifo");
    const fromPath = path.join(dir, "from-relay.fifo");
    for (const p of [toPath, fromPath]) {
      fs.rmSync(p, { force: true });
      const r = spawnSync("mkfifo", ["-m", "0600", p]);
      if (r.status !== 0) throw new Error(`mkfifo ${p}: ${r.stderr.toString()}`);
    }
    const { O_RDONLY, O_WRONLY, O_NONBLOCK } = fs.constants;
    // Opening a FIFO's read end with O_NONBLOCK never blocks; the write end then has a reader.
    const relayIn = fs.openSync(toPath, O_RDONLY | O_NONBLOCK);
    const felixOut = fs.openSync(toPath, O_WRONLY | O_NONBLOCK);
    const felixIn = fs.openSync(fromPath, O_RDONLY | O_NONBLOCK);
    const relayOut = fs.openSync(fromPath, O_WRONLY | O_NONBLOCK);
    child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe", relayIn, relayOut] });
    // Like Felix: keep only our ends, so EOF works in both directions.
    fs.closeSync(relayIn);
    fs.closeSync(relayOut);
    toRelay = new net.Socket({ fd: felixOut, readable: false, writable: true });
    fromRelay = new net.Socket({ fd: felixIn, readable: true, writable: false });
  }
  const chunks: Buffer[] = [];
  fromRelay.on("data", (c: Buffer) => chunks.push(c));
  fromRelay.on("error", () => undefined);
  toRelay.on("error", () => undefined);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, toRelay, fromRelay, received: () => Buffer.concat(chunks), stdout: () => stdout, stderr: () => stderr, exit };
}

/** Runs the relay to completion without Felix's fds (for --check, --install, refusals). */
export function runRelay(target: RelayTarget, args: string[], env: NodeJS.ProcessEnv, extraFds: number[] = []): { status: number | null; stdout: string; stderr: string } {
  const argv = [...target.runner, target.binary, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe", ...extraFds], timeout: 30000 });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** A stand-in felix-proxy listening on felix.sock: records what arrives, can answer and pause. */
export class FakeFelixProxy {
  readonly server: net.Server;
  readonly connections: net.Socket[] = [];
  private readonly data = new Map<net.Socket, Buffer[]>();
  private readonly ended = new Set<net.Socket>();

  constructor(readonly socketPath: string) {
    this.server = net.createServer((s) => {
      this.connections.push(s);
      this.data.set(s, []);
      s.on("data", (c: Buffer) => this.data.get(s)!.push(c));
      s.on("end", () => this.ended.add(s));
      s.on("error", () => undefined);
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.socketPath, () => resolve());
    });
  }

  received(i = 0): Buffer {
    const s = this.connections[i];
    return s ? Buffer.concat(this.data.get(s)!) : Buffer.alloc(0);
  }

  /** Whether connection i delivered end of file (the relay shut its side down). */
  sawEnd(i = 0): boolean {
    const s = this.connections[i];
    return s !== undefined && this.ended.has(s);
  }

  close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Felix's framing: 8-byte little-endian length, then that many bytes (random, not protobuf). */
export function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(payload.length));
  return Buffer.concat([head, payload]);
}

/** A stream of random frames: small ones, some of 64 KiB and one of exactly 1 MiB. */
export function randomFrames(count: number): Buffer {
  const frames: Buffer[] = [frame(randomBytes(1 << 20))];
  for (let i = 0; i < count; i++) frames.push(frame(randomBytes(i % 10 === 0 ? 65536 + randomInt(1000) : randomInt(4096))));
  // The 1 MiB frame goes somewhere in the middle.
  const at = randomInt(frames.length);
  [frames[0], frames[at]] = [frames[at]!, frames[0]!];
  return Buffer.concat(frames);
}

/** Writes `data` in random-sized pieces, so reads see partial frames and frame boundaries mid-buffer. */
export async function writeInPieces(sock: net.Socket, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = Math.min(data.length - off, 1 + randomInt(200_000));
    const ok = sock.write(data.subarray(off, off + n));
    off += n;
    if (!ok) await new Promise((r) => sock.once("drain", r));
  }
}

/** null when equal, else where the two first differ (a readable failure for megabyte buffers). */
export function firstDifference(actual: Buffer, expected: Buffer): string | null {
  if (actual.equals(expected)) return null;
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  return `differ at byte ${i} (got ${actual.length} bytes, expected ${expected.length})`;
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * This process's children whose command line mentions `needle` (the relay binaries' directory).
 * Only children: other test files may run relays at the same time.
 */
export function childProcessesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(needle)) found.push(`${name}: ${cmd}`);
    } catch {
      // exited while we looked
    }
  }
  return found;
}
