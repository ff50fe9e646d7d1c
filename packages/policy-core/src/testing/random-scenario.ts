/**
 * Random but meaningful policy models and packets for differential testing. Addresses, ports
 * and set members come from small pools that overlap on purpose, so rules match often and
 * every boundary (catch-alls, /31 and /127 edges, ports 0 and 65535, mixed families) comes up.
 */
import { IpVersion, RuleAction, type HostEndpoint, type IpSet, type Policy, type Profile, type Rule, type Tier, type WorkloadEndpoint } from "@ptables/api";
import { createModelLookup, type PolicyLookup } from "../lookup";
import type { Packet } from "../packet";
import { hostEndpoint, ipSet, keyOf, policy, profile, rule, tier, workload } from "./builders";
import type { Rng } from "./rng";

const V4_NETS = ["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "10.1.2.4/31", "192.168.0.0/16", "192.168.1.128/25", "172.16.0.1/32"];
const V6_NETS = ["::/0", "fd00::/8", "fd00:1::/32", "fd00:1::5/128", "fd00:1::4/127", "2001:db8::/32", "2001:db8::80/121"];
const V4_ADDRS = ["10.1.2.3", "10.1.2.4", "10.1.2.5", "10.2.0.1", "192.168.1.1", "192.168.1.200", "172.16.0.1", "8.8.8.8"];
const V6_ADDRS = ["fd00:1::5", "fd00:1::4", "fd00:2::1", "2001:db8::1", "2001:db8::ff", "fe80::1", "2001:db9::1"];
const PORTS = [0, 1, 22, 53, 79, 80, 81, 443, 1023, 1024, 8080, 32767, 32768, 65534, 65535];
const PROTOS = [6, 17, 1, 58, 132, 136, 253, 4];
const ICMP_TYPES = [0, 3, 8, 11, 128, 129, 135];
const ICMP_CODES = [0, 1, 3];
const NET_SETS = ["s:a", "s:b", "s:c", "s:d", "s:e"];
const PORT_SETS = ["n:a", "n:b", "n:c", "svc:d"];

export interface RandomScenario {
  policies: Policy[];
  profiles: Profile[];
  ipSets: IpSet[];
  lookup: PolicyLookup;
  workload: WorkloadEndpoint;
  host: HostEndpoint;
}

function randomPort(rng: Rng): number {
  return rng.chance(0.8) ? rng.pick(PORTS) : rng.int(65536);
}

function randomRanges(rng: Rng): Array<{ first: number; last: number }> {
  return Array.from({ length: 1 + rng.int(3) }, () => {
    const first = randomPort(rng);
    const span = rng.pick([0, 0, 1, 2, 15, 1000, 65535]);
    return { first, last: Math.min(65535, first + span) };
  });
}

function randomNets(rng: Rng): string[] {
  const pool = rng.chance(0.5) ? [...V4_NETS, ...V6_NETS] : rng.chance(0.5) ? V4_NETS : V6_NETS;
  return rng.some(pool, 1, 3);
}

function randomIcmp(rng: Rng): { type: number; hasCode: boolean; code: number } {
  const hasCode = rng.chance(0.5);
  return { type: rng.pick(ICMP_TYPES), hasCode, code: hasCode ? rng.pick(ICMP_CODES) : 0 };
}

/** A rule with each criterion present now and then; `broken` lets it name a set that does not exist. */
export function randomRule(rng: Rng, broken = false): Rule {
  const maybe = <T>(p: number, make: () => T): T | undefined => (rng.chance(p) ? make() : undefined);
  const sets = (pool: string[]): string[] => rng.some(pool, 1, 2);
  const action = rng.pick([RuleAction.RULE_ACTION_ALLOW, RuleAction.RULE_ACTION_ALLOW, RuleAction.RULE_ACTION_DENY, RuleAction.RULE_ACTION_DENY, RuleAction.RULE_ACTION_PASS, RuleAction.RULE_ACTION_LOG]);
  const protocol = maybe(0.4, () => rng.pick(PROTOS));
  return rule({
    action,
    ipVersion: rng.pick([IpVersion.IP_VERSION_ANY, IpVersion.IP_VERSION_ANY, IpVersion.IP_VERSION_ANY, IpVersion.IP_VERSION_V4, IpVersion.IP_VERSION_V6]),
    protocol,
    notProtocol: maybe(0.1, () => rng.pick(PROTOS)),
    srcNets: maybe(0.2, () => randomNets(rng)) ?? [],
    notSrcNets: maybe(0.1, () => randomNets(rng)) ?? [],
    dstNets: maybe(0.2, () => randomNets(rng)) ?? [],
    notDstNets: maybe(0.1, () => randomNets(rng)) ?? [],
    srcIpSetIds: maybe(0.15, () => sets(broken ? ["s:missing"] : NET_SETS)) ?? [],
    notSrcIpSetIds: maybe(0.1, () => sets(NET_SETS)) ?? [],
    dstIpSetIds: maybe(0.15, () => sets(NET_SETS)) ?? [],
    notDstIpSetIds: maybe(0.1, () => sets(NET_SETS)) ?? [],
    srcPorts: maybe(0.15, () => randomRanges(rng)) ?? [],
    notSrcPorts: maybe(0.08, () => randomRanges(rng)) ?? [],
    dstPorts: maybe(0.25, () => randomRanges(rng)) ?? [],
    notDstPorts: maybe(0.1, () => randomRanges(rng)) ?? [],
    srcNamedPortIpSetIds: maybe(0.08, () => sets(PORT_SETS)) ?? [],
    notSrcNamedPortIpSetIds: maybe(0.04, () => sets(PORT_SETS)) ?? [],
    dstNamedPortIpSetIds: maybe(0.12, () => sets(PORT_SETS)) ?? [],
    notDstNamedPortIpSetIds: maybe(0.05, () => sets(PORT_SETS)) ?? [],
    dstIpPortSetIds: maybe(0.05, () => sets(PORT_SETS)) ?? [],
    icmp: maybe(0.12, () => randomIcmp(rng)),
    notIcmp: maybe(0.08, () => randomIcmp(rng)),
    ruleId: `r${rng.int(1 << 30).toString(36)}`,
  });
}

function randomRules(rng: Rng, max: number, brokenChance: number): Rule[] {
  return Array.from({ length: rng.int(max + 1) }, () => randomRule(rng, rng.chance(brokenChance)));
}

function randomIpSets(rng: Rng): IpSet[] {
  const addrs = [...V4_ADDRS.map((a) => `${a}/32`), ...V6_ADDRS.map((a) => `${a}/128`)];
  const nets = NET_SETS.map((id) => ipSet(id, rng.chance(0.2) ? "ip" : "net", rng.some([...V4_NETS.slice(1), ...V6_NETS.slice(1), ...addrs], 0, 4)));
  const ipPorts = PORT_SETS.map((id) =>
    ipSet(
      id,
      "ip-port",
      Array.from({ length: rng.int(5) }, () => `${rng.pick([...V4_ADDRS, ...V6_ADDRS])},${rng.pick(["tcp", "udp", "sctp"])}:${rng.chance(0.8) ? rng.pick(PORTS) : rng.int(65536)}`),
    ),
  );
  return [...nets, ...ipPorts];
}

function randomTiers(rng: Rng, policies: Policy[], prefix: string, brokenChance: number): Tier[] {
  return Array.from({ length: rng.int(4) }, (_, i) => {
    const pick = (): string[] => {
      const keys = rng.some(policies, 0, 3).map(keyOf);
      if (rng.chance(brokenChance)) keys.push("GlobalNetworkPolicy//missing");
      return keys;
    };
    return tier(`${prefix}${i}`, { ingress: pick(), egress: pick(), defaultAction: rng.chance(0.3) ? "pass" : "deny" });
  });
}

/** A model and two endpoints over it. About one scenario in 25 refers to something missing. */
export function randomScenario(rng: Rng): RandomScenario {
  const broken = rng.chance(0.04) ? 0.3 : 0;
  const ipSets = randomIpSets(rng);
  const policies = Array.from({ length: 2 + rng.int(7) }, (_, i) => {
    const staged = rng.chance(0.15);
    const kind = staged ? "StagedNetworkPolicy" : rng.pick(["GlobalNetworkPolicy", "NetworkPolicy", "KubernetesNetworkPolicy"]);
    return policy(`p${i}`, {
      kind,
      namespace: kind === "GlobalNetworkPolicy" ? "" : "ns1",
      staged: staged && rng.chance(0.5),
      inbound: randomRules(rng, 4, broken),
      outbound: randomRules(rng, 4, broken),
    });
  });
  const profiles = Array.from({ length: rng.int(4) }, (_, i) => profile(`kns.p${i}`, randomRules(rng, 3, broken), randomRules(rng, 3, broken)));
  const profileIds = (): string[] => [...rng.some(profiles, 0, 2).map((p) => p.id), ...(rng.chance(broken) ? ["missing-profile"] : [])];
  return {
    policies,
    profiles,
    ipSets,
    lookup: createModelLookup({ policies, profiles, ipSets }),
    workload: workload({ adminUp: !rng.chance(0.03), tiers: randomTiers(rng, policies, "t", broken), profileIds: profileIds() }),
    host: hostEndpoint({
      tiers: randomTiers(rng, policies, "h", broken),
      untrackedTiers: randomTiers(rng, policies, "u", broken),
      preDnatTiers: randomTiers(rng, policies, "d", broken),
      forwardTiers: randomTiers(rng, policies, "f", broken),
      profileIds: profileIds(),
    }),
  };
}

/** A packet drawn from the same pools as the scenarios' addresses and ports. */
export function randomPacket(rng: Rng): Packet {
  const family = rng.chance(0.5) ? 4 : 6;
  const addrs = family === 4 ? V4_ADDRS : V6_ADDRS;
  const proto = rng.pick(PROTOS);
  return {
    family,
    srcIp: rng.pick(addrs),
    dstIp: rng.pick(addrs),
    proto,
    srcPort: randomPort(rng),
    dstPort: randomPort(rng),
    icmpType: rng.pick(ICMP_TYPES),
    icmpCode: rng.pick(ICMP_CODES),
  };
}
