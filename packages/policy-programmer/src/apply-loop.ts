/**
 * Runs Programmer.apply() one at a time. Messages that arrive while an apply runs only update the
 * model (cheap), and one more apply picks all of them up: under load, batches grow instead of
 * applies queueing up. When failed writes are waiting for their backoff, a timer brings the loop
 * back at the earliest retry time.
 */
import { errorMessage } from "@ptables/api";
import type { sync } from "@ptables/proto";
import type { Programmer, ProgrammerLog } from "./programmer";

export class ApplyLoop {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly programmer: Programmer,
    /** Receives each apply's response; `startedEpoch` is the value of epoch() when it started. */
    private readonly onApplied: (response: sync.SyncResponse, startedEpoch: number) => void,
    private readonly log: ProgrammerLog,
    /** Identifies the model generation (the Sync stream) an apply worked on. */
    private readonly epoch: () => number = () => 0,
  ) {}

  /** Asks for an apply: now if none is running, else right after the running one. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      this.scheduleRetry();
    });
  }

  /** Resolves once no apply is running (one that is running finishes first). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops scheduling applies; waits for a running one to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle();
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      const epoch = this.epoch();
      try {
        const response = await this.programmer.apply();
        this.onApplied(response, epoch);
      } catch (err) {
        // apply() reports backend failures itself; anything thrown here is a bug. Log it and
        // let the retry timer bring us back rather than spin.
        this.log.error("apply threw", { error: errorMessage(err) });
        return;
      }
    } while (!this.stopped && (this.again || (await this.needsApply())));
  }

  /**
   * Whether to apply (again). A host interface rescan that is due runs first, on its own: an
   * apply follows only if it found a change (or something else is pending).
   */
  private async needsApply(): Promise<boolean> {
    if (this.programmer.hostScanDue()) {
      try {
        await this.programmer.rescanHostInterfaces();
      } catch (err) {
        this.log.error("host interface rescan threw", { error: errorMessage(err) });
      }
    }
    // The scan is done (or not due yet): it alone is no reason to apply.
    return this.programmer.needsApply(true);
  }

  /** The retry timer: applies only if there is something to do once a due rescan has run. */
  private wake(): void {
    if (this.stopped || this.running) return;
    const woken = this.needsApply().then((needed) => {
      if (this.running !== woken) return;
      this.running = undefined;
      const kicked = this.again;
      this.again = false;
      if ((needed || kicked) && !this.stopped) this.kick();
      else this.scheduleRetry();
    });
    // Counts as running: a kick meanwhile waits for it (then applies).
    this.running = woken;
  }

  private scheduleRetry(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    const at = this.programmer.nextRetryAt();
    if (at === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, Math.max(0, at - this.programmer.now()));
    this.timer.unref();
  }
}
