/** CompiledRule literals for tests and the bench: everything "no constraint" unless given. */
import { DpAction, DropReason, type CompiledRule } from "@ptables/api";

export function compiledRule(fields: Partial<CompiledRule> = {}): CompiledRule {
  return {
    action: DpAction.Allow,
    reason: DropReason.None,
    jump: 0,
    ipVersion: 0,
    proto: 0,
    notProto: 0,
    srcNet: 0,
    notSrcNet: 0,
    dstNet: 0,
    notDstNet: 0,
    srcSets: [],
    notSrcSets: [],
    dstSets: [],
    notDstSets: [],
    srcPorts: 0,
    notSrcPorts: 0,
    dstPorts: 0,
    notDstPorts: 0,
    srcNamedPorts: [],
    notSrcNamedPorts: [],
    dstNamedPorts: [],
    notDstNamedPorts: [],
    dstIpPortSets: [],
    icmpType: 0,
    icmpCode: 0,
    notIcmpType: 0,
    notIcmpCode: 0,
    counterId: 0n,
    ...fields,
  };
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
