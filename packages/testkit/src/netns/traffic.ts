/**
 * Traffic tools for the namespace topology: echo servers, one-shot TCP/UDP exchanges, ping, and
 * held TCP connections. Every process runs inside a namespace through the topology's `spawnIn`,
 * so `destroy()` kills whatever a test forgot to stop.
 *
 * A probe that reaches the network reports `{ ok, error }`; a probe that could not run at all
 * (Node missing, bad arguments) rejects, so a broken harness never passes for "deny".
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { isIPv6 } from "node:net";
import { createInterface } from "node:readline";
import { ECHO_SERVER_SCRIPT, EXCHANGE_SCRIPT, HOLD_TCP_SCRIPT } from "./probe-scripts";
import { CommandError } from "./run-command";
import type { InNamespace } from "./topology";

/** The outcome of one connectivity check. */
export interface ProbeResult {
  ok: boolean;
  /** Why it failed, e.g. "timeout after 500 ms", "ECONNREFUSED", "0/1 replies". */
  error?: string;
}

export type Family = "ipv4" | "ipv6" | "dual";

export interface ServerOptions {
  proto: "tcp" | "udp";
  port: number;
  /** Which addresses to listen on (default "dual": IPv4 and IPv6 on one socket). */
  family?: Family;
}

/** A running echo server inside a namespace. */
export interface EchoServer {
  readonly proto: "tcp" | "udp";
  readonly port: number;
  /** The server process (inside the namespace). */
  readonly pid: number | undefined;
  /** Source addresses seen so far, one per TCP connection or UDP datagram (for NAT checks). */
  readonly peers: readonly string[];
  stop(): Promise<void>;
}

/** An established TCP connection kept open by a child in the client's namespace. */
export interface HeldTcp {
  /** Sends a line on the same connection and waits for its echo. */
  probe(options?: { timeoutMs?: number }): Promise<ProbeResult>;
  close(): Promise<void>;
}

/** Extra time a probe child gets beyond its own network timeout before it counts as wedged. */
const CHILD_GRACE_MS = 10_000;
/** How long a server or held connection may take to report ready (Node start-up included). */
const READY_TIMEOUT_MS = 10_000;

