/**
 * The packet a verdict is computed for: the first packet of a flow, as policy sees it (the
 * datapath's conntrack lets the rest of the flow through without asking policy again).
 */
import { ValidationError, type Family } from "@ptables/api";
import { parseIp } from "./net/ip-address";
import { icmpProtocolFor, isPortProtocol } from "./net/protocols";

export interface Packet {
  family: Family;
  srcIp: string;
  dstIp: string;
  /** IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, ...). */
  proto: number;
  /** Required for tcp, udp, sctp and udplite; ignored otherwise. */
  srcPort?: number;
  dstPort?: number;
  /** Required for ICMP of the packet's family (icmp on IPv4, icmpv6 on IPv6); code defaults to 0. */
  icmpType?: number;
  icmpCode?: number;
}

/** A validated packet with numeric addresses, ready for matching. */
export interface ParsedPacket {
  family: Family;
  src: bigint;
  dst: bigint;
  proto: number;
  /** Whether the protocol carries ports; when false the ports are 0 and no port match can succeed. */
  hasPorts: boolean;
  srcPort: number;
  dstPort: number;
  /** Whether this is ICMP of the packet's family; when false no ICMP match can succeed. */
  isIcmp: boolean;
  icmpType: number;
  icmpCode: number;
}

function byteField(value: number | undefined, name: string, fallback?: number): number {
  const v = value ?? fallback;
  if (v === undefined || !Number.isInteger(v) || v < 0 || v > 255) throw new ValidationError("packet", `${name} ${String(value)} is not 0..255`);
  return v;
}

function portField(value: number | undefined, name: string): number {
  if (value === undefined || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ValidationError("packet", `${name} ${String(value)} is not 0..65535 (required for port-bearing protocols)`);
  }
  return value;
}

/** Validates a packet; throws ValidationError("packet", ...) naming the bad field. */
export function parsePacket(packet: Packet): ParsedPacket {
  if (packet.family !== 4 && packet.family !== 6) throw new ValidationError("packet", `family ${String(packet.family)} is not 4 or 6`);
  const family = packet.family;
  const address = (text: string, name: string): bigint => {
    const ip = typeof text === "string" ? parseIp(text) : undefined;
    if (!ip) throw new ValidationError("packet", `${name} "${String(text)}" is not an IP address`);
    if (ip.family !== family) throw new ValidationError("packet", `${name} ${text} is not an IPv${family} address`);
    return ip.value;
  };
  const src = address(packet.srcIp, "srcIp");
  const dst = address(packet.dstIp, "dstIp");
  const proto = byteField(packet.proto, "proto");
  const hasPorts = isPortProtocol(proto);
  const isIcmp = proto === icmpProtocolFor(family);
  return {
    family,
    src,
    dst,
    proto,
    hasPorts,
    srcPort: hasPorts ? portField(packet.srcPort, "srcPort") : 0,
    dstPort: hasPorts ? portField(packet.dstPort, "dstPort") : 0,
    isIcmp,
    icmpType: isIcmp ? byteField(packet.icmpType, "icmpType") : 0,
    icmpCode: isIcmp ? byteField(packet.icmpCode, "icmpCode", 0) : 0,
  };
}
