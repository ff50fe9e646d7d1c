/**
 * Rule match semantics (felix-protocol.md §3.4), case by case after Felix's pol_prog_test: one
 * tier, one policy holding the rule under test as an allow. Allowed packets must be allowed by
 * that rule; dropped ones reach the end of the tier. Evaluator and compiled program must agree.
 */
import { IpVersion, type IpSet, type Rule } from "@ptables/api";
import { createModelLookup, type Packet } from "../index";
import { agreedVerdict, allow, icmp, ipSet, policy, raw, sctp, tcp, tier, udp, udplite, workload, type RuleInit } from "../testing";

interface MatchCase {
  name: string;
  rule: RuleInit;
  sets?: IpSet[];
  allowed: Packet[];
  dropped: Packet[];
}

function outcomeOf(rule: Rule, sets: IpSet[], packet: Packet): string {
  const p = policy("test", { inbound: [rule] });
  const lookup = createModelLookup({ policies: [p], ipSets: sets });
  const v = agreedVerdict(lookup, { kind: "workload", endpoint: workload({ tiers: [tier("base", { ingress: [p] })] }) }, "ingress", packet);
  return `${v.verdict}/${v.reason}`;
}

const NAMED = [ipSet("setA", "ip-port", ["10.0.0.2,tcp:80", "123.0.0.1/32,udp:1024"]), ipSet("setB", "ip-port", ["10.0.0.2,tcp:80"]), ipSet("setC", "ip-port", ["123.0.0.1,udp:1024"])];

