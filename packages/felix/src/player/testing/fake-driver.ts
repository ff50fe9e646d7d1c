/**
 * A stand-in dataplane driver for tests: a plain Node script (no ptables code, protobuf done by
 * hand) that reads ToDataplane frames on fd 3 and answers on fd 4 like a driver that programs
 * everything at once: WorkloadEndpointStatusUpdate "up" for each WorkloadEndpointUpdate (or
 * "down" when the endpoint's state is not "active"), WorkloadEndpointStatusRemove for each
 * remove, and a ProcessStatusUpdate after InSync. Because it shares no code with the player,
 * it checks the fd 3/4 wiring and the framing independently.
 *
 * It logs one stderr line per frame: "recv <seq> <payload field number>".
 */
import { chmodSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export interface FakeDriverOptions {
  /** Ignore SIGTERM, so that only SIGKILL stops it. */
  ignoreSigterm?: boolean;
  /** Exit with this code as soon as InSync arrives. */
  exitOnInSync?: number;
  /** Answer InSync with a frame that does not decode as FromDataplane. */
  sendGarbageOnInSync?: boolean;
  /** Answer InSync with the first bytes of a frame, then exit. */
  sendTruncatedOnInSync?: boolean;
}

const SCRIPT = String.raw`
const fs = require("fs");
const net = require("net");
const options = JSON.parse(process.env.FAKE_DRIVER_OPTIONS || "{}");
if (process.argv.length > 2) { console.error("fake driver: unexpected arguments " + process.argv.slice(2).join(" ")); process.exit(3); }
if (options.ignoreSigterm) process.on("SIGTERM", () => console.error("fake driver: ignoring SIGTERM"));

function varint(buf, pos) {
  let value = 0n, shift = 0n;
  for (;;) { const b = buf[pos++]; value |= BigInt(b & 0x7f) << shift; if (!(b & 0x80)) return [value, pos]; shift += 7n; }
}
function fields(buf) {
  const out = []; let pos = 0;
  while (pos < buf.length) {
    let tag; [tag, pos] = varint(buf, pos);
    const field = Number(tag >> 3n), type = Number(tag & 7n);
    if (type === 0) { let v; [v, pos] = varint(buf, pos); out.push({ field, value: v }); }
    else if (type === 2) { let len; [len, pos] = varint(buf, pos); out.push({ field, bytes: buf.subarray(pos, pos + Number(len)) }); pos += Number(len); }
    else if (type === 1) { out.push({ field, bytes: buf.subarray(pos, pos + 8) }); pos += 8; }
    else if (type === 5) { out.push({ field, bytes: buf.subarray(pos, pos + 4) }); pos += 4; }
    else throw new Error("unsupported wire type " + type);
  }
  return out;
}
function encVarint(n) { const out = []; let v = BigInt(n); do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v); return Buffer.from(out); }
function lenField(field, bytes) { return Buffer.concat([encVarint((field << 3) | 2), encVarint(bytes.length), bytes]); }
function send(payload) {
  const frame = Buffer.alloc(8 + payload.length);
  frame.writeBigUInt64LE(BigInt(payload.length), 0);
  payload.copy(frame, 8);
  fs.writeSync(4, frame);
}

let buffered = Buffer.alloc(0);
const started = Date.now();
const input = new net.Socket({ fd: 3, readable: true, writable: false });
input.on("data", (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  while (buffered.length >= 8) {
    const length = Number(buffered.readBigUInt64LE(0));
    if (buffered.length < 8 + length) break;
    handle(buffered.subarray(8, 8 + length));
    buffered = buffered.subarray(8 + length);
  }
});
input.on("end", () => { console.error("fake driver: EOF on fd 3"); process.exit(0); });

function handle(message) {
  let seq = 0n, payload;
  for (const f of fields(message)) { if (f.field === 15) seq = f.value; else payload = f; }
  console.error("recv " + seq + " " + (payload ? payload.field : "none"));
  if (!payload) return;
  if (payload.field === 11) { // workload_endpoint_update
    const update = fields(payload.bytes);
    const id = update.find((f) => f.field === 1).bytes;
    const endpoint = fields((update.find((f) => f.field === 5) || { bytes: Buffer.alloc(0) }).bytes);
    const state = endpoint.find((f) => f.field === 1);
    const status = state && state.bytes.toString() === "active" ? "up" : "down";
    const statusMsg = lenField(1, Buffer.from(status));
    send(lenField(6, Buffer.concat([lenField(1, id), lenField(2, statusMsg)])));
  } else if (payload.field === 12) { // workload_endpoint_remove
    const id = fields(payload.bytes).find((f) => f.field === 1).bytes;
    send(lenField(7, lenField(1, id)));
  } else if (payload.field === 1) { // in_sync
    if (options.exitOnInSync !== undefined) process.exit(options.exitOnInSync);
    if (options.sendGarbageOnInSync) { send(Buffer.from([0xff, 0xff, 0xff])); return; }
    if (options.sendTruncatedOnInSync) { fs.writeSync(4, Buffer.from([10, 0, 0, 0, 0, 0, 0, 0, 0x40, 1])); process.exit(0); }
    const uptime = Buffer.alloc(8); uptime.writeDoubleLE((Date.now() - started) / 1000);
    const status = Buffer.concat([lenField(1, Buffer.from(new Date().toISOString().replace(/\.\d+Z$/, "Z"))), Buffer.from([0x11]), uptime]);
    send(lenField(3, status));
  }
}
`;

/** Writes the fake driver as an executable script in `dir` and returns its path. */
export function writeFakeDriver(dir: string, name = "fake-driver"): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!${process.execPath}\n${SCRIPT}`);
  chmodSync(file, 0o755);
  return file;
}

/** Environment that selects fake driver behaviour. */
export function fakeDriverEnv(options: FakeDriverOptions = {}): NodeJS.ProcessEnv {
  return { ...process.env, FAKE_DRIVER_OPTIONS: JSON.stringify(options) };
}
