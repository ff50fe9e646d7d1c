/**
 * Packet builders in the style of Felix's pol_prog_test: tcp("10.0.0.1:31245", "10.0.0.2:80"),
 * tcp("[ff02::1]:31245", "[ff02::2]:80"), icmp("10.0.0.1", "10.0.0.2", 8, 0), raw(253, a, b).
 */
import { parseIp } from "../net/ip-address";
import type { Packet } from "../packet";

function endpoint(text: string): { ip: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not "ip:port" or "[ip6]:port"`);
  return { ip: m[1]!, port: Number(m[2]) };
}

function familyOf(ip: string): 4 | 6 {
  const parsed = parseIp(ip);
  if (!parsed) throw new Error(`"${ip}" is not an IP address`);
  return parsed.family;
}

function withPorts(proto: number, src: string, dst: string): Packet {
  const s = endpoint(src);
  const d = endpoint(dst);
  return { family: familyOf(s.ip), srcIp: s.ip, dstIp: d.ip, proto, srcPort: s.port, dstPort: d.port };
}

export const tcp = (src: string, dst: string): Packet => withPorts(6, src, dst);
export const udp = (src: string, dst: string): Packet => withPorts(17, src, dst);
export const sctp = (src: string, dst: string): Packet => withPorts(132, src, dst);
export const udplite = (src: string, dst: string): Packet => withPorts(136, src, dst);

/** ICMP of the addresses' family (icmpv6 for IPv6). */
export function icmp(src: string, dst: string, type = 8, code = 0): Packet {
  const family = familyOf(src);
  return { family, srcIp: src, dstIp: dst, proto: family === 4 ? 1 : 58, icmpType: type, icmpCode: code };
}

/** A packet of a protocol without ports (e.g. 253, or icmp on the wrong family). */
export function raw(proto: number, src: string, dst: string): Packet {
  return { family: familyOf(src), srcIp: src, dstIp: dst, proto, icmpType: 0, icmpCode: 0 };
}
