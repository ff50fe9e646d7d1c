/**
 * One line per policy rule for people (`ptablesctl policy`): the action and what it matches,
 * in the order Calico's documentation writes rules. IP sets are shown by their Felix ids: Felix
 * sends the sets a selector resolved to, never the selector itself.
 */
import { model } from "@ptables/proto";

const PROTOCOLS: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp" };

/** The rule's action as Calico spells it. */
export function actionName(action: model.RuleAction): string {
  switch (action) {
    case model.RuleAction.RULE_ACTION_ALLOW:
      return "allow";
    case model.RuleAction.RULE_ACTION_DENY:
      return "deny";
    case model.RuleAction.RULE_ACTION_LOG:
      return "log";
    case model.RuleAction.RULE_ACTION_PASS:
      return "pass";
    default:
      return "unspecified";
  }
}

/** "tcp", "udp", ... or the protocol number. */
export function protocolName(proto: number): string {
  return PROTOCOLS[proto] ?? String(proto);
}

function ports(ranges: model.PortRange[]): string {
  return ranges.map((r) => (r.first === r.last ? String(r.first) : `${r.first}-${r.last}`)).join(",");
}

/** An ICMP match is present or absent as a whole; its code only counts with has_code. */
function icmp(m: model.IcmpMatch | undefined): string | undefined {
  if (!m) return undefined;
  return m.hasCode ? `type ${m.type} code ${m.code}` : `type ${m.type}`;
}

/** The matches of one side (source or destination) of a rule. */
function side(nets: string[], notNets: string[], sets: string[], notSets: string[], portList: model.PortRange[], notPorts: model.PortRange[], named: string[], notNamed: string[]): string[] {
  const out: string[] = [];
  if (nets.length) out.push(`net ${nets.join(",")}`);
  if (notNets.length) out.push(`!net ${notNets.join(",")}`);
  if (sets.length) out.push(`set ${sets.join(",")}`);
  if (notSets.length) out.push(`!set ${notSets.join(",")}`);
  if (portList.length) out.push(`port ${ports(portList)}`);
  if (notPorts.length) out.push(`!port ${ports(notPorts)}`);
  if (named.length) out.push(`named-port ${named.join(",")}`);
  if (notNamed.length) out.push(`!named-port ${notNamed.join(",")}`);
  return out;
}

/** What a rule matches, e.g. "tcp from net 10.0.0.0/8 to port 80,443"; "any" when it matches everything. */
export function matchSummary(r: model.Rule): string {
  const parts: string[] = [];
  if (r.ipVersion === model.IpVersion.IP_VERSION_V4) parts.push("ipv4");
  if (r.ipVersion === model.IpVersion.IP_VERSION_V6) parts.push("ipv6");
  if (r.protocol !== undefined) parts.push(protocolName(r.protocol));
  if (r.notProtocol !== undefined) parts.push(`!${protocolName(r.notProtocol)}`);
  const src = side(r.srcNets, r.notSrcNets, r.srcIpSetIds, r.notSrcIpSetIds, r.srcPorts, r.notSrcPorts, r.srcNamedPortIpSetIds, r.notSrcNamedPortIpSetIds);
  const dst = side(r.dstNets, r.notDstNets, r.dstIpSetIds, r.notDstIpSetIds, r.dstPorts, r.notDstPorts, r.dstNamedPortIpSetIds, r.notDstNamedPortIpSetIds);
  if (r.dstIpPortSetIds.length) dst.push(`ip-port-set ${r.dstIpPortSetIds.join(",")}`);
  if (src.length) parts.push(`from ${src.join(" ")}`);
  if (dst.length) parts.push(`to ${dst.join(" ")}`);
  const icmpMatch = icmp(r.icmp);
  if (icmpMatch) parts.push(icmpMatch);
  const notIcmp = icmp(r.notIcmp);
  if (notIcmp) parts.push(`!(${notIcmp})`);
  return parts.length ? parts.join(" ") : "any";
}
