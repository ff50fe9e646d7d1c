/**
 * Checks that every IP set a rule names exists and fits the position it is used in: address
 * positions (src/dst_ip_set_ids and their negations) need NET or IP sets; named-port and
 * dst_ip_port positions need IP_AND_PORT sets, whose members carry a protocol and port.
 */
import { IpSetType, ValidationError, type IpSet, type Rule } from "@ptables/api";
import type { PolicyLookup } from "../lookup";

export type SetUsage = "address" | "ip-port";

/** Every set reference of a rule with the field it comes from and the usage it needs. */
export function ruleSetReferences(rule: Rule): Array<{ field: string; id: string; usage: SetUsage }> {
  const refs: Array<{ field: string; id: string; usage: SetUsage }> = [];
  const add = (field: string, ids: string[], usage: SetUsage): void => {
    for (const id of ids) refs.push({ field, id, usage });
  };
  add("src_ip_set_ids", rule.srcIpSetIds, "address");
  add("not_src_ip_set_ids", rule.notSrcIpSetIds, "address");
  add("dst_ip_set_ids", rule.dstIpSetIds, "address");
  add("not_dst_ip_set_ids", rule.notDstIpSetIds, "address");
  add("src_named_port_ip_set_ids", rule.srcNamedPortIpSetIds, "ip-port");
  add("not_src_named_port_ip_set_ids", rule.notSrcNamedPortIpSetIds, "ip-port");
  add("dst_named_port_ip_set_ids", rule.dstNamedPortIpSetIds, "ip-port");
  add("not_dst_named_port_ip_set_ids", rule.notDstNamedPortIpSetIds, "ip-port");
  add("dst_ip_port_set_ids", rule.dstIpPortSetIds, "ip-port");
  return refs;
}

/** Resolves one reference; a missing set or a type that does not fit is a ValidationError. */
export function resolveSetReference(lookup: PolicyLookup, id: string, usage: SetUsage, field: string, where: string): IpSet {
  const set = lookup.ipSet(id);
  if (!set) throw new ValidationError(where, `${field} names ip set ${id}, which is not known`);
  const isIpPort = set.type === IpSetType.IP_SET_TYPE_IP_AND_PORT;
  if (usage === "address" && isIpPort) throw new ValidationError(where, `${field} names ip set ${id}, an IP_AND_PORT set, where an address set is needed`);
  if (usage === "ip-port" && !isIpPort) throw new ValidationError(where, `${field} names ip set ${id}, which is not an IP_AND_PORT set`);
  return set;
}

/** Resolves every reference of a rule (throws on the first bad one). */
export function checkSetReferences(rule: Rule, lookup: PolicyLookup, where: string): void {
  for (const ref of ruleSetReferences(rule)) resolveSetReference(lookup, ref.id, ref.usage, ref.field, where);
}
