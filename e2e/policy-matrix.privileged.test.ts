/**
 * Policy semantics end to end: Felix's stream (played from a scenario) -> the real driver and
 * agents -> the eBPF datapath on each pod's veth -> real packets between pod namespaces.
 *
 * Each scenario states which flows it expects to pass (everything else must be dropped) and
 * probes the whole pods × pods × probes matrix. Every row is checked three ways: the test's
 * expectation, the reference evaluator's verdict for exactly what the driver was told (policy-core
 * `evaluatePolicy` over felix's DesiredStateStore), and what the kernel did. So the test proves
 * kernel == oracle, and a wrong hand-written expectation shows up as "test expectation != oracle".
 */
import { createTopology, type Topology } from "@ptables/testkit";
import { parseScenario } from "@ptables/felix";
import { assertMatrix, isRoot, probes, sweepLeftovers } from "./lib/e2e-helpers";
import { startPtablesNode, type PtablesNode } from "./lib/ptables-node";

const PREFIX = "pmx";
const describeIfRoot = isRoot ? describe : describe.skip;

/**
 * Scenario 1: namespaces and profiles, selectors (IP sets), named ports, port ranges, protocol
 * numbers, deny before allow, a staged policy, egress policy; then an IP-set delta, a policy
 * removed, an endpoint removed and re-added.
 */
const SHOP = `
node: node-a
nodes: [{name: node-a, ip: 192.168.56.10}]
namespaces:
  - {name: open, labels: {zone: open}}
  - {name: locked, labels: {zone: locked}}
  - {name: shop, labels: {zone: shop}}
profiles:
  # Replaces the generated allow-all namespace profile: no policy and no profile rule => default deny.
  - {name: kns.locked}
pods:
  - {name: o1, namespace: open, ifname: cali-o1, ips: [10.65.0.11, "fd00:65::11"], labels: {app: o1}}
  - {name: o2, namespace: open, ifname: cali-o2, ips: [10.65.0.12, "fd00:65::12"], labels: {app: o2}}
  - {name: l1, namespace: locked, ifname: cali-l1, ips: [10.65.0.21, "fd00:65::21"], labels: {app: l1}}
  - {name: client, namespace: shop, ifname: cali-client, ips: [10.65.0.31, "fd00:65::31"], labels: {app: client}}
  - &web
    name: web
    namespace: shop
    ifname: cali-web
    ips: [10.65.0.32, "fd00:65::32"]
    mac: 0a:58:0a:41:00:32
    labels: {app: web}
    ports:
      - {name: http, protocol: TCP, port: 8080}
      - {name: metrics, protocol: TCP, port: 9100}
  - {name: db, namespace: shop, ifname: cali-db, ips: [10.65.0.33, "fd00:65::33"], labels: {app: db}}
policies:
  - name: staged-deny-web          # staged: reported, never enforced
    namespace: shop
    kind: StagedNetworkPolicy
    order: 1
    selector: app == 'web'
    types: [Ingress]
    ingress: [{action: Deny}]
  - name: web-ingress
    namespace: shop
    order: 100
    selector: app == 'web'
    types: [Ingress]
    ingress:
      - {action: Deny, protocol: TCP, destination: {ports: [8081]}}                               # deny before allow
      - {action: Allow, protocol: TCP, source: {selector: app == 'client'}, destination: {ports: ["8080:8090"]}}  # range, IP set
      - {action: Allow, protocol: TCP, destination: {ports: [metrics]}}                           # named port, from anyone
      - {action: Allow, protocol: 17, source: {selector: app == 'client'}, destination: {ports: [5353]}}  # protocol number
  - name: db-ingress
    namespace: shop
    order: 200
    selector: app == 'db'
    types: [Ingress]
    ingress:
      - {action: Allow, protocol: TCP, source: {selector: app == 'web'}, destination: {ports: [5432]}}
  - name: client-egress
    namespace: shop
    order: 300
    selector: app == 'client'
    types: [Egress]
    egress:
      - {action: Allow, destination: {selector: app == 'web'}}
      - {action: Allow, destination: {namespaceSelector: zone == 'open'}}
steps:
  - {after: 1s, updatePod: {namespace: shop, name: client, labels: {app: client-old}}}
  - {after: 2s, removePolicy: {namespace: shop, name: db-ingress}}
  - {after: 3s, removePod: {namespace: shop, name: web}}
  - {after: 4s, addPod: *web}
`;

const SHOP_PODS = ["o1", "o2", "l1", "client", "web", "db"];
const SHOP_PROBES = probes("ping tcp/8080 tcp/8081 tcp/8085 tcp/9100 tcp/5432 udp/5353 ping6 tcp6/8080 tcp6/9100 tcp6/5432 udp6/5353");

/**
 * Scenario 2: tiers (a Deny tier that passes with next-tier, a tier holding only a staged policy,
 * a tier whose default is Pass), negations (notSelector, notNets, notPorts, notProtocol), ICMP
 * type and type/code matches, Log; then a network set's IP-set delta and an admin-down endpoint.
 */
