/**
 * Which idle timeout applies to a flow. The datapath tracks TCP states (syn-sent, syn-recv,
 * established, fin-wait, closed) and one state each for UDP, ICMP and anything else.
 */
import type { Flow } from "@ptables/api";
import type { FlowTimeouts } from "@ptables/runtime";

/** A timeout class: one of the keys of FlowTimeouts. */
export type FlowClass = keyof FlowTimeouts;

/** IP protocol numbers. */
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

/** The timeout class of a flow: established TCP lives long, opening/closing TCP briefly. */
export function flowClass(flow: Pick<Flow, "proto" | "state">): FlowClass {
  switch (flow.proto) {
    case PROTO_TCP:
      return flow.state === "established" ? "tcpEstablished" : "tcpTransient";
    case PROTO_UDP:
      return "udp";
    case PROTO_ICMP:
    case PROTO_ICMPV6:
      return "icmp";
    default:
      return "other";
  }
}

const PROTO_NAMES: Record<number, string> = { [PROTO_ICMP]: "icmp", [PROTO_TCP]: "tcp", [PROTO_UDP]: "udp", [PROTO_ICMPV6]: "icmpv6", 132: "sctp" };

/** "tcp", "udp", ... or the number as text. */
export function protoName(proto: number): string {
  return PROTO_NAMES[proto] ?? String(proto);
}

/** A flow's identity across scans (one direction as the datapath keys it). */
export function flowKey(flow: Flow): string {
  return `${flow.ifname}|${flow.proto}|${flow.srcIp}|${flow.srcPort}|${flow.dstIp}|${flow.dstPort}`;
}
