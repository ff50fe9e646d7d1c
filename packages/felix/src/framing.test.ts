import { PassThrough, Readable, Writable } from "node:stream";
import { FrameError, FrameReader, encodeFrame, readFrames, type Frame } from "./framing";
import { FrameWriter } from "./frame-writer";
import { processStatusUpdate, workloadEndpointStatusUpdate } from "./status";

const payloads = [Buffer.from("a"), Buffer.alloc(0), Buffer.from("hello world"), Buffer.alloc(1000, 7), Buffer.from([0, 1, 2])];
const stream = Buffer.concat(payloads.map(encodeFrame));
const offsets = payloads.reduce<number[]>((acc, p, i) => [...acc, i === 0 ? 0 : acc[i - 1] + 8 + payloads[i - 1].length], []);

function splitEvery(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

function readAll(chunks: readonly Uint8Array[], maxFrameBytes?: number): Frame[] {
  const reader = new FrameReader({ maxFrameBytes });
  const frames = chunks.flatMap((c) => reader.push(c));
  reader.end();
  return frames;
}

function thrown(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FrameError) return err;
    throw err;
  }
  throw new Error("expected a FrameError");
}

describe("encodeFrame", () => {
  test("8-byte little-endian length, then the bytes", () => {
    expect(encodeFrame(Buffer.from([0x0a, 0x00])).toString("hex")).toBe("02000000000000000a00");
    expect(encodeFrame(new Uint8Array(0)).toString("hex")).toBe("0000000000000000");
    expect(encodeFrame(Buffer.alloc(0x1234)).subarray(0, 8).toString("hex")).toBe("3412000000000000");
  });
});

describe("FrameReader", () => {
  test("many frames in one chunk come out in order with their offsets", () => {
    const frames = readAll([stream]);
    expect(frames.map((f) => Buffer.from(f.bytes))).toEqual(payloads);
    expect(frames.map((f) => f.offset)).toEqual(offsets);
  });

  test.each([1, 2, 3, 7, 8, 9, 13, 500])("the same frames arrive intact in chunks of %i bytes", (size) => {
    const frames = readAll(splitEvery(stream, size));
    expect(frames.map((f) => Buffer.from(f.bytes))).toEqual(payloads);
    expect(frames.map((f) => f.offset)).toEqual(offsets);
  });

  test("empty chunks change nothing", () => {
    expect(readAll([Buffer.alloc(0), stream.subarray(0, 3), Buffer.alloc(0), stream.subarray(3)])).toHaveLength(payloads.length);
  });

  test("a declared length over the limit is refused before allocating, with the frame's offset", () => {
    const oversize = Buffer.alloc(8);
    oversize.writeBigUInt64LE(99999999999n);
    const err = thrown(() => readAll([stream, oversize]));
    expect(err.offset).toBe(stream.length);
    expect(err.message).toBe(`frame at offset ${stream.length} declares 99999999999 bytes, limit 67108864`);
  });

  test("the limit is configurable and applies to a header split across chunks", () => {
    const frame = encodeFrame(Buffer.alloc(101));
    expect(readAll([frame], 101)).toHaveLength(1);
    const err = thrown(() => readAll(splitEvery(frame, 3), 100));
    expect(err.message).toBe("frame at offset 0 declares 101 bytes, limit 100");
  });

  test("a length with the high 32 bits set is refused", () => {
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(1n << 32n);
    expect(thrown(() => readAll([header])).message).toBe("frame at offset 0 declares 4294967296 bytes, limit 67108864");
  });

  test("a stream that ends inside the length or the body is truncated", () => {
    expect(thrown(() => readAll([stream.subarray(0, 12)])).message).toBe(
      "frame at offset 9 is truncated: the stream ended after 3 of 8 length bytes",
    );
    const lastOffset = offsets[offsets.length - 1];
    expect(thrown(() => readAll([stream.subarray(0, stream.length - 1)])).message).toBe(
      `frame at offset ${lastOffset} is truncated: the stream ended after 2 of 3 bytes`,
    );
  });

  test("after a FrameError the reader keeps refusing", () => {
    const reader = new FrameReader({ maxFrameBytes: 1 });
    const first = thrown(() => reader.push(encodeFrame(Buffer.alloc(2))));
    expect(thrown(() => reader.push(encodeFrame(Buffer.alloc(1))))).toBe(first);
    expect(thrown(() => reader.end())).toBe(first);
  });

  test("a bad limit is refused", () => {
    expect(() => new FrameReader({ maxFrameBytes: -1 })).toThrow("maxFrameBytes must be a non-negative integer, got -1");
    expect(() => new FrameReader({ maxFrameBytes: 1.5 })).toThrow(RangeError);
  });

  test("a 16 MiB frame in 64 KiB chunks is assembled in one allocation of its size", () => {
    const big = Buffer.alloc(16 * 1024 * 1024, 0xab);
    const chunks = splitEvery(encodeFrame(big), 64 * 1024);
    const allocations = jest.spyOn(Buffer, "allocUnsafe");
    const concats = jest.spyOn(Buffer, "concat");
    const frames = readAll(chunks);
    expect(allocations.mock.calls).toEqual([[big.length]]);
    expect(concats).not.toHaveBeenCalled();
    allocations.mockRestore();
    concats.mockRestore();
    expect(frames).toHaveLength(1);
    expect(frames[0].bytes.length).toBe(big.length);
    expect(Buffer.from(frames[0].bytes).equals(big)).toBe(true);
  });
});

