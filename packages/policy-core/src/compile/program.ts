/** The output of the compiler: one endpoint direction's rules and everything they refer to. */
import { DpAction, DropReason, type CompiledRule, type PortRange } from "@ptables/api";
import type { Direction } from "../rules/endpoint-layout";

/** What a rule counter belongs to, for metrics and traces. */
export interface CounterInfo {
  policy?: string;
  profile?: string;
  tier?: string;
  ruleIndex: number;
  ruleId: string;
  direction: Direction;
}

export interface CompiledProgram {
  /** The whole program, control rules included; jump targets are indices into it. */
  rules: CompiledRule[];
  /** Synthetic NET set id -> canonical CIDRs it must hold. */
  netSets: Map<number, string[]>;
  /** Port set id -> normalised ranges. */
  portSets: Map<number, PortRange[]>;
  /** Felix IP set ids the program references (their datapath ids are ipSetNumericId). */
  ipSetsUsed: Set<string>;
  /** Counter id -> the policy or profile rule it counts. Control rules have counterId 0n and no entry. */
  counters: Map<bigint, CounterInfo>;
}

/** A rule that matches every packet and does `action`; all constraints are 0 / empty. */
export function blankRule(action: DpAction, reason: DropReason = DropReason.None): CompiledRule {
  return {
    action,
    reason,
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
  };
}

/** The program of an admin-down endpoint: drop everything with reason AdminDown. */
export function adminDownProgram(): CompiledRule[] {
  return [blankRule(DpAction.Deny, DropReason.AdminDown)];
}

/** The program installed when an endpoint's policy cannot be compiled: fail closed. */
export function errorProgram(): CompiledRule[] {
  return [blankRule(DpAction.Deny, DropReason.ProgramError)];
}

/** A program made of `rules` alone (no sets, no counters). */
export function bareProgram(rules: CompiledRule[]): CompiledProgram {
  return { rules, netSets: new Map(), portSets: new Map(), ipSetsUsed: new Set(), counters: new Map() };
}