const cases: MatchCase[] = [
  // Protocols.
  { name: "allow tcp", rule: { protocol: 6 }, allowed: [tcp("10.0.0.1:31245", "10.0.0.2:80"), tcp("[ff02::1]:1", "[ff02::2]:2")], dropped: [udp("10.0.0.1:31245", "10.0.0.2:80"), icmp("10.0.0.1", "10.0.0.2"), raw(253, "10.0.0.1", "10.0.0.2")] },
  { name: "allow !tcp", rule: { notProtocol: 6 }, allowed: [udp("10.0.0.1:31245", "10.0.0.2:80"), icmp("ff02::1", "ff02::2"), raw(253, "10.0.0.1", "10.0.0.2")], dropped: [tcp("10.0.0.1:31245", "10.0.0.2:80")] },
  { name: "protocol number 253", rule: { protocol: 253 }, allowed: [raw(253, "11.0.0.2", "10.0.0.2")], dropped: [raw(254, "11.0.0.2", "10.0.0.2"), icmp("10.0.0.1", "10.0.0.2", 10), udp("123.0.0.1:1024", "10.96.0.10:53")] },
  // CIDRs, negations, per-family filtering.
  { name: "from CIDR", rule: { srcNets: ["10.0.0.0/8"] }, allowed: [tcp("10.0.0.1:31245", "10.0.0.2:80"), icmp("10.0.0.1", "11.0.0.1")], dropped: [tcp("11.0.0.1:31245", "10.0.0.2:80"), tcp("[ff02::1]:1", "[ff02::2]:2")] },
  { name: "to CIDR (v6)", rule: { dstNets: ["ff02::/16"] }, allowed: [tcp("[2001::1]:1", "[ff02::2]:2")], dropped: [tcp("[ff02::1]:1", "[ff03::2]:2"), tcp("10.0.0.1:1", "10.0.0.2:2")] },
  { name: "from !CIDR", rule: { notSrcNets: ["10.0.0.0/8"] }, allowed: [tcp("11.0.0.1:1", "10.0.0.2:80")], dropped: [tcp("10.0.0.1:1", "10.0.0.2:80"), tcp("[ff02::1]:1", "[ff02::2]:2")] },
  { name: "to !CIDR", rule: { notDstNets: ["10.0.0.2/32"] }, allowed: [tcp("10.0.0.1:1", "10.0.0.3:80")], dropped: [tcp("10.0.0.1:1", "10.0.0.2:80")] },
  { name: "CIDR lists of both families keep their own family's entries", rule: { srcNets: ["10.0.0.0/8", "ff02::/16"], notDstNets: ["10.0.0.9/32", "ff02::9/128"] }, allowed: [tcp("10.0.0.1:1", "10.0.0.2:2"), tcp("[ff02::1]:1", "[ff02::2]:2")], dropped: [tcp("10.0.0.1:1", "10.0.0.9:2"), tcp("[ff02::1]:1", "[ff02::9]:2"), tcp("11.0.0.1:1", "10.0.0.2:2"), tcp("[ff03::1]:1", "[ff02::2]:2")] },
  { name: "!0.0.0.0/0 drops the rule for IPv4 (and an IPv4-only list drops IPv6)", rule: { notSrcNets: ["0.0.0.0/0"] }, allowed: [], dropped: [tcp("10.0.0.1:1", "10.0.0.2:2"), tcp("[ff02::1]:1", "[ff02::2]:2")] },
  { name: "!0.0.0.0/0 with an IPv6 entry: IPv4 never matches, IPv6 outside the entry does", rule: { notSrcNets: ["0.0.0.0/0", "fd00::/8"] }, allowed: [tcp("[ff02::1]:1", "[ff02::2]:2")], dropped: [tcp("10.0.0.1:1", "10.0.0.2:2"), tcp("[fd00::1]:1", "[ff02::2]:2")] },
  { name: "!::/0 drops the rule for IPv6", rule: { notDstNets: ["::/0", "10.0.0.0/8"] }, allowed: [tcp("10.0.0.1:1", "11.0.0.2:2")], dropped: [tcp("[ff02::1]:1", "[ff02::2]:2"), tcp("10.0.0.1:1", "10.0.0.2:2")] },
  { name: "a negated list with only IPv6 entries drops the rule for IPv4 (Felix's filtering)", rule: { notDstNets: ["fd00::/8"] }, allowed: [tcp("[ff02::1]:1", "[ff02::2]:2")], dropped: [tcp("10.0.0.1:1", "10.0.0.2:2")] },
  // IP versions.
  { name: "ip_version V4", rule: { ipVersion: IpVersion.IP_VERSION_V4 }, allowed: [tcp("10.0.0.1:1", "10.0.0.2:2")], dropped: [tcp("[ff02::1]:1", "[ff02::2]:2")] },
  { name: "ip_version V6", rule: { ipVersion: IpVersion.IP_VERSION_V6 }, allowed: [tcp("[ff02::1]:1", "[ff02::2]:2")], dropped: [tcp("10.0.0.1:1", "10.0.0.2:2")] },
  { name: "ip_version V6 with IPv4-only nets matches nothing", rule: { ipVersion: IpVersion.IP_VERSION_V6, srcNets: ["10.0.0.0/8"] }, allowed: [], dropped: [tcp("10.0.0.1:1", "10.0.0.2:2"), tcp("[ff02::1]:1", "[ff02::2]:2")] },
  { name: "protocol icmp with ip_version ANY is IPv4-only", rule: { protocol: 1 }, allowed: [icmp("10.0.0.1", "10.0.0.2")], dropped: [raw(1, "ff02::1", "ff02::2"), icmp("ff02::1", "ff02::2")] },
  { name: "protocol icmpv6 is IPv6-only", rule: { protocol: 58 }, allowed: [icmp("ff02::1", "ff02::2")], dropped: [raw(58, "10.0.0.1", "10.0.0.2"), icmp("10.0.0.1", "10.0.0.2")] },
  // Ports.
  { name: "to tcp:80", rule: { protocol: 6, dstPorts: [{ first: 80, last: 80 }] }, allowed: [tcp("10.0.0.1:31245", "10.0.0.2:80"), tcp("[ff02::1]:31245", "[ff02::2]:80")], dropped: [tcp("10.0.0.2:80", "10.0.0.1:31245"), udp("10.0.0.1:31245", "10.0.0.2:80"), icmp("10.0.0.1", "10.0.0.2"), raw(253, "10.0.0.1", "10.0.0.2")] },
  { name: "from tcp:80", rule: { protocol: 6, srcPorts: [{ first: 80, last: 80 }] }, allowed: [tcp("10.0.0.2:80", "10.0.0.1:31245")], dropped: [tcp("10.0.0.1:31245", "10.0.0.2:80")] },
  { name: "to tcp:80-81,90", rule: { protocol: 6, dstPorts: [{ first: 80, last: 81 }, { first: 90, last: 90 }] }, allowed: [80, 81, 90].map((p) => tcp("10.0.0.1:1", `10.0.0.2:${p}`)), dropped: [79, 82, 89, 91].map((p) => tcp("10.0.0.1:1", `10.0.0.2:${p}`)) },
  { name: "ports 0 and 65535", rule: { protocol: 17, dstPorts: [{ first: 0, last: 0 }, { first: 65535, last: 65535 }] }, allowed: [udp("10.0.0.1:1", "10.0.0.2:0"), udp("10.0.0.1:1", "10.0.0.2:65535")], dropped: [udp("10.0.0.1:1", "10.0.0.2:1"), udp("10.0.0.1:1", "10.0.0.2:65534")] },
  { name: "more than 15 ports", rule: { protocol: 6, dstPorts: Array.from({ length: 20 }, (_, i) => ({ first: 1000 + 2 * i, last: 1000 + 2 * i })) }, allowed: [1000, 1002, 1038].map((p) => tcp("10.0.0.1:1", `10.0.0.2:${p}`)), dropped: [999, 1001, 1039, 1040].map((p) => tcp("10.0.0.1:1", `10.0.0.2:${p}`)) },
  { name: "to tcp:!80", rule: { protocol: 6, notDstPorts: [{ first: 80, last: 80 }] }, allowed: [tcp("10.0.0.2:80", "10.0.0.1:31245")], dropped: [tcp("10.0.0.1:31245", "10.0.0.2:80"), udp("10.0.0.2:80", "10.0.0.1:31245")] },
  { name: "from tcp:!80", rule: { protocol: 6, notSrcPorts: [{ first: 80, last: 80 }] }, allowed: [tcp("10.0.0.1:31245", "10.0.0.2:80")], dropped: [tcp("10.0.0.2:80", "10.0.0.1:31245")] },
  { name: "ports without a protocol match only port-bearing protocols", rule: { dstPorts: [{ first: 53, last: 53 }] }, allowed: [udp("10.0.0.1:1", "10.0.0.2:53"), tcp("10.0.0.1:1", "10.0.0.2:53"), sctp("[ff02::1]:1", "[ff02::2]:53"), udplite("10.0.0.1:1", "10.0.0.2:53")], dropped: [icmp("10.0.0.1", "10.0.0.2", 53, 0), raw(253, "10.0.0.1", "10.0.0.2"), udp("10.0.0.1:1", "10.0.0.2:54")] },
  { name: "negated ports without a protocol also need a port-bearing protocol", rule: { notDstPorts: [{ first: 53, last: 53 }] }, allowed: [udp("10.0.0.1:1", "10.0.0.2:54")], dropped: [icmp("10.0.0.1", "10.0.0.2"), raw(253, "10.0.0.1", "10.0.0.2"), udp("10.0.0.1:1", "10.0.0.2:53")] },
  // IP sets.
  { name: "from empty IP set", rule: { protocol: 6, srcIpSetIds: ["setA"] }, sets: [ipSet("setA", "net", [])], allowed: [], dropped: [tcp("10.0.0.2:80", "10.0.0.1:31245"), raw(253, "10.0.0.2", "10.0.0.1")] },
  { name: "from !empty IP set", rule: { protocol: 6, notSrcIpSetIds: ["setA"] }, sets: [ipSet("setA", "net", [])], allowed: [tcp("10.0.0.2:80", "10.0.0.1:31245"), tcp("10.0.0.1:31245", "10.0.0.2:80")], dropped: [udp("10.0.0.2:80", "10.0.0.1:31245"), icmp("10.0.0.1", "10.0.0.2")] },
  { name: "from IP set", rule: { srcIpSetIds: ["setA"] }, sets: [ipSet("setA", "net", ["10.0.0.0/8"])], allowed: [raw(253, "10.0.0.2", "10.0.0.1"), udp("10.0.0.2:12345", "123.0.0.1:1024"), icmp("10.0.0.1", "10.0.0.2")], dropped: [raw(253, "11.0.0.2", "10.0.0.1"), tcp("11.0.0.1:12345", "10.0.0.2:8080")] },
  { name: "to IP set (type IP, mixed families)", rule: { dstIpSetIds: ["setA"] }, sets: [ipSet("setA", "ip", ["11.0.0.0/8", "123.0.0.1/32", "ff02::2/128"])], allowed: [raw(253, "11.0.0.2", "11.0.0.1"), udp("10.0.0.2:12345", "123.0.0.1:1024"), tcp("[ff02::1]:1", "[ff02::2]:2")], dropped: [raw(253, "11.0.0.2", "10.0.0.1"), udp("10.0.0.1:31245", "10.0.0.2:80"), tcp("[ff02::1]:1", "[ff02::3]:2")] },
  { name: "from !IP set", rule: { notSrcIpSetIds: ["setA"] }, sets: [ipSet("setA", "net", ["10.0.0.0/8"])], allowed: [raw(253, "11.0.0.2", "10.0.0.1"), tcp("[ff02::1]:1", "[ff02::2]:2")], dropped: [raw(253, "10.0.0.2", "10.0.0.1"), icmp("10.0.0.1", "10.0.0.2")] },
  { name: "to !IP set", rule: { notDstIpSetIds: ["setA"] }, sets: [ipSet("setA", "net", ["11.0.0.0/8", "123.0.0.1/32"])], allowed: [raw(253, "11.0.0.2", "10.0.0.1"), udp("10.0.0.1:31245", "10.0.0.2:80")], dropped: [raw(253, "11.0.0.2", "11.0.0.1"), udp("10.0.0.2:12345", "123.0.0.1:1024")] },
  { name: "IP sets are all-of; negated sets none-of", rule: { srcIpSetIds: ["wide", "narrow"], notSrcIpSetIds: ["hole", "other"] }, sets: [ipSet("wide", "net", ["10.0.0.0/8"]), ipSet("narrow", "net", ["10.1.0.0/16", "10.2.0.0/16"]), ipSet("hole", "net", ["10.1.1.0/24"]), ipSet("other", "net", ["10.2.2.2/32"])], allowed: [raw(253, "10.1.0.1", "1.1.1.1"), raw(253, "10.2.2.3", "1.1.1.1")], dropped: [raw(253, "10.3.0.1", "1.1.1.1"), raw(253, "10.1.1.9", "1.1.1.1"), raw(253, "10.2.2.2", "1.1.1.1")] },
  // Named ports.
  { name: "to named port", rule: { dstNamedPortIpSetIds: ["setA"] }, sets: NAMED, allowed: [udp("10.0.0.2:12345", "123.0.0.1:1024"), tcp("10.0.0.1:31245", "10.0.0.2:80")], dropped: [raw(253, "11.0.0.2", "10.0.0.2"), tcp("11.0.0.1:12345", "10.0.0.2:8080"), udp("10.0.0.1:31245", "10.0.0.2:80"), tcp("10.0.0.2:80", "10.0.0.1:31245"), tcp("10.0.0.2:31245", "10.0.0.1:80")] },
  { name: "to named ports (two sets, OR)", rule: { dstNamedPortIpSetIds: ["setB", "setC"] }, sets: NAMED, allowed: [udp("10.0.0.2:12345", "123.0.0.1:1024"), tcp("10.0.0.1:31245", "10.0.0.2:80")], dropped: [tcp("11.0.0.1:12345", "10.0.0.2:8080"), udp("10.0.0.1:31245", "10.0.0.2:80")] },
  { name: "to mixed numeric and named ports", rule: { dstPorts: [{ first: 81, last: 82 }, { first: 90, last: 90 }], dstNamedPortIpSetIds: ["setB", "setC"] }, sets: NAMED, allowed: [udp("10.0.0.2:12345", "123.0.0.1:1024"), tcp("10.0.0.1:31245", "10.0.0.2:80"), tcp("10.0.0.1:31245", "10.0.0.2:90"), tcp("10.0.0.1:31245", "10.0.0.2:82")], dropped: [raw(253, "11.0.0.2", "10.0.0.2"), tcp("11.0.0.1:12345", "10.0.0.2:8080"), udp("10.0.0.1:31245", "10.0.0.2:80")] },
  { name: "from named port", rule: { srcNamedPortIpSetIds: ["setA"] }, sets: NAMED, allowed: [udp("123.0.0.1:1024", "10.0.0.2:12345"), tcp("10.0.0.2:80", "10.0.0.1:31245")], dropped: [tcp("10.0.0.2:8080", "11.0.0.1:12345"), udp("10.0.0.2:80", "10.0.0.1:31245"), tcp("10.0.0.1:31245", "10.0.0.2:80")] },
  { name: "to !named port", rule: { protocol: 6, notDstNamedPortIpSetIds: ["setB"] }, sets: NAMED, allowed: [tcp("10.0.0.1:1", "10.0.0.2:81"), tcp("10.0.0.1:1", "10.0.0.3:80")], dropped: [tcp("10.0.0.1:1", "10.0.0.2:80")] },
  { name: "named port on IPv6", rule: { dstNamedPortIpSetIds: ["v6"] }, sets: [ipSet("v6", "ip-port", ["fd00::1,udp:53"])], allowed: [udp("[fd00::2]:1", "[fd00::1]:53")], dropped: [tcp("[fd00::2]:1", "[fd00::1]:53"), udp("[fd00::2]:1", "[fd00::3]:53")] },
  { name: "dst_ip_port_set_ids are all-of on (dst ip, proto, dst port)", rule: { dstIpPortSetIds: ["svc1", "svc2"] }, sets: [ipSet("svc1", "ip-port", ["10.96.0.10,udp:53", "10.96.0.10,tcp:53"]), ipSet("svc2", "ip-port", ["10.96.0.10,udp:53"])], allowed: [udp("10.0.0.1:1", "10.96.0.10:53")], dropped: [tcp("10.0.0.1:1", "10.96.0.10:53"), udp("10.0.0.1:1", "10.96.0.11:53"), raw(253, "10.0.0.1", "10.96.0.10")] },
  // ICMP.
  { name: "icmp type 8", rule: { icmp: { type: 8, hasCode: false, code: 0 } }, allowed: [icmp("10.0.0.1", "10.0.0.2", 8, 0), icmp("10.0.0.1", "10.0.0.2", 8, 5)], dropped: [raw(253, "11.0.0.2", "10.0.0.2"), icmp("10.0.0.1", "10.0.0.2", 10, 0), tcp("10.0.0.1:8", "10.0.0.2:8")] },
  { name: "icmp type 8 code 3", rule: { icmp: { type: 8, hasCode: true, code: 3 } }, allowed: [icmp("10.0.0.1", "10.0.0.2", 8, 3)], dropped: [icmp("10.0.0.1", "10.0.0.2", 10, 0), icmp("10.0.0.1", "10.0.0.2", 10, 3), icmp("10.0.0.1", "10.0.0.2", 8, 4)] },
  { name: "icmp type not 8", rule: { notIcmp: { type: 8, hasCode: false, code: 0 } }, allowed: [icmp("10.0.0.1", "10.0.0.2", 10, 0)], dropped: [icmp("10.0.0.1", "10.0.0.2", 8, 0), tcp("10.0.0.1:1", "10.0.0.2:2"), raw(253, "10.0.0.1", "10.0.0.2")] },
  { name: "icmp not (type 8 and code 3)", rule: { notIcmp: { type: 8, hasCode: true, code: 3 } }, allowed: [icmp("10.0.0.1", "10.0.0.2", 10, 0), icmp("10.0.0.1", "10.0.0.2", 8, 4), icmp("10.0.0.1", "10.0.0.2", 10, 3)], dropped: [icmp("10.0.0.1", "10.0.0.2", 8, 3)] },
  { name: "icmpv6 type 128 (echo request) on IPv6", rule: { protocol: 58, icmp: { type: 128, hasCode: false, code: 0 } }, allowed: [icmp("fd00::1", "fd00::2", 128, 0)], dropped: [icmp("fd00::1", "fd00::2", 129, 0), raw(1, "fd00::1", "fd00::2")] },
];

describe("match semantics", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const r = allow(c.rule);
    for (const p of c.allowed) expect([JSON.stringify(p), outcomeOf(r, c.sets ?? [], p)]).toEqual([JSON.stringify(p), "allow/allow"]);
    for (const p of c.dropped) expect([JSON.stringify(p), outcomeOf(r, c.sets ?? [], p)]).toEqual([JSON.stringify(p), "deny/end-of-tier"]);
  });
});