const TIERS = `
node: node-a
nodes: [{name: node-a, ip: 192.168.56.10}]
namespaces: [{name: t}]
networkSets:
  - {name: blocklist, labels: {blocked: "true"}, nets: [192.0.2.0/24]}
tiers:
  - {name: security, order: 100, defaultAction: Deny}
  - {name: audit, order: 150, defaultAction: Deny}
  - {name: platform, order: 200, defaultAction: Pass}
pods:
  - {name: a, namespace: t, ifname: cali-a, ips: [10.65.0.41, "fd00:65::41"], labels: {role: a}}
  - {name: b, namespace: t, ifname: cali-b, ips: [10.65.0.42, "fd00:65::42"], labels: {role: b}}
  - {name: c, namespace: t, ifname: cali-c, ips: [10.65.0.43, "fd00:65::43"], labels: {role: c}}
  - {name: d, namespace: t, ifname: cali-d, ips: [10.65.0.44, "fd00:65::44"], labels: {role: d}}
policies:
  - name: sec
    tier: security
    order: 10
    selector: all()
    types: [Ingress, Egress]
    ingress:
      - {action: Deny, protocol: TCP, destination: {ports: [23]}}
      - {action: Pass, source: {notSelector: role == 'd'}}       # d falls to the end of tier: Deny
    egress:
      - {action: Pass}
  - name: audit-deny-all             # the audit tier holds only this staged policy: never drops
    kind: StagedGlobalNetworkPolicy
    tier: audit
    order: 10
    selector: all()
    types: [Ingress, Egress]
    ingress: [{action: Deny}]
    egress: [{action: Deny}]
  - name: plat-b
    tier: platform
    order: 10
    selector: role == 'b'
    types: [Ingress]
    ingress:
      - {action: Deny, protocol: UDP, destination: {notPorts: [5353]}}
      - {action: Deny, protocol: TCP, source: {notNets: [10.65.0.41/32, "fd00:65::41/128"]}, destination: {ports: [8080]}}
  - name: plat-c
    tier: platform
    order: 20
    selector: role == 'c'
    types: [Ingress]
    ingress:
      - {action: Log, protocol: ICMP}
      - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}         # echo request: ping works
      - {action: Allow, protocol: ICMPv6, icmp: {type: 128, code: 1}}     # wrong code: ping6 does not match
      - {action: Deny, notProtocol: TCP}
  - name: plat-a
    tier: platform
    order: 30
    selector: role == 'a'
    types: [Ingress]
    ingress:
      - {action: Deny, protocol: TCP, source: {selector: blocked == 'true'}}
  - name: allow-some
    tier: default
    order: 100
    selector: all()
    types: [Ingress]
    ingress:
      - {action: Allow, protocol: 6, destination: {ports: ["8000:8100"]}}
      - {action: Allow, protocol: UDP}
steps:
  - {after: 1s, setNetworkSet: {name: blocklist, labels: {blocked: "true"}, nets: [192.0.2.0/24, 10.65.0.43/32, "fd00:65::43/128"]}}
  - {after: 2s, updatePod: {namespace: t, name: b, state: down}}
`;

const TIER_PODS = ["a", "b", "c", "d"];
const TIER_PROBES = probes("ping tcp/23 tcp/8080 tcp/8090 tcp/9000 udp/5353 udp/5000 ping6 tcp6/8080 tcp6/9000 udp6/5353 udp6/5000");

