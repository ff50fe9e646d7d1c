/**
 * Tiers, policies, profiles and their actions (felix-protocol.md §3.5), modelled on Felix's
 * pol_prog_test flow-control cases. Every verdict is computed by the evaluator and by the
 * compiled program, and both must agree (agreedVerdict).
 */
import type { IpSet, Policy, Profile, WorkloadEndpoint } from "@ptables/api";
import { RuleAction } from "@ptables/api";
import { createModelLookup, type Direction, type Packet, type Verdict } from "../index";
import { agreedVerdict, allow, deny, icmp, ipSet, log, pass, policy, profile, raw, rule, tcp, tier, udp, workload } from "../testing";

function endpoint(model: { policies?: Policy[]; profiles?: Profile[]; ipSets?: IpSet[] }, ep: Partial<WorkloadEndpoint>) {
  const lookup = createModelLookup(model);
  const target = { kind: "workload", endpoint: workload(ep) } as const;
  return (packet: Packet, direction: Direction = "ingress"): Verdict => agreedVerdict(lookup, target, direction, packet);
}
const outcome = (v: Verdict): string => `${v.verdict}/${v.reason}`;

const V4 = [tcp("10.0.0.1:31245", "10.0.0.2:80"), tcp("10.0.0.2:80", "10.0.0.1:31245"), icmp("10.0.0.1", "10.0.0.2"), raw(253, "10.0.0.1", "10.0.0.2")];
const V6 = [tcp("[ff02::1]:31245", "[ff02::2]:80"), udp("[ff02::1]:80", "[ff02::2]:31245"), icmp("ff02::1", "ff02::2"), raw(253, "ff02::1", "ff02::2")];
const ALL = [...V4, ...V6];

