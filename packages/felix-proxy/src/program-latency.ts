/**
 * How long Felix's changes take to reach the datapath: from the moment the first frame of a
 * batch arrived to the SyncResponse whose applied version covers the Delta (or Snapshot) that
 * carried it. Changes that could not be sent at once (the programmer was down) keep their stamp
 * and are measured by whatever carries them later (the snapshot on reconnection), so an outage
 * shows up as the long latency it really was.
 */

/** Versions waiting for their SyncResponse; past this the newest entry absorbs later versions. */
const MAX_AWAITING = 1024;

/** Stamps queued changes, notes which version carried them, and measures when it is applied. */
export class ProgramLatency {
  /** When the oldest change not yet sent arrived (ms, on `now`'s clock). */
  private unsentSince: number | undefined;
  private readonly awaiting: Array<{ version: bigint; since: number }> = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A Felix frame produced changes that are now queued for the programmer. */
  received(): void {
    this.unsentSince ??= this.now();
  }

  /** Everything received so far went to the programmer in the message with `version`. */
  sent(version: bigint): void {
    if (this.unsentSince === undefined) return;
    const last = this.awaiting[this.awaiting.length - 1];
    if (this.awaiting.length >= MAX_AWAITING && last) {
      // A programmer that stopped answering must not grow this without bound: the oldest
      // stamps are kept (they are the interesting ones) and the newest version covers the rest.
      last.version = version;
    } else {
      this.awaiting.push({ version, since: this.unsentSince });
    }
    this.unsentSince = undefined;
  }

  /** The programmer has applied everything up to `version`: seconds each covered batch waited. */
  applied(version: bigint): number[] {
    const t = this.now();
    const out: number[] = [];
    while (this.awaiting.length > 0 && this.awaiting[0]!.version <= version) {
      out.push((t - this.awaiting.shift()!.since) / 1000);
    }
    return out;
  }

  /** Batches sent and not yet applied (for tests and Info). */
  get pending(): number {
    return this.awaiting.length + (this.unsentSince === undefined ? 0 : 1);
  }
}
