import { DpAction, DropReason, IpVersion, MAX_SET_REFS, NotSupportedError, ValidationError, type CompiledRule } from "@ptables/api";
import { compileHostEndpointPrograms, compileWorkloadProgram, createModelLookup, ipSetNumericId, netSetId, portSetId, ruleCounterId } from "../index";
import { allow, deny, hostEndpoint, ipSet, log, pass, policy, profile, tier, workload } from "../testing";

const CAPS = { maxRulesPerProgram: 1000 };
/** "Allow", "Deny:EndOfTier", "Jump->4": a program's control flow at a glance. */
function shape(rules: CompiledRule[]): string[] {
  return rules.map((r) => {
    if (r.action === DpAction.Jump) return `Jump->${r.jump}`;
    if (r.action === DpAction.Deny) return `Deny:${DropReason[r.reason]}`;
    return DpAction[r.action];
  });
}

describe("program layout", () => {
  const p1 = policy("p1", { inbound: [allow({ protocol: 6 }), pass({ protocol: 17 }), deny()] });
  const p2 = policy("p2", { inbound: [log()] });
  const staged = policy("s", { kind: "StagedNetworkPolicy", namespace: "ns", inbound: [deny()] });
  const egressOnly = policy("e", { outbound: [deny()] });
  const profA = profile("a", [pass({ protocol: 1 }), allow({ protocol: 17 })]);
  const profB = profile("b", [deny()]);
  const lookup = createModelLookup({ policies: [p1, p2, staged, egressOnly], profiles: [profA, profB] });
  const ep = workload({
    tiers: [tier("t1", { ingress: [p1] }), tier("t2", { ingress: [p2], defaultAction: "pass" }), tier("staged", { ingress: [staged] }), tier("egress", { egress: [egressOnly] })],
    profileIds: ["a", "b"],
  });

  test("tiers, tier ends, profiles and the final drop, with jumps to the right places", () => {
    const prog = compileWorkloadProgram(ep, "ingress", lookup, CAPS);
    expect(shape(prog.rules)).toEqual([
      "Allow", // p1 rule 0
      "Jump->4", // p1 rule 1: pass -> first rule after tier t1 (past its end drop)
      "Deny:PolicyDeny", // p1 rule 2
      "Deny:EndOfTier", // t1 default deny
      "Log", // p2 rule 0; t2 default pass: no end drop; staged-only and egress-only tiers: nothing
      "Jump->7", // profile a rule 0: pass -> profile b
      "Allow", // profile a rule 1
      "Deny:PolicyDeny", // profile b rule 0
      "Deny:NoProfileMatch",
    ]);
    expect(prog.rules[0]).toMatchObject({ proto: 7, ipVersion: 0 });
    expect(prog.rules[5]).toMatchObject({ proto: 2, ipVersion: 4 });
  });

  test("every policy and profile rule has a counter naming it; control rules have none", () => {
    const prog = compileWorkloadProgram(ep, "ingress", lookup, CAPS);
    const named = prog.rules.map((r) => (r.counterId === 0n ? "-" : JSON.stringify(prog.counters.get(r.counterId))));
    expect(named[0]).toBe(JSON.stringify({ policy: "GlobalNetworkPolicy//p1", tier: "t1", ruleIndex: 0, ruleId: "", direction: "ingress" }));
    expect(named[3]).toBe("-");
    expect(named[5]).toBe(JSON.stringify({ profile: "a", ruleIndex: 0, ruleId: "", direction: "ingress" }));
    expect(named[8]).toBe("-");
    expect(prog.counters.size).toBe(7);
    expect(prog.rules[0]!.counterId).toBe(ruleCounterId("policy:GlobalNetworkPolicy//p1", "ingress", 0, ""));
    // Same rule, same counter, on every compile and every endpoint.
    const again = compileWorkloadProgram(workload({ key: "k8s/x/y/eth0", tiers: ep.tiers, profileIds: ep.profileIds }), "ingress", lookup, CAPS);
    expect(again.rules.map((r) => r.counterId)).toEqual(prog.rules.map((r) => r.counterId));
  });

  test("egress compiles the outbound rules", () => {
    expect(shape(compileWorkloadProgram(ep, "egress", lookup, CAPS).rules)).toEqual(["Deny:PolicyDeny", "Deny:EndOfTier", "Deny:NoProfileMatch"]);
  });

  test("admin down compiles to the single AdminDown drop", () => {
    expect(shape(compileWorkloadProgram({ ...ep, adminUp: false }, "ingress", lookup, CAPS).rules)).toEqual(["Deny:AdminDown"]);
  });

  test("host endpoint programs end as their hooks require", () => {
    const p = policy("h", { inbound: [allow({ protocol: 6 })], outbound: [allow({ protocol: 6 })] });
    const progs = compileHostEndpointPrograms(
      hostEndpoint({ tiers: [tier("t", { ingress: [p] })], untrackedTiers: [tier("u", { ingress: [p] })], preDnatTiers: [tier("d", { ingress: [p] })], forwardTiers: [tier("f", { ingress: [p] })], profileIds: ["b"] }),
      createModelLookup({ policies: [p], profiles: [profB] }),
      CAPS,
    );
    expect(shape(progs.normal.ingress.rules)).toEqual(["Allow", "Deny:EndOfTier", "Deny:PolicyDeny", "Deny:NoProfileMatch"]);
    expect(shape(progs.untracked.ingress.rules)).toEqual(["Allow"]);
    expect(shape(progs.untracked.egress.rules)).toEqual([]);
    expect(shape(progs.preDnat.ingress.rules)).toEqual(["Allow"]);
    expect(shape(progs.forward.ingress.rules)).toEqual(["Allow", "Deny:EndOfTier", "Allow"]);
    expect(shape(progs.forward.egress.rules)).toEqual(["Allow"]);
  });
});

