/**
 * The packet syntax of `ptablesctl trace`, as an operator would write a packet down:
 *
 *   tcp 10.65.0.2:1234 -> 10.65.0.3:8080
 *   udp [fd00::2]:53 -> [fd00::3]:53
 *   icmp 10.65.0.2 -> 10.65.0.3 type 8 code 0
 *   47 10.65.0.2 -> 10.65.0.3            (any other protocol, by number)
 *
 * Every mistake is a UsageError naming "packet" and the piece at fault.
 */
import * as net from "node:net";
import { UsageError } from "../command";

/** A parsed packet: the fields of a TraceRequest, plus its family. */
export interface TracePacket {
  family: 4 | 6;
  protocol: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  icmpType: number;
  icmpCode: number;
}

const NAMED: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, udplite: 136, icmp: 1, icmpv6: 58, icmp6: 58, "ipv6-icmp": 58 };
/** Protocols whose packets carry ports. */
const WITH_PORTS = new Set([6, 17, 132, 136]);
const ICMP = new Set([1, 58]);

export const PACKET_SYNTAX = "'<tcp|udp|sctp> <ip>:<port> -> <ip>:<port>', 'icmp <ip> -> <ip> [type <n> [code <n>]]' or '<protocol number> <ip> -> <ip>'; IPv6 addresses with a port in brackets: [fd00::1]:53";

function fail(reason: string): never {
  throw new UsageError("packet", reason);
}

function protocolOf(token: string): number {
  const named = NAMED[token.toLowerCase()];
  if (named !== undefined) return named;
  if (/^[0-9]{1,3}$/.test(token) && Number(token) <= 255) return Number(token);
  return fail(`'${token}' is not a protocol (tcp, udp, sctp, icmp, icmpv6 or a number 0..255)`);
}

function ipOf(text: string): { ip: string; family: 4 | 6 } {
  const family = net.isIP(text);
  if (family === 0) fail(`'${text}' is not an IP address`);
  return { ip: text, family: family as 4 | 6 };
}

function numberIn(text: string | undefined, what: string, max: number): number {
  if (text === undefined || !/^[0-9]+$/.test(text) || Number(text) > max) fail(`${what} '${text ?? ""}' is not a number 0..${max}`);
  return Number(text);
}

/** "10.0.0.1:80", "[fd00::1]:80" (port protocols) or "10.0.0.1", "fd00::1", "[fd00::1]" (others). */
function addressOf(text: string, withPort: boolean, protoName: string): { ip: string; family: 4 | 6; port: number } {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
    if (net.isIPv6(host) === false) fail(`'${host}' is not an IPv6 address`);
  } else if ((text.match(/:/g) ?? []).length > 1) {
    // A bare IPv6 address: a port could not be told from its last group.
    host = text;
    if (withPort) fail(`'${text}': write an IPv6 address with its port as [address]:port, e.g. [fd00::1]:53`);
  } else {
    const colon = text.lastIndexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    port = colon < 0 ? undefined : text.slice(colon + 1);
  }
  const { ip, family } = ipOf(host);
  if (withPort) {
    if (port === undefined) fail(`'${text}' needs a port for ${protoName} (address:port)`);
    return { ip, family, port: numberIn(port, "port", 65535) };
  }
  if (port !== undefined) fail(`'${text}': ${protoName} has no ports`);
  return { ip, family, port: 0 };
}

/** Parses a packet; the text may come as one argument or as several (they are joined with spaces). */
export function parsePacket(text: string): TracePacket {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  if (tokens.length === 0) fail(`no packet given (expected ${PACKET_SYNTAX})`);
  if (tokens.length < 4 || tokens[2] !== "->") fail(`'${tokens.join(" ")}' is not a packet (expected ${PACKET_SYNTAX})`);
  const [protoToken, srcText, , dstText, ...rest] = tokens as [string, string, string, string, ...string[]];
  let protocol = protocolOf(protoToken);
  const withPort = WITH_PORTS.has(protocol);
  const src = addressOf(srcText, withPort, protoToken.toLowerCase());
  const dst = addressOf(dstText, withPort, protoToken.toLowerCase());
  if (src.family !== dst.family) fail(`the source is IPv${src.family} but the destination is IPv${dst.family}`);
  // "icmp" between IPv6 addresses can only mean ICMPv6.
  if (protocol === 1 && src.family === 6) protocol = 58;
  if (protocol === 58 && src.family === 4) fail("icmpv6 needs IPv6 addresses (use icmp for IPv4)");
  let icmpType = 0;
  let icmpCode = 0;
  if (ICMP.has(protocol)) {
    // Echo request unless told: what ping sends.
    icmpType = protocol === 1 ? 8 : 128;
    for (let i = 0; i < rest.length; i += 2) {
      const word = rest[i]!.toLowerCase();
      if (word === "type") icmpType = numberIn(rest[i + 1], "ICMP type", 255);
      else if (word === "code") icmpCode = numberIn(rest[i + 1], "ICMP code", 255);
      else fail(`unexpected '${rest[i]}' (after the addresses an ICMP packet takes 'type <n>' and 'code <n>')`);
    }
  } else if (rest.length > 0) {
    fail(`unexpected '${rest.join(" ")}' after the destination`);
  }
  return { family: src.family, protocol, srcIp: src.ip, dstIp: dst.ip, srcPort: src.port, dstPort: dst.port, icmpType, icmpCode };
}

const NAMES: Record<number, string> = { 6: "tcp", 17: "udp", 132: "sctp", 136: "udplite", 1: "icmp", 58: "icmpv6" };

/** The packet written back in the same syntax (canonical), for output. */
export function formatPacket(p: TracePacket): string {
  const name = NAMES[p.protocol] ?? String(p.protocol);
  const addr = (ip: string, port: number) => (WITH_PORTS.has(p.protocol) ? (p.family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`) : ip);
  const icmp = ICMP.has(p.protocol) ? ` type ${p.icmpType} code ${p.icmpCode}` : "";
  return `${name} ${addr(p.srcIp, p.srcPort)} -> ${addr(p.dstIp, p.dstPort)}${icmp}`;
}
