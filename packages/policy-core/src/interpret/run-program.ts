/**
 * Executes a compiled program exactly as the datapath does. This is the reference software
 * DPU's packet path and the cross-check for the compiler; the eBPF program implements the
 * same reading of every field:
 *
 * - Rules run in order from index 0. A rule matches when every non-zero field holds; the first
 *   matching Allow or Deny decides; Log records and continues; Jump continues at `jump`.
 * - Jumps only go forward (to any index up to the program length); anything else, an unknown
 *   action, or more steps than the bound, fails closed with a ProgramError drop.
 * - Running off the end (possible only for host-endpoint untracked and pre-DNAT programs) is
 *   "continue": the hook made no decision.
 * - ipVersion 4/6 must equal the packet family. proto/notProto hold protocol + 1.
 * - srcNet/dstNet (+ not) and src/dstSets (all-of; not = none-of) test the address in a set with
 *   proto 0 and port 0.
 * - Ports: if any port field is set and the protocol has no ports (not tcp, udp, sctp or
 *   udplite), the rule does not match. Otherwise a side's port set and named-port sets are
 *   OR-ed (named port = (address, proto, port) in the IP_AND_PORT set), and the negated ones
 *   must all miss. dstIpPortSets: (dst address, proto, dst port) in every set.
 * - ICMP fields (type/code + 1): if any is set, the packet must be ICMP of its family (1 on
 *   IPv4, 58 on IPv6); then type (and code, if set) must equal, or for not* must not both equal.
 */
import { DpAction, DropReason, type CompiledRule } from "@ptables/api";
import { parsePacket, type Packet, type ParsedPacket } from "../packet";

/** Set lookups the datapath performs; see TableSetLookup for the table-backed implementation. */
export interface SetLookups {
  /** Longest-prefix membership in the set-member table; proto and port are 0 for address sets. */
  setHas(setId: number, family: 4 | 6, proto: number, port: number, ip: bigint): boolean;
  portSetHas(setId: number, port: number): boolean;
}

export interface ProgramResult {
  verdict: "allow" | "deny" | "continue";
  /** DropReason.None unless denied. */
  reason: DropReason;
  /** The deciding rule, or the program length when the program ran off its end. */
  ruleIndex: number;
  /** Indices of the Log rules that matched on the way, in order. */
  logged: number[];
}

export interface RunOptions {
  /** Upper bound on rules visited; defaults to the program length + 1 (enough for forward-only jumps). */
  maxSteps?: number;
}

/** Whether every constraint of the rule holds for the packet. */
export function compiledRuleMatches(r: CompiledRule, p: ParsedPacket, sets: SetLookups): boolean {
  if (r.ipVersion !== 0 && r.ipVersion !== p.family) return false;
  if (r.proto !== 0 && p.proto !== r.proto - 1) return false;
  if (r.notProto !== 0 && p.proto === r.notProto - 1) return false;
  const f = p.family;
  const inAddr = (set: number, ip: bigint): boolean => sets.setHas(set, f, 0, 0, ip);
  if (r.srcNet !== 0 && !inAddr(r.srcNet, p.src)) return false;
  if (r.notSrcNet !== 0 && inAddr(r.notSrcNet, p.src)) return false;
  if (r.dstNet !== 0 && !inAddr(r.dstNet, p.dst)) return false;
  if (r.notDstNet !== 0 && inAddr(r.notDstNet, p.dst)) return false;
  if (!r.srcSets.every((s) => inAddr(s, p.src))) return false;
  if (r.notSrcSets.some((s) => inAddr(s, p.src))) return false;
  if (!r.dstSets.every((s) => inAddr(s, p.dst))) return false;
  if (r.notDstSets.some((s) => inAddr(s, p.dst))) return false;

  const portFields =
    r.srcPorts | r.notSrcPorts | r.dstPorts | r.notDstPorts ||
    r.srcNamedPorts.length + r.notSrcNamedPorts.length + r.dstNamedPorts.length + r.notDstNamedPorts.length + r.dstIpPortSets.length;
  if (portFields) {
    if (!p.hasPorts) return false;
    const named = (set: number, ip: bigint, port: number): boolean => sets.setHas(set, f, p.proto, port, ip);
    const side = (ports: number, namedSets: number[], notPorts: number, notNamed: number[], ip: bigint, port: number): boolean => {
      if ((ports !== 0 || namedSets.length > 0) && !((ports !== 0 && sets.portSetHas(ports, port)) || namedSets.some((s) => named(s, ip, port)))) return false;
      if (notPorts !== 0 && sets.portSetHas(notPorts, port)) return false;
      return !notNamed.some((s) => named(s, ip, port));
    };
    if (!side(r.srcPorts, r.srcNamedPorts, r.notSrcPorts, r.notSrcNamedPorts, p.src, p.srcPort)) return false;
    if (!side(r.dstPorts, r.dstNamedPorts, r.notDstPorts, r.notDstNamedPorts, p.dst, p.dstPort)) return false;
    if (!r.dstIpPortSets.every((s) => named(s, p.dst, p.dstPort))) return false;
  }

  if (r.icmpType | r.icmpCode | r.notIcmpType | r.notIcmpCode) {
    if (!p.isIcmp) return false;
    if (r.icmpType !== 0 && p.icmpType !== r.icmpType - 1) return false;
    if (r.icmpCode !== 0 && p.icmpCode !== r.icmpCode - 1) return false;
    if (r.notIcmpType !== 0 && p.icmpType === r.notIcmpType - 1 && (r.notIcmpCode === 0 || p.icmpCode === r.notIcmpCode - 1)) return false;
  }
  return true;
}

/** Runs a program over a packet (validated with parsePacket; a bad packet is a ValidationError). */
export function runProgram(rules: CompiledRule[], sets: SetLookups, packet: Packet | ParsedPacket, options: RunOptions = {}): ProgramResult {
  const p = "srcIp" in packet ? parsePacket(packet) : packet;
  const maxSteps = options.maxSteps ?? rules.length + 1;
  const logged: number[] = [];
  const fail = (i: number): ProgramResult => ({ verdict: "deny", reason: DropReason.ProgramError, ruleIndex: i, logged });
  let i = 0;
  for (let steps = 0; steps < maxSteps; steps++) {
    if (i >= rules.length) return { verdict: "continue", reason: DropReason.None, ruleIndex: rules.length, logged };
    const r = rules[i]!;
    if (!compiledRuleMatches(r, p, sets)) {
      i++;
      continue;
    }
    switch (r.action) {
      case DpAction.Allow:
        return { verdict: "allow", reason: DropReason.None, ruleIndex: i, logged };
      case DpAction.Deny:
        return { verdict: "deny", reason: r.reason, ruleIndex: i, logged };
      case DpAction.Log:
        logged.push(i);
        i++;
        continue;
      case DpAction.Jump:
        if (!Number.isInteger(r.jump) || r.jump <= i || r.jump > rules.length) return fail(i);
        i = r.jump;
        continue;
      default:
        return fail(i);
    }
  }
  return fail(i);
}
