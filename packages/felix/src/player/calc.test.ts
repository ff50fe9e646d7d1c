import { felix } from "@ptables/proto";
import { computeNodeView } from "./calc";
import { ClusterState } from "./cluster";
import { parseScenario } from "./scenario";
import { Selector } from "./selector";

function viewOf(yaml: string, node?: string) {
  const scenario = parseScenario(yaml);
  return computeNodeView(ClusterState.fromScenario(scenario), node ?? scenario.node);
}

const CLUSTER = `
nodes: [{name: node-a}, {name: node-b}]
namespaces: [{name: demo, labels: {team: blue}}, {name: other}]
serviceAccounts: [{name: api, namespace: demo, labels: {tier: gold}}]
pods:
  - {name: web, namespace: demo, ips: [10.0.0.1, "fd00::1"], labels: {app: web}, ports: [{name: http, port: 8080}, {name: http, protocol: UDP, port: 53}]}
  - {name: api, namespace: demo, serviceAccount: api, ips: [10.0.0.2], labels: {app: api}}
  - {name: remote, namespace: demo, node: node-b, ips: [10.0.1.1, "fd00::11"], labels: {app: web}, ports: [{name: http, port: 80}]}
  - {name: stranger, namespace: other, node: node-b, ips: [10.0.2.1], labels: {app: web}}
`;

const tiersOf = (view: ReturnType<typeof viewOf>, key: string) =>
  view.endpoints.get(key)!.message.endpoint!.tiers.map((t) => ({
    name: t.name,
    action: t.defaultAction,
    ingress: t.ingressPolicies.map((p) => `${p.kind}/${p.namespace}/${p.name}`),
    egress: t.egressPolicies.map((p) => `${p.kind}/${p.namespace}/${p.name}`),
  }));

