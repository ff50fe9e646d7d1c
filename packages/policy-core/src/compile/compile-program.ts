/**
 * Endpoint policy -> one program per direction (and per hook for host endpoints).
 *
 * Layout, for each tier with at least one policy in the direction:
 *   the rules of its non-staged policies in order (LOG -> Log, ALLOW -> Allow,
 *   DENY -> Deny/PolicyDeny, PASS -> Jump to the first rule after this tier);
 *   then Deny/EndOfTier if the tier has an enforced policy and its default is Deny.
 * Then, where the hook has profiles, each profile's rules (PASS -> Jump to the next profile's
 * first rule) and a final Deny/NoProfileMatch. The forward hook ends with an Allow; untracked
 * and pre-DNAT programs have no final rule: running off the end means "no decision".
 */
import { DpAction, DropReason, RuleAction, TierDefaultAction, ValidationError, type Capabilities, type HostEndpoint, type Rule, type WorkloadEndpoint } from "@ptables/api";
import type { PolicyLookup } from "../lookup";
import { HOST_HOOKS, hostLayout, isStagedPolicy, rulePath, tierPolicyKeys, workloadLayout, type Direction, type EndpointLayout, type HostHook } from "../rules/endpoint-layout";
import { checkSetReferences } from "../rules/set-references";
import { validateRule } from "../rules/validate-rule";
import { compileMatch } from "./compile-rule";
import { ruleCounterId } from "./ids";
import { ProgramBuilder } from "./program-builder";
import { adminDownProgram, bareProgram, blankRule, type CompiledProgram, type CounterInfo } from "./program";

/** The one capability the compiler needs. */
export type CompileCaps = Pick<Capabilities, "maxRulesPerProgram">;

function checkDirection(direction: Direction): void {
  if (direction !== "ingress" && direction !== "egress") throw new ValidationError("direction", `"${String(direction)}" is not ingress or egress`);
}

/**
 * The program of a workload endpoint in one direction. Throws ValidationError (unknown policy,
 * profile or ip set; bad rule) or NotSupportedError (over a limit), naming the policy and rule.
 */
export function compileWorkloadProgram(ep: WorkloadEndpoint, direction: Direction, lookup: PolicyLookup, caps: CompileCaps): CompiledProgram {
  checkDirection(direction);
  if (!ep.adminUp) return bareProgram(adminDownProgram());
  return compileLayout(workloadLayout(ep), direction, lookup, caps, `workload ${ep.key} ${direction}`);
}

/**
 * The program of one hook of a host endpoint in one direction. The hooks (see HostHook):
 * - "untracked": run first, before conntrack (tc ingress / egress ahead of the conntrack
 *   lookup). Allow = accept and skip conntrack and all later host-endpoint policy; running off
 *   the end = carry on.
 * - "pre-dnat": ingress only, on packets arriving from the interface before service DNAT.
 *   Allow = accept and skip the later host-endpoint stages (Felix's accept mark); running off
 *   the end = carry on. The egress program is empty.
 * - "normal": packets to the host itself (ingress) or sent by it (egress), after the failsafes.
 * - "forward": packets routed through the interface (arriving on it = ingress, leaving by it =
 *   egress); ends with an Allow, as Felix allows forwarded traffic nothing decided on.
 */
export function compileHostEndpointProgram(hep: HostEndpoint, hook: HostHook, direction: Direction, lookup: PolicyLookup, caps: CompileCaps): CompiledProgram {
  checkDirection(direction);
  if (!HOST_HOOKS.includes(hook)) throw new ValidationError("host endpoint hook", `"${String(hook)}" is not one of ${HOST_HOOKS.join(", ")}`);
  return compileLayout(hostLayout(hep, hook, direction), direction, lookup, caps, `host endpoint ${hep.key} ${hook} ${direction}`);
}

export interface HostEndpointPrograms {
  normal: Record<Direction, CompiledProgram>;
  untracked: Record<Direction, CompiledProgram>;
  preDnat: { ingress: CompiledProgram };
  forward: Record<Direction, CompiledProgram>;
}

/** Every program of a host endpoint (see compileHostEndpointProgram for the hooks). */
export function compileHostEndpointPrograms(hep: HostEndpoint, lookup: PolicyLookup, caps: CompileCaps): HostEndpointPrograms {
  const both = (hook: HostHook): Record<Direction, CompiledProgram> => ({
    ingress: compileHostEndpointProgram(hep, hook, "ingress", lookup, caps),
    egress: compileHostEndpointProgram(hep, hook, "egress", lookup, caps),
  });
  return {
    normal: both("normal"),
    untracked: both("untracked"),
    preDnat: { ingress: compileHostEndpointProgram(hep, "pre-dnat", "ingress", lookup, caps) },
    forward: both("forward"),
  };
}

