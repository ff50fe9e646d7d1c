/**
 * One Felix connection: framed ToDataplane messages in, framed FromDataplane messages out.
 * The input is fd 3 (standalone driver) or a felix.sock connection (relay); the output is
 * fd 4 or the same socket. A frame that is too long or does not decode is a protocol error:
 * the stream cannot be trusted past it, so the session logs the offset and reason and ends,
 * and the driver exits non-zero so that Felix restarts with a clean stream.
 */
import type { Readable, Writable } from "node:stream";
import { errorMessage } from "@ptables/api";
import { FrameError, FrameReader, FrameWriter, decodeToDataplane, encodeFromDataplane } from "@ptables/felix";
import { felix } from "@ptables/proto";
import type { Logger } from "@ptables/runtime";

/** How a session ended. `clean` only when Felix closed its side at a frame boundary. */
export interface FelixSessionEnd {
  clean: boolean;
  reason: string;
  /** Set for protocol errors. */
  offset?: number;
}

/** The two directions of one Felix connection and where its messages go. */
export interface FelixSessionOptions {
  input: Readable;
  output: Writable;
  logger: Logger;
  maxFrameBytes: number;
  /** Handles one decoded message; a throw ends the session as an error. */
  onMessage: (msg: felix.ToDataplane) => void;
}

/** How long a closing session waits for Felix to take the frames still queued for it. */
const FLUSH_ON_CLOSE_MS = 500;

/** Reads, decodes and hands on Felix's frames; writes replies with per-session sequence numbers. */
export class FelixSession {
  readonly done: Promise<FelixSessionEnd>;
  readonly startedAt = Date.now();
  framesReceived = 0;
  framesSent = 0;
  private resolveDone!: (end: FelixSessionEnd) => void;
  private ended: FelixSessionEnd | undefined;
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private nextSeq = 0n;

  constructor(private readonly opts: FelixSessionOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.reader = new FrameReader({ maxFrameBytes: opts.maxFrameBytes });
    this.writer = new FrameWriter(opts.output);
    const { input, output } = opts;
    input.on("data", (chunk: Buffer) => this.onData(chunk));
    input.on("end", () => this.onInputEnd());
    input.on("error", (err) => this.finish({ clean: false, reason: `reading from Felix failed: ${errorMessage(err)}` }));
    output.on("error", (err) => this.finish({ clean: false, reason: `writing to Felix failed: ${errorMessage(err)}` }));
    input.resume();
  }

  get isOpen(): boolean {
    return this.ended === undefined;
  }

  /** Sends one message to Felix (sequence numbers count up from 0 per session). */
  send(msg: felix.FromDataplane): void {
    if (this.ended) return;
    const seq = this.nextSeq++;
    this.framesSent++;
    this.writer.write(encodeFromDataplane({ ...msg, sequenceNumber: seq })).catch((err: unknown) => {
      this.finish({ clean: false, reason: `writing to Felix failed: ${errorMessage(err)}` });
    });
  }

  /** Ends the session from our side (e.g. replaced by a newer Felix connection, or shutdown). */
  close(reason: string, clean = true): void {
    this.finish({ clean, reason });
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    try {
      for (const frame of this.reader.push(chunk)) {
        const msg = decodeToDataplane(frame);
        this.framesReceived++;
        this.opts.onMessage(msg);
        if (this.ended) return;
      }
    } catch (err) {
      this.protocolError(err);
    }
  }

  private onInputEnd(): void {
    if (this.ended) return;
    try {
      this.reader.end();
    } catch (err) {
      this.protocolError(err);
      return;
    }
    this.finish({ clean: true, reason: "Felix closed its stream" });
  }

  private protocolError(err: unknown): void {
    if (err instanceof FrameError) {
      this.opts.logger.error("protocol error from Felix; closing the connection", { offset: err.offset, reason: err.reason });
      this.finish({ clean: false, reason: `protocol error: ${err.message}`, offset: err.offset });
      return;
    }
    this.opts.logger.error("failed to handle a message from Felix; closing the connection", { error: errorMessage(err), offset: this.reader.offset });
    this.finish({ clean: false, reason: `internal error: ${errorMessage(err)}` });
  }

  private finish(end: FelixSessionEnd): void {
    if (this.ended) return;
    this.ended = end;
    const { input, output } = this.opts;
    input.removeAllListeners("data");
    input.pause();
    // A felix.sock connection is input and output at once: it is closed after the flush below.
    if ((input as unknown) !== output) input.destroy();
    // Give Felix what is already queued (its last statuses), but never wait on a stuck reader.
    const giveUp = setTimeout(() => output.destroy(), FLUSH_ON_CLOSE_MS);
    this.writer
      .flushed()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(giveUp);
        output.end(() => output.destroy());
      });
    this.resolveDone(end);
  }
}
