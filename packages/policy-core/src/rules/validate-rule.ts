/**
 * Rule validation shared by the evaluator and the compiler, so both reject exactly the same
 * rules with exactly the same message.
 */
import { IpVersion, RuleAction, ValidationError, type IcmpMatch, type PortRange, type Rule } from "@ptables/api";
import { parseCidr } from "../net/ip-address";

function checkByte(value: number | undefined, what: string, where: string): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new ValidationError(where, `${what} ${value} is not 0..255`);
}

function checkPorts(ranges: PortRange[], what: string, where: string): void {
  ranges.forEach((r, i) => {
    const ok = Number.isInteger(r.first) && Number.isInteger(r.last) && r.first >= 0 && r.first <= r.last && r.last <= 65535;
    if (!ok) throw new ValidationError(where, `${what}[${i}] ${r.first}-${r.last} is not a port range within 0..65535`);
  });
}

function checkNets(nets: string[], what: string, where: string): void {
  for (const net of nets) if (!parseCidr(net)) throw new ValidationError(where, `${what} "${net}" is not a CIDR`);
}

function checkIcmp(icmp: IcmpMatch | undefined, what: string, where: string): void {
  if (!icmp) return;
  checkByte(icmp.type, `${what} type`, where);
  if (icmp.hasCode) checkByte(icmp.code, `${what} code`, where);
}

function checkIds(ids: string[], what: string, where: string): void {
  for (const id of ids) if (typeof id !== "string" || id === "") throw new ValidationError(where, `${what} contains an empty ip set id`);
}

const ACTIONS = new Set<number>([
  RuleAction.RULE_ACTION_UNSPECIFIED,
  RuleAction.RULE_ACTION_ALLOW,
  RuleAction.RULE_ACTION_DENY,
  RuleAction.RULE_ACTION_LOG,
  RuleAction.RULE_ACTION_PASS,
]);

/** Throws ValidationError(where, ...) if any field of the rule is out of range or malformed. */
export function validateRule(rule: Rule, where: string): void {
  if (!ACTIONS.has(rule.action)) throw new ValidationError(where, `unknown action ${rule.action}`);
  if (rule.ipVersion !== IpVersion.IP_VERSION_ANY && rule.ipVersion !== IpVersion.IP_VERSION_V4 && rule.ipVersion !== IpVersion.IP_VERSION_V6) {
    throw new ValidationError(where, `unknown ip_version ${rule.ipVersion}`);
  }
  checkByte(rule.protocol, "protocol", where);
  checkByte(rule.notProtocol, "not_protocol", where);
  checkNets(rule.srcNets, "src_nets", where);
  checkNets(rule.notSrcNets, "not_src_nets", where);
  checkNets(rule.dstNets, "dst_nets", where);
  checkNets(rule.notDstNets, "not_dst_nets", where);
  checkPorts(rule.srcPorts, "src_ports", where);
  checkPorts(rule.notSrcPorts, "not_src_ports", where);
  checkPorts(rule.dstPorts, "dst_ports", where);
  checkPorts(rule.notDstPorts, "not_dst_ports", where);
  checkIds(rule.srcIpSetIds, "src_ip_set_ids", where);
  checkIds(rule.notSrcIpSetIds, "not_src_ip_set_ids", where);
  checkIds(rule.dstIpSetIds, "dst_ip_set_ids", where);
  checkIds(rule.notDstIpSetIds, "not_dst_ip_set_ids", where);
  checkIds(rule.srcNamedPortIpSetIds, "src_named_port_ip_set_ids", where);
  checkIds(rule.notSrcNamedPortIpSetIds, "not_src_named_port_ip_set_ids", where);
  checkIds(rule.dstNamedPortIpSetIds, "dst_named_port_ip_set_ids", where);
  checkIds(rule.notDstNamedPortIpSetIds, "not_dst_named_port_ip_set_ids", where);
  checkIds(rule.dstIpPortSetIds, "dst_ip_port_set_ids", where);
  checkIcmp(rule.icmp, "icmp", where);
  checkIcmp(rule.notIcmp, "not_icmp", where);
}
