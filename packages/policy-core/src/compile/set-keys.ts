/** Table entries for sets: what the programmer writes into setMembers and portSets. */
import { ValidationError, type IpSet, type PortRange, type PortSetKey, type SetMemberKey } from "@ptables/api";
import { familyBits, formatIp, parseCidr } from "../net/ip-address";
import { parseIpSet } from "../net/ip-set-members";
import { normalizePortRanges, portRangePrefixes } from "./port-ranges";

function uniqueMembers(keys: SetMemberKey[]): SetMemberKey[] {
  const seen = new Map<string, SetMemberKey>();
  for (const k of keys) seen.set(`${k.family}/${k.proto}/${k.port}/${k.addr}/${k.prefixLen}`, k);
  return [...seen.values()];
}

/**
 * Members of a Felix IP set under its datapath id. NET/IP members: proto 0, port 0, the prefix.
 * IP_AND_PORT members: the full-length address with its protocol and port. Duplicates (after
 * canonicalisation) appear once; a bad member is a ValidationError naming the set and member.
 */
export function ipSetMemberKeys(setId: number, set: IpSet): SetMemberKey[] {
  const parsed = parseIpSet(set);
  if (parsed.kind === "net") {
    return uniqueMembers(parsed.prefixes.map((c) => ({ setId, family: c.family, proto: 0, port: 0, addr: formatIp(c.family, c.addr), prefixLen: c.prefixLen })));
  }
  return uniqueMembers(
    parsed.members.map((m) => ({ setId, family: m.family, proto: m.proto, port: m.port, addr: formatIp(m.family, m.addr), prefixLen: familyBits(m.family) })),
  );
}

/** Members of a synthetic net set (a rule's CIDR list). */
export function netSetMemberKeys(setId: number, cidrs: string[]): SetMemberKey[] {
  return uniqueMembers(
    cidrs.map((text) => {
      const c = parseCidr(text);
      if (!c) throw new ValidationError(`net set ${setId}`, `"${text}" is not a CIDR`);
      return { setId, family: c.family, proto: 0, port: 0, addr: formatIp(c.family, c.addr), prefixLen: c.prefixLen };
    }),
  );
}

/** A port set as the minimal prefix decomposition of its (normalised) ranges. */
export function portSetKeys(setId: number, ranges: PortRange[]): PortSetKey[] {
  for (const r of ranges) {
    if (!(Number.isInteger(r.first) && Number.isInteger(r.last) && 0 <= r.first && r.first <= r.last && r.last <= 65535)) {
      throw new ValidationError(`port set ${setId}`, `${r.first}-${r.last} is not a port range within 0..65535`);
    }
  }
  return normalizePortRanges(ranges).flatMap((r) => portRangePrefixes(r.first, r.last).map((p) => ({ setId, ...p })));
}
