/**
 * Which tiers and profiles govern one endpoint in one direction, and what happens when they
 * all end without a verdict. This is the only place that knows how Felix splits a host
 * endpoint's policies between hooks (felix-protocol.md §3.6).
 */
import { isStagedKind, type HostEndpoint, type Policy, type Tier, type WorkloadEndpoint } from "@ptables/api";

export type Direction = "ingress" | "egress";

/**
 * The hooks of a host endpoint:
 * - "normal": traffic to or from the host itself (after the failsafes); tiers, then profiles.
 * - "untracked": doNotTrack policy, before conntrack, both directions; default Pass, no profiles.
 * - "pre-dnat": preDNAT policy, ingress only, before service DNAT; default Pass, no profiles.
 * - "forward": applyOnForward policy for traffic routed through the interface; the tiers' real
 *   defaults, no profiles; traffic nothing decided on is allowed.
 */
export type HostHook = "normal" | "untracked" | "pre-dnat" | "forward";

export const HOST_HOOKS: readonly HostHook[] = ["normal", "untracked", "pre-dnat", "forward"];

/** What a program does when every tier (and profile) ended without a verdict. */
export type ProgramTail =
  /** Drop with NoProfileMatch: workloads and the host's own traffic. */
  | "no-profile-match"
  /** Allow: forwarded traffic that no forward policy decided on. */
  | "allow"
  /** No decision: the packet goes on to the next stage (untracked and pre-DNAT hooks). */
  | "continue";

export interface EndpointLayout {
  tiers: Tier[];
  /** Profiles evaluated after the tiers; undefined when the hook has no profile stage. */
  profileIds: string[] | undefined;
  /** Felix renders untracked and pre-DNAT tiers without an end-of-tier drop. */
  forcePassDefault: boolean;
  tail: ProgramTail;
}

export function workloadLayout(ep: WorkloadEndpoint): EndpointLayout {
  return { tiers: ep.tiers, profileIds: ep.profileIds, forcePassDefault: false, tail: "no-profile-match" };
}

export function hostLayout(hep: HostEndpoint, hook: HostHook, direction: Direction): EndpointLayout {
  switch (hook) {
    case "normal":
      return { tiers: hep.tiers, profileIds: hep.profileIds, forcePassDefault: false, tail: "no-profile-match" };
    case "untracked":
      return { tiers: hep.untrackedTiers, profileIds: undefined, forcePassDefault: true, tail: "continue" };
    case "pre-dnat":
      // Pre-DNAT policy has no egress (the API refuses it); egress just goes on.
      return { tiers: direction === "ingress" ? hep.preDnatTiers : [], profileIds: undefined, forcePassDefault: true, tail: "continue" };
    case "forward":
      return { tiers: hep.forwardTiers, profileIds: undefined, forcePassDefault: false, tail: "allow" };
  }
}

/** The policy keys a tier lists for one direction, in evaluation order. */
export function tierPolicyKeys(tier: Tier, direction: Direction): string[] {
  return direction === "ingress" ? tier.ingressPolicies : tier.egressPolicies;
}

/**
 * Staged policies are never enforced. The key's kind (see policyKey) says so even before the
 * policy itself is known; the policy's own flag and kind are checked too.
 */
export function isStagedPolicy(key: string, policy: Policy | undefined): boolean {
  const kind = key.slice(0, Math.max(0, key.indexOf("/")));
  return isStagedKind(kind) || (policy !== undefined && (policy.staged || isStagedKind(policy.id?.kind ?? "")));
}

/** "inbound" for ingress (traffic to the endpoint), "outbound" for egress. */
export function ruleListName(direction: Direction): "inbound" | "outbound" {
  return direction === "ingress" ? "inbound" : "outbound";
}

/** Where a rule lives, for error messages and traces: "policy <key> inbound rule 3 (id abc)". */
export function rulePath(owner: string, direction: Direction, index: number, ruleId: string): string {
  return `${owner} ${ruleListName(direction)} rule ${index}${ruleId ? ` (id ${ruleId})` : ""}`;
}
