/**
 * The proxy's side of ptables.policy.v1.PolicyProgrammer/Sync: one long-lived stream that is
 * re-opened whenever it fails. Every new stream starts with a full Snapshot, so a restarted
 * programmer (or a restarted proxy) converges without any replay log; after it come Deltas
 * holding every change of a short window, with versions that only increase.
 */
import { sync } from "@ptables/proto";
import { ResilientStream, createPeerClient, type BackoffOptions, type Logger } from "@ptables/runtime";
import type { model } from "@ptables/proto";
import { ProgramLatency } from "./program-latency";

/** What a snapshot is built from: the current desired state and whether Felix is in sync. */
export interface SyncSource {
  state(): model.DesiredState;
  inSync(): boolean;
}

/** Options of ProgrammerSync. */
export interface ProgrammerSyncOptions {
  socketPath: string;
  source: SyncSource;
  logger: Logger;
  /** Called with every SyncResponse (statuses, applied version). */
  onResponse: (res: sync.SyncResponse) => void;
  onConnectionChange?: (connected: boolean) => void;
  /** Called with the seconds from a Felix frame to the response saying its changes are programmed. */
  onProgrammed?: (seconds: number) => void;
  /** How long changes are collected into one Delta (default 5 ms). */
  coalesceMs?: number;
  backoff?: BackoffOptions;
}

/** The Sync stream to the policy programmer: snapshot on every (re)connect, then coalesced deltas. */
export class ProgrammerSync {
  private readonly client: sync.PolicyProgrammerClient;
  private readonly stream: ResilientStream<sync.SyncRequest, sync.SyncResponse>;
  private version = 0n;
  private pending: sync.Change[] = [];
  private pendingInSync = false;
  private lastSentInSync: boolean | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private held = false;
  /** Version of the first message on the current stream that said Felix is in sync. */
  private inSyncVersion: bigint | undefined;
  private readonly latency = new ProgramLatency();
  private readonly coalesceMs: number;
  /** Highest version the programmer said it applied. */
  appliedVersion = 0n;
  snapshotsSent = 0;
  deltasSent = 0;

  constructor(private readonly opts: ProgrammerSyncOptions) {
    this.coalesceMs = opts.coalesceMs ?? 5;
    this.client = createPeerClient(sync.PolicyProgrammerClient, opts.socketPath, opts.backoff);
    this.stream = new ResilientStream({
      name: "policy-programmer sync",
      client: this.client,
      open: () => this.client.sync(),
      onConnect: () => {
        this.opts.onConnectionChange?.(true);
        this.sendSnapshot();
      },
      onMessage: (res) => {
        if (res.appliedVersion > this.appliedVersion) this.appliedVersion = res.appliedVersion;
        for (const seconds of this.latency.applied(res.appliedVersion)) this.opts.onProgrammed?.(seconds);
        this.opts.onResponse(res);
      },
      onDisconnect: () => this.opts.onConnectionChange?.(false),
      backoff: opts.backoff,
      logger: opts.logger,
    });
  }

  get connected(): boolean {
    return this.stream.connected;
  }

  /** The last version sent (snapshot or delta). */
  get sentVersion(): bigint {
    return this.version;
  }

  /**
   * Whether the programmer has applied a complete state: a version sent after Felix's InSync on
   * the current stream. False while disconnected and until then.
   */
  get programmedInSync(): boolean {
    return this.stream.connected && this.inSyncVersion !== undefined && this.appliedVersion >= this.inSyncVersion;
  }

  start(): void {
    this.stream.start();
  }

  /**
   * Stops sending anything until release(): used while a new Felix connection replays its
   * state, so the programmer keeps the previous, complete state instead of a partial one.
   */
  hold(): void {
    this.held = true;
    this.clearPending();
  }

  /** Ends a hold with a fresh snapshot of the now complete state. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.sendSnapshot();
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Queues changes (already applied to the source) for the next Delta. */
  queue(changes: readonly sync.Change[], inSync: boolean): void {
    // A held proxy (a new Felix connection replaying its state) is not called at all: that
    // replay is a resync, not a change, and is not timed.
    if (this.held) return;
    if (changes.length > 0) this.latency.received();
    for (const c of changes) this.pending.push(c);
    this.pendingInSync = inSync;
    const inSyncChanged = this.lastSentInSync !== undefined && this.lastSentInSync !== inSync;
    if (this.pending.length === 0 && !inSyncChanged) return;
    this.flushTimer ??= setTimeout(() => this.flush(), this.coalesceMs);
  }

  /** Sends what is queued now (also called by the timer). */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.held || !this.stream.connected) {
      // Nobody to send to: the snapshot on the next connection carries these changes.
      this.clearPending();
      return;
    }
    const changes = this.pending;
    this.pending = [];
    const version = ++this.version;
    this.stream.write({ msg: { $case: "delta", value: { version, changes, inSync: this.pendingInSync } } });
    this.latency.sent(version);
    if (this.pendingInSync) this.inSyncVersion ??= version;
    this.lastSentInSync = this.pendingInSync;
    this.deltasSent++;
    this.opts.logger.debug("delta sent", { version, changes: changes.length, inSync: this.pendingInSync });
  }

  /** Cancels the stream and closes the client. */
  close(): void {
    this.clearPending();
    this.stream.close();
    this.client.close();
  }

  private sendSnapshot(): void {
    // Queued changes are already part of the state the snapshot is built from.
    this.clearPending();
    if (this.held || !this.stream.connected) return;
    const version = ++this.version;
    const inSync = this.opts.source.inSync();
    this.stream.write({ msg: { $case: "snapshot", value: { version, state: this.opts.source.state(), inSync } } });
    this.latency.sent(version);
    this.inSyncVersion = inSync ? version : undefined;
    this.lastSentInSync = inSync;
    this.snapshotsSent++;
    this.opts.logger.info("snapshot sent", { version, inSync });
  }

  private clearPending(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
  }
}
