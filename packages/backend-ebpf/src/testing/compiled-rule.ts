/** CompiledRule literals for tests and the bench: everything "no constraint" unless given. */
import { DpAction, DropReason, type CompiledRule } from "@ptables/api";
import { blankRule } from "@ptables/policy-core";

export function compiledRule(fields: Partial<CompiledRule> = {}): CompiledRule {
  return { ...blankRule(DpAction.Allow), ...fields };
}

/** Protocol numbers as CompiledRule stores them (value + 1). */
export const PROTO_TCP = 7;
export const PROTO_UDP = 18;
export const PROTO_ICMP = 2;
export const PROTO_ICMPV6 = 59;

/** The terminal rule every compiled program ends with. */
export function denyRule(reason: DropReason = DropReason.NoProfileMatch, counterId = 0n): CompiledRule {
  return compiledRule({ action: DpAction.Deny, reason, counterId });
}
