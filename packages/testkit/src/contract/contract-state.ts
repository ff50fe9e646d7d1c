/**
 * Entries the backend contract writes: canonical (as the compiler produces them) and chosen to
 * stress encodings: both families, full 32-bit ids, 64-bit counters, every rule field set.
 */
import { DpAction, DropReason, EndpointFlags, MAX_SET_REFS, type CompiledRule, type EndpointKey, type EndpointValue, type NeighbourKey, type NeighbourValue, type PortSetKey, type Present, type RouteKey, type RouteValue, type RuleKey, type SetMemberKey } from "@ptables/api";

export const PROGRAM_A = 0x5eed0000;
export const PROGRAM_B = 0x5eed0001;

export const setMembers = (): Array<[SetMemberKey, Present]> => [
  [{ setId: 0x1234567, family: 4, proto: 0, port: 0, addr: "10.65.0.0", prefixLen: 16 }, true],
  [{ setId: 0x1234567, family: 4, proto: 0, port: 0, addr: "10.65.1.2", prefixLen: 32 }, true],
  [{ setId: 0x1234567, family: 6, proto: 0, port: 0, addr: "fd00:10:65::", prefixLen: 48 }, true],
  [{ setId: 0x7fffffff, family: 4, proto: 6, port: 8080, addr: "10.65.1.2", prefixLen: 32 }, true],
  [{ setId: 0x7fffffff, family: 6, proto: 17, port: 53, addr: "fd00::53", prefixLen: 128 }, true],
  [{ setId: 0x80000001, family: 4, proto: 0, port: 0, addr: "0.0.0.0", prefixLen: 0 }, true],
  [{ setId: 0xffffffff, family: 6, proto: 0, port: 0, addr: "::", prefixLen: 0 }, true],
];

export const portSets = (): Array<[PortSetKey, Present]> => [
  [{ setId: 0x1000, port: 80, prefixLen: 16 }, true],
  [{ setId: 0x1000, port: 1024, prefixLen: 6 }, true],
  [{ setId: 0xfffffffe, port: 0, prefixLen: 0 }, true],
  [{ setId: 0xfffffffe, port: 65535, prefixLen: 16 }, true],
];

/** A rule with every field set to a distinct non-zero value. */
export function fullRule(index: number, counterId: bigint): CompiledRule {
  const refs = (base: number): number[] => Array.from({ length: MAX_SET_REFS }, (_, i) => base + i);
  return {
    action: DpAction.Jump,
    reason: DropReason.None,
    jump: index + 2,
    ipVersion: 6,
    proto: 7,
    notProto: 18,
    srcNet: 0x80000011,
    notSrcNet: 0x80000012,
    dstNet: 0x80000013,
    notDstNet: 0xffffffff,
    srcSets: refs(0x100),
    notSrcSets: refs(0x200),
    dstSets: refs(0x300),
    notDstSets: refs(0x7ffffff0),
    srcPorts: 0x1000,
    notSrcPorts: 0x1001,
    dstPorts: 0x1002,
    notDstPorts: 0xfffffffe,
    srcNamedPorts: refs(0x400),
    notSrcNamedPorts: refs(0x500),
    dstNamedPorts: refs(0x600),
    notDstNamedPorts: refs(0x700),
    dstIpPortSets: refs(0x800),
    icmpType: 9,
    icmpCode: 1,
    notIcmpType: 129,
    notIcmpCode: 256,
    counterId,
  };
}

const deny = (reason: DropReason, counterId: bigint): CompiledRule => ({ ...fullRule(0, counterId), action: DpAction.Deny, reason, jump: 0 });

/** Two programs of three rules: a full rule, a log rule, a final drop. */
export function rules(): Array<[RuleKey, CompiledRule]> {
  const program = (programId: number, seed: bigint): Array<[RuleKey, CompiledRule]> => [
    [{ programId, index: 0 }, fullRule(0, (1n << 63n) + seed)],
    [{ programId, index: 1 }, { ...fullRule(1, 0xffffffffffffffffn - seed), action: DpAction.Log, jump: 0 }],
    [{ programId, index: 2 }, deny(DropReason.NoProfileMatch, 0n)],
  ];
  return [...program(PROGRAM_A, 1n), ...program(PROGRAM_B, 2n)];
}

export function endpointValue(program: number): EndpointValue {
  return { ingressProgram: program, egressProgram: program, flags: EndpointFlags.DropEncapFromWorkload, ingressLength: 3, egressLength: 3 };
}

/** A host interface's entry: normal programs `normal`, every hook `hooks` (3 rules each). */
export function hostEndpointValue(normal: number, hooks: number): EndpointValue {
  const ref = { program: hooks, length: 3 };
  return {
    ingressProgram: normal,
    egressProgram: normal,
    flags: EndpointFlags.HostEndpoint,
    ingressLength: 3,
    egressLength: 3,
    untrackedIngress: ref,
    untrackedEgress: ref,
    preDnatIngress: ref,
    forwardIngress: ref,
    forwardEgress: ref,
  };
}

export const endpoints = (ifnames: string[]): Array<[EndpointKey, EndpointValue]> => ifnames.map((ifname) => [{ ifname }, endpointValue(PROGRAM_A)]);

export const routes = (ifname: string): Array<[RouteKey, RouteValue]> => [
  [{ dst: "10.65.0.2/32" }, { ifname, via: "", kind: "unicast", onlink: false }],
  [{ dst: "10.66.0.0/26" }, { ifname, via: "192.168.1.2", kind: "unicast", onlink: true }],
  [{ dst: "fd00:66::/122" }, { ifname: "", via: "", kind: "blackhole", onlink: false }],
];

export const neighbours = (ifname: string): Array<[NeighbourKey, NeighbourValue]> => [
  [{ ifname, ip: "169.254.1.1" }, { mac: "ee:ee:ee:ee:ee:ee" }],
  [{ ifname, ip: "fe80::1" }, { mac: "02:00:00:00:00:01" }],
];

/** `count` distinct set members: IPv4 /32s and IPv6 /128s in one set. */
export function manyMembers(count: number): Array<[SetMemberKey, Present]> {
  return Array.from({ length: count }, (_, i): [SetMemberKey, Present] =>
    i % 2 === 0
      ? [{ setId: 0x2222, family: 4, proto: 0, port: 0, addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, prefixLen: 32 }, true]
      : [{ setId: 0x2222, family: 6, proto: 0, port: 0, addr: `fd00::${i.toString(16)}`, prefixLen: 128 }, true],
  );
}
