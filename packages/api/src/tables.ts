/**
 * The compiled datapath: a handful of typed tables that every backend implements. The policy
 * compiler (@ptables/policy-core) turns the desired-state model into entries of these tables;
 * a backend stores them (eBPF maps, DPU tables, memory) and its datapath interprets them.
 *
 * Shapes were chosen so that each table is a plain match-action table with a typed key:
 * exact match (rules, endpoints) or longest-prefix match (set members, port sets). That maps
 * onto P4Runtime tables, rte_flow groups and OPI objects as directly as onto BPF maps.
 *
 * Identifiers are 32-bit numbers chosen by the compiler from stable hashes of names, so that a
 * restarted agent computes the same ids as the ones already in the datapath and its resync
 * writes nothing (see docs/backend-guide.md, "Identifiers").
 */

export type Family = 4 | 6;

/** What a rule does when it matches. */
export enum DpAction {
  /** Accept for this direction; stop evaluating. */
  Allow = 1,
  /** Drop, counting `reason`. */
  Deny = 2,
  /** Count and log, then continue with the next rule. */
  Log = 3,
  /** Continue at rule index `jump` (end of a tier via next-tier/pass, or a tier's Pass default). */
  Jump = 4,
}

/** Why a packet was dropped; the datapath keeps one counter per reason. */
export enum DropReason {
  None = 0,
  /** An explicit deny rule. */
  PolicyDeny = 1,
  /** A tier with policies ended without a verdict and its default action is Deny. */
  EndOfTier = 2,
  /** No profile allowed the packet (or there were no profiles). */
  NoProfileMatch = 3,
  /** The endpoint is admin down. */
  AdminDown = 4,
  /** The interface carries the prefix but has no programmed endpoint (fail closed). */
  NoEndpoint = 5,
  /** Conntrack said the packet is invalid for its flow. */
  CtInvalid = 6,
  /** A policy could not be programmed (too large, bad reference); the endpoint fails closed. */
  ProgramError = 7,
  /** Malformed packet headers. */
  Malformed = 8,
  /** VXLAN or IPIP from a workload, which Felix forbids by default. */
  EncapFromWorkload = 9,
  /** Traffic from a workload to the host itself, dropped by DefaultEndpointToHostAction DROP. */
  EndpointToHost = 10,
}

export const DROP_REASON_NAMES: Record<DropReason, string> = {
  [DropReason.None]: "none",
  [DropReason.PolicyDeny]: "policy-deny",
  [DropReason.EndOfTier]: "end-of-tier",
  [DropReason.NoProfileMatch]: "no-profile-match",
  [DropReason.AdminDown]: "admin-down",
  [DropReason.NoEndpoint]: "no-endpoint",
  [DropReason.CtInvalid]: "ct-invalid",
  [DropReason.ProgramError]: "program-error",
  [DropReason.Malformed]: "malformed",
  [DropReason.EncapFromWorkload]: "encap-from-workload",
  [DropReason.EndpointToHost]: "endpoint-to-host",
};

/**
 * Membership of one datapath set. Felix IP sets, and the CIDR lists of rules (compiled into
 * synthetic sets), all live in one longest-prefix-match table.
 * For NET and IP sets `proto` and `port` are 0; for IP_AND_PORT sets they are the member's
 * protocol number and port, and the address is a full-length prefix.
 */
export interface SetMemberKey {
  setId: number;
  family: Family;
  proto: number;
  port: number;
  /** Canonical address text with host bits cleared, e.g. "10.0.0.0" or "fd00::". */
  addr: string;
  prefixLen: number;
}

/** Port ranges of a rule, decomposed into prefixes over the 16-bit port. */
export interface PortSetKey {
  setId: number;
  port: number;
  /** Number of leading port bits that must match (0..16). */
  prefixLen: number;
}

/** Presence tables carry no value; backends store a marker. */
export type Present = true;

/** Maximum set references of each kind in one rule (all-of or any-of lists). */
export const MAX_SET_REFS = 4;

/**
 * One compiled rule. A "program" is the ordered list of rules of one endpoint in one
 * direction, including the control rules the compiler adds for tier ends and profiles.
 * A field equal to 0 (or an empty list) means "no constraint".
 */
export interface CompiledRule {
  action: DpAction;
  /** For Deny. */
  reason: DropReason;
  /** For Jump: the index of the next rule to evaluate. */
  jump: number;
  /** 0 = both families, else 4 or 6. */
  ipVersion: 0 | 4 | 6;
  /** Protocol number + 1 (0 = any), and its negation. */
  proto: number;
  notProto: number;
  /** Synthetic NET sets holding a rule's CIDR list (any-of; not_ = none-of). */
  srcNet: number;
  notSrcNet: number;
  dstNet: number;
  notDstNet: number;
  /** Felix IP sets: all-of; not_: none-of. At most MAX_SET_REFS each. */
  srcSets: number[];
  notSrcSets: number[];
  dstSets: number[];
  notDstSets: number[];
  /** Port sets (PortSetKey) and named-port IP_AND_PORT sets: positive ones are OR-ed together. */
  srcPorts: number;
  notSrcPorts: number;
  dstPorts: number;
  notDstPorts: number;
  srcNamedPorts: number[];
  notSrcNamedPorts: number[];
  dstNamedPorts: number[];
  notDstNamedPorts: number[];
  /** dst_ip_port_set_ids: (dst ip, proto, dst port) must be in all of them. */
  dstIpPortSets: number[];
  /** ICMP type + 1 (0 = no constraint); code + 1 (0 = any code). */
  icmpType: number;
  icmpCode: number;
  notIcmpType: number;
  notIcmpCode: number;
  /** Key of this rule's packet/byte counters (stable across recompiles of the same rule). */
  counterId: bigint;
}

