/**
 * Packets aimed at one rule of a scenario: inside (or just outside) its prefixes, at the edges
 * of its port ranges, at a member of its sets, with its ICMP type and a neighbouring code.
 * Uniformly random packets rarely hit a narrow match; these reach every boundary.
 */
import { IpSetType, IpVersion, type Family, type Rule } from "@ptables/api";
import { familyBits, formatIp, parseCidr } from "../net/ip-address";
import { parseIpPortMember } from "../net/ip-set-members";
import { icmpProtocolFor } from "../net/protocols";
import type { Packet } from "../packet";
import { randomPacket, type RandomScenario } from "./random-scenario";
import type { Rng } from "./rng";

function allRules(s: RandomScenario): Rule[] {
  return [...s.policies, ...s.profiles].flatMap((o) => [...o.inboundRules, ...o.outboundRules]);
}

/** An address inside `cidr`: its first, second or last address, or a random one. */
function addressIn(rng: Rng, cidrText: string): string {
  const cidr = parseCidr(cidrText)!;
  const hostBits = BigInt(familyBits(cidr.family) - cidr.prefixLen);
  const size = 1n << hostBits;
  const offset = rng.pick([0n, 1n % size, size - 1n, BigInt(Math.floor(rng.next() * Number(size)))]);
  return formatIp(cidr.family, cidr.addr + (offset < size ? offset : 0n));
}

function edgePort(rng: Rng, ranges: Array<{ first: number; last: number }>): number | undefined {
  if (ranges.length === 0) return undefined;
  const r = rng.pick(ranges);
  return Math.max(0, Math.min(65535, rng.pick([r.first, r.last, r.first - 1, r.last + 1])));
}

/** A packet built to exercise `rule`'s criteria, falling back to random fields. */
export function aimedPacket(rng: Rng, s: RandomScenario): Packet {
  const base = randomPacket(rng);
  const rules = allRules(s);
  if (rules.length === 0) return base;
  const rule = rng.pick(rules);
  const family: Family = rule.ipVersion === IpVersion.IP_VERSION_V4 ? 4 : rule.ipVersion === IpVersion.IP_VERSION_V6 ? 6 : rule.protocol === 1 ? 4 : rule.protocol === 58 ? 6 : base.family;
  const pkt: Packet = randomPacketOfFamily(rng, family);
  if (rule.protocol !== undefined) pkt.proto = rule.protocol;
  else if (rule.icmp || rule.notIcmp) pkt.proto = icmpProtocolFor(family);
  else if (rng.chance(0.5)) pkt.proto = rng.pick([6, 17, 132]);

  const setAddress = (ids: string[]): string | undefined => {
    const set = ids.length > 0 ? s.lookup.ipSet(rng.pick(ids)) : undefined;
    if (!set || set.type === IpSetType.IP_SET_TYPE_IP_AND_PORT) return undefined;
    const ofFamily = set.members.filter((m) => parseCidr(m)?.family === family);
    return ofFamily.length > 0 ? addressIn(rng, rng.pick(ofFamily)) : undefined;
  };
  const netAddress = (nets: string[]): string | undefined => {
    const ofFamily = nets.filter((n) => parseCidr(n)?.family === family);
    return ofFamily.length > 0 ? addressIn(rng, rng.pick(ofFamily)) : undefined;
  };
  const pickAddress = (nets: string[], notNets: string[], sets: string[], notSets: string[], fallback: string): string =>
    rng.pick([netAddress(nets), netAddress(notNets), setAddress(sets), setAddress(notSets)].filter((a) => a !== undefined).concat([fallback]));
  pkt.srcIp = pickAddress(rule.srcNets, rule.notSrcNets, rule.srcIpSetIds, rule.notSrcIpSetIds, pkt.srcIp);
  pkt.dstIp = pickAddress(rule.dstNets, rule.notDstNets, rule.dstIpSetIds, rule.notDstIpSetIds, pkt.dstIp);
  pkt.srcPort = edgePort(rng, rng.chance(0.7) ? rule.srcPorts : rule.notSrcPorts) ?? pkt.srcPort;
  pkt.dstPort = edgePort(rng, rng.chance(0.7) ? rule.dstPorts : rule.notDstPorts) ?? pkt.dstPort;

  // Named ports and service sets: become exactly a member, protocol included.
  const namedIds = [...rule.dstNamedPortIpSetIds, ...rule.notDstNamedPortIpSetIds, ...rule.dstIpPortSetIds];
  const srcNamedIds = [...rule.srcNamedPortIpSetIds, ...rule.notSrcNamedPortIpSetIds];
  const useMember = (ids: string[], side: "src" | "dst"): void => {
    const members = ids.flatMap((id) => s.lookup.ipSet(id)?.members ?? []).map((m) => parseIpPortMember(m, "aimed packet")).filter((m) => m.family === family);
    if (members.length === 0 || !rng.chance(0.7)) return;
    const m = rng.pick(members);
    if (side === "dst") [pkt.dstIp, pkt.dstPort] = [formatIp(family, m.addr), m.port];
    else [pkt.srcIp, pkt.srcPort] = [formatIp(family, m.addr), m.port];
    if (rule.protocol === undefined) pkt.proto = m.proto;
  };
  useMember(namedIds, "dst");
  useMember(srcNamedIds, "src");

  const icmp = rng.pick([rule.icmp, rule.notIcmp, undefined]);
  if (icmp) {
    pkt.icmpType = icmp.type;
    pkt.icmpCode = icmp.hasCode ? rng.pick([icmp.code, icmp.code + 1, Math.max(0, icmp.code - 1)]) : rng.int(4);
  }
  return pkt;
}

function randomPacketOfFamily(rng: Rng, family: Family): Packet {
  for (;;) {
    const p = randomPacket(rng);
    if (p.family === family) return p;
  }
}
