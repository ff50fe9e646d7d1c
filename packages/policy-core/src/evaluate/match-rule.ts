/**
 * Whether one Calico rule matches one packet: every present criterion must hold
 * (felix-protocol.md §3.4). Written straight from the semantics, independently of the
 * compiler, so that the two can be checked against each other.
 */
import type { PortRange, Rule } from "@ptables/api";
import { cidrContains, type Cidr } from "../net/ip-address";
import type { ParsedPacket } from "../packet";
import { parseRuleNets, ruleFamilies } from "../rules/rule-family";
import type { IpSetIndex } from "./ip-set-index";

function inRanges(ranges: PortRange[], port: number): boolean {
  return ranges.some((r) => r.first <= port && port <= r.last);
}

function inNets(nets: Cidr[], pkt: ParsedPacket, addr: bigint): boolean {
  return nets.some((c) => cidrContains(c, pkt.family, addr));
}

/** The rule (validated, with its sets resolvable) matches the packet. */
export function matchRule(rule: Rule, pkt: ParsedPacket, sets: IpSetIndex): boolean {
  const nets = parseRuleNets(rule);
  if (!ruleFamilies(rule, nets).includes(pkt.family)) return false;

  if (rule.protocol !== undefined && pkt.proto !== rule.protocol) return false;
  if (rule.notProtocol !== undefined && pkt.proto === rule.notProtocol) return false;

  // Within the packet's family only that family's CIDRs count; ruleFamilies guarantees that a
  // non-empty list still has at least one of them.
  if (nets.srcNets.length > 0 && !inNets(nets.srcNets, pkt, pkt.src)) return false;
  if (inNets(nets.notSrcNets, pkt, pkt.src)) return false;
  if (nets.dstNets.length > 0 && !inNets(nets.dstNets, pkt, pkt.dst)) return false;
  if (inNets(nets.notDstNets, pkt, pkt.dst)) return false;

  const f = pkt.family;
  if (!rule.srcIpSetIds.every((id) => sets.containsAddress(id, f, pkt.src))) return false;
  if (rule.notSrcIpSetIds.some((id) => sets.containsAddress(id, f, pkt.src))) return false;
  if (!rule.dstIpSetIds.every((id) => sets.containsAddress(id, f, pkt.dst))) return false;
  if (rule.notDstIpSetIds.some((id) => sets.containsAddress(id, f, pkt.dst))) return false;

  const portConstrained =
    rule.srcPorts.length + rule.notSrcPorts.length + rule.dstPorts.length + rule.notDstPorts.length +
      rule.srcNamedPortIpSetIds.length + rule.notSrcNamedPortIpSetIds.length +
      rule.dstNamedPortIpSetIds.length + rule.notDstNamedPortIpSetIds.length + rule.dstIpPortSetIds.length > 0;
  // Any port criterion, positive or negated, needs a protocol that has ports.
  if (portConstrained && !pkt.hasPorts) return false;
  const side = (ranges: PortRange[], named: string[], notRanges: PortRange[], notNamed: string[], addr: bigint, port: number): boolean => {
    const namedHit = (id: string): boolean => sets.containsIpPort(id, f, pkt.proto, port, addr);
    // Numeric ranges and named ports of one side are OR-ed; the negations must all miss.
    if ((ranges.length > 0 || named.length > 0) && !(inRanges(ranges, port) || named.some(namedHit))) return false;
    return !inRanges(notRanges, port) && !notNamed.some(namedHit);
  };
  if (!side(rule.srcPorts, rule.srcNamedPortIpSetIds, rule.notSrcPorts, rule.notSrcNamedPortIpSetIds, pkt.src, pkt.srcPort)) return false;
  if (!side(rule.dstPorts, rule.dstNamedPortIpSetIds, rule.notDstPorts, rule.notDstNamedPortIpSetIds, pkt.dst, pkt.dstPort)) return false;
  if (!rule.dstIpPortSetIds.every((id) => sets.containsIpPort(id, f, pkt.proto, pkt.dstPort, pkt.dst))) return false;

  // An ICMP criterion, positive or negated, only ever matches ICMP of the packet's family.
  if ((rule.icmp || rule.notIcmp) && !pkt.isIcmp) return false;
  const icmpHit = (m: { type: number; hasCode: boolean; code: number }): boolean =>
    pkt.icmpType === m.type && (!m.hasCode || pkt.icmpCode === m.code);
  if (rule.icmp && !icmpHit(rule.icmp)) return false;
  if (rule.notIcmp && icmpHit(rule.notIcmp)) return false;
  return true;
}
