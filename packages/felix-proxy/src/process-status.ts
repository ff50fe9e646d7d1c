/**
 * ProcessStatusUpdate for Felix: the heartbeat Felix writes to the datastore as this node's
 * status. The internal dataplane sends the first one 10 s after start; ptables sends it about
 * a second after Felix's ConfigUpdate (so well within those 10 s), then every
 * ReportingIntervalSecs. An interval of 0 turns reports off, as it does in Felix.
 */
import { felixTimestamp, processStatusUpdate } from "@ptables/felix";
import type { felix } from "@ptables/proto";

/** Options of ProcessStatusReporter. */
export interface ProcessStatusOptions {
  send: (msg: felix.FromDataplane) => void;
  /** Delay of the first report after ConfigUpdate (default 1000 ms). */
  firstDelayMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  nowMs?: () => number;
  wallClock?: () => Date;
}

/** Sends ProcessStatusUpdate on Felix's schedule for one Felix connection. */
export class ProcessStatusReporter {
  private readonly startedMs: number;
  private timer: NodeJS.Timeout | undefined;
  private intervalSecs: number | undefined;
  private readonly nowMs: () => number;
  /** Reports sent so far. */
  sent = 0;

  constructor(private readonly opts: ProcessStatusOptions) {
    this.nowMs = opts.nowMs ?? (() => performance.now());
    this.startedMs = this.nowMs();
  }

  /**
   * Felix's ConfigUpdate arrived with this ReportingIntervalSecs: (re)start the schedule. Felix
   * only sends later ConfigUpdates for settings it can change live, so this normally runs once.
   */
  configure(intervalSecs: number): void {
    if (this.intervalSecs === intervalSecs && this.timer) return;
    this.intervalSecs = intervalSecs;
    this.clear();
    if (!(intervalSecs > 0)) return;
    const first = this.sent === 0 ? (this.opts.firstDelayMs ?? 1000) : intervalSecs * 1000;
    this.timer = setTimeout(() => this.tick(), first);
  }

  /** Sends one report now. */
  report(): void {
    const uptime = (this.nowMs() - this.startedMs) / 1000;
    this.sent++;
    this.opts.send(processStatusUpdate(felixTimestamp(this.opts.wallClock ? this.opts.wallClock() : new Date()), uptime));
  }

  stop(): void {
    this.clear();
  }

  private tick(): void {
    this.report();
    const secs = this.intervalSecs ?? 0;
    this.timer = secs > 0 ? setTimeout(() => this.tick(), secs * 1000) : undefined;
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
