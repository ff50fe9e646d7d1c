/**
 * Keeps one agent process running: `node <script>`, same environment as the driver. A child
 * that exits for any reason (a crash, an OOM kill, SIGKILL) is started again after a capped
 * exponential backoff; it resyncs by itself (the programmer gets a fresh snapshot, the others
 * re-read the datapath). Stopping sends SIGTERM, then SIGKILL after a grace period.
 *
 * The children must never hold Felix's pipes: an agent keeping fd 4 open would keep Felix
 * from seeing EOF when the driver dies. Whatever the driver holds at fds 3 and 4, a child's
 * fd 3 is an IPC channel to the driver (runAgent stops an agent when it closes, so a SIGKILLed
 * driver leaves no agents behind) and its fd 4 is /dev/null.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { Backoff, objectLogger, type BackoffOptions, type Logger } from "@ptables/runtime";

/** Options of ChildSupervisor. */
export interface ChildSupervisorOptions {
  name: string;
  /** The agent's main.js. */
  script: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  backoff?: BackoffOptions;
  /** SIGTERM -> SIGKILL delay on stop (default 2500 ms). */
  killAfterMs?: number;
}

/** A child that ran at least this long counts as healthy: its next restart starts fast again. */
const HEALTHY_RUN_MS = 10_000;

/** Runs one agent as a child process and restarts it whenever it exits. */
export class ChildSupervisor {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly backoff: Backoff;
  private readonly logger: Logger;
  /** Processes started (1 after the first start). */
  starts = 0;
  lastExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(private readonly opts: ChildSupervisorOptions) {
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 200, maxMs: 10_000 });
    this.logger = objectLogger(opts.logger, opts.name, { agent: opts.name });
  }

  get name(): string {
    return this.opts.name;
  }

  /** The running child's pid, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.stopping || this.child || this.timer) return;
    this.spawnChild();
  }

  /** Stops the child (SIGTERM, then SIGKILL) and does not restart it. Resolves once it exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const child = this.child;
    if (!child || !this.exited) return;
    const exited = this.exited;
    child.kill("SIGTERM");
    const kill = setTimeout(() => {
      this.logger.warn("agent did not stop after SIGTERM; killing it", { pid: child.pid });
      child.kill("SIGKILL");
    }, this.opts.killAfterMs ?? 2500);
    await exited;
    clearTimeout(kill);
  }

  private spawnChild(): void {
    const devNull = fs.openSync("/dev/null", "r+");
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [this.opts.script], {
        env: this.opts.env,
        stdio: ["ignore", "inherit", "inherit", "ipc", devNull],
      });
    } finally {
      fs.closeSync(devNull);
    }
    this.starts++;
    const startedAt = Date.now();
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.child = undefined;
        this.lastExit = { code, signal };
        resolve();
        this.onExit(code, signal, Date.now() - startedAt);
      });
    });
    child.on("error", (err) => this.logger.error("agent process error", { error: err.message }));
    // The channel only tells the child when we are gone; it carries no messages and must not
    // keep the driver alive.
    child.channel?.unref();
    this.logger.info("agent started", { pid: child.pid, script: this.opts.script, starts: this.starts });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, ranMs: number): void {
    if (this.stopping) {
      this.logger.info("agent stopped", { code, signal });
      return;
    }
    if (ranMs >= HEALTHY_RUN_MS) this.backoff.reset();
    const delayMs = this.backoff.nextDelayMs();
    this.logger.error("agent exited; restarting", { code, signal, ranMs, restartInMs: delayMs });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopping) this.spawnChild();
    }, delayMs);
  }
}
