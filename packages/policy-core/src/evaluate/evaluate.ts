/**
 * The reference evaluator: Calico's verdict for one packet at one endpoint in one direction,
 * with the deciding tier/policy/profile/rule and a trace. It is the specification the compiler
 * and every datapath are tested against (felix-protocol.md §3.5, §3.6).
 *
 * Profiles: a pass (next-tier) inside a profile moves on to the next profile, as Felix's
 * iptables dataplane does (Felix's BPF dataplane treats it as a deny instead).
 */
import { RuleAction, TierDefaultAction, ValidationError, type HostEndpoint, type Rule, type WorkloadEndpoint } from "@ptables/api";
import type { PolicyLookup } from "../lookup";
import { parsePacket, type Packet, type ParsedPacket } from "../packet";
import { HOST_HOOKS, hostLayout, isStagedPolicy, ruleListName, rulePath, tierPolicyKeys, workloadLayout, type Direction, type EndpointLayout, type HostHook } from "../rules/endpoint-layout";
import { checkSetReferences } from "../rules/set-references";
import { validateRule } from "../rules/validate-rule";
import { IpSetIndex } from "./ip-set-index";
import { matchRule } from "./match-rule";
import type { Verdict } from "./verdict";

/** The endpoint whose policy applies: a workload, or one hook of a host endpoint. */
export type EvaluationTarget = { kind: "workload"; endpoint: WorkloadEndpoint } | { kind: "host"; endpoint: HostEndpoint; hook: HostHook };

/**
 * Calico's verdict for `packet` at `target` in `direction` ("ingress" = to the endpoint, its
 * inbound rules; "egress" = from it, its outbound rules). Throws ValidationError only for a bad
 * packet, direction or hook; a model the datapath could not program gives a "program-error" deny, as it would.
 */
export function evaluatePolicy(lookup: PolicyLookup, target: EvaluationTarget, direction: Direction, packet: Packet): Verdict {
  if (direction !== "ingress" && direction !== "egress") throw new ValidationError("direction", `"${String(direction)}" is not ingress or egress`);
  if (target.kind === "host" && !HOST_HOOKS.includes(target.hook)) throw new ValidationError("host endpoint hook", `"${String(target.hook)}" is not one of ${HOST_HOOKS.join(", ")}`);
  const pkt = parsePacket(packet);
  const steps: string[] = [];
  if (target.kind === "workload" && !target.endpoint.adminUp) {
    steps.push(`endpoint ${target.endpoint.key} is admin down: drop`);
    return { verdict: "deny", reason: "admin-down", steps };
  }
  const layout = target.kind === "workload" ? workloadLayout(target.endpoint) : hostLayout(target.endpoint, target.hook, direction);
  try {
    checkInputs(lookup, layout, direction);
    return walk(lookup, layout, direction, pkt, steps);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    steps.push(`policy cannot be programmed: ${err.message}: drop`);
    return { verdict: "deny", reason: "program-error", steps };
  }
}

function rulesFor(owner: { inboundRules: Rule[]; outboundRules: Rule[] }, direction: Direction): Rule[] {
  return direction === "ingress" ? owner.inboundRules : owner.outboundRules;
}

/** Everything the datapath program would contain must resolve and validate, or none of it runs. */
function checkInputs(lookup: PolicyLookup, layout: EndpointLayout, direction: Direction): void {
  const checkRules = (owner: string, rules: Rule[]): void =>
    rules.forEach((rule, i) => {
      const where = rulePath(owner, direction, i, rule.ruleId);
      validateRule(rule, where);
      checkSetReferences(rule, lookup, where);
    });
  for (const tier of layout.tiers) {
    for (const key of tierPolicyKeys(tier, direction)) {
      const policy = lookup.policy(key);
      if (isStagedPolicy(key, policy)) continue;
      if (!policy) throw new ValidationError(`tier ${tier.name}`, `policy ${key} is not known`);
      checkRules(`policy ${key}`, rulesFor(policy, direction));
    }
  }
  for (const id of layout.profileIds ?? []) {
    const profile = lookup.profile(id);
    if (!profile) throw new ValidationError(`profile ${id}`, "is not known");
    checkRules(`profile ${id}`, rulesFor(profile, direction));
  }
}