describe("computeNodeView", () => {
  test("sends only local endpoints, but IP sets hold members from every node", () => {
    const view = viewOf(`${CLUSTER}
policies:
  - name: from-web
    namespace: demo
    selector: app == 'api'
    ingress: [{action: Allow, source: {selector: app == 'web'}}]
`);
    expect([...view.endpoints.keys()]).toEqual(["k8s/demo/web/eth0", "k8s/demo/api/eth0"]);
    const webSet = Selector.parse("projectcalico.org/namespace == 'demo' && app == 'web'").uniqueId();
    expect(view.ipSets.get(webSet)).toEqual({ type: felix.IPSetUpdate_IPSetType.NET, members: new Set(["10.0.0.1/32", "fd00::1/128", "10.0.1.1/32", "fd00::11/128"]) });
    const ep = view.endpoints.get("k8s/demo/api/eth0")!.message;
    expect(ep.id).toEqual({ orchestratorId: "k8s", workloadId: "demo/api", endpointId: "eth0" });
    expect(ep.endpoint).toMatchObject({ state: "active", profileIds: ["kns.demo", "ksa.demo.api"], ipv4Nets: ["10.0.0.2/32"], ipv6Nets: [] });
  });

  test("a policy is active only if it selects a local endpoint", () => {
    const view = viewOf(`${CLUSTER}
policies:
  - {name: local, namespace: demo, selector: app == 'api'}
  - {name: remote-only, namespace: other, selector: all()}
`);
    expect([...view.policies.keys()]).toEqual(["NetworkPolicy/demo/local"]);
    const policy = view.policies.get("NetworkPolicy/demo/local")!.message;
    expect(policy.policy).toMatchObject({ namespace: "demo", tier: "default", originalSelector: '(app == "api" && projectcalico.org/namespace == "demo")' });
  });

  test("tiers by order then name, unordered last; policies by order then name; only tiers with policies", () => {
    const view = viewOf(`${CLUSTER}
tiers:
  - {name: zeta, order: 10, defaultAction: Pass}
  - {name: alpha, order: 10}
  - {name: late}
  - {name: unused, order: 1}
policies:
  - {name: b, tier: alpha, order: 5, selector: app == 'web', types: [Ingress]}
  - {name: a, tier: alpha, order: 5, selector: app == 'web', types: [Egress]}
  - {name: first, tier: alpha, order: 1, selector: all(), types: [Ingress, Egress]}
  - {name: z, tier: zeta, selector: all()}
  - {name: l, tier: late, selector: all(), types: [Egress]}
  - {name: d, namespace: demo, selector: app == 'api'}
  - {name: s, kind: StagedGlobalNetworkPolicy, order: 0, selector: app == 'web', types: [Ingress]}
  - {name: unused-tier-policy, tier: unused, selector: app == 'nothing'}
`);
    expect(tiersOf(view, "k8s/demo/web/eth0")).toEqual([
      { name: "alpha", action: "Deny", ingress: ["GlobalNetworkPolicy//first", "GlobalNetworkPolicy//b"], egress: ["GlobalNetworkPolicy//first", "GlobalNetworkPolicy//a"] },
      { name: "zeta", action: "Pass", ingress: ["GlobalNetworkPolicy//z"], egress: [] },
      { name: "default", action: "Deny", ingress: ["StagedGlobalNetworkPolicy//s"], egress: [] },
      { name: "late", action: "Deny", ingress: [], egress: ["GlobalNetworkPolicy//l"] },
    ]);
    expect(tiersOf(view, "k8s/demo/api/eth0").map((t) => t.name)).toEqual(["alpha", "zeta", "default", "late"]);
    expect(tiersOf(view, "k8s/demo/api/eth0")[2].ingress).toEqual(["NetworkPolicy/demo/d"]);
    // Staged policies are sent like any other; the driver must not enforce them.
    expect(view.policies.has("StagedGlobalNetworkPolicy//s")).toBe(true);
    expect(view.policies.has("GlobalNetworkPolicy//unused-tier-policy")).toBe(false);
  });

  test("named-port sets hold ip,proto:port for endpoints with that port and protocol", () => {
    const view = viewOf(`${CLUSTER}
policies:
  - name: to-http
    namespace: demo
    selector: app == 'api'
    ingress: [{action: Allow, protocol: TCP, destination: {ports: [http]}}]
`);
    const [set] = [...view.ipSets.entries()].filter(([id]) => id.startsWith("n:"));
    expect(set[1]).toEqual({
      type: felix.IPSetUpdate_IPSetType.IP_AND_PORT,
      members: new Set(["10.0.0.1,tcp:8080", "fd00::1,tcp:8080", "10.0.1.1,tcp:80", "fd00::11,tcp:80"]),
    });
  });

  test("namespace and service-account labels reach selectors through kns./ksa. profiles", () => {
    const view = viewOf(`${CLUSTER}
policies:
  - {name: blue, namespaceSelector: team == 'blue', serviceAccountSelector: tier == 'gold'}
`);
    expect(view.endpoints.get("k8s/demo/api/eth0")!.message.endpoint!.tiers[0].ingressPolicies.map((p) => p.name)).toEqual(["blue"]);
    expect(view.endpoints.get("k8s/demo/web/eth0")!.message.endpoint!.tiers).toEqual([]);
    expect(view.policies.get("GlobalNetworkPolicy//blue")!.message.policy!.originalSelector).toBe('(pcns.team == "blue" && pcsa.tier == "gold")');
    expect(view.namespaces.get("demo")!.labels).toEqual({ "kubernetes.io/metadata.name": "demo", "projectcalico.org/name": "demo", team: "blue" });
    expect(view.serviceAccounts.get("demo/api")!.labels).toEqual({ "projectcalico.org/name": "api", tier: "gold" });
    expect([...view.serviceAccounts.keys()].sort()).toEqual(["demo/api", "demo/default", "other/default"]);
  });

  test("profiles: kns. allows everything, ksa. has no rules, a missing one denies everything", () => {
    const view = viewOf(`${CLUSTER.replace("labels: {app: api}}", "labels: {app: api}, profiles: [custom, nowhere]}")}
profiles:
  - {name: custom, ingress: [{action: Deny, source: {selector: app == 'web'}}]}
`);
    expect([...view.profiles.keys()]).toEqual(["custom", "kns.demo", "ksa.demo.api", "ksa.demo.default", "nowhere"]);
    const rules = (name: string) => view.profiles.get(name)!.profile!;
    expect(rules("kns.demo").inboundRules.map((r) => r.action)).toEqual(["allow"]);
    expect(rules("kns.demo").outboundRules.map((r) => r.action)).toEqual(["allow"]);
    expect(rules("ksa.demo.api")).toEqual({ inboundRules: [], outboundRules: [] });
    expect(rules("nowhere").inboundRules.map((r) => r.action)).toEqual(["deny"]);
    expect(rules("nowhere").outboundRules.map((r) => r.action)).toEqual(["deny"]);
    // Profile rules are global: no namespace is added to their selectors.
    expect(rules("custom").inboundRules[0].srcIpSetIds).toEqual([Selector.parse("app == 'web'").uniqueId()]);
    expect(rules("custom").inboundRules[0].ruleId).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  test("network sets are members of selector sets; namespaced ones only inside their namespace", () => {
    const view = viewOf(`${CLUSTER}
networkSets:
  - {name: mon, namespace: demo, labels: {role: mon}, nets: [192.168.0.0/24]}
  - {name: ext, labels: {role: mon}, nets: ["10.9.9.9"]}
policies:
  - {name: p, namespace: demo, selector: all(), ingress: [{action: Allow, source: {selector: role == 'mon'}}]}
  - {name: g, selector: all(), ingress: [{action: Allow, source: {selector: role == 'mon'}}]}
`);
    const members = (selector: string) => view.ipSets.get(Selector.parse(selector).uniqueId())!.members;
    expect(members("projectcalico.org/namespace == 'demo' && role == 'mon'")).toEqual(new Set(["192.168.0.0/24"]));
    expect(members("role == 'mon'")).toEqual(new Set(["192.168.0.0/24", "10.9.9.9/32"]));
  });

  test("hosts are sent for every node with their addresses", () => {
    const view = viewOf(`nodes: [{name: a, ip: 10.0.0.5/24, ipv6: "fd00::5", labels: {zone: z1}}, {name: b}]`);
    expect(view.hosts.get("a")).toMatchObject({ hostname: "a", ipv4Addr: "10.0.0.5/24", ipv6Addr: "fd00::5/128", labels: { zone: "z1" } });
    expect(view.hosts.get("b")).toMatchObject({ hostname: "b", ipv4Addr: "", ipv6Addr: "" });
  });
});
