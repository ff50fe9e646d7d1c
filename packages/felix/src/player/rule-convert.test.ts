import { felix } from "@ptables/proto";
import { makeUniqueId } from "./felix-ids";
import type { IpSetDef } from "./rule-convert";
import { convertRule, entityRuleSelector } from "./rule-convert";
import { readRule } from "./scenario-rules";
import { Selector } from "./selector";

/** Converts a rule written as in a scenario; returns the proto rule and the IP sets it needs. */
function convert(rule: unknown, namespace?: string): { rule: felix.Rule; sets: Map<string, IpSetDef> } {
  const sets = new Map<string, IpSetDef>();
  return { rule: convertRule(readRule(rule, "rule"), namespace, sets), sets };
}

const sid = (selector: string) => Selector.parse(selector).uniqueId();
const nid = (selector: string, proto: string, port: string) => makeUniqueId("n", `${sid(selector)},${proto},${port}`);

describe("named ports", () => {
  test("a named port replaces the side's selector set when the side has no numeric ports", () => {
    const { rule, sets } = convert({ action: "Allow", protocol: "TCP", destination: { selector: "app == 'web'", ports: ["http"] } });
    expect(rule.dstIpSetIds).toEqual([]);
    expect(rule.dstPorts).toEqual([]);
    expect(rule.dstNamedPortIpSetIds).toEqual([nid('app == "web"', "tcp", "http")]);
    expect([...sets.values()]).toEqual([expect.objectContaining({ kind: "namedPort", protocol: "tcp", portName: "http" })]);
    expect((sets.get(rule.dstNamedPortIpSetIds[0]) as { selector: Selector }).selector.toString()).toBe('app == "web"');
  });

  test("numeric ports keep the selector set next to the named-port set", () => {
    const { rule } = convert({ action: "Allow", protocol: "TCP", destination: { selector: "app == 'web'", ports: [80, "http"] } });
    expect(rule.dstIpSetIds).toEqual([sid("app == 'web'")]);
    expect(rule.dstPorts).toEqual([{ first: 80, last: 80 }]);
    expect(rule.dstNamedPortIpSetIds).toEqual([nid('app == "web"', "tcp", "http")]);
  });

  test("without a selector the named-port set covers all endpoints; UDP rules look up UDP ports", () => {
    const { rule } = convert({ action: "Allow", protocol: "UDP", destination: { ports: ["dns"] } });
    expect(rule.dstNamedPortIpSetIds).toEqual([nid("all()", "udp", "dns")]);
    expect(rule.dstIpSetIds).toEqual([]);
  });

  test("negated named ports are filtered by the positive selector and keep the selector set", () => {
    const { rule } = convert({ action: "Deny", protocol: "TCP", source: { selector: "app == 'a'", notPorts: ["admin"] } });
    expect(rule.notSrcNamedPortIpSetIds).toEqual([nid('app == "a"', "tcp", "admin")]);
    expect(rule.srcIpSetIds).toEqual([sid("app == 'a'")]);
  });
});

