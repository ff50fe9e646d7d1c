/**
 * Long-lived gRPC clients to peer agents over Unix sockets. One client per peer, created at
 * start-up and closed on shutdown: grpc-js reconnects its channel by itself with capped
 * exponential backoff, so nothing here dials per call. `ResilientStream` adds what a channel
 * cannot do for a bidi stream: open it again after it fails and let the caller resend its
 * state (a snapshot) on every new stream.
 */
import * as grpc from "@grpc/grpc-js";
import { MAX_GRPC_MESSAGE_BYTES } from "./grpc-server";
import type { Logger } from "./logger";

/** Capped exponential backoff: the first delay and the cap, in milliseconds. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** 100 ms doubling to 5 s: quick after a peer restart, quiet while it stays down. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5000 };

/** The grpc-js target for a Unix socket path. */
export function unixTarget(socketPath: string): string {
  return `unix://${socketPath}`;
}

/** A generated grpc-js client class, e.g. `sync.PolicyProgrammerClient`. */
export type ClientConstructor<C extends grpc.Client> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => C;

/** Creates the one client for a peer's socket (e.g. `new sync.PolicyProgrammerClient`). */
export function createPeerClient<C extends grpc.Client>(ctor: ClientConstructor<C>, socketPath: string, backoff: BackoffOptions = DEFAULT_BACKOFF): C {
  return new ctor(unixTarget(socketPath), grpc.credentials.createInsecure(), {
    "grpc.initial_reconnect_backoff_ms": backoff.initialMs,
    "grpc.max_reconnect_backoff_ms": backoff.maxMs,
    "grpc.max_receive_message_length": MAX_GRPC_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_GRPC_MESSAGE_BYTES,
  });
}

/** Capped exponential backoff: initial, 2x, 4x, ... up to max; reset() after a success. */
export class Backoff {
  private next: number;
  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.next = opts.initialMs;
  }
  /** The delay to wait now; doubles the one after it. */
  nextDelayMs(): number {
    const d = this.next;
    this.next = Math.min(this.opts.maxMs, this.next * 2);
    return d;
  }
  reset(): void {
    this.next = this.opts.initialMs;
  }
}

/** How a ResilientStream opens its stream and whom it tells about it. */
export interface ResilientStreamOptions<Req, Res> {
  /** For logs. */
  name: string;
  /** The long-lived client the stream runs on (not closed by the stream). */
  client: grpc.Client;
  /** Opens one stream, e.g. `() => client.sync()`. */
  open: () => grpc.ClientDuplexStream<Req, Res>;
  /** Called on every newly opened stream, before anything else is written to it. */
  onConnect: (stream: grpc.ClientDuplexStream<Req, Res>) => void;
  onMessage: (msg: Res) => void;
  /** Called when an open stream ends, before the next attempt is scheduled. */
  onDisconnect?: (reason: string) => void;
  backoff?: BackoffOptions;
  logger?: Logger;
}

/**
 * A bidi stream that is always being kept open: it waits for the channel to be ready, opens
 * the stream, hands it to onConnect, and after any end or error opens a new one after a
 * backoff. Writes go to the current stream; while there is none they are dropped (the next
 * onConnect resends the full state, so nothing is lost).
 */
export class ResilientStream<Req, Res> {
  private current: grpc.ClientDuplexStream<Req, Res> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private readonly backoff: Backoff;
  private readonly backoffOpts: BackoffOptions;
  /** Streams opened so far (1 after the first connection). */
  connects = 0;

  constructor(private readonly opts: ResilientStreamOptions<Req, Res>) {
    this.backoffOpts = opts.backoff ?? DEFAULT_BACKOFF;
    this.backoff = new Backoff(this.backoffOpts);
  }

  /** Whether a stream is open now. */
  get connected(): boolean {
    return this.current !== undefined;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.attempt();
  }

  /** Writes to the open stream; returns false (and drops the message) when there is none. */
  write(msg: Req): boolean {
    if (!this.current) return false;
    this.current.write(msg);
    return true;
  }

  /** Cancels the stream and every pending attempt. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.current;
    this.current = undefined;
    s?.cancel();
  }

  private attempt(): void {
    if (this.closed) return;
    // Wait for a ready channel first, so a peer that is down costs a cheap connectivity check
    // per backoff step instead of serialising a snapshot into a call that is bound to fail.
    this.opts.client.waitForReady(Date.now() + this.backoffOpts.maxMs, (err) => {
      if (this.closed) return;
      if (err) {
        this.schedule(`peer not ready: ${err.message}`);
        return;
      }
      this.openStream();
    });
  }

  private openStream(): void {
    let stream: grpc.ClientDuplexStream<Req, Res>;
    try {
      stream = this.opts.open();
    } catch (err) {
      this.schedule(`open failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.current = stream;
    this.connects++;
    const openedAt = Date.now();
    let ended = false;
    const end = (reason: string): void => {
      if (ended) return;
      ended = true;
      if (this.current !== stream) return; // closed by us
      this.current = undefined;
      // A stream that lived a while was a real connection: start the next wait short again.
      if (Date.now() - openedAt >= this.backoffOpts.maxMs) this.backoff.reset();
      this.opts.logger?.info("stream ended", { stream: this.opts.name, reason });
      this.opts.onDisconnect?.(reason);
      this.schedule(reason);
    };
    stream.on("data", (msg: Res) => {
      this.backoff.reset();
      this.opts.onMessage(msg);
    });
    // 'error' always precedes 'status' for a failed call; both end this stream once.
    stream.on("error", (err: grpc.ServiceError) => end(`${grpc.status[err.code] ?? err.code}: ${err.details}`));
    stream.on("status", (st: grpc.StatusObject) => end(`${grpc.status[st.code] ?? st.code}: ${st.details}`));
    this.opts.logger?.info("stream opened", { stream: this.opts.name, connects: this.connects });
    try {
      this.opts.onConnect(stream);
    } catch (err) {
      this.opts.logger?.error("onConnect failed; reopening", { stream: this.opts.name, error: err instanceof Error ? err.message : String(err) });
      stream.cancel();
    }
  }

  private schedule(reason: string): void {
    if (this.closed) return;
    const delay = this.backoff.nextDelayMs();
    this.opts.logger?.debug("stream retry scheduled", { stream: this.opts.name, reason, delayMs: delay });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, delay);
  }
}
