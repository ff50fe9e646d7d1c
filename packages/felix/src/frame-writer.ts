/**
 * Writes frames to fd 4 or a socket, one after another, waiting for 'drain' whenever the
 * stream's buffer is full. Felix reads fd 4 in its own goroutine, but a stuck reader must not
 * make ptables buffer without bound.
 */
import type { Writable } from "node:stream";
import { PtablesError, errorMessage } from "@ptables/api";
import { felix } from "@ptables/proto";
import { encodeFrame } from "./framing";

export class FrameWriter {
  private tail: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private nextSequence = 0n;

  constructor(private readonly stream: Writable) {
    stream.on("error", (err) => this.failed(err));
    stream.on("close", () => this.failed(new PtablesError("write frame: the stream is closed")));
  }

  /**
   * Queues one frame. Resolves once the stream accepted it (immediately, or after a drain),
   * rejects if the stream failed or closed first. Frames go out in call order.
   */
  write(payload: Uint8Array): Promise<void> {
    const frame = encodeFrame(payload);
    const next = this.tail.then(() => this.writeNow(frame));
    // A failed write must not block the rest of the chain from reporting the same failure.
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * Queues one FromDataplane message, numbered 0, 1, 2, ... in write order (Felix ignores the
   * number; it is there for log correlation, as Felix numbers its own messages).
   */
  writeFromDataplane(message: felix.FromDataplane): Promise<void> {
    const numbered = { ...message, sequenceNumber: this.nextSequence++ };
    return this.write(felix.FromDataplane.encode(numbered).finish());
  }

  /** Resolves when everything queued so far has been accepted by the stream. */
  flushed(): Promise<void> {
    return this.tail.then(() => {
      if (this.failure) throw this.failure;
    });
  }

  private writeNow(frame: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stream.destroyed || this.stream.writableEnded) {
      return Promise.reject(this.failed(new PtablesError("write frame: the stream is closed")));
    }
    if (this.stream.write(frame)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        this.stream.off("drain", onDrain);
        this.stream.off("error", onEnd);
        this.stream.off("close", onEnd);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onEnd = (): void => {
        cleanup();
        reject(this.failure ?? new PtablesError("write frame: the stream is closed"));
      };
      this.stream.on("drain", onDrain);
      this.stream.on("error", onEnd);
      this.stream.on("close", onEnd);
    });
  }

  private failed(err: unknown): Error {
    this.failure ??= err instanceof Error ? err : new PtablesError(`write frame: ${errorMessage(err)}`);
    return this.failure;
  }
}