describe("selector rewriting", () => {
  test("rules of namespaced policies only select their own namespace", () => {
    expect(entityRuleSelector({ selector: "app == 'a'", nets: [], notNets: [], ports: [], notPorts: [] }, "demo")).toBe(
      "(projectcalico.org/namespace == 'demo') && (app == 'a')",
    );
    const { rule } = convert({ action: "Allow", source: { selector: "app == 'a'" } }, "demo");
    expect(rule.srcIpSetIds).toEqual([sid("projectcalico.org/namespace == 'demo' && app == 'a'")]);
    expect(rule.originalSrcSelector).toBe("app == 'a'");
  });

  test("a side without selectors matches anything, even in a namespaced policy", () => {
    const { rule } = convert({ action: "Allow", protocol: "TCP", destination: { ports: [80] } }, "demo");
    expect(rule.dstIpSetIds).toEqual([]);
  });

  test("namespaceSelector labels get the pcns. prefix; all() means any namespace", () => {
    const { rule } = convert({ action: "Allow", source: { namespaceSelector: "team == 'x'", selector: "app == 'a'" } }, "demo");
    expect(rule.srcIpSetIds).toEqual([sid("(pcns.team == 'x') && (app == 'a')")]);
    const all = convert({ action: "Allow", source: { namespaceSelector: "all()" } });
    expect(all.rule.srcIpSetIds).toEqual([sid("has(projectcalico.org/namespace)")]);
    const global = convert({ action: "Allow", source: { namespaceSelector: "global()" } }, "demo");
    expect(global.rule.srcIpSetIds).toEqual([sid("!has(projectcalico.org/namespace)")]);
  });

  test("serviceAccounts become pcsa. labels and service-account names", () => {
    const { rule } = convert({ action: "Allow", source: { serviceAccounts: { names: ["b", "a"], selector: "role == 'x'" } } });
    expect(rule.srcIpSetIds).toEqual([sid("(pcsa.role == 'x') && (projectcalico.org/serviceaccount in {'a', 'b'})")]);
    expect(rule.srcServiceAccountMatch).toEqual({ names: ["b", "a"], selector: "role == 'x'" });
  });

  test("a notSelector is folded into the positive selector when there is one", () => {
    const { rule } = convert({ action: "Allow", source: { selector: "app == 'a'", notSelector: "canary == 'y'" } });
    expect(rule.srcIpSetIds).toEqual([sid("(app == 'a') && (!(canary == 'y'))")]);
    expect(rule.notSrcIpSetIds).toEqual([]);
    expect(rule.originalNotSrcSelector).toBe("canary == 'y'");
  });

  test("a lone notSelector gets its own negated set, except in a namespaced policy", () => {
    expect(convert({ action: "Allow", source: { notSelector: "app == 'a'" } }).rule.notSrcIpSetIds).toEqual([sid("app == 'a'")]);
    const namespaced = convert({ action: "Allow", source: { notSelector: "app == 'a'" } }, "demo").rule;
    expect(namespaced.notSrcIpSetIds).toEqual([]);
    expect(namespaced.srcIpSetIds).toEqual([sid("(projectcalico.org/namespace == 'demo') && (!(app == 'a'))")]);
  });
});

describe("rule fields", () => {
  test("Pass becomes next-tier and actions are lower case", () => {
    expect(convert({ action: "Pass" }).rule.action).toBe("next-tier");
    expect(convert({ action: "Log" }).rule.action).toBe("log");
  });

  test("ICMP implies the IP version and fills the icmp oneof", () => {
    const v4 = convert({ action: "Allow", protocol: "ICMP", icmp: { type: 8, code: 0 } }).rule;
    expect(v4.ipVersion).toBe(felix.IPVersion.IPV4);
    expect(v4.protocol).toEqual({ numberOrName: { $case: "name", value: "icmp" } });
    expect(v4.icmp).toEqual({ $case: "icmpTypeCode", value: { type: 8, code: 0 } });
    const v6 = convert({ action: "Allow", protocol: "ICMPv6", notICMP: { type: 128 } }).rule;
    expect(v6.ipVersion).toBe(felix.IPVersion.IPV6);
    expect(v6.notIcmp).toEqual({ $case: "notIcmpType", value: 128 });
  });

  test("numeric protocols stay numbers; nets are normalised", () => {
    const { rule } = convert({ action: "Allow", protocol: 132, notProtocol: "UDPLite", source: { nets: ["10.1.2.3/16", "FD00::5"] }, destination: { notNets: ["0.0.0.0/0"] } });
    expect(rule.protocol).toEqual({ numberOrName: { $case: "number", value: 132 } });
    expect(rule.notProtocol).toEqual({ numberOrName: { $case: "name", value: "udplite" } });
    expect(rule.srcNet).toEqual(["10.1.0.0/16", "fd00::5/128"]);
    expect(rule.notDstNet).toEqual(["0.0.0.0/0"]);
    expect(rule.ipVersion).toBe(felix.IPVersion.ANY);
  });
});
