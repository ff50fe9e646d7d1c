/** IP protocol numbers the policy semantics care about. */
import type { Family } from "@ptables/api";

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;
export const PROTO_SCTP = 132;
export const PROTO_UDPLITE = 136;

/** Protocol names Felix uses (lower case), for IP_AND_PORT members and traces. */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: PROTO_ICMP,
  tcp: PROTO_TCP,
  udp: PROTO_UDP,
  icmpv6: PROTO_ICMPV6,
  sctp: PROTO_SCTP,
  udplite: PROTO_UDPLITE,
};

/** Protocols whose packets carry ports; a port match never matches any other protocol. */
export function isPortProtocol(proto: number): boolean {
  return proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP || proto === PROTO_UDPLITE;
}

/** The ICMP protocol of a family: icmp (1) for IPv4, icmpv6 (58) for IPv6. */
export function icmpProtocolFor(family: Family): number {
  return family === 4 ? PROTO_ICMP : PROTO_ICMPV6;
}

/** "tcp" for 6, else the number as text. */
export function protocolName(proto: number): string {
  for (const [name, n] of Object.entries(PROTOCOL_NUMBERS)) if (n === proto) return name;
  return String(proto);
}
