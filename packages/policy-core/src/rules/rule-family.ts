/**
 * Which IP families a rule applies to, exactly as Felix's FilterRuleToIPVersion
 * (felix/rules/policy.go) renders it:
 * - ip_version V4/V6 restricts the rule to that family;
 * - with ip_version ANY, protocol icmp (1) makes it IPv4-only and icmpv6 (58) IPv6-only;
 * - if a positive or negated CIDR list has entries but none of a family, the rule does not
 *   apply to that family at all (Felix would otherwise turn "not matching" into "match all");
 * - a negated catch-all (0.0.0.0/0 or ::/0 in not_*_nets) drops the rule for that family.
 * Within a family only that family's CIDRs take part in matching.
 */
import { IpVersion, type Family, type Rule } from "@ptables/api";
import { isCatchAll, parseCidr, type Cidr } from "../net/ip-address";
import { PROTO_ICMP, PROTO_ICMPV6 } from "../net/protocols";

/** The four CIDR lists of a rule, parsed (the rule must have been validated). */
export interface RuleNets {
  srcNets: Cidr[];
  notSrcNets: Cidr[];
  dstNets: Cidr[];
  notDstNets: Cidr[];
}

export function parseRuleNets(rule: Rule): RuleNets {
  const parse = (list: string[]): Cidr[] => list.map((t) => parseCidr(t)!);
  return {
    srcNets: parse(rule.srcNets),
    notSrcNets: parse(rule.notSrcNets),
    dstNets: parse(rule.dstNets),
    notDstNets: parse(rule.notDstNets),
  };
}

/** The families (subset of [4, 6], in that order) the rule can match. */
export function ruleFamilies(rule: Rule, nets: RuleNets = parseRuleNets(rule)): Family[] {
  let candidates: Family[];
  if (rule.ipVersion === IpVersion.IP_VERSION_V4) candidates = [4];
  else if (rule.ipVersion === IpVersion.IP_VERSION_V6) candidates = [6];
  else if (rule.protocol === PROTO_ICMP) candidates = [4];
  else if (rule.protocol === PROTO_ICMPV6) candidates = [6];
  else candidates = [4, 6];
  const lists = [nets.srcNets, nets.notSrcNets, nets.dstNets, nets.notDstNets];
  return candidates.filter((family) => {
    for (const list of lists) if (list.length > 0 && !list.some((c) => c.family === family)) return false;
    for (const list of [nets.notSrcNets, nets.notDstNets]) if (list.some((c) => c.family === family && isCatchAll(c))) return false;
    return true;
  });
}

/** The entries of a CIDR list that belong to one of `families`. */
export function netsOfFamilies(list: Cidr[], families: Family[]): Cidr[] {
  return list.filter((c) => families.includes(c.family));
}