describe("rule fields", () => {
  const compileOne = (r: ReturnType<typeof allow>, sets = [ipSet("s:a", "net", []), ipSet("n:a", "ip-port", [])]) => {
    const p = policy("p", { inbound: [r] });
    return compileWorkloadProgram(workload({ tiers: [tier("t", { ingress: [p] })] }), "ingress", createModelLookup({ policies: [p], ipSets: sets }), CAPS);
  };

  test("CIDR lists become canonical net sets of the rule's families; the rule's ipVersion follows", () => {
    const prog = compileOne(allow({ srcNets: ["10.0.0.5/24", "fd00::1/8"], notDstNets: ["10.9.9.9/32"] }));
    const r = prog.rules[0]!;
    expect(r.ipVersion).toBe(4);
    expect(prog.netSets.get(r.srcNet)).toEqual(["10.0.0.0/24"]);
    expect(r.srcNet).toBe(netSetId(["10.0.0.0/24"]));
    expect(prog.netSets.get(r.notDstNet)).toEqual(["10.9.9.9/32"]);
    const both = compileOne(allow({ srcNets: ["fd00::/8", "10.0.0.0/8"] }));
    expect(both.rules[0]!.ipVersion).toBe(0);
    expect(both.netSets.get(both.rules[0]!.srcNet)).toEqual(["10.0.0.0/8", "fd00::/8"]);
  });

  test("a rule that can match no family is omitted", () => {
    expect(shape(compileOne(allow({ notSrcNets: ["0.0.0.0/0"] })).rules)).toEqual(["Deny:EndOfTier", "Deny:NoProfileMatch"]);
    expect(shape(compileOne(allow({ ipVersion: IpVersion.IP_VERSION_V6, dstNets: ["10.0.0.0/8"] })).rules)).toEqual(["Deny:EndOfTier", "Deny:NoProfileMatch"]);
  });

  test("protocol, ports, sets and icmp are encoded as the datapath reads them", () => {
    const prog = compileOne(
      allow({ protocol: 0, notProtocol: 17, dstPorts: [{ first: 81, last: 90 }, { first: 80, last: 80 }], srcIpSetIds: ["s:a", "s:a"], dstNamedPortIpSetIds: ["n:a"], icmp: { type: 0, hasCode: true, code: 0 }, notIcmp: { type: 8, hasCode: false, code: 0 } }),
    );
    const r = prog.rules[0]!;
    expect(r).toMatchObject({ proto: 1, notProto: 18, icmpType: 1, icmpCode: 1, notIcmpType: 9, notIcmpCode: 0 });
    expect(r.dstPorts).toBe(portSetId([{ first: 80, last: 90 }]));
    expect(prog.portSets.get(r.dstPorts)).toEqual([{ first: 80, last: 90 }]);
    expect(r.srcSets).toEqual([ipSetNumericId("s:a")]);
    expect(r.dstNamedPorts).toEqual([ipSetNumericId("n:a")]);
    expect([...prog.ipSetsUsed].sort()).toEqual(["n:a", "s:a"]);
  });
});

