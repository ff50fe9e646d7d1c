/**
 * What model objects refer to, read straight from the model (not from compiled output), so the
 * references are known even for an endpoint whose policy failed to compile: when the missing
 * policy or IP set arrives, the endpoint is recompiled and can recover from ERROR.
 */
import type { HostEndpoint, Policy, Profile, Rule, Tier, WorkloadEndpoint } from "@ptables/api";

function tierPolicyKeys(tiers: Tier[] | undefined, out: Set<string>): void {
  for (const t of tiers ?? []) {
    for (const k of t.ingressPolicies ?? []) out.add(k);
    for (const k of t.egressPolicies ?? []) out.add(k);
  }
}

/** Keys of every policy an endpoint's tiers list (both directions). */
export function endpointPolicyKeys(ep: WorkloadEndpoint | HostEndpoint): Set<string> {
  const out = new Set<string>();
  tierPolicyKeys(ep.tiers, out);
  if ("untrackedTiers" in ep) {
    tierPolicyKeys(ep.untrackedTiers, out);
    tierPolicyKeys(ep.preDnatTiers, out);
    tierPolicyKeys(ep.forwardTiers, out);
  }
  return out;
}

/** Felix IP set ids one rule refers to, in any role (addresses, named ports, ip+port). */
export function ruleIpSetIds(rule: Rule, out: Set<string>): void {
  const lists = [
    rule.srcIpSetIds,
    rule.notSrcIpSetIds,
    rule.dstIpSetIds,
    rule.notDstIpSetIds,
    rule.srcNamedPortIpSetIds,
    rule.notSrcNamedPortIpSetIds,
    rule.dstNamedPortIpSetIds,
    rule.notDstNamedPortIpSetIds,
    rule.dstIpPortSetIds,
  ];
  for (const list of lists) for (const id of list ?? []) out.add(id);
}

/** Felix IP set ids a policy or profile refers to. */
export function rulesIpSetIds(obj: Policy | Profile): Set<string> {
  const out = new Set<string>();
  for (const r of obj.inboundRules ?? []) ruleIpSetIds(r, out);
  for (const r of obj.outboundRules ?? []) ruleIpSetIds(r, out);
  return out;
}