function rulesFor(owner: { inboundRules: Rule[]; outboundRules: Rule[] }, direction: Direction): Rule[] {
  return direction === "ingress" ? owner.inboundRules : owner.outboundRules;
}

/** Compiles one policy's or profile's rules; returns the indices of its PASS jumps to patch. */
function emitRules(b: ProgramBuilder, lookup: PolicyLookup, owner: { label: string; counterOwner: string; info: Omit<CounterInfo, "ruleIndex" | "ruleId" | "direction"> }, rules: Rule[], direction: Direction): number[] {
  const passes: number[] = [];
  rules.forEach((rule, i) => {
    const where = rulePath(owner.label, direction, i, rule.ruleId);
    validateRule(rule, where);
    checkSetReferences(rule, lookup, where);
    const match = compileMatch(rule, b, where);
    if (!match) return;
    const counterId = ruleCounterId(owner.counterOwner, direction, i, rule.ruleId);
    const compiled = { ...blankRule(DpAction.Allow), ...match, counterId };
    switch (rule.action) {
      case RuleAction.RULE_ACTION_DENY:
        compiled.action = DpAction.Deny;
        compiled.reason = DropReason.PolicyDeny;
        break;
      case RuleAction.RULE_ACTION_LOG:
        compiled.action = DpAction.Log;
        break;
      case RuleAction.RULE_ACTION_PASS:
        compiled.action = DpAction.Jump;
        break;
      default:
        // ALLOW, and an unspecified action, which Felix's iptables renderer treats as allow.
        compiled.action = DpAction.Allow;
    }
    const index = b.push(compiled, where);
    if (compiled.action === DpAction.Jump) passes.push(index);
    b.count(counterId, { ...owner.info, ruleIndex: i, ruleId: rule.ruleId, direction });
  });
  return passes;
}

function patchJumps(b: ProgramBuilder, indices: number[], target: number): void {
  for (const i of indices) b.rule(i).jump = target;
}

function compileLayout(layout: EndpointLayout, direction: Direction, lookup: PolicyLookup, caps: CompileCaps, label: string): CompiledProgram {
  if (!Number.isInteger(caps.maxRulesPerProgram) || caps.maxRulesPerProgram < 1) {
    throw new ValidationError("capabilities", `maxRulesPerProgram ${caps.maxRulesPerProgram} is not a positive integer`);
  }
  const b = new ProgramBuilder(caps.maxRulesPerProgram, label);
  for (const tier of layout.tiers) {
    const keys = tierPolicyKeys(tier, direction);
    if (keys.length === 0) continue;
    let enforced = 0;
    const passes: number[] = [];
    for (const key of keys) {
      const policy = lookup.policy(key);
      if (isStagedPolicy(key, policy)) continue;
      if (!policy) throw new ValidationError(`tier ${tier.name}`, `policy ${key} is not known`);
      enforced++;
      const owner = { label: `policy ${key}`, counterOwner: `policy:${key}`, info: { policy: key, tier: tier.name } };
      passes.push(...emitRules(b, lookup, owner, rulesFor(policy, direction), direction));
    }
    if (enforced > 0 && !layout.forcePassDefault && tier.defaultAction !== TierDefaultAction.TIER_DEFAULT_ACTION_PASS) {
      b.push(blankRule(DpAction.Deny, DropReason.EndOfTier), `the end-of-tier drop of tier ${tier.name}`);
    }
    patchJumps(b, passes, b.length);
  }
  if (layout.profileIds) {
    let passes: number[] = [];
    for (const id of layout.profileIds) {
      const profile = lookup.profile(id);
      if (!profile) throw new ValidationError(`profile ${id}`, "is not known");
      patchJumps(b, passes, b.length);
      const owner = { label: `profile ${id}`, counterOwner: `profile:${id}`, info: { profile: id } };
      passes = emitRules(b, lookup, owner, rulesFor(profile, direction), direction);
    }
    patchJumps(b, passes, b.length);
    b.push(blankRule(DpAction.Deny, DropReason.NoProfileMatch), "the final no-profile-match drop");
  } else if (layout.tail === "allow") {
    b.push(blankRule(DpAction.Allow), "the final allow of forwarded traffic");
  }
  return b.finish();
}
