/**
 * One Calico rule -> the match part of one CompiledRule (the caller sets action, reason, jump
 * and counter). How the datapath reads the fields is spelled out in interpret/run-program.ts.
 *
 * - Families: the rule's ipVersion is computed from ip_version, an icmp/icmpv6 protocol and the
 *   CIDR lists (see rules/rule-family.ts); a rule that can match no family is omitted.
 * - CIDR lists become synthetic NET sets holding only the entries of the rule's families.
 * - Ports: each side's ranges become one port set; named ports stay IP_AND_PORT set refs; the
 *   datapath ORs a side's port set with its named-port sets. A rule with ports but no protocol
 *   needs no extra field: a port constraint, positive or negated, simply fails for a packet
 *   whose protocol has no ports (the datapath knows tcp/udp/sctp/udplite carry them).
 * - proto/notProto and icmp type/code are stored + 1 so that 0 means "no constraint".
 */
import { MAX_SET_REFS, NotSupportedError, type CompiledRule, type IcmpMatch, type Rule } from "@ptables/api";
import { formatCidr, type Cidr } from "../net/ip-address";
import { netsOfFamilies, parseRuleNets, ruleFamilies } from "../rules/rule-family";
import type { ProgramBuilder } from "./program-builder";

/** The match fields of a CompiledRule. */
export type CompiledMatch = Omit<CompiledRule, "action" | "reason" | "jump" | "counterId">;

/** Compiles the matches of a validated rule whose sets resolve; undefined if it matches no family. */
export function compileMatch(rule: Rule, builder: ProgramBuilder, where: string): CompiledMatch | undefined {
  const nets = parseRuleNets(rule);
  const families = ruleFamilies(rule, nets);
  if (families.length === 0) return undefined;

  const netSet = (list: Cidr[]): number => {
    const kept = netsOfFamilies(list, families);
    return kept.length === 0 ? 0 : builder.netSet(kept.map(formatCidr), where);
  };
  const setRefs = (ids: string[], field: string): number[] => {
    const numeric = [...new Set(ids.map((id) => builder.ipSet(id, where)))].sort((a, b) => a - b);
    if (numeric.length > MAX_SET_REFS) {
      throw new NotSupportedError("set references", `${where}: ${field} names ${numeric.length} ip sets; the datapath takes at most ${MAX_SET_REFS}`);
    }
    return numeric;
  };
  const ports = (ranges: Rule["srcPorts"]): number => (ranges.length === 0 ? 0 : builder.portSet(ranges, where));
  const icmpType = (m: IcmpMatch | undefined): number => (m ? m.type + 1 : 0);
  const icmpCode = (m: IcmpMatch | undefined): number => (m?.hasCode ? m.code + 1 : 0);

  return {
    ipVersion: families.length === 2 ? 0 : families[0]!,
    proto: rule.protocol === undefined ? 0 : rule.protocol + 1,
    notProto: rule.notProtocol === undefined ? 0 : rule.notProtocol + 1,
    srcNet: netSet(nets.srcNets),
    notSrcNet: netSet(nets.notSrcNets),
    dstNet: netSet(nets.dstNets),
    notDstNet: netSet(nets.notDstNets),
    srcSets: setRefs(rule.srcIpSetIds, "src_ip_set_ids"),
    notSrcSets: setRefs(rule.notSrcIpSetIds, "not_src_ip_set_ids"),
    dstSets: setRefs(rule.dstIpSetIds, "dst_ip_set_ids"),
    notDstSets: setRefs(rule.notDstIpSetIds, "not_dst_ip_set_ids"),
    srcPorts: ports(rule.srcPorts),
    notSrcPorts: ports(rule.notSrcPorts),
    dstPorts: ports(rule.dstPorts),
    notDstPorts: ports(rule.notDstPorts),
    srcNamedPorts: setRefs(rule.srcNamedPortIpSetIds, "src_named_port_ip_set_ids"),
    notSrcNamedPorts: setRefs(rule.notSrcNamedPortIpSetIds, "not_src_named_port_ip_set_ids"),
    dstNamedPorts: setRefs(rule.dstNamedPortIpSetIds, "dst_named_port_ip_set_ids"),
    notDstNamedPorts: setRefs(rule.notDstNamedPortIpSetIds, "not_dst_named_port_ip_set_ids"),
    dstIpPortSets: setRefs(rule.dstIpPortSetIds, "dst_ip_port_set_ids"),
    icmpType: icmpType(rule.icmp),
    icmpCode: icmpCode(rule.icmp),
    notIcmpType: icmpType(rule.notIcmp),
    notIcmpCode: icmpCode(rule.notIcmp),
  };
}