describeIfRoot("policy matrix: real packets through the real driver == the reference evaluator", () => {
  beforeAll(() => sweepLeftovers(PREFIX));

  describe("namespaces, profiles, IP sets, named ports, ranges, staged, changes over time", () => {
    let topology: Topology;
    let node: PtablesNode | undefined;
    const run = (what: string, allowed: Record<string, string>) => assertMatrix(node ? [node] : [], what, SHOP_PODS, SHOP_PROBES, allowed);
    const openAll = { "o1>o2": "*", "o2>o1": "*", "o1>client": "*", "o2>client": "*", "client>o1": "*", "client>o2": "*" };
    const fromWebDbToOpenAndClient = { "web>o1": "*", "web>o2": "*", "web>client": "*", "db>o1": "*", "db>o2": "*", "db>client": "*" };

    beforeAll(async () => {
      topology = createTopology({ prefix: PREFIX });
      node = await startPtablesNode(topology, "node-a", parseScenario(SHOP, "shop"), { tcpPorts: [8080, 8081, 8085, 9100, 5432], udpPorts: [5353] });
    }, 60_000);
    afterAll(async () => {
      await node?.cleanup();
      await topology?.destroy();
    });

    test("start of day", async () => {
      await run("shop, start of day", {
        ...openAll,
        ...fromWebDbToOpenAndClient,
        // Named port "metrics" from anyone whose egress allows it.
        "o1>web": "tcp/9100",
        "o2>web": "tcp/9100",
        "db>web": "tcp/9100",
        // Range 8080:8090 and UDP by protocol number from the client IP set; 8081 is denied first.
        "client>web": "tcp/8080 tcp/8085 tcp/9100 udp/5353",
        "web>db": "tcp/5432",
        // l1 (empty namespace profile) sends and accepts nothing; client egress has no rule for db or l1.
      });
    });

    test("an IP-set delta: the client is relabelled out of the client set (and out of its egress policy)", async () => {
      await node!.playStep();
      await run("shop, client relabelled", {
        ...openAll,
        ...fromWebDbToOpenAndClient,
        "o1>web": "tcp/9100",
        "o2>web": "tcp/9100",
        "db>web": "tcp/9100",
        "client>web": "tcp/9100",
        "web>db": "tcp/5432",
      });
    });

    test("a policy removed: db falls back to its namespace profile", async () => {
      await node!.playStep();
      await run("shop, db-ingress removed", {
        ...openAll,
        ...fromWebDbToOpenAndClient,
        "o1>web": "tcp/9100",
        "o2>web": "tcp/9100",
        "db>web": "tcp/9100",
        "client>web": "tcp/9100",
        "web>db": "*",
        "o1>db": "*",
        "o2>db": "*",
        "client>db": "*",
      });
    });

    test("an endpoint removed (its interface stays): all its traffic is dropped", async () => {
      await node!.playStep();
      await run("shop, web endpoint removed", {
        ...openAll,
        "db>o1": "*",
        "db>o2": "*",
        "db>client": "*",
        "o1>db": "*",
        "o2>db": "*",
        "client>db": "*",
      });
    });

    test("the endpoint re-added: its policy applies again", async () => {
      await node!.playStep();
      await run("shop, web endpoint re-added", {
        ...openAll,
        ...fromWebDbToOpenAndClient,
        "o1>web": "tcp/9100",
        "o2>web": "tcp/9100",
        "db>web": "tcp/9100",
        "client>web": "tcp/9100",
        "web>db": "*",
        "o1>db": "*",
        "o2>db": "*",
        "client>db": "*",
      });
    });
  });

  describe("tiers, pass, staged-only tier, negations, ICMP type/code, network set delta, admin down", () => {
    let topology: Topology;
    let node: PtablesNode | undefined;
    const run = (what: string, allowed: Record<string, string>) => assertMatrix(node ? [node] : [], what, TIER_PODS, TIER_PROBES, allowed);
    // To d: only the default tier decides (TCP 8000:8100 and any UDP).
    const toD = { "a>d": "tcp/8080 tcp/8090 udp/5353 udp/5000", "b>d": "tcp/8080 tcp/8090 udp/5353 udp/5000", "c>d": "tcp/8080 tcp/8090 udp/5353 udp/5000" };
    // To c: ping by ICMP type/code in the platform tier; TCP falls through to the default tier.
    const toC = { "a>c": "ping tcp/8080 tcp/8090", "b>c": "ping tcp/8080 tcp/8090" };

    beforeAll(async () => {
      topology = createTopology({ prefix: PREFIX });
      node = await startPtablesNode(topology, "node-a", parseScenario(TIERS, "tiers"), { tcpPorts: [23, 8080, 8090, 9000], udpPorts: [5353, 5000] });
    }, 60_000);
    afterAll(async () => {
      await node?.cleanup();
      await topology?.destroy();
    });

    test("start of day", async () => {
      await run("tiers, start of day", {
        ...toD,
        ...toC,
        // b: UDP only to 5353 (notPorts); TCP 8080 only from a (notNets).
        "a>b": "tcp/8080 tcp/8090 udp/5353",
        "c>b": "tcp/8090 udp/5353",
        "b>a": "tcp/8080 tcp/8090 udp/5353 udp/5000",
        "c>a": "tcp/8080 tcp/8090 udp/5353 udp/5000",
        // d's ingress traffic from anyone is fine, but anything *to another pod from d* hits the
        // security tier's notSelector and its end-of-tier Deny; tcp/23 is denied to everyone.
      });
    });

    test("a network set grows (IP-set delta): c is now blocked from a over TCP", async () => {
      await node!.playStep();
      await run("tiers, blocklist grew", {
        ...toD,
        ...toC,
        "a>b": "tcp/8080 tcp/8090 udp/5353",
        "c>b": "tcp/8090 udp/5353",
        "b>a": "tcp/8080 tcp/8090 udp/5353 udp/5000",
        "c>a": "udp/5353 udp/5000",
      });
    });

    test("an endpoint set admin down reports down and drops everything", async () => {
      await node!.playStep();
      expect(node!.driver.endpointStatuses.get("k8s/t/b/eth0")?.status).toBe("down");
      await run("tiers, b admin down", {
        "a>d": "tcp/8080 tcp/8090 udp/5353 udp/5000",
        "c>d": "tcp/8080 tcp/8090 udp/5353 udp/5000",
        "a>c": "ping tcp/8080 tcp/8090",
        "c>a": "udp/5353 udp/5000",
      });
    });
  });
});