function walk(lookup: PolicyLookup, layout: EndpointLayout, direction: Direction, pkt: ParsedPacket, steps: string[]): Verdict {
  const sets = new IpSetIndex(lookup);
  const list = ruleListName(direction);
  for (const tier of layout.tiers) {
    const keys = tierPolicyKeys(tier, direction);
    if (keys.length === 0) {
      steps.push(`tier ${tier.name}: no ${direction} policy, skipped`);
      continue;
    }
    let enforced = 0;
    let passed = false;
    policies: for (const key of keys) {
      const policy = lookup.policy(key);
      if (isStagedPolicy(key, policy)) {
        steps.push(`tier ${tier.name}: policy ${key} is staged, not enforced`);
        continue;
      }
      enforced++;
      const rules = rulesFor(policy!, direction);
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i]!;
        if (!matchRule(rule, pkt, sets)) continue;
        const at = `tier ${tier.name}: policy ${key} ${list} rule ${i}`;
        switch (rule.action) {
          case RuleAction.RULE_ACTION_LOG:
            steps.push(`${at} matched: log, continue`);
            continue;
          case RuleAction.RULE_ACTION_DENY:
            steps.push(`${at} matched: deny`);
            return { verdict: "deny", reason: "policy-deny", tier: tier.name, policy: key, ruleIndex: i, steps };
          case RuleAction.RULE_ACTION_PASS:
            steps.push(`${at} matched: pass to the next tier`);
            passed = true;
            break policies;
          default:
            // ALLOW, and an unspecified action, which Felix's iptables renderer treats as allow.
            steps.push(`${at} matched: allow`);
            return { verdict: "allow", reason: "allow", tier: tier.name, policy: key, ruleIndex: i, steps };
        }
      }
      steps.push(`tier ${tier.name}: policy ${key}: no rule decided`);
    }
    if (passed) continue;
    if (enforced > 0 && !layout.forcePassDefault && tier.defaultAction !== TierDefaultAction.TIER_DEFAULT_ACTION_PASS) {
      steps.push(`tier ${tier.name}: end of tier, default deny: drop`);
      return { verdict: "deny", reason: "end-of-tier", tier: tier.name, steps };
    }
    steps.push(`tier ${tier.name}: end of tier, ${enforced === 0 ? "only staged policies" : "default pass"}: next tier`);
  }
  if (layout.profileIds) return walkProfiles(lookup, layout.profileIds, direction, pkt, sets, steps);
  if (layout.tail === "allow") {
    steps.push("no policy decided: forwarded traffic is allowed");
    return { verdict: "allow", reason: "no-decision", steps };
  }
  steps.push("no policy decided: continue to the next stage");
  return { verdict: "continue", reason: "no-decision", steps };
}

function walkProfiles(lookup: PolicyLookup, ids: string[], direction: Direction, pkt: ParsedPacket, sets: IpSetIndex, steps: string[]): Verdict {
  const list = ruleListName(direction);
  profiles: for (const id of ids) {
    const rules = rulesFor(lookup.profile(id)!, direction);
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (!matchRule(rule, pkt, sets)) continue;
      const at = `profile ${id} ${list} rule ${i}`;
      switch (rule.action) {
        case RuleAction.RULE_ACTION_LOG:
          steps.push(`${at} matched: log, continue`);
          continue;
        case RuleAction.RULE_ACTION_DENY:
          steps.push(`${at} matched: deny`);
          return { verdict: "deny", reason: "policy-deny", profile: id, ruleIndex: i, steps };
        case RuleAction.RULE_ACTION_PASS:
          steps.push(`${at} matched: pass to the next profile`);
          continue profiles;
        default:
          steps.push(`${at} matched: allow`);
          return { verdict: "allow", reason: "allow", profile: id, ruleIndex: i, steps };
      }
    }
    steps.push(`profile ${id}: no rule decided`);
  }
  steps.push(ids.length === 0 ? "no profiles: drop" : "no profile allowed: drop");
  return { verdict: "deny", reason: "no-profile-match", steps };
}
