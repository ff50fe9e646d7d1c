/**
 * Felix policies and profiles -> model objects. Matches are validated and made canonical
 * here; the IP sets a rule names are returned as dependencies so the object graph can hold
 * the rule back until those sets exist.
 */
import { IpSetType, ValidationError, isStagedKind, policyKey } from "@ptables/api";
import type { Policy, Profile, Rule } from "@ptables/api";
import type { felix } from "@ptables/proto";
import { converting, type Converted, type Dependency } from "./object-kinds";
import {
  canonicalNets,
  icmpMatch,
  ipVersion,
  portRanges,
  protocolNumber,
  required,
  ruleAction,
} from "./validate";

const ADDRESS_SETS: readonly IpSetType[] = [IpSetType.IP_SET_TYPE_IP, IpSetType.IP_SET_TYPE_NET];
const PORT_SETS: readonly IpSetType[] = [IpSetType.IP_SET_TYPE_IP_AND_PORT];

/** The key of a Felix PolicyID (see policyKey); throws if the id is missing or unnamed. */
export function policyKeyOf(id: felix.PolicyID | undefined, path: string): string {
  if (id === undefined) throw new ValidationError(path, "has no id");
  required(id.name, `${path} id.name`);
  return policyKey(id);
}

/** The key of a Felix ProfileID; throws if missing or unnamed. */
export function profileKeyOf(id: felix.ProfileID | undefined, path: string): string {
  if (id === undefined) throw new ValidationError(path, "has no id");
  return required(id.name, `${path} id.name`);
}

export function convertPolicy(key: string, id: felix.PolicyID, policy: felix.Policy | undefined): Converted<"policy"> {
  return converting(() => {
    const label = `policy ${key}`;
    if (policy === undefined) throw new ValidationError(label, "update has no policy body");
    const deps: Dependency[] = [];
    const model: Policy = {
      id: { tier: policy.tier, name: id.name, namespace: id.namespace, kind: id.kind },
      inboundRules: convertRules(policy.inboundRules, label, "inbound", deps),
      outboundRules: convertRules(policy.outboundRules, label, "outbound", deps),
      untracked: policy.untracked,
      preDnat: policy.preDnat,
      staged: isStagedKind(id.kind),
    };
    return { model: () => model, deps };
  });
}

export function convertProfile(key: string, profile: felix.Profile | undefined): Converted<"profile"> {
  return converting(() => {
    const label = `profile ${key}`;
    if (profile === undefined) throw new ValidationError(label, "update has no profile body");
    const deps: Dependency[] = [];
    const model: Profile = {
      id: key,
      inboundRules: convertRules(profile.inboundRules, label, "inbound", deps),
      outboundRules: convertRules(profile.outboundRules, label, "outbound", deps),
    };
    return { model: () => model, deps };
  });
}

function convertRules(rules: readonly felix.Rule[], label: string, direction: string, deps: Dependency[]): Rule[] {
  return rules.map((rule, i) => convertRule(rule, label, `${direction} rule ${i}`, deps));
}

function convertRule(rule: felix.Rule, label: string, where: string, deps: Dependency[]): Rule {
  const path = `${label} ${where}`;
  const field = (name: string): string => `${path} ${name}`;
  const sets = (ids: readonly string[], name: string, ipSetTypes: readonly IpSetType[]): string[] =>
    ids.map((id, i) => {
      required(id, `${field(name)}[${i}]`);
      deps.push({ kind: "ipSet", id, path: `${where} ${name}[${i}]`, ipSetTypes });
      return id;
    });
  return {
    action: ruleAction(rule.action, field("action")),
    ipVersion: ipVersion(rule.ipVersion, field("ip_version")),
    protocol: protocolNumber(rule.protocol, field("protocol")),
    notProtocol: protocolNumber(rule.notProtocol, field("not_protocol")),
    srcNets: canonicalNets(rule.srcNet, field("src_net")),
    notSrcNets: canonicalNets(rule.notSrcNet, field("not_src_net")),
    dstNets: canonicalNets(rule.dstNet, field("dst_net")),
    notDstNets: canonicalNets(rule.notDstNet, field("not_dst_net")),
    srcIpSetIds: sets(rule.srcIpSetIds, "src_ip_set_ids", ADDRESS_SETS),
    notSrcIpSetIds: sets(rule.notSrcIpSetIds, "not_src_ip_set_ids", ADDRESS_SETS),
    dstIpSetIds: sets(rule.dstIpSetIds, "dst_ip_set_ids", ADDRESS_SETS),
    notDstIpSetIds: sets(rule.notDstIpSetIds, "not_dst_ip_set_ids", ADDRESS_SETS),
    srcPorts: portRanges(rule.srcPorts, field("src_ports")),
    notSrcPorts: portRanges(rule.notSrcPorts, field("not_src_ports")),
    dstPorts: portRanges(rule.dstPorts, field("dst_ports")),
    notDstPorts: portRanges(rule.notDstPorts, field("not_dst_ports")),
    srcNamedPortIpSetIds: sets(rule.srcNamedPortIpSetIds, "src_named_port_ip_set_ids", PORT_SETS),
    notSrcNamedPortIpSetIds: sets(rule.notSrcNamedPortIpSetIds, "not_src_named_port_ip_set_ids", PORT_SETS),
    dstNamedPortIpSetIds: sets(rule.dstNamedPortIpSetIds, "dst_named_port_ip_set_ids", PORT_SETS),
    notDstNamedPortIpSetIds: sets(rule.notDstNamedPortIpSetIds, "not_dst_named_port_ip_set_ids", PORT_SETS),
    dstIpPortSetIds: sets(rule.dstIpPortSetIds, "dst_ip_port_set_ids", PORT_SETS),
    icmp: icmpMatch(rule.icmp, path),
    notIcmp: icmpMatch(rule.notIcmp, path),
    ruleId: rule.ruleId,
  };
}
