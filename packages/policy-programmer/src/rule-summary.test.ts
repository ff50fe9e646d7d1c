import { model } from "@ptables/proto";
import { actionName, matchSummary } from "./rule-summary";

const rule = (init: Parameters<typeof model.Rule.fromPartial>[0]) => model.Rule.fromPartial(init);

describe("rule summaries", () => {
  test("a rule with no match matches anything", () => {
    expect(matchSummary(rule({}))).toBe("any");
  });

  test("protocol, both sides with their negations, in Calico's order", () => {
    const r = rule({
      ipVersion: model.IpVersion.IP_VERSION_V4,
      protocol: 6,
      srcNets: ["10.0.0.0/8"],
      notSrcNets: ["10.1.0.0/16"],
      notSrcIpSetIds: ["s:bad"],
      dstPorts: [{ first: 80, last: 80 }, { first: 8000, last: 8080 }],
      notDstPorts: [{ first: 8001, last: 8001 }],
      dstNamedPortIpSetIds: ["n:http"],
      dstIpPortSetIds: ["svc:1"],
    });
    expect(matchSummary(r)).toBe("ipv4 tcp from net 10.0.0.0/8 !net 10.1.0.0/16 !set s:bad to port 80,8000-8080 !port 8001 named-port n:http ip-port-set svc:1");
  });

  test("ICMP: a type alone, or a type and code; negated; and a negated protocol", () => {
    expect(matchSummary(rule({ protocol: 1, icmp: { type: 8, hasCode: false, code: 0 } }))).toBe("icmp type 8");
    expect(matchSummary(rule({ protocol: 58, icmp: { type: 128, hasCode: true, code: 0 } }))).toBe("icmpv6 type 128 code 0");
    expect(matchSummary(rule({ notIcmp: { type: 3, hasCode: true, code: 4 } }))).toBe("!(type 3 code 4)");
    expect(matchSummary(rule({ notProtocol: 17, ipVersion: model.IpVersion.IP_VERSION_V6 }))).toBe("ipv6 !udp");
    expect(matchSummary(rule({ protocol: 47 }))).toBe("47");
  });

  test("actions are named as Calico names them", () => {
    expect([1, 2, 3, 4, 0].map((a) => actionName(a as model.RuleAction))).toEqual(["allow", "deny", "log", "pass", "unspecified"]);
  });
});