describe("tiers and actions", () => {
  test("no tiers and no profiles drops everything", () => {
    const check = endpoint({}, {});
    for (const p of ALL) for (const d of ["ingress", "egress"] as const) expect(outcome(check(p, d))).toBe("deny/no-profile-match");
  });

  test("a tier without policies for the direction has no impact, even with default deny", () => {
    const p = policy("allow-all", { inbound: [allow()] });
    const onlyEgress = policy("egress-only", { outbound: [deny()] });
    const check = endpoint({ policies: [p, onlyEgress] }, { tiers: [tier("empty"), tier("egress", { egress: [onlyEgress] }), tier("allow", { ingress: [p] })] });
    for (const pkt of ALL) expect(check(pkt)).toMatchObject({ verdict: "allow", tier: "allow", policy: "GlobalNetworkPolicy//allow-all", ruleIndex: 0 });
    // Egress, the egress-only tier decides.
    expect(outcome(check(V4[0]!, "egress"))).toBe("deny/policy-deny");
  });

  test("unreachable tier: an allow in an earlier tier wins", () => {
    const a = policy("allow-all", { inbound: [allow()] });
    const d = policy("deny-all", { inbound: [deny()] });
    const check = endpoint({ policies: [a, d] }, { tiers: [tier("first", { ingress: [a] }), tier("unreachable", { ingress: [d] })] });
    for (const pkt of ALL) expect(check(pkt)).toMatchObject({ verdict: "allow", tier: "first" });
  });

  test("pass to nowhere drops (no later tier, no profile)", () => {
    const p = policy("pass", { inbound: [pass()] });
    const check = endpoint({ policies: [p] }, { tiers: [tier("pass", { ingress: [p] })] });
    for (const pkt of ALL) expect(outcome(check(pkt))).toBe("deny/no-profile-match");
  });

  test("pass skips the rest of the tier, including its end-of-tier drop: pass to allow / pass to deny", () => {
    const passThenDeny = policy("pass-then-deny", { inbound: [pass(), deny()] });
    const passThenAllow = policy("pass-then-allow", { inbound: [pass(), allow()] });
    const a = policy("allow-all", { inbound: [allow()] });
    const d = policy("deny-all", { inbound: [deny()] });
    const toAllow = endpoint({ policies: [passThenDeny, a] }, { tiers: [tier("pass", { ingress: [passThenDeny] }), tier("allow", { ingress: [a] })] });
    const toDeny = endpoint({ policies: [passThenAllow, d] }, { tiers: [tier("pass", { ingress: [passThenAllow] }), tier("deny", { ingress: [d] })] });
    for (const pkt of ALL) {
      expect(check2(toAllow(pkt))).toBe("allow/allow@allow");
      expect(check2(toDeny(pkt))).toBe("deny/policy-deny@deny");
    }
    function check2(v: Verdict): string {
      return `${outcome(v)}@${v.tier}`;
    }
  });

  test("explicit allow and explicit deny", () => {
    const a = policy("a", { inbound: [allow()] });
    const d = policy("d", { inbound: [deny()] });
    const allowed = endpoint({ policies: [a] }, { tiers: [tier("t", { ingress: [a] })] });
    const denied = endpoint({ policies: [d] }, { tiers: [tier("t", { ingress: [d] })] });
    for (const pkt of ALL) {
      expect(outcome(allowed(pkt))).toBe("allow/allow");
      expect(denied(pkt)).toMatchObject({ verdict: "deny", reason: "policy-deny", tier: "t", policy: "GlobalNetworkPolicy//d", ruleIndex: 0 });
    }
  });

  test("log records and continues; the next rule decides", () => {
    const p = policy("p", { inbound: [log(), log({ protocol: 17 }), allow()] });
    const v = endpoint({ policies: [p] }, { tiers: [tier("t", { ingress: [p] })] })(V4[0]!);
    expect(v).toMatchObject({ verdict: "allow", ruleIndex: 2 });
    expect(v.steps.filter((s) => s.includes("log, continue"))).toHaveLength(1);
  });

  test("an unspecified action is an allow, as in Felix's iptables renderer", () => {
    const p = policy("p", { inbound: [rule({ action: RuleAction.RULE_ACTION_UNSPECIFIED })] });
    expect(outcome(endpoint({ policies: [p] }, { tiers: [tier("t", { ingress: [p] })] })(V4[0]!))).toBe("allow/allow");
  });

  test("policies run in order; a policy with no matching rule falls through to the next", () => {
    const udpOnly = policy("udp-only", { inbound: [allow({ protocol: 17 })] });
    const tcpDeny = policy("tcp-deny", { inbound: [deny({ protocol: 6 })] });
    const check = endpoint({ policies: [udpOnly, tcpDeny] }, { tiers: [tier("t", { ingress: [udpOnly, tcpDeny] })] });
    expect(check(udp("10.0.0.1:1", "10.0.0.2:53"))).toMatchObject({ verdict: "allow", policy: "GlobalNetworkPolicy//udp-only" });
    expect(check(tcp("10.0.0.1:1", "10.0.0.2:80"))).toMatchObject({ verdict: "deny", reason: "policy-deny", policy: "GlobalNetworkPolicy//tcp-deny" });
    expect(check(icmp("10.0.0.1", "10.0.0.2"))).toMatchObject({ verdict: "deny", reason: "end-of-tier", tier: "t" });
  });

  test("end of tier: default deny drops and profiles are never reached; default pass goes on", () => {
    const p = policy("udp-only", { inbound: [allow({ protocol: 17 })] });
    const profiles = [profile("kns.default", [allow()], [allow()])];
    const denyTier = endpoint({ policies: [p], profiles }, { tiers: [tier("tier1", { ingress: [p] })], profileIds: ["kns.default"] });
    const passTier = endpoint({ policies: [p], profiles }, { tiers: [tier("tier1", { ingress: [p], defaultAction: "pass" })], profileIds: ["kns.default"] });
    expect(denyTier(V4[0]!)).toMatchObject({ verdict: "deny", reason: "end-of-tier", tier: "tier1" });
    expect(passTier(V4[0]!)).toMatchObject({ verdict: "allow", profile: "kns.default", ruleIndex: 0 });
  });

  test("ingress uses inbound rules, egress uses outbound rules", () => {
    const p = policy("p", { inbound: [allow()], outbound: [deny()] });
    const check = endpoint({ policies: [p] }, { tiers: [tier("t", { ingress: [p], egress: [p] })] });
    expect(outcome(check(V4[0]!, "ingress"))).toBe("allow/allow");
    expect(outcome(check(V4[0]!, "egress"))).toBe("deny/policy-deny");
  });

  test("admin down drops everything, whatever the policy", () => {
    const p = policy("p", { inbound: [allow()], outbound: [allow()] });
    const check = endpoint({ policies: [p] }, { adminUp: false, tiers: [tier("t", { ingress: [p], egress: [p] })] });
    for (const pkt of ALL) for (const d of ["ingress", "egress"] as const) expect(outcome(check(pkt, d))).toBe("deny/admin-down");
  });
});

describe("staged policies", () => {
  test("are never enforced: a staged deny does not drop, a staged allow does not allow", () => {
    const stagedDeny = policy("sd", { kind: "StagedNetworkPolicy", namespace: "ns", inbound: [deny()] });
    const stagedAllow = policy("sa", { kind: "StagedGlobalNetworkPolicy", inbound: [allow()] });
    const a = policy("a", { inbound: [allow()] });
    const check = endpoint({ policies: [stagedDeny, stagedAllow, a] }, { tiers: [tier("t", { ingress: [stagedDeny, stagedAllow, a] })] });
    expect(check(V4[0]!)).toMatchObject({ verdict: "allow", policy: "GlobalNetworkPolicy//a" });
  });

  test("a tier with only staged policies never drops, whatever its default", () => {
    const staged = policy("s", { kind: "StagedKubernetesNetworkPolicy", namespace: "ns", inbound: [deny()] });
    const check = endpoint({ policies: [staged], profiles: [profile("kns.ns", [allow()])] }, { tiers: [tier("t", { ingress: [staged] })], profileIds: ["kns.ns"] });
    expect(check(V4[0]!)).toMatchObject({ verdict: "allow", profile: "kns.ns" });
  });

  test("one staged and one enforced policy: the enforced one makes the tier drop at its end", () => {
    const staged = policy("s", { kind: "StagedNetworkPolicy", namespace: "ns", inbound: [allow()] });
    const enforced = policy("e", { inbound: [allow({ protocol: 17 })] });
    const check = endpoint({ policies: [staged, enforced] }, { tiers: [tier("t", { ingress: [staged, enforced] })] });
    expect(outcome(check(V4[0]!))).toBe("deny/end-of-tier");
  });

  test("the staged flag alone is honoured, and a staged key needs no policy behind it", () => {
    const flagged = policy("f", { inbound: [deny()], staged: true });
    const check = endpoint({ policies: [flagged], profiles: [profile("kns.ns", [allow()])] }, { tiers: [tier("t", { ingress: [flagged, "StagedNetworkPolicy/ns/unknown"] })], profileIds: ["kns.ns"] });
    expect(outcome(check(V4[0]!))).toBe("allow/allow");
  });
});

