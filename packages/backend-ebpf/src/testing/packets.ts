/**
 * Hand-built Ethernet frames for BPF_PROG_TEST_RUN: IPv4/IPv6 with TCP, UDP, ICMP/ICMPv6
 * (including errors that quote another packet), IPv6 extension headers, fragments, and ARP.
 * Checksums are left zero: the datapath never checks them.
 */
import { parseAnyIp } from "../codec/ip-bytes";
import { parseMac } from "../codec/config-codec";

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

export interface L4Spec {
  proto: "tcp" | "udp" | "icmp" | number;
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  /** ICMP echo identifier. */
  icmpId?: number;
  /** Bytes after the L4 header (or, for ICMP errors, the quoted packet). */
  payload?: Buffer;
}

export interface IpSpec extends L4Spec {
  src: string;
  dst: string;
  /** IPv4 fragment: offset in 8-byte units and more-fragments flag; IPv6 adds a fragment header. */
  fragment?: { offset: number; more: boolean; id: number };
  /** IPv6 only: extension headers (hop-by-hop 0, routing 43, destination options 60) before L4. */
  extensionHeaders?: number[];
}

function ipBytes(text: string): { family: 4 | 6; bytes: Buffer } {
  const ip = parseAnyIp(text);
  if (!ip) throw new Error(`packet: "${text}" is not an IP address`);
  return ip;
}

function protoNumber(spec: L4Spec, family: 4 | 6): number {
  if (spec.proto === "tcp") return 6;
  if (spec.proto === "udp") return 17;
  if (spec.proto === "icmp") return family === 4 ? 1 : 58;
  return spec.proto;
}

function l4Header(spec: L4Spec, proto: number): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  if (proto === 6) {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(spec.srcPort ?? 0, 0);
    h.writeUInt16BE(spec.dstPort ?? 0, 2);
    h.writeUInt8(5 << 4, 12);
    h.writeUInt8(spec.tcpFlags ?? TCP_SYN, 13);
    h.writeUInt16BE(65535, 14);
    return Buffer.concat([h, payload]);
  }
  if (proto === 17 || proto === 132 || proto === 136) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(spec.srcPort ?? 0, 0);
    h.writeUInt16BE(spec.dstPort ?? 0, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    return Buffer.concat([h, payload]);
  }
  if (proto === 1 || proto === 58) {
    const h = Buffer.alloc(8);
    h.writeUInt8(spec.icmpType ?? 0, 0);
    h.writeUInt8(spec.icmpCode ?? 0, 1);
    h.writeUInt16BE(spec.icmpId ?? 0, 4);
    return Buffer.concat([h, payload]);
  }
  return payload;
}

/** The IP packet (no Ethernet header). */
export function ipPacket(spec: IpSpec): Buffer {
  const src = ipBytes(spec.src);
  const dst = ipBytes(spec.dst);
  if (src.family !== dst.family) throw new Error("packet: src and dst families differ");
  const proto = protoNumber(spec, src.family);
  const later = spec.fragment !== undefined && spec.fragment.offset > 0;
  const l4 = later ? (spec.payload ?? Buffer.alloc(16)) : l4Header(spec, proto);
  if (src.family === 4) {
    const h = Buffer.alloc(20);
    h.writeUInt8(0x45, 0);
    h.writeUInt16BE(20 + l4.length, 2);
    h.writeUInt16BE(spec.fragment?.id ?? 0, 4);
    if (spec.fragment) h.writeUInt16BE((spec.fragment.more ? 0x2000 : 0) | spec.fragment.offset, 6);
    h.writeUInt8(64, 8);
    h.writeUInt8(proto, 9);
    src.bytes.copy(h, 12, 0, 4);
    dst.bytes.copy(h, 16, 0, 4);
    return Buffer.concat([h, l4]);
  }
  const chain = [...(spec.extensionHeaders ?? []), ...(spec.fragment ? [44] : [])];
  const ext: Buffer[] = [];
  chain.forEach((type, i) => {
    const next = chain[i + 1] ?? proto;
    const e = Buffer.alloc(8);
    e.writeUInt8(next, 0);
    if (type === 44) {
      e.writeUInt16BE((spec.fragment!.offset << 3) | (spec.fragment!.more ? 1 : 0), 2);
      e.writeUInt32BE(spec.fragment!.id, 4);
    } // other types: length 0 (8 bytes), PadN-free zero options are fine for the parser
    ext.push(e);
  });
  const body = Buffer.concat([...ext, l4]);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(6 << 28, 0);
  h.writeUInt16BE(body.length, 4);
  h.writeUInt8(chain[0] ?? proto, 6);
  h.writeUInt8(64, 7);
  src.bytes.copy(h, 8);
  dst.bytes.copy(h, 24);
  return Buffer.concat([h, body]);
}

/** An Ethernet frame around `ipPacket(spec)`. */
export function ethPacket(spec: IpSpec, macs: { src?: string; dst?: string } = {}): Buffer {
  const family = ipBytes(spec.src).family;
  return Buffer.concat([ethHeader(family === 4 ? 0x0800 : 0x86dd, macs), ipPacket(spec)]);
}

export function ethHeader(ethertype: number, macs: { src?: string; dst?: string } = {}): Buffer {
  const h = Buffer.alloc(14);
  parseMac("packet", macs.dst ?? "ee:ee:ee:ee:ee:ee").copy(h, 0);
  parseMac("packet", macs.src ?? "02:00:00:00:00:01").copy(h, 6);
  h.writeUInt16BE(ethertype, 12);
  return h;
}

export interface ArpSpec {
  op: 1 | 2;
  senderMac: string;
  senderIp: string;
  targetMac?: string;
  targetIp: string;
}

/** An ARP frame (request: broadcast destination). */
export function arpPacket(spec: ArpSpec): Buffer {
  const arp = Buffer.alloc(28);
  arp.writeUInt16BE(1, 0);
  arp.writeUInt16BE(0x0800, 2);
  arp.writeUInt8(6, 4);
  arp.writeUInt8(4, 5);
  arp.writeUInt16BE(spec.op, 6);
  parseMac("arp", spec.senderMac).copy(arp, 8);
  ipBytes(spec.senderIp).bytes.copy(arp, 14, 0, 4);
  parseMac("arp", spec.targetMac ?? "00:00:00:00:00:00").copy(arp, 18);
  ipBytes(spec.targetIp).bytes.copy(arp, 24, 0, 4);
  const dst = spec.op === 1 ? "ff:ff:ff:ff:ff:ff" : (spec.targetMac ?? "ff:ff:ff:ff:ff:ff");
  return Buffer.concat([ethHeader(0x0806, { src: spec.senderMac, dst }), arp]);
}
