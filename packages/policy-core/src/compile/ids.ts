/**
 * Stable datapath identifiers. Every id is a hash of names, never a counter, so a restarted
 * agent recomputes exactly the ids already programmed. Ranges are disjoint where tables share
 * a key space: Felix IP sets have the high bit clear, synthetic net sets have it set.
 */
import { ValidationError, type PortRange } from "@ptables/api";
import { formatCidr, parseCidr } from "../net/ip-address";
import { fnv1a32, fnv1a64 } from "./hash";
import { normalizePortRanges } from "./port-ranges";

/** Datapath id of a Felix IP set: FNV-1a 32 of its id, masked to 31 bits, never 0. */
export function ipSetNumericId(felixId: string): number {
  return fnv1a32(felixId) & 0x7fffffff || 1;
}

/** Canonical, sorted, de-duplicated CIDR list; a bad entry is a ValidationError. */
export function canonicalNetList(cidrs: string[]): string[] {
  const canonical = cidrs.map((text) => {
    const cidr = parseCidr(text);
    if (!cidr) throw new ValidationError("net set", `"${text}" is not a CIDR`);
    return formatCidr(cidr);
  });
  return [...new Set(canonical)].sort();
}

/** Id of the synthetic NET set holding a rule's CIDR list: hash of the canonical sorted list, high bit set. */
export function netSetId(cidrs: string[]): number {
  return (0x80000000 | (fnv1a32(canonicalNetList(cidrs).join(",")) & 0x7fffffff)) >>> 0;
}

/** Id of a port set: hash of the normalised ranges, never 0. */
export function portSetId(ranges: PortRange[]): number {
  const text = normalizePortRanges(ranges).map((r) => `${r.first}-${r.last}`).join(",");
  return fnv1a32(text) || 1;
}

/**
 * Id of one of the two program slots of an endpoint direction: the hash of name and direction
 * with the low bit replaced by the slot, never 0. Host endpoint hooks other than "normal" name
 * their programs with hostHookProgramName so each hook gets its own ids.
 */
export function programId(ifname: string, direction: "ingress" | "egress", slot: 0 | 1): number {
  const id = ((fnv1a32(`${ifname}/${direction}`) & ~1) | slot) >>> 0;
  return id === 0 ? 2 : id;
}

/** The name programId hashes for a host endpoint hook other than "normal". */
export function hostHookProgramName(ifname: string, hook: string): string {
  return hook === "normal" ? ifname : `${ifname}#${hook}`;
}

/**
 * Key of a rule's counters: stable across recompiles of the same rule, shared by every endpoint
 * the rule applies to (counters are per policy rule, like Felix's). Never 0n.
 */
export function ruleCounterId(owner: string, direction: string, ruleIndex: number, ruleId: string): bigint {
  return fnv1a64(`${owner}\u0000${direction}\u0000${ruleIndex}\u0000${ruleId}`) || 1n;
}
