/**
 * The narrow view of @ptables/policy-core the programmer depends on. Managers take it as a
 * constructor argument (Felix's policy manager does the same with its renderer), so the table
 * management can be exercised with the real compiler or a fault-injecting wrapper, and the
 * dependency on the compiler is one list of functions rather than imports scattered around.
 */
import * as core from "@ptables/policy-core";
import type { Capabilities, CompiledRule, HostEndpoint, IpSet, PortRange, PortSetKey, SetMemberKey, WorkloadEndpoint } from "@ptables/api";
import type { CompiledProgram, CounterInfo, Direction, FailsafeMode, FailsafePort, HostEndpointPrograms, HostTunnels, PolicyLookup } from "@ptables/policy-core";

export type { CompiledProgram, Direction, FailsafePort, HostEndpointPrograms, HostTunnels, PolicyLookup };
/** Who a rule counter belongs to (policy or profile, tier, rule), for State and flow logs. */
export type CounterOwner = CounterInfo;

export const DIRECTIONS: readonly Direction[] = ["ingress", "egress"];

export interface PolicyCompiler {
  /** Throws ValidationError / NotSupportedError when the endpoint's policy cannot be compiled. */
  compileWorkloadProgram(ep: WorkloadEndpoint, direction: Direction, lookup: PolicyLookup, caps: Capabilities): CompiledProgram;
  /** Every hook of a host endpoint; throws like compileWorkloadProgram. */
  compileHostEndpointPrograms(hep: HostEndpoint, lookup: PolicyLookup, caps: Capabilities): HostEndpointPrograms;
  /** `program` with the failsafe ports' rules in front (allow, or skip the rest of the program). */
  withFailsafes(program: CompiledProgram, ports: readonly FailsafePort[], mode: FailsafeMode): CompiledProgram;
  /** A normal host program with VXLAN/IPIP to or from the other Calico hosts allowed in front. */
  withHostTunnels(program: CompiledProgram, tunnels: HostTunnels, direction: Direction): CompiledProgram;
  /** DefaultEndpointToHostAction as a program (RETURN runs `returnProgram` if given). */
  endpointToHostProgram(action: string, returnProgram?: CompiledProgram): CompiledProgram;
  ipSetNumericId(felixId: string): number;
  programId(ifname: string, direction: Direction, slot: 0 | 1): number;
  ipSetMemberKeys(setId: number, set: IpSet): SetMemberKey[];
  netSetMemberKeys(setId: number, cidrs: string[]): SetMemberKey[];
  portSetKeys(setId: number, ranges: PortRange[]): PortSetKey[];
  /** The drop-everything program of an admin-down endpoint. */
  adminDownProgram(): CompiledRule[];
  /** The drop-everything program of an endpoint whose policy cannot be programmed (fail closed). */
  errorProgram(): CompiledRule[];
}

/** The real compiler. */
export const policyCoreCompiler: PolicyCompiler = {
  compileWorkloadProgram: core.compileWorkloadProgram,
  compileHostEndpointPrograms: core.compileHostEndpointPrograms,
  withFailsafes: core.withFailsafes,
  withHostTunnels: core.withHostTunnels,
  endpointToHostProgram: core.endpointToHostProgram,
  ipSetNumericId: core.ipSetNumericId,
  programId: core.programId,
  ipSetMemberKeys: core.ipSetMemberKeys,
  netSetMemberKeys: core.netSetMemberKeys,
  portSetKeys: core.portSetKeys,
  adminDownProgram: core.adminDownProgram,
  errorProgram: core.errorProgram,
};

/** A program of fixed rules (admin down, error) that uses no sets and has no counters. */
export function fixedProgram(rules: CompiledRule[]): CompiledProgram {
  return { rules, netSets: new Map(), portSets: new Map(), ipSetsUsed: new Set(), counters: new Map() };
}
