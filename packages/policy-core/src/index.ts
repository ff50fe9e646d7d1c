/**
 * Calico policy semantics, pure: the reference evaluator, the compiler to datapath tables and
 * the table interpreter that cross-checks them.
 */
export type { Packet, ParsedPacket } from "./packet";
export { parsePacket } from "./packet";
export type { PolicyLookup } from "./lookup";
export { createModelLookup } from "./lookup";

export type { Cidr, IpAddress } from "./net/ip-address";
export { cidrContains, familyBits, formatCidr, formatIp, parseCidr, parseIp, prefixMask } from "./net/ip-address";
export type { IpPortMember, ParsedIpSet } from "./net/ip-set-members";
export { parseIpPortMember, parseIpSet } from "./net/ip-set-members";
export {
  PROTOCOL_NUMBERS,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
  PROTO_UDPLITE,
  icmpProtocolFor,
  isPortProtocol,
  protocolName,
} from "./net/protocols";

export type { Direction, EndpointLayout, HostHook, ProgramTail } from "./rules/endpoint-layout";
export { HOST_HOOKS, hostLayout, isStagedPolicy, workloadLayout } from "./rules/endpoint-layout";
export { ruleFamilies } from "./rules/rule-family";
export { validateRule } from "./rules/validate-rule";

export type { EvaluationTarget } from "./evaluate/evaluate";
export { evaluatePolicy } from "./evaluate/evaluate";
export type { Verdict, VerdictReason } from "./evaluate/verdict";
export { verdictDropReason } from "./evaluate/verdict";

export type { CompileCaps, HostEndpointPrograms } from "./compile/compile-program";
export { compileHostEndpointProgram, compileHostEndpointPrograms, compileWorkloadProgram } from "./compile/compile-program";
export type { CompiledProgram, CounterInfo } from "./compile/program";
export { adminDownProgram, blankRule, errorProgram } from "./compile/program";
export { canonicalNetList, hostHookProgramName, ipSetNumericId, netSetId, portSetId, programId, ruleCounterId } from "./compile/ids";
export { ipSetMemberKeys, netSetMemberKeys, portSetKeys } from "./compile/set-keys";
export { normalizePortRanges, portRangePrefixes } from "./compile/port-ranges";
export { programSetEntries } from "./compile/program-entries";
export type { FailsafeMode, FailsafePort, HostTunnels } from "./compile/host-programs";
export { endpointToHostProgram, hostErrorProgram, parseFailsafePorts, withFailsafes, withHostTunnels } from "./compile/host-programs";

export type { ProgramResult, RunOptions, SetLookups } from "./interpret/run-program";
export { compiledRuleMatches, runProgram } from "./interpret/run-program";
export { TableSetLookup } from "./interpret/table-set-lookup";

export * as testing from "./testing";
