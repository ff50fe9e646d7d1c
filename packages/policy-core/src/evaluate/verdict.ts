/** What the reference evaluator answers for one packet. */
import { DropReason } from "@ptables/api";

export type VerdictReason =
  /** A policy or profile rule allowed the packet. */
  | "allow"
  /** A policy or profile rule denied it. */
  | "policy-deny"
  /** A tier with enforced policies ended without a verdict and its default is Deny. */
  | "end-of-tier"
  /** The tiers passed the packet on and no profile allowed it (or there were none). */
  | "no-profile-match"
  /** The workload endpoint is admin down. */
  | "admin-down"
  /** The endpoint's policy cannot be compiled (unknown policy, profile or ip set, bad rule). */
  | "program-error"
  /** Nothing decided: the forward hook then allows, the untracked and pre-DNAT hooks continue. */
  | "no-decision";

export interface Verdict {
  /**
   * "continue" only for host endpoints' untracked and pre-DNAT hooks: they made no decision
   * and the packet goes on to conntrack and normal policy.
   */
  verdict: "allow" | "deny" | "continue";
  reason: VerdictReason;
  /** The tier of the deciding policy rule, or the tier that dropped at its end. */
  tier?: string;
  /** Key of the deciding policy (see policyKey). */
  policy?: string;
  /** Id of the deciding profile. */
  profile?: string;
  /** Index of the deciding rule within its policy's or profile's rules for the direction. */
  ruleIndex?: number;
  /** Human-readable trace, one line per decision point. */
  steps: string[];
}

/** The datapath drop reason a verdict corresponds to (None unless it is a deny). */
export function verdictDropReason(v: Pick<Verdict, "verdict" | "reason">): DropReason {
  if (v.verdict !== "deny") return DropReason.None;
  switch (v.reason) {
    case "policy-deny":
      return DropReason.PolicyDeny;
    case "end-of-tier":
      return DropReason.EndOfTier;
    case "no-profile-match":
      return DropReason.NoProfileMatch;
    case "admin-down":
      return DropReason.AdminDown;
    default:
      return DropReason.ProgramError;
  }
}
