/**
 * Workers: bench scripts run in a child process inside a node namespace (nsenter --net, which
 * keeps the mount namespace and so the suite's bpffs), driven by JSON-line RPC on stdin/stdout.
 * Worker side: `serveWorker(handlers)`; orchestrator side: `Worker.start(ns, script)`.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { onCleanup } from "./cleanup";
import { nsArgv } from "./sys";

type Handler = (params: any) => Promise<unknown> | unknown;

/** Worker side: answers requests one at a time, in order. Exits when stdin ends. */
export function serveWorker(handlers: Record<string, Handler>): void {
  const lines = createInterface({ input: process.stdin });
  let chain: Promise<void> = Promise.resolve();
  const reply = (msg: unknown) => process.stdout.write(`${JSON.stringify(msg)}\n`);
  lines.on("line", (line) => {
    const req = JSON.parse(line) as { id: number; method: string; params: unknown };
    chain = chain.then(async () => {
      const handler = handlers[req.method];
      try {
        if (!handler) throw new Error(`unknown method ${req.method}`);
        reply({ id: req.id, result: (await handler(req.params)) ?? null });
      } catch (err) {
        reply({ id: req.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
    });
  });
  lines.on("close", () => void chain.then(() => process.exit(0)));
  // Progress and logs go to stderr so stdout stays pure RPC.
}

export function workerLog(message: string): void {
  process.stderr.write(`${message}\n`);
}

export class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private stderrTail = "";
  private readonly exited: Promise<void>;
  readonly stop: () => Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    echo: boolean,
  ) {
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-8000);
      if (echo) process.stderr.write(text.replace(/^/gm, `  [${name}] `));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let msg: { id: number; result?: unknown; error?: string };
      try {
        msg = JSON.parse(line);
      } catch {
        this.stderrTail += `\n(stdout) ${line}`;
        return;
      }
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) waiter.reject(new Error(`${name}: ${msg.error}`));
      else waiter.resolve(msg.result);
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        for (const w of this.pending.values()) w.reject(new Error(`${name} exited (${signal ?? code}): ${this.stderrTail.slice(-3000)}`));
        this.pending.clear();
        resolve();
      });
      child.once("error", (err) => {
        for (const w of this.pending.values()) w.reject(err);
        this.pending.clear();
        resolve();
      });
    });
    this.stop = onCleanup(`stop worker ${name}`, () => this.kill());
  }

  /** Starts `node <script>` inside `ns` (or in the current namespace if ns is undefined). */
  static start(name: string, ns: string | undefined, script: string, opts: { echo?: boolean; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Worker {
    const argv = [process.execPath, ...(opts.nodeArgs ?? []), script];
    const full = ns ? nsArgv(ns, argv) : argv;
    const env = { ...process.env, ...opts.env };
    delete env.NODE_OPTIONS;
    const child = spawn(full[0]!, full.slice(1), { stdio: ["pipe", "pipe", "pipe"], env });
    return new Worker(name, child, opts.echo ?? process.env.BENCH_DEBUG === "1");
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  call<T = unknown>(method: string, params: unknown = {}, timeoutMs = 600_000): Promise<T> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(new Error(`${this.name} is not running: ${this.stderrTail.slice(-2000)}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}.${method}: no answer after ${timeoutMs} ms; stderr: ${this.stderrTail.slice(-2000)}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.stdin!.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Closes stdin (the worker exits after its current request); SIGKILL after 10 s. */
  private async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