describe("limits and errors", () => {
  const manyRules = (n: number) => policy("big", { inbound: Array.from({ length: n }, (_, i) => deny({ protocol: i % 250, ruleId: `id${i}` })) });

  test("a program over maxRulesPerProgram is NotSupported, naming the policy and rule; at the limit it fits", () => {
    const p = manyRules(9);
    const ep = workload({ tiers: [tier("t", { ingress: [p] })] });
    const lookup = createModelLookup({ policies: [p] });
    expect(compileWorkloadProgram(ep, "ingress", lookup, { maxRulesPerProgram: 11 }).rules).toHaveLength(11);
    const err = catchError(() => compileWorkloadProgram(ep, "ingress", lookup, { maxRulesPerProgram: 5 }));
    expect(err).toBeInstanceOf(NotSupportedError);
    expect(err.message).toContain("policy GlobalNetworkPolicy//big inbound rule 5 (id id5)");
    expect(catchError(() => compileWorkloadProgram(ep, "ingress", lookup, { maxRulesPerProgram: 10 })).message).toContain("the final no-profile-match drop");
  });

  test(`more than MAX_SET_REFS (${MAX_SET_REFS}) sets in one list is NotSupported; duplicates count once`, () => {
    const sets = ["a", "b", "c", "d", "e"].map((x) => ipSet(`s:${x}`, "net", []));
    const compile = (ids: string[]) => {
      const p = policy("p", { outbound: [allow({ ipVersion: IpVersion.IP_VERSION_V4 }), allow({ notDstIpSetIds: ids, ruleId: "r1" })] });
      return () => compileWorkloadProgram(workload({ tiers: [tier("t", { egress: [p] })] }), "egress", createModelLookup({ policies: [p], ipSets: sets }), CAPS);
    };
    expect(compile(["s:a", "s:b", "s:c", "s:d", "s:a"])().rules[1]!.notDstSets).toHaveLength(4);
    const err = catchError(compile(sets.map((s) => s.id)));
    expect(err).toBeInstanceOf(NotSupportedError);
    expect(err.message).toBe("set references: policy GlobalNetworkPolicy//p outbound rule 1 (id r1): not_dst_ip_set_ids names 5 ip sets; the datapath takes at most 4");
  });

  test("bad references and bad rules are ValidationErrors naming where", () => {
    const p = policy("p", { inbound: [allow(), allow({ dstIpPortSetIds: ["svc:x"] })] });
    const ep = workload({ tiers: [tier("t", { ingress: [p, "NetworkPolicy/ns/missing"] })], profileIds: ["gone"] });
    const e1 = catchError(() => compileWorkloadProgram(ep, "ingress", createModelLookup({ policies: [p] }), CAPS));
    expect(e1).toBeInstanceOf(ValidationError);
    expect(e1.message).toBe("policy GlobalNetworkPolicy//p inbound rule 1: dst_ip_port_set_ids names ip set svc:x, which is not known");
    const e2 = catchError(() => compileWorkloadProgram(ep, "ingress", createModelLookup({ policies: [p], ipSets: [ipSet("svc:x", "ip-port", [])] }), CAPS));
    expect(e2.message).toBe("tier t: policy NetworkPolicy/ns/missing is not known");
    const e3 = catchError(() => compileWorkloadProgram(ep, "bogus" as "ingress", createModelLookup({}), CAPS));
    expect(e3.message).toBe('direction: "bogus" is not ingress or egress');
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}
