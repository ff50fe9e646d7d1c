/**
 * Host endpoint hooks (felix-protocol.md §3.6), after Felix's host pol_prog cases: normal policy
 * with profiles, forward (allowed by default, no profiles), untracked and pre-DNAT (default
 * pass, no profiles, "continue" when nothing decides; pre-DNAT ingress only).
 */
import type { HostEndpoint, Policy, Profile } from "@ptables/api";
import { createModelLookup, type Direction, type HostHook, type Packet, type Verdict } from "../index";
import { agreedVerdict, allow, deny, hostEndpoint, pass, policy, profile, tier, udp } from "../testing";

/** Felix's allowDestElseDeny: allow to `cidr`, deny the rest. */
const allowDestElseDeny = (name: string, cidr: string, opts: { untracked?: boolean; preDnat?: boolean } = {}): Policy =>
  policy(name, { inbound: [allow({ dstNets: [cidr] }), deny()], outbound: [allow({ dstNets: [cidr] }), deny()], ...opts });

function check(hep: Partial<HostEndpoint>, policies: Policy[], profiles: Profile[] = []) {
  const lookup = createModelLookup({ policies, profiles });
  const endpoint = hostEndpoint(hep);
  return (hook: HostHook, direction: Direction, packet: Packet): string => {
    const v: Verdict = agreedVerdict(lookup, { kind: "host", endpoint, hook }, direction, packet);
    return `${v.verdict}/${v.reason}`;
  };
}

const toService = udp("123.0.0.1:1024", "10.96.0.10:53");
const toOther = udp("123.0.0.1:1024", "10.96.0.11:53");

describe("host endpoint hooks", () => {
  test("no policy: the host's own traffic is dropped, forwarded traffic allowed, the early hooks continue", () => {
    const run = check({}, []);
    for (const d of ["ingress", "egress"] as const) {
      expect(run("normal", d, toService)).toBe("deny/no-profile-match");
      expect(run("forward", d, toService)).toBe("allow/no-decision");
      expect(run("untracked", d, toService)).toBe("continue/no-decision");
      expect(run("pre-dnat", d, toService)).toBe("continue/no-decision");
    }
  });

  test("normal policy, then profiles, then drop", () => {
    const p = allowDestElseDeny("p1", "10.96.0.10/32");
    const run = check({ tiers: [tier("default", { ingress: [p], egress: [p] })] }, [p]);
    expect(run("normal", "ingress", toService)).toBe("allow/allow");
    expect(run("normal", "egress", toOther)).toBe("deny/policy-deny");
    const passAll = policy("pass-all", { inbound: [pass()] });
    const profiles = [profile("allow-dns", [allow({ dstNets: ["10.96.0.10/32"] })])];
    const viaProfiles = check({ tiers: [tier("default", { ingress: [passAll] })], profileIds: ["allow-dns"] }, [passAll], profiles);
    expect(viaProfiles("normal", "ingress", toService)).toBe("allow/allow");
    expect(viaProfiles("normal", "ingress", toOther)).toBe("deny/no-profile-match");
  });

  test("pre-DNAT: ingress only, default pass, a deny drops, no decision continues", () => {
    const p = allowDestElseDeny("p1", "10.96.0.10/32", { preDnat: true });
    const run = check({ preDnatTiers: [tier("default", { ingress: [p], defaultAction: "pass" })] }, [p]);
    expect(run("pre-dnat", "ingress", toService)).toBe("allow/allow");
    expect(run("pre-dnat", "ingress", toOther)).toBe("deny/policy-deny");
    expect(run("pre-dnat", "egress", toOther)).toBe("continue/no-decision");
    // Pre-DNAT policy does not leak into the other hooks.
    expect(run("normal", "ingress", toService)).toBe("deny/no-profile-match");
  });

  test("pre-DNAT and untracked tiers never drop at their end, even when marked default deny", () => {
    const narrow = policy("narrow", { inbound: [allow({ protocol: 6 })], outbound: [allow({ protocol: 6 })] });
    const run = check({ preDnatTiers: [tier("d", { ingress: [narrow] })], untrackedTiers: [tier("u", { ingress: [narrow], egress: [narrow] })] }, [narrow]);
    expect(run("pre-dnat", "ingress", toService)).toBe("continue/no-decision");
    expect(run("untracked", "ingress", toService)).toBe("continue/no-decision");
    expect(run("untracked", "egress", toService)).toBe("continue/no-decision");
  });

  test("untracked: both directions; allow and deny decide", () => {
    const p = allowDestElseDeny("p1", "10.96.0.10/32", { untracked: true });
    const run = check({ untrackedTiers: [tier("default", { ingress: [p], egress: [p], defaultAction: "pass" })] }, [p]);
    for (const d of ["ingress", "egress"] as const) {
      expect(run("untracked", d, toService)).toBe("allow/allow");
      expect(run("untracked", d, toOther)).toBe("deny/policy-deny");
    }
  });

  test("apply-on-forward: the tier's real default applies; profiles do not", () => {
    const p = policy("aof", { inbound: [allow({ dstNets: ["10.96.0.10/32"] })] });
    const run = check({ forwardTiers: [tier("default", { ingress: [p] })], profileIds: ["deny-all"] }, [p], [profile("deny-all", [deny()], [deny()])]);
    expect(run("forward", "ingress", toService)).toBe("allow/allow");
    expect(run("forward", "ingress", toOther)).toBe("deny/end-of-tier");
    // No forward policy for egress: forwarded traffic is allowed, the deny-all profile ignored.
    expect(run("forward", "egress", toOther)).toBe("allow/no-decision");
    const passing = check({ forwardTiers: [tier("default", { ingress: [p], defaultAction: "pass" })] }, [p]);
    expect(passing("forward", "ingress", toOther)).toBe("allow/no-decision");
  });

  test("AoF + normal: forward and host traffic are judged by their own tiers", () => {
    const aof = policy("aof", { inbound: [allow({ dstNets: ["10.96.0.10/32"] })] });
    const normal = policy("normal", { inbound: [allow({ dstNets: ["10.96.0.11/32"] })] });
    const run = check({ tiers: [tier("default", { ingress: [normal] })], forwardTiers: [tier("default", { ingress: [aof] })] }, [aof, normal]);
    expect(run("forward", "ingress", toService)).toBe("allow/allow");
    expect(run("forward", "ingress", toOther)).toBe("deny/end-of-tier");
    expect(run("normal", "ingress", toOther)).toBe("allow/allow");
    expect(run("normal", "ingress", toService)).toBe("deny/end-of-tier");
  });
});