describe("profiles", () => {
  const profiles = [
    profile("udp-allow", [allow({ protocol: 17 })]),
    profile("tcp-deny", [log(), deny({ protocol: 6 })]),
    profile("pass-icmp", [pass({ protocol: 1 }), deny({ protocol: 1 })]),
    profile("allow-all", [allow()]),
  ];

  test("first allow wins; a deny drops; no allowing profile drops", () => {
    const check = endpoint({ profiles }, { profileIds: ["udp-allow", "tcp-deny"] });
    expect(check(udp("10.0.0.1:1", "10.0.0.2:53"))).toMatchObject({ verdict: "allow", profile: "udp-allow", ruleIndex: 0 });
    expect(check(tcp("10.0.0.1:1", "10.0.0.2:80"))).toMatchObject({ verdict: "deny", reason: "policy-deny", profile: "tcp-deny", ruleIndex: 1 });
    expect(outcome(check(icmp("10.0.0.1", "10.0.0.2")))).toBe("deny/no-profile-match");
  });

  test("pass inside a profile moves on to the next profile (iptables semantics)", () => {
    const ping = icmp("10.0.0.1", "10.0.0.2");
    expect(endpoint({ profiles }, { profileIds: ["pass-icmp", "allow-all"] })(ping)).toMatchObject({ verdict: "allow", profile: "allow-all" });
    // Without the pass the profile's own deny would have dropped it.
    expect(endpoint({ profiles }, { profileIds: ["pass-icmp"] })(tcp("10.0.0.1:1", "10.0.0.2:80"))).toMatchObject({ reason: "no-profile-match" });
    expect(outcome(endpoint({ profiles }, { profileIds: ["pass-icmp"] })(ping))).toBe("deny/no-profile-match");
  });
});

describe("a policy the datapath could not program drops with program-error", () => {
  type Model = { policies?: Policy[]; profiles?: Profile[]; ipSets?: IpSet[] };
  const withRule = (r: ReturnType<typeof allow>, ipSets: IpSet[] = []): [Model, Partial<WorkloadEndpoint>] => {
    const p = policy("p", { inbound: [r] });
    return [{ policies: [p], ipSets }, { tiers: [tier("t", { ingress: [p] })] }];
  };
  const cases: Array<[string, [Model, Partial<WorkloadEndpoint>], string]> = [
    ["an unknown policy", [{}, { tiers: [tier("t", { ingress: ["GlobalNetworkPolicy//nope"] })] }], "tier t: policy GlobalNetworkPolicy//nope is not known"],
    ["an unknown profile", [{}, { profileIds: ["kns.gone"] }], "profile kns.gone: is not known"],
    ["an unknown ip set", withRule(allow({ srcIpSetIds: ["s:x"] })), "src_ip_set_ids names ip set s:x, which is not known"],
    ["a named-port position naming a NET set", withRule(allow({ dstNamedPortIpSetIds: ["s:n"] }), [ipSet("s:n", "net", [])]), "not an IP_AND_PORT set"],
    ["an address position naming an IP_AND_PORT set", withRule(allow({ dstIpSetIds: ["n:p"] }), [ipSet("n:p", "ip-port", [])]), "an IP_AND_PORT set, where an address set is needed"],
    ["a bad CIDR", withRule(deny({ srcNets: ["10.0.0.0/33"] })), 'policy GlobalNetworkPolicy//p inbound rule 0: src_nets "10.0.0.0/33" is not a CIDR'],
    ["a bad port range", withRule(deny({ dstPorts: [{ first: 90, last: 80 }] })), "dst_ports[0] 90-80 is not a port range"],
    ["a bad protocol", withRule(deny({ protocol: 256 })), "protocol 256 is not 0..255"],
  ];
  test.each(cases)("%s", (_name, [model, ep], message) => {
    const v = endpoint(model, ep)(V4[0]!);
    expect(outcome(v)).toBe("deny/program-error");
    expect(v.steps.join("\n")).toContain(message);
  });
});