export interface RuleKey {
  programId: number;
  index: number;
}

export interface EndpointKey {
  /** Host-side interface name. */
  ifname: string;
}

export enum EndpointFlags {
  None = 0,
  /** Apply VXLAN/IPIP-from-workload drops (Felix's default for workloads). */
  DropEncapFromWorkload = 1,
  /**
   * A host interface rather than a workload: a host endpoint (its programs are the host hooks
   * below), or, with every program empty, an interface ptables only watches (see the backend
   * guide, "Host endpoints"). Traffic on a host interface without an entry passes.
   */
  HostEndpoint = 2,
  /** The interface carries no Ethernet header (IPIP, WireGuard, tun): packets start at IP. */
  NoL2Header = 4,
}

/** One program of an endpoint hook: `length` rules from `{program, 0}`. Length 0 = no program. */
export interface ProgramRef {
  program: number;
  length: number;
}

/**
 * The programs of one interface. Every interface has the two "normal" programs; the optional
 * ones are absent (equivalently `{program: 0, length: 0}`, which is how backends read them back
 * canonically: absent) when they do not apply. Length 0 means "no decision" wherever it occurs.
 *
 * Workloads: `ingress*` judges traffic to the pod, `egress*` traffic from it; `toHost` (optional)
 * runs after the egress program allowed a new flow whose destination is the host itself
 * (DefaultEndpointToHostAction compiled into rules).
 *
 * Host endpoints (flag HostEndpoint): `ingress*` / `egress*` are the normal programs, for traffic
 * to / from the host itself; `untracked*` run first on every packet (allow = accept untracked),
 * `preDnatIngress` on new flows arriving on the interface, `forward*` on new flows routed
 * through it.
 */
export interface EndpointValue {
  /** Program evaluated for traffic to the endpoint (its ingress policy). */
  ingressProgram: number;
  /** Program evaluated for traffic from the endpoint (its egress policy). */
  egressProgram: number;
  flags: number;
  /** Rule counts, so the datapath can bound its loop. */
  ingressLength: number;
  egressLength: number;
  untrackedIngress?: ProgramRef;
  untrackedEgress?: ProgramRef;
  preDnatIngress?: ProgramRef;
  forwardIngress?: ProgramRef;
  forwardEgress?: ProgramRef;
  toHost?: ProgramRef;
}

/** The optional program hooks of an EndpointValue, in a fixed order. */
export const ENDPOINT_HOOKS = ["untrackedIngress", "untrackedEgress", "preDnatIngress", "forwardIngress", "forwardEgress", "toHost"] as const;
export type EndpointHook = (typeof ENDPOINT_HOOKS)[number];

/** A hook's program, `{0, 0}` when absent. */
export function endpointHook(value: EndpointValue, hook: EndpointHook): ProgramRef {
  const ref = value[hook];
  return ref ? { program: ref.program, length: ref.length } : { program: 0, length: 0 };
}

/**
 * The canonical form of an endpoint value: hooks whose program and length are both 0 are
 * dropped. Backends read values back in this form; two values are the same entry iff their
 * canonical forms are equal (see endpointValuesEqual).
 */
export function canonicalEndpointValue(value: EndpointValue): EndpointValue {
  const out: EndpointValue = {
    ingressProgram: value.ingressProgram,
    egressProgram: value.egressProgram,
    flags: value.flags,
    ingressLength: value.ingressLength,
    egressLength: value.egressLength,
  };
  for (const hook of ENDPOINT_HOOKS) {
    const ref = value[hook];
    if (ref && (ref.program !== 0 || ref.length !== 0)) out[hook] = { program: ref.program, length: ref.length };
  }
  return out;
}

export function endpointValuesEqual(a: EndpointValue, b: EndpointValue): boolean {
  if (a.ingressProgram !== b.ingressProgram || a.egressProgram !== b.egressProgram || a.flags !== b.flags) return false;
  if (a.ingressLength !== b.ingressLength || a.egressLength !== b.egressLength) return false;
  return ENDPOINT_HOOKS.every((hook) => {
    const x = endpointHook(a, hook);
    const y = endpointHook(b, hook);
    return x.program === y.program && x.length === y.length;
  });
}

/**
 * Well-known sets: members the programmer writes into setMembers under fixed ids, for datapath
 * decisions that are not policy rules. Felix IP sets and synthetic sets that hash to one of these
 * ids lose it (the programmer claims them first) and report an error.
 */
export const WELL_KNOWN_SETS = {
  /**
   * Destinations kube-proxy may DNAT: Service cluster, external and load-balancer IPs and CIDRs.
   * A workload's egress verdict for a new flow to one of them is decided after DNAT.
   */
  serviceNets: 0x7fff_fff1,
  /** The host's own addresses (every interface, loopback prefixes included): "to the host". */
  hostAddresses: 0x7fff_fff2,
} as const;

/** A kernel-style route owned by ptables (host mode) or a DPU forwarding entry. */
export interface RouteKey {
  dst: string;
}

export interface RouteValue {
  /** Output interface (workload veth, vxlan device). */
  ifname: string;
  /** Next hop, if any. */
  via: string;
  /** "unicast" | "blackhole" | "throw"; scope link when there is no via. */
  kind: string;
  onlink: boolean;
}

export interface NeighbourKey {
  ifname: string;
  ip: string;
}

export interface NeighbourValue {
  mac: string;
}

/** A conntrack flow as the datapath sees it; owned by the offload daemon. */
export interface Flow {
  ifname: string;
  family: Family;
  proto: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  state: string;
  /** Monotonic nanoseconds. */
  createdNs: bigint;
  lastSeenNs: bigint;
  packets: bigint;
  bytes: bigint;
}

export interface Counter {
  packets: bigint;
  bytes: bigint;
}
