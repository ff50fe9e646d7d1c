/**
 * FelixPlayer: runs a dataplane driver the way Felix's external-driver support does
 * (felix/dataplane/external/ext_dataplane.go, felix/daemon/daemon.go) and plays a stream to it.
 *
 *  - The driver is started with no arguments and the given environment (Felix passes its own),
 *    optionally behind a wrapper argv such as ["ip", "netns", "exec", "node-a"].
 *  - fd 3 in the child carries ToDataplane frames to the driver; fd 4 carries FromDataplane
 *    frames back. Node connects extra stdio slots with socket pairs rather than pipe(2), which a
 *    driver cannot tell apart when it only reads fd 3 and writes fd 4.
 *  - Writes wait for the pipe to drain, so a driver that stops reading stalls the player, as it
 *    stalls Felix.
 *  - A frame from the driver that is too long or does not decode is a protocol error; Felix
 *    shuts down on it, so the player stops the driver.
 *  - Stopping sends SIGTERM, then SIGKILL after 4 s, like Felix.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import type { Readable, Writable } from "node:stream";
import { felix } from "@ptables/proto";
import { FrameReader, encodeFrame } from "../framing";
import type { EndpointStatusReport } from "./driver-reports";
import { DriverReports } from "./driver-reports";
import type { DriverExit, FelixPlayerEvents, FelixPlayerOptions } from "./player-types";
import { DriverExitedError, PlayerTimeoutError } from "./player-types";
import type { FelixStream } from "./stream";

export { DriverExitedError, PlayerTimeoutError } from "./player-types";
export type { DriverExit, FelixPlayerEvents, FelixPlayerOptions } from "./player-types";
export type { EndpointStatusReport } from "./driver-reports";

const FELIX_STOP_TIMEOUT_MS = 4000;
/** If stdio never closes (a grandchild holds it), report the exit anyway after this long. */
const STDIO_CLOSE_GRACE_MS = 1000;

/**
 * One driver process and the Felix side of its two pipes. Construct it to start the driver;
 * `send`/`play` write frames, the status getters and events report what came back, `stop`
 * ends it. It never throws for driver misbehaviour: that surfaces as `error`, a
 * "protocolError" event and an exit.
 */
export class FelixPlayer extends EventEmitter<FelixPlayerEvents> {
  private readonly child: ChildProcess;
  private readonly toDriver: Writable;
  private readonly reader: FrameReader;
  private writeChain: Promise<void> = Promise.resolve();
  private stopRequested = false;
  private killed = false;
  private exitInfo?: DriverExit;
  private readonly exited: Promise<DriverExit>;
  private readonly reports = new DriverReports();
  private readonly recentOutput: string[] = [];
  private firstError?: Error;
  private killTimer?: NodeJS.Timeout;