/** Starts a Node echo server in `where`'s namespace and resolves once it listens. */
export async function startServer(where: InNamespace, options: ServerOptions): Promise<EchoServer> {
  const family = options.family ?? "dual";
  const config = {
    proto: options.proto,
    port: options.port,
    host: family === "ipv4" ? "0.0.0.0" : "::",
    ipv6Only: family === "ipv6",
  };
  const child = spawnNode(where, ECHO_SERVER_SCRIPT, config);
  const peers: string[] = [];
  const lines = jsonLines(child);
  const ready = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`echo server ${options.proto}/${options.port} in ${where.ns}: not ready after ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    lines.on("message", (msg: { listening?: number; peer?: string }) => {
      if (msg.listening !== undefined) {
        clearTimeout(timer);
        resolve(msg.listening);
      }
      if (msg.peer !== undefined) peers.push(msg.peer);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`echo server ${options.proto}/${options.port} in ${where.ns} exited (${signal ?? code}): ${stderrOf(child)}`));
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return { proto: options.proto, port: ready, pid: child.pid, peers, stop: () => stopChild(child) };
}

/** Connects to `dstIp`:`port` over TCP from `from`'s namespace, sends a line, expects the echo. */
export function tcpConnect(from: InNamespace, dstIp: string, port: number, options: { timeoutMs?: number } = {}): Promise<ProbeResult> {
  return exchange(from, "tcp", dstIp, port, options.timeoutMs ?? 2_000);
}

/** Sends one UDP datagram to `dstIp`:`port` from `from`'s namespace and expects it echoed. */
export function udpExchange(from: InNamespace, dstIp: string, port: number, options: { timeoutMs?: number } = {}): Promise<ProbeResult> {
  return exchange(from, "udp", dstIp, port, options.timeoutMs ?? 2_000);
}

/**
 * Pings `dstIp` (IPv4 or IPv6) from `from`'s namespace; ok only if every one of `count` echo
 * requests (default 1) was answered, each within `timeoutMs` (default 1000).
 */
export async function ping(from: InNamespace, dstIp: string, options: { count?: number; timeoutMs?: number } = {}): Promise<ProbeResult> {
  const count = options.count ?? 1;
  const waitSeconds = ((options.timeoutMs ?? 1_000) / 1000).toFixed(3);
  const argv = ["ping", "-n", "-q", "-c", String(count), "-i", "0.2", "-W", waitSeconds, dstIp];
  let output: string;
  try {
    output = (await from.topology.exec(from.ns, argv, { timeoutMs: (options.timeoutMs ?? 1_000) * count + CHILD_GRACE_MS })).stdout;
  } catch (err) {
    // ping exits 1 when replies are missing and 2 on errors such as "Network is unreachable";
    // both are network outcomes. Anything else (not installed, killed) is a harness failure.
    if (err instanceof CommandError && (err.exitCode === 1 || err.exitCode === 2)) {
      const received = /(\d+) received/.exec(err.stdout);
      return { ok: false, error: received ? `${received[1]}/${count} replies` : err.stderr.trim() };
    }
    throw err;
  }
  // Exit 0 means at least one reply; the caller asked for all of them.
  const received = Number(/(\d+) received/.exec(output)?.[1] ?? 0);
  return received === count ? { ok: true } : { ok: false, error: `${received}/${count} replies` };
}

/**
 * Opens a TCP connection from `from` to `dstIp`:`port` (checked with one echo) and keeps it open
 * until `close()`, so a test can restart things and then check the same flow still passes.
 */
export async function holdTcp(from: InNamespace, dstIp: string, port: number, options: { timeoutMs?: number } = {}): Promise<HeldTcp> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const child = spawnNode(from, HOLD_TCP_SCRIPT, { host: dstIp, port, timeoutMs });
  const lines = jsonLines(child);
  await new Promise<void>((resolve, reject) => {
    const settle = (failure?: string): void => {
      clearTimeout(timer);
      lines.off("message", onMessage);
      child.off("exit", onExit);
      child.off("error", onError);
      if (failure === undefined) return resolve();
      child.kill("SIGKILL");
      reject(new Error(`holdTcp ${from.ns} -> ${hostPort(dstIp, port)}: ${failure}`));
    };
    const onMessage = (msg: { ready?: boolean; ok?: boolean; error?: string }): void => {
      if (msg.ready) settle();
      else if (msg.ok === false) settle(msg.error ?? "failed");
    };
    const onExit = (code: number | null, signal: string | null): void => settle(`exited (${signal ?? code}): ${stderrOf(child)}`);
    const onError = (err: Error): void => settle(err.message);
    const timer = setTimeout(() => settle(`not connected after ${timeoutMs + CHILD_GRACE_MS} ms`), timeoutMs + CHILD_GRACE_MS);
    lines.on("message", onMessage);
    child.on("exit", onExit);
    child.on("error", onError);
  });

  let nextId = 0;
  // Probes share one connection and one line protocol, so they run one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const probeOnce = (probeTimeoutMs: number): Promise<ProbeResult> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ ok: false, error: "held connection's process has exited" });
        return;
      }
      const id = String(++nextId);
      const finish = (result: ProbeResult): void => {
        lines.off("message", onMessage);
        child.off("exit", onExit);
        resolve(result);
      };
      const onMessage = (msg: { id?: string; ok?: boolean; error?: string }): void => {
        if (msg.id === id) finish(msg.ok ? { ok: true } : { ok: false, error: msg.error ?? "failed" });
      };
      const onExit = (): void => finish({ ok: false, error: "held connection's process has exited" });
      lines.on("message", onMessage);
      child.on("exit", onExit);
      child.stdin?.write(`${id} ${probeTimeoutMs}\n`);
    });
  return {
    probe: (probeOptions = {}) => {
      const result = queue.then(() => probeOnce(probeOptions.timeoutMs ?? timeoutMs));
      queue = result.catch(() => undefined);
      return result;
    },
    close: () => stopChild(child),
  };
}

async function exchange(from: InNamespace, proto: "tcp" | "udp", host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const payload = `ptables-probe-${randomBytes(6).toString("hex")}`;
  const child = spawnNode(from, EXCHANGE_SCRIPT, { proto, host, port, timeoutMs, payload });
  const lines = jsonLines(child);
  return new Promise((resolve, reject) => {
    let result: ProbeResult | undefined;
    const wedged = setTimeout(() => child.kill("SIGKILL"), timeoutMs + CHILD_GRACE_MS);
    lines.on("message", (msg: ProbeResult) => {
      result = msg.ok ? { ok: true } : { ok: false, error: msg.error };
    });
    child.once("error", (err) => {
      clearTimeout(wedged);
      reject(err);
    });
    // "close" rather than "exit": stdout is fully read by then, so the result line is in.
    child.once("close", (code, signal) => {
      clearTimeout(wedged);
      if (result !== undefined) resolve(result);
      else reject(new Error(`${proto} probe ${from.ns} -> ${hostPort(host, port)} gave no result (${signal ?? code}): ${stderrOf(child)}`));
    });
  });
}

/** Runs `node -e script <json>` in the namespace with a clean Node environment. */
function spawnNode(where: InNamespace, script: string, config: object): ChildProcess {
  const env = { ...process.env };
  // Jest and ts-node hooks in NODE_OPTIONS would slow every probe's start-up for nothing.
  delete env.NODE_OPTIONS;
  const child = where.topology.spawnIn(where.ns, [process.execPath, "-e", script, JSON.stringify(config)], { env });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    // Only the tail matters for error messages.
    stderr = (stderr + chunk).slice(-2_000);
  });
  stderrByChild.set(child, () => stderr.trim());
  return child;
}

const stderrByChild = new WeakMap<ChildProcess, () => string>();

function stderrOf(child: ChildProcess): string {
  return stderrByChild.get(child)?.() || "no stderr";
}

/** Emits "message" with each JSON line a child prints on stdout. */
function jsonLines(child: ChildProcess): NodeJS.EventEmitter {
  if (child.stdout === null) throw new Error("probe child has no stdout pipe");
  const reader = createInterface({ input: child.stdout });
  reader.on("line", (line) => {
    try {
      reader.emit("message", JSON.parse(line));
    } catch {
      // Not ours (e.g. a Node warning); ignore.
    }
  });
  return reader;
}

/** Ends the child's stdin (it exits on EOF), then makes sure it is gone. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const escalate = setTimeout(() => child.kill("SIGKILL"), 2_000);
    child.once("exit", () => {
      clearTimeout(escalate);
      resolve();
    });
    child.stdin?.end();
    child.kill("SIGTERM");
  });
}

function hostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
