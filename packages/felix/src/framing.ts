/**
 * Felix's framing, both directions: an 8-byte little-endian uint64 length, then that many
 * bytes of protobuf. Felix allocates whatever length it reads, so a garbage length can crash
 * it; ptables refuses any declared length above a limit before allocating anything.
 */
import type { Readable } from "node:stream";
import { PtablesError } from "@ptables/api";

/** The default frame-size limit (64 MiB); PTABLES_MAX_FRAME_BYTES overrides it at the caller. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

const HEADER_BYTES = 8;

/** A protocol error at a frame: the stream cannot be trusted past this point. */
export class FrameError extends PtablesError {
  constructor(
    /** Byte offset of the frame's length prefix in the stream. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`frame at offset ${offset} ${reason}`);
  }
}

/** One frame's payload and where its length prefix started in the stream. */
export interface Frame {
  offset: number;
  bytes: Uint8Array;
}

export interface FrameReaderOptions {
  /** Largest payload accepted, in bytes (default 64 MiB). */
  maxFrameBytes?: number;
}

/**
 * Splits a byte stream into frames. Push chunks as they arrive; each push returns the frames
 * it completed. A frame that lies within one chunk is returned as a view of that chunk; one
 * that spans chunks is copied once into a buffer of its declared size, so cost stays linear
 * however the stream is cut. After a FrameError every further call throws it again.
 */
export class FrameReader {
  readonly maxFrameBytes: number;
  private streamOffset = 0;
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;
  private frameOffset = 0;
  private failure: FrameError | undefined;

  constructor(options: FrameReaderOptions = {}) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(`maxFrameBytes must be a non-negative integer, got ${String(max)}`);
    }
    this.maxFrameBytes = max;
  }

  /** Bytes consumed so far (the offset the next frame will start at, between frames). */
  get offset(): number {
    return this.streamOffset;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.failure) throw this.failure;
    const frames: Frame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.body === undefined) {
        if (this.headerFill === 0 && chunk.length - pos >= HEADER_BYTES) {
          // Fast path: whole header and maybe whole body inside this chunk.
          const length = this.declaredLength(chunk, pos, this.streamOffset + pos);
          const start = pos + HEADER_BYTES;
          if (chunk.length - start >= length) {
            frames.push({ offset: this.streamOffset + pos, bytes: chunk.subarray(start, start + length) });
            pos = start + length;
            continue;
          }
          this.startBody(this.streamOffset + pos, length);
          pos = start;
          continue;
        }
        const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - pos);
        if (this.headerFill === 0) this.frameOffset = this.streamOffset + pos;
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < HEADER_BYTES) break;
        this.headerFill = 0;
        this.startBody(this.frameOffset, this.declaredLength(this.header, 0, this.frameOffset));
        if (this.body!.length === 0) frames.push(this.finishBody());
        continue;
      }
      const take = Math.min(this.body.length - this.bodyFill, chunk.length - pos);
      this.body.set(chunk.subarray(pos, pos + take), this.bodyFill);
      this.bodyFill += take;
      pos += take;
      if (this.bodyFill === this.body.length) frames.push(this.finishBody());
    }
    this.streamOffset += chunk.length;
    return frames;
  }

  /** Call at end of stream: throws a FrameError if it ended inside a frame. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.headerFill > 0) {
      throw this.fail(this.frameOffset, `is truncated: the stream ended after ${this.headerFill} of ${HEADER_BYTES} length bytes`);
    }
    if (this.body !== undefined) {
      throw this.fail(this.frameOffset, `is truncated: the stream ended after ${this.bodyFill} of ${this.body.length} bytes`);
    }
  }

  private declaredLength(bytes: Uint8Array, at: number, frameOffset: number): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_BYTES);
    const low = view.getUint32(0, true);
    const high = view.getUint32(4, true);
    if (high !== 0 || low > this.maxFrameBytes) {
      const declared = (BigInt(high) << 32n) | BigInt(low);
      throw this.fail(frameOffset, `declares ${declared} bytes, limit ${this.maxFrameBytes}`);
    }
    return low;
  }

  private startBody(frameOffset: number, length: number): void {
    this.frameOffset = frameOffset;
    this.body = Buffer.allocUnsafe(length);
    this.bodyFill = 0;
  }

  private finishBody(): Frame {
    const frame = { offset: this.frameOffset, bytes: this.body! };
    this.body = undefined;
    return frame;
  }

  private fail(offset: number, reason: string): FrameError {
    this.failure = new FrameError(offset, reason);
    return this.failure;
  }
}

/**
 * The frames of a stream (fd 3 or a socket), in order. Ends when the stream ends; throws a
 * FrameError for an oversized declared length or a stream that stops inside a frame.
 */
export async function* readFrames(stream: Readable, options: FrameReaderOptions = {}): AsyncGenerator<Frame> {
  const reader = new FrameReader(options);
  for await (const chunk of stream) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array);
    yield* reader.push(bytes);
  }
  reader.end();
}

/** Prefixes a payload with its 8-byte little-endian length. */
export function encodeFrame(bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + bytes.length);
  frame.writeUInt32LE(bytes.length % 0x1_0000_0000, 0);
  frame.writeUInt32LE(Math.floor(bytes.length / 0x1_0000_0000), 4);
  frame.set(bytes, HEADER_BYTES);
  return frame;
}