  /** Starts the driver. Spawn failures (missing file, no execute bit) surface as an exit. */
  constructor(private readonly options: FelixPlayerOptions) {
    super();
    this.reader = new FrameReader({ maxFrameBytes: options.maxFrameBytes });
    const output = options.output ?? "pipe";
    const [command, ...args] = [...(options.wrapper ?? []), options.driver];
    this.child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ["ignore", output, output, "pipe", "pipe"],
    });
    this.toDriver = this.child.stdio[3] as Writable;
    const fromDriver = this.child.stdio[4] as Readable;
    // EPIPE and friends arrive here; Felix treats a failed write as fatal.
    this.toDriver.on("error", (err) => this.protocolFailure(new Error(`writing to driver fd 3 failed: ${err.message}`)));
    fromDriver.on("error", (err) => this.protocolFailure(new Error(`reading driver fd 4 failed: ${err.message}`)));
    fromDriver.on("data", (chunk: Buffer) => this.onBytes(chunk));
    fromDriver.on("end", () => this.onEndOfInput());
    if (output === "pipe") {
      this.collectLines(this.child.stdout!, "stdout");
      this.collectLines(this.child.stderr!, "stderr");
    }
    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exitInfo) return;
        clearTimeout(graceTimer);
        clearTimeout(this.killTimer);
        // A driver that cannot be started reports 127, as a shell would.
        this.exitInfo = { code: spawnError ? 127 : code, signal, stopRequested: this.stopRequested, killed: this.killed };
        this.emit("exit", this.exitInfo);
        resolve(this.exitInfo);
      };
      this.child.once("error", (err) => {
        spawnError = err;
        this.firstError ??= new Error(`cannot start driver ${options.driver}: ${err.message}`);
        finish(null, null);
      });
      this.child.once("exit", (code, signal) => {
        graceTimer = setTimeout(() => finish(code, signal), STDIO_CLOSE_GRACE_MS);
      });
      // "close" comes once fd 4 is drained too, so no status sent just before exit is lost.
      this.child.once("close", (code, signal) => finish(code, signal));
    });
  }

  /** The driver's process id (undefined if it could not be started). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves when the driver has exited. */
  waitForExit(): Promise<DriverExit> {
    return this.exited;
  }

  /** The exit, once it happened. */
  get exit(): DriverExit | undefined {
    return this.exitInfo;
  }

  /** Why the player gave up on the driver (spawn failure, bad or truncated frame, broken pipe), if it did. */
  get error(): Error | undefined {
    return this.firstError;
  }

  /** Latest status per workload endpoint key ("k8s/demo/frontend/eth0"). */
  get endpointStatuses(): ReadonlyMap<string, EndpointStatusReport> {
    return this.reports.workloadStatuses;
  }

  /** Latest status per host endpoint id. */
  get hostEndpointStatuses(): ReadonlyMap<string, string> {
    return this.reports.hostStatuses;
  }

  /** Every ProcessStatusUpdate received, oldest first. */
  get processStatusUpdates(): readonly felix.ProcessStatusUpdate[] {
    return this.reports.processStatuses;
  }

  /** The last lines the driver printed (output: "pipe"), for error reports. */
  get lastOutput(): readonly string[] {
    return this.recentOutput;
  }

  /** Writes messages in order, each as one frame, waiting for the pipe to drain when it is full. */
  send(messages: readonly felix.ToDataplane[]): Promise<void> {
    const write = this.writeChain.then(async () => {
      for (const message of messages) {
        this.throwIfGone();
        const frame = encodeFrame(felix.ToDataplane.encode(message).finish());
        if (!this.toDriver.write(frame)) await this.drainedOrGone();
        this.emit("sent", message);
      }
    });
    this.writeChain = write.catch(() => undefined);
    return write;
  }

  /**
   * Plays a stream: start of day at once, then each step at its time after InSync was written.
   * Resolves early, without sending further steps, once `signal` aborts. Rejects with
   * DriverExitedError if the driver goes away first.
   */
  async play(stream: FelixStream, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.send(stream.startOfDay);
    const inSyncAt = Date.now();
    for (const step of stream.steps) {
      if (options.signal?.aborted) return;
      await this.sleepUntil(inSyncAt + step.afterMs, options.signal);
      if (options.signal?.aborted) return;
      await this.send(step.messages);
      this.emit("step", step);
    }
  }

  /** Resolves once every endpoint in `keys` has reported `status`; rejects on timeout or exit. */
  waitForEndpointStatus(keys: readonly string[], status: string, timeoutMs: number): Promise<void> {
    const done = () => keys.every((k) => this.reports.workloadStatuses.get(k)?.status === status);
    return this.waitFor(done, timeoutMs, () => {
      const pending = keys.filter((k) => this.reports.workloadStatuses.get(k)?.status !== status);
      return `timed out after ${timeoutMs}ms waiting for ${status}: ${pending.map((k) => `${k} (${this.reports.workloadStatuses.get(k)?.status ?? "no status"})`).join(", ")}`;
    });
  }

  /** Closes fd 3, as when Felix dies: the driver reads EOF. */
  closeInput(): void {
    this.toDriver.end();
  }

  /** SIGTERM, then SIGKILL after the stop timeout (4 s, like Felix). Resolves with the exit. */
  stop(): Promise<DriverExit> {
    if (this.exitInfo) return this.exited;
    this.stopRequested = true;
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      this.killTimer ??= setTimeout(() => {
        this.killed = true;
        this.child.kill("SIGKILL");
      }, this.options.stopTimeoutMs ?? FELIX_STOP_TIMEOUT_MS);
    }
    return this.exited;
  }

  private throwIfGone(): void {
    if (this.exitInfo) throw new DriverExitedError(this.exitInfo);
    if (this.firstError) throw this.firstError;
  }

  private drainedOrGone(): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.toDriver.off("drain", onDrain);
        this.off("exit", onExit);
        this.off("protocolError", onError);
      };
      const onDrain = () => (cleanup(), resolve());
      const onExit = (exit: DriverExit) => (cleanup(), reject(new DriverExitedError(exit)));
      const onError = (err: Error) => (cleanup(), reject(err));
      this.toDriver.on("drain", onDrain);
      this.on("exit", onExit);
      this.on("protocolError", onError);
    });
  }

  private sleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.exitInfo) return reject(new DriverExitedError(this.exitInfo));
      if (signal?.aborted) return resolve();
      const cleanup = () => {
        clearTimeout(timer);
        this.off("exit", onExit);
        signal?.removeEventListener("abort", onAbort);
      };
      const onExit = (exit: DriverExit) => (cleanup(), reject(new DriverExitedError(exit)));
      const onAbort = () => (cleanup(), resolve());
      const timer = setTimeout(() => (cleanup(), resolve()), Math.max(0, deadline - Date.now()));
      this.on("exit", onExit);
      signal?.addEventListener("abort", onAbort);
    });
  }

  private waitFor(done: () => boolean, timeoutMs: number, describeTimeout: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (done()) return resolve();
      if (this.exitInfo) return reject(new DriverExitedError(this.exitInfo));
      const cleanup = () => {
        clearTimeout(timer);
        this.off("message", onMessage);
        this.off("exit", onExit);
      };
      const onMessage = () => {
        if (done()) (cleanup(), resolve());
      };
      const onExit = (exit: DriverExit) => (cleanup(), reject(new DriverExitedError(exit)));
      const timer = setTimeout(() => (cleanup(), reject(new PlayerTimeoutError(describeTimeout()))), timeoutMs);
      this.on("message", onMessage);
      this.on("exit", onExit);
    });
  }

  private onBytes(chunk: Buffer): void {
    if (this.firstError) return;
    try {
      for (const frame of this.reader.push(chunk)) this.onMessage(felix.FromDataplane.decode(frame.bytes));
    } catch (err) {
      this.protocolFailure(new Error(`bad frame from driver on fd 4: ${(err as Error).message}`));
    }
  }

  /** fd 4 closed: a frame cut short is a protocol error, even if the driver then exits cleanly. */
  private onEndOfInput(): void {
    if (this.firstError) return;
    try {
      this.reader.end();
    } catch (err) {
      this.protocolFailure(new Error(`bad frame from driver on fd 4: ${(err as Error).message}`));
    }
  }

  private onMessage(message: felix.FromDataplane): void {
    const report = this.reports.record(message);
    if (report?.kind === "endpointStatus") this.emit("endpointStatus", report.report);
    if (report?.kind === "endpointStatusRemove") this.emit("endpointStatusRemove", report.key);
    if (report?.kind === "hostEndpointStatus") this.emit("hostEndpointStatus", report.endpointId, report.status);
    if (report?.kind === "processStatus") this.emit("processStatus", report.update);
    this.emit("message", message);
  }

  private protocolFailure(err: Error): void {
    if (this.firstError || this.exitInfo) return;
    this.firstError = err;
    this.emit("protocolError", err);
    void this.stop();
  }

  private collectLines(stream: Readable, name: "stdout" | "stderr"): void {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (text: string) => {
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) this.addLine(name, line);
    });
    stream.on("end", () => {
      if (partial) this.addLine(name, partial);
    });
  }

  private addLine(name: "stdout" | "stderr", line: string): void {
    this.recentOutput.push(line);
    if (this.recentOutput.length > 50) this.recentOutput.shift();
    this.emit("output", name, line);
  }
}
