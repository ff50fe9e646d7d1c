/** pt_ct entries (struct pt_ct_key -> struct pt_ct_value) <-> Flow. */
import type { Family, Flow } from "@ptables/api";
import { ValidationError } from "@ptables/api";
import { checkFamily, checkInt } from "./field-checks";
import { formatIpBytes, parseIpBytes } from "./ip-bytes";
import { CT_KEY, CT_VALUE } from "./layouts";

const K = CT_KEY.fields;
const V = CT_VALUE.fields;

/** enum pt_ct_state, by name as Flow.state shows it. */
export const CT_STATES = ["syn-sent", "syn-recv", "established", "fin-wait", "closed", "udp", "icmp", "other"] as const;
export type CtStateName = (typeof CT_STATES)[number];

export function ctStateName(state: number): string {
  return CT_STATES[state - 1] ?? `unknown-${state}`;
}

/** The flow identity of a conntrack key (no state or counters yet). */
export interface CtKey {
  ifindex: number;
  family: Family;
  proto: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
}

export function decodeCtKey(buf: Buffer, offset = 0): CtKey {
  const family: Family = buf.readUInt8(offset + K.family) === 6 ? 6 : 4;
  return {
    ifindex: buf.readUInt32LE(offset + K.ifindex),
    family,
    proto: buf.readUInt8(offset + K.proto),
    srcIp: formatIpBytes(buf.subarray(offset + K.src, offset + K.src + 16), family),
    dstIp: formatIpBytes(buf.subarray(offset + K.dst, offset + K.dst + 16), family),
    srcPort: buf.readUInt16BE(offset + K.sport_be),
    dstPort: buf.readUInt16BE(offset + K.dport_be),
  };
}

export function encodeCtKey(key: CtKey, out: Buffer, offset = 0): void {
  const where = `flow ${key.srcIp}:${key.srcPort} -> ${key.dstIp}:${key.dstPort}`;
  const family = checkFamily(where, key.family);
  const src = parseIpBytes(key.srcIp, family);
  const dst = parseIpBytes(key.dstIp, family);
  if (!src || !dst) throw new ValidationError(where, `addresses are not both IPv${family}`);
  out.fill(0, offset, offset + CT_KEY.size);
  out.writeUInt32LE(checkInt(where, "ifindex", key.ifindex, 1, 0xffffffff), offset + K.ifindex);
  out.writeUInt8(family, offset + K.family);
  out.writeUInt8(checkInt(where, "proto", key.proto, 0, 255), offset + K.proto);
  src.copy(out, offset + K.src);
  dst.copy(out, offset + K.dst);
  out.writeUInt16BE(checkInt(where, "srcPort", key.srcPort, 0, 65535), offset + K.sport_be);
  out.writeUInt16BE(checkInt(where, "dstPort", key.dstPort, 0, 65535), offset + K.dport_be);
}

export interface CtValue {
  createdNs: bigint;
  lastSeenNs: bigint;
  packetsOrig: bigint;
  bytesOrig: bigint;
  packetsReply: bigint;
  bytesReply: bigint;
  state: number;
  flags: number;
  /** enum pt_hook: 1 = created by traffic from the endpoint, 2 = to it. */
  origin: number;
}

export function decodeCtValue(buf: Buffer, offset = 0): CtValue {
  return {
    createdNs: buf.readBigUInt64LE(offset + V.created_ns),
    lastSeenNs: buf.readBigUInt64LE(offset + V.last_seen_ns),
    packetsOrig: buf.readBigUInt64LE(offset + V.packets_orig),
    bytesOrig: buf.readBigUInt64LE(offset + V.bytes_orig),
    packetsReply: buf.readBigUInt64LE(offset + V.packets_reply),
    bytesReply: buf.readBigUInt64LE(offset + V.bytes_reply),
    state: buf.readUInt8(offset + V.state),
    flags: buf.readUInt8(offset + V.flags),
    origin: buf.readUInt8(offset + V.origin),
  };
}

/** A Flow for the API: both directions' packets and bytes added together. */
export function toFlow(key: CtKey, value: CtValue, ifname: string): Flow {
  return {
    ifname,
    family: key.family,
    proto: key.proto,
    srcIp: key.srcIp,
    dstIp: key.dstIp,
    srcPort: key.srcPort,
    dstPort: key.dstPort,
    state: ctStateName(value.state),
    createdNs: value.createdNs,
    lastSeenNs: value.lastSeenNs,
    packets: value.packetsOrig + value.packetsReply,
    bytes: value.bytesOrig + value.bytesReply,
  };
}
