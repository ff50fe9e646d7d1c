/**
 * Input the datapath cannot hold fails closed, for that endpoint only.
 *
 * One rule that names five named ports needs five named-port IP sets in one list; the eBPF
 * datapath holds at most four per list (PT_MAX_SET_REFS). Felix must then see the endpoint
 * "down", all its traffic (both directions: an endpoint is never half-programmed) must be
 * dropped, and every other endpoint must keep working. When the policy is fixed the endpoint
 * comes up with it; when it is broken again, the working program is not kept: it fails closed
 * again. Every probe is also checked against the reference evaluator plus the compiler's limits.
 */
import { parseScenario } from "@ptables/felix";
import { createTopology, type Topology } from "@ptables/testkit";
import { assertMatrix, isRoot, probes, sweepLeftovers } from "./lib/e2e-helpers";
import { startPtablesNode, type PtablesNode } from "./lib/ptables-node";

const PREFIX = "bad";
const describeIfRoot = isRoot ? describe : describe.skip;

/** The victim's policy: one rule allowing TCP to the named ports listed, as YAML indented by `indent`. */
function victimPolicy(ports: string[], indent: string): string {
  return [
    "name: too-many-sets",
    "namespace: app",
    "order: 100",
    "selector: app == 'victim'",
    "types: [Ingress]",
    "ingress:",
    `  - {action: Allow, protocol: TCP, destination: {ports: [${ports.join(", ")}]}}`,
  ].join(`\n${indent}`);
}
const FIVE = ["p1", "p2", "p3", "p4", "p5"];
const FOUR = ["p1", "p2", "p3", "p4"];

const SCENARIO = `
node: node-a
nodes: [{name: node-a, ip: 192.168.56.10}]
namespaces: [{name: app}]
pods:
  - name: victim
    namespace: app
    ifname: cali-victim
    ips: [10.65.0.71, "fd00:65::71"]
    labels: {app: victim}
    ports:
      - {name: p1, protocol: TCP, port: 8081}
      - {name: p2, protocol: TCP, port: 8082}
      - {name: p3, protocol: TCP, port: 8083}
      - {name: p4, protocol: TCP, port: 8084}
      - {name: p5, protocol: TCP, port: 8085}
  - {name: good1, namespace: app, ifname: cali-good1, ips: [10.65.0.72, "fd00:65::72"], labels: {app: good1}}
  - {name: good2, namespace: app, ifname: cali-good2, ips: [10.65.0.73, "fd00:65::73"], labels: {app: good2}}
policies:
  - ${victimPolicy(FIVE, "    ")}
  - name: good2-ingress
    namespace: app
    order: 100
    selector: app == 'good2'
    types: [Ingress]
    ingress:
      - {action: Allow, protocol: TCP, source: {selector: app == 'good1'}, destination: {ports: [8080]}}
steps:
  - after: 1s
    updatePolicy:
      ${victimPolicy(FOUR, "      ")}
  - after: 2s
    updatePolicy:
      ${victimPolicy(FIVE, "      ")}
`;

const PODS = ["victim", "good1", "good2"];
const PROBES = probes("ping tcp/8080 tcp/8081 tcp/8085 ping6 tcp6/8080 tcp6/8081");
/** The victim fails closed: only the two good pods talk. */
const BROKEN = { "good1>good2": "tcp/8080", "good2>good1": "*" };

describeIfRoot("bad input: a policy the datapath cannot hold fails closed for its endpoint only", () => {
  let topology: Topology;
  let node: PtablesNode | undefined;

  beforeAll(async () => {
    await sweepLeftovers(PREFIX);
    topology = createTopology({ prefix: PREFIX });
    node = await startPtablesNode(topology, "node-a", parseScenario(SCENARIO, "bad-input"), {
      tcpPorts: [8080, 8081, 8085],
      expectStatus: { "app/victim": "down" },
    });
  }, 60_000);

  afterAll(async () => {
    await node?.cleanup();
    await topology?.destroy();
  });

  /** The oracle's reason the victim cannot be held (proves the scenario hits the set limit). */
  function victimProblem(): string | undefined {
    const n = node!;
    const victim = n.oracle.endpointFor("10.65.0.71")!;
    return n.oracle.holdProblem(victim, n.oracle.model().lookup);
  }

  test("five named-port sets in one rule: the victim reports down and drops everything; the others work", async () => {
    expect(victimProblem()).toMatch(/names 5 ip sets; the datapath takes at most 4/);
    const statuses = node!.driver.endpointStatuses;
    expect(statuses.get("k8s/app/victim/eth0")?.status).toBe("down");
    expect(statuses.get("k8s/app/good1/eth0")?.status).toBe("up");
    expect(statuses.get("k8s/app/good2/eth0")?.status).toBe("up");
    await assertMatrix([node!], "victim over the set limit", PODS, PROBES, BROKEN);
  });

  test("the policy fixed (four sets): the victim comes up with it", async () => {
    node!.expectStatus["app/victim"] = "up";
    await node!.playStep();
    expect(victimProblem()).toBeUndefined();
    await assertMatrix([node!], "victim fixed", PODS, PROBES, {
      ...BROKEN,
      "victim>good1": "*",
      "good1>victim": "tcp/8081",
      "good2>victim": "tcp/8081",
    });
  });

  test("broken again: the working program is not kept, the victim fails closed again", async () => {
    node!.expectStatus["app/victim"] = "down";
    await node!.playStep();
    expect(victimProblem()).toMatch(/at most 4/);
    await assertMatrix([node!], "victim broken again", PODS, PROBES, BROKEN);
  });
});
