import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { demoScenarioPath, loadScenario, parseScenario } from "./scenario";
import { ScenarioError } from "./validate";

const BASE = `
nodes: [{name: node-a, ip: 10.0.0.1}, {name: node-b}]
namespaces: [{name: demo}]
pods:
  - {name: a, namespace: demo, ips: [10.65.0.1]}
  - {name: b, namespace: demo, node: node-b, ips: [10.65.1.1, "FD00::0:1"], labels: {app: b}, ports: [{name: http, port: 80}]}
`;

function errorOf(text: string): string {
  try {
    parseScenario(text, "s.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return (err as Error).message;
  }
  throw new Error("scenario was accepted");
}

describe("parseScenario", () => {
  test("reads the demo scenario", () => {
    const demo = loadScenario(demoScenarioPath());
    expect(demo.node).toBe("node-a");
    expect(demo.pods.map((p) => p.name)).toEqual(["frontend", "backend", "db"]);
    expect(demo.pods[0]).toMatchObject({ ifname: "cali-frontend", ipv4: ["10.65.0.2"], ipv6: ["fd00:65::2"], serviceAccount: "default", state: "active" });
    expect(demo.steps.map((s) => [s.afterMs, s.action.kind])).toEqual([
      [1000, "updatePod"],
      [2000, "removePolicy"],
    ]);
  });

  test("fills in defaults and normalises values", () => {
    const s = parseScenario(`${BASE}
policies:
  - name: p
    namespace: demo
    egress: [{action: Allow, protocol: TCP, destination: {nets: [10.1.2.3/8], ports: [80, "8000:8080", http]}}]
steps:
  - {after: 250, updatePod: {namespace: demo, name: a, state: down}}
  - {after: 1.5s, removePod: {namespace: demo, name: a}}
`);
    expect(s.node).toBe("node-a");
    expect(s.nodes[0].ipv4).toBe("10.0.0.1/32");
    expect(s.pods[0].node).toBe("node-a");
    expect(s.pods[0].ifname).toMatch(/^cali[0-9a-f]{11}$/);
    expect(s.pods[1].ipv6).toEqual(["fd00::1"]);
    expect(s.pods[1].ports).toEqual([{ name: "http", protocol: "TCP", port: 80 }]);
    const p = s.policies[0];
    expect(p).toMatchObject({ kind: "NetworkPolicy", tier: "default", selector: "", types: ["Egress"] });
    expect(p.egress[0].protocol).toBe("tcp");
    expect(p.egress[0].destination.nets).toEqual(["10.0.0.0/8"]);
    expect(p.egress[0].destination.ports).toEqual([
      { kind: "range", first: 80, last: 80 },
      { kind: "range", first: 8000, last: 8080 },
      { kind: "named", name: "http" },
    ]);
    expect(s.steps.map((st) => st.afterMs)).toEqual([250, 1500]);
  });

  const errors: [string, string, string][] = [
    ["a bad pod IP", `${BASE}  - {name: c, namespace: demo, ips: ["10.0.0.300"]}`, 's.yaml: pods[2].ips[0]: "10.0.0.300" is not an IP address'],
    ["an unknown top-level key", `${BASE}polices: []`, "s.yaml: polices: unknown key (expected one of: node, nodes, config,"],
    ["an unknown rule key", `${BASE}policies: [{name: p, ingress: [{action: Allow, sorce: {}}]}]`, "s.yaml: policies[0].ingress[0].sorce: unknown key"],
    ["a non-string label", `${BASE}  - {name: c, namespace: demo, labels: {version: 1}}`, "s.yaml: pods[2].labels.version: label values must be strings, got 1 (quote it)"],
    ["a bad selector", `${BASE}policies: [{name: p, selector: "app =="}]`, 's.yaml: policies[0].selector: cannot parse selector "app ==": expected a quoted string'],
    ["ports without a protocol", `${BASE}policies: [{name: p, ingress: [{action: Allow, destination: {ports: [80]}}]}]`, "s.yaml: policies[0].ingress[0].destination.ports: ports need protocol TCP, UDP, SCTP or UDPLite"],
    ["ICMP match without ICMP", `${BASE}policies: [{name: p, ingress: [{action: Allow, protocol: TCP, icmp: {type: 8}}]}]`, "s.yaml: policies[0].ingress[0].icmp: ICMP matches need protocol ICMP or ICMPv6"],
    ["an ICMP code without type", `${BASE}policies: [{name: p, ingress: [{action: Allow, protocol: ICMP, icmp: {code: 0}}]}]`, "s.yaml: policies[0].ingress[0].icmp.type: an ICMP match needs a type"],
    ["a v6 net in a v4 rule", `${BASE}policies: [{name: p, ingress: [{action: Allow, ipVersion: 4, source: {nets: ["fd00::/8"]}}]}]`, "s.yaml: policies[0].ingress[0].source.nets[0]: fd00::/8 is not an IPv4 CIDR"],
    ["an unknown action", `${BASE}policies: [{name: p, ingress: [{action: allow}]}]`, 's.yaml: policies[0].ingress[0].action: expected one of Allow, Deny, Log, Pass, got "allow"'],
    ["a namespaced kind without namespace", `${BASE}policies: [{name: p, kind: NetworkPolicy}]`, "s.yaml: policies[0].kind: NetworkPolicy needs a namespace"],
    ["a global kind with namespace", `${BASE}policies: [{name: p, namespace: demo, kind: GlobalNetworkPolicy}]`, "s.yaml: policies[0].kind: GlobalNetworkPolicy is cluster-wide and cannot have a namespace"],
    ["an undeclared tier", `${BASE}policies: [{name: p, tier: nope}]`, 's.yaml: policies[0].tier: tier "nope" is not declared in tiers'],
    ["an undeclared namespace", `${BASE}  - {name: c, namespace: other}`, 's.yaml: pods[2].namespace: namespace "other" is not declared in namespaces'],
    ["an undeclared service account", `${BASE}  - {name: c, namespace: demo, serviceAccount: sa1}`, "s.yaml: pods[2].serviceAccount: service account demo/sa1 is not declared"],
    ["an unknown node", `${BASE}  - {name: c, namespace: demo, node: node-z}`, 's.yaml: pods[2].node: node "node-z" is not in nodes'],
    ["a duplicate pod", `${BASE}  - {name: a, namespace: demo}`, "s.yaml: pods[2]: pod demo/a already exists"],
    ["a duplicate address", `${BASE}  - {name: c, namespace: demo, ips: ["fd00::1"]}`, "s.yaml: pods[2].ips: fd00::1 is already used by pod demo/b"],
    ["an over-long interface name", `${BASE}  - {name: c, namespace: demo, ifname: cali0123456789ab}`, 's.yaml: pods[2].ifname: "cali0123456789ab" is not a valid interface name'],
    ["a bad MAC", `${BASE}  - {name: c, namespace: demo, mac: "ee:ee"}`, 's.yaml: pods[2].mac: "ee:ee" is not a MAC address'],
    ["a bad port name", `${BASE}  - {name: c, namespace: demo, ports: [{name: HTTP, port: 80}]}`, 's.yaml: pods[2].ports[0].name: "HTTP" is not a valid port name'],
    ["an unknown played node", `${BASE}node: node-z`, 's.yaml: node: node "node-z" is not in nodes'],
    ["no nodes", "namespaces: []", "s.yaml: nodes: a scenario needs at least one node"],
    ["steps going back in time", `${BASE}steps: [{after: 2s, removePod: {namespace: demo, name: a}}, {after: 1s, removePod: {namespace: demo, name: b}}]`, "s.yaml: steps[1].after: steps must be in time order"],
    ["a step with two actions", `${BASE}steps: [{after: 1s, removePod: {namespace: demo, name: a}, addPod: {name: c, namespace: demo}}]`, "s.yaml: steps[0]: a step has one action, found addPod and removePod"],
    ["a step without time", `${BASE}steps: [{removePod: {namespace: demo, name: a}}]`, "s.yaml: steps[0].after: every step needs a time"],
    ["a bad duration", `${BASE}steps: [{after: soon, removePod: {namespace: demo, name: a}}]`, 's.yaml: steps[0].after: expected a duration such as 200ms, 1s or 1.5s, got "soon"'],
    ["removing a pod twice", `${BASE}steps: [{after: 1s, removePod: {namespace: demo, name: a}}, {after: 1s, removePod: {namespace: demo, name: a}}]`, "s.yaml: steps[1].removePod: pod demo/a does not exist at this point"],
    ["updating a missing policy", `${BASE}steps: [{after: 1s, updatePolicy: {name: p}}]`, "s.yaml: steps[0].updatePolicy: policy GlobalNetworkPolicy//p does not exist at this point"],
    ["broken YAML", "nodes: [\n  {name: a", "s.yaml: line "],
    ["a list at the top", "- a", "s.yaml: scenario: expected a mapping, got a list"],
  ];
  test.each(errors)("rejects %s with the path of the problem", (_what, text, message) => {
    expect(errorOf(text)).toContain(message);
  });

  test("loadScenario names the file it could not read", () => {
    expect(() => loadScenario("/nonexistent/x.yaml")).toThrow("x.yaml: file: cannot read /nonexistent/x.yaml (ENOENT)");
  });

  test("loadScenario prefixes errors with the file name", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "scenario-"));
    try {
      writeFileSync(path.join(dir, "bad.yaml"), `${BASE}  - {name: c, namespace: demo, ips: [nope]}`);
      expect(() => loadScenario(path.join(dir, "bad.yaml"))).toThrow('bad.yaml: pods[2].ips[0]: "nope" is not an IP address');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