describe("readFrames", () => {
  test("iterates the frames of a Readable", async () => {
    const frames: Frame[] = [];
    for await (const frame of readFrames(Readable.from(splitEvery(stream, 5)))) frames.push(frame);
    expect(frames.map((f) => Buffer.from(f.bytes))).toEqual(payloads);
  });

  test("throws a FrameError when the stream ends inside a frame", async () => {
    const consume = async (): Promise<void> => {
      for await (const frame of readFrames(Readable.from([stream.subarray(0, 20)]))) void frame;
    };
    await expect(consume()).rejects.toThrow(FrameError);
  });
});

describe("FrameWriter", () => {
  test("waits for drain when the stream is full and keeps frames in order", async () => {
    const written: Buffer[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk);
        release = callback;
      },
    });
    const writer = new FrameWriter(slow);
    const first = writer.write(Buffer.alloc(32, 1)); // over the high-water mark: must wait for drain
    const second = writer.write(Buffer.from([2]));
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(firstDone).toBe(false);
    expect(written).toHaveLength(1); // the second frame is held back, not buffered
    release!();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    release!();
    await second;
    await writer.flushed();
    expect(Buffer.concat(written).equals(Buffer.concat([encodeFrame(Buffer.alloc(32, 1)), encodeFrame(Buffer.from([2]))]))).toBe(true);
  });

  test("FromDataplane messages are numbered from 0: the two worked examples of felix-protocol.md §1.3", async () => {
    const sink = new PassThrough();
    const writer = new FrameWriter(sink);
    void writer.writeFromDataplane(workloadEndpointStatusUpdate({ orchestratorId: "k8s", workloadId: "default/pod1", endpointId: "eth0" }, "up"));
    await writer.writeFromDataplane(processStatusUpdate("2026-01-01T00:00:00Z", 12.5));
    await writer.flushed();
    expect((sink.read() as Buffer).toString("hex")).toBe(
      "2300000000000000" + "3221" + "0a19" + "12036b3873" + "1a0c64656661756c742f706f6431" + "220465746830" + "1204" + "0a027570" +
        "2300000000000000" + "4001" + "1a1f" + "0a14" + "323032362d30312d30315430303a30303a30305a" + "11" + "0000000000002940",
    );
  });

  test("a closed stream rejects queued and later writes", async () => {
    const sink = new PassThrough({ highWaterMark: 1 });
    const writer = new FrameWriter(sink);
    const pending = writer.write(Buffer.alloc(10));
    sink.destroy();
    await expect(pending).rejects.toThrow("the stream is closed");
    await expect(writer.write(Buffer.from([1]))).rejects.toThrow("the stream is closed");
  });
});
