import { felix } from "@ptables/proto";
import { demoScenarioPath, loadScenario, parseScenario } from "./scenario";
import { buildFelixStream } from "./stream";

/** EventSequencer.Flush order; a flush must never go back to an earlier rank. */
const RANK: Record<string, number> = {
  ipsetUpdate: 1,
  ipsetDeltaUpdate: 2,
  activePolicyUpdate: 3,
  activeProfileUpdate: 4,
  workloadEndpointUpdate: 5,
  workloadEndpointRemove: 6,
  activeProfileRemove: 7,
  activePolicyRemove: 8,
  ipsetRemove: 9,
  serviceAccountRemove: 10,
  serviceAccountUpdate: 11,
  namespaceRemove: 12,
  namespaceUpdate: 13,
  hostMetadataRemove: 14,
  hostMetadataUpdate: 15,
};

const cases = (messages: felix.ToDataplane[]) => messages.map((m) => m.payload!.$case);

function expectFelixOrder(messages: felix.ToDataplane[]): void {
  const ranks = cases(messages).map((c) => RANK[c]);
  expect(ranks.every((r) => r !== undefined)).toBe(true);
  expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
}

describe("the demo stream", () => {
  const stream = buildFelixStream(loadScenario(demoScenarioPath()));
  const all = [...stream.startOfDay, ...stream.steps.flatMap((s) => s.messages)];

  test("starts with ConfigUpdate at sequence 0 and numbers every message consecutively", () => {
    expect(all[0].payload!.$case).toBe("configUpdate");
    expect(all.map((m) => m.sequenceNumber)).toEqual(all.map((_, i) => BigInt(i)));
    const config = all[0].payload!.value as felix.ConfigUpdate;
    expect(config.config).toEqual({ FelixHostname: "node-a", LogSeverityScreen: "Info" });
    expect(config.sourceToRawConfig[1]).toEqual({ source: "datastore (global)", config: { LogSeverityScreen: "Info" } });
  });

  test("sends IP sets, then policies, then profiles, then endpoints, then InSync", () => {
    const body = stream.startOfDay.slice(1, -1);
    expectFelixOrder(body);
    expect(stream.startOfDay[stream.startOfDay.length - 1].payload).toEqual({ $case: "inSync", value: {} });
    expect(cases(body)).toEqual([
      ...Array(4).fill("ipsetUpdate"),
      ...Array(6).fill("activePolicyUpdate"),
      "activeProfileUpdate",
      "activeProfileUpdate",
      ...Array(3).fill("workloadEndpointUpdate"),
      "serviceAccountUpdate",
      "namespaceUpdate",
      "hostMetadataUpdate",
    ]);
    expect(stream.endpointsAtStart).toEqual(["k8s/demo/backend/eth0", "k8s/demo/db/eth0", "k8s/demo/frontend/eth0"]);
  });

  test("every IP set, policy and profile an endpoint or rule names was sent before it", () => {
    const sentSets = new Set<string>();
    const sentPolicies = new Set<string>();
    const sentProfiles = new Set<string>();
    for (const { payload } of stream.startOfDay) {
      if (payload?.$case === "ipsetUpdate") sentSets.add(payload.value.id);
      if (payload?.$case === "activePolicyUpdate") {
        const rules = [...payload.value.policy!.inboundRules, ...payload.value.policy!.outboundRules];
        for (const id of rules.flatMap((r) => [...r.srcIpSetIds, ...r.dstIpSetIds, ...r.srcNamedPortIpSetIds, ...r.dstNamedPortIpSetIds])) expect(sentSets).toContain(id);
        sentPolicies.add(`${payload.value.id!.kind}/${payload.value.id!.namespace}/${payload.value.id!.name}`);
      }
      if (payload?.$case === "activeProfileUpdate") sentProfiles.add(payload.value.id!.name);
      if (payload?.$case === "workloadEndpointUpdate") {
        const ep = payload.value.endpoint!;
        for (const p of ep.tiers.flatMap((t) => [...t.ingressPolicies, ...t.egressPolicies])) expect(sentPolicies).toContain(`${p.kind}/${p.namespace}/${p.name}`);
        for (const p of ep.profileIds) expect(sentProfiles).toContain(p);
      }
    }
  });

  test("the named port http becomes backend's ip,tcp:8080 members", () => {
    const namedSet = stream.startOfDay.map((m) => m.payload).find((p) => p?.$case === "ipsetUpdate" && p.value.id.startsWith("n:"));
    expect(namedSet?.value).toMatchObject({ type: felix.IPSetUpdate_IPSetType.IP_AND_PORT, members: ["10.65.0.3,tcp:8080", "fd00:65::3,tcp:8080"] });
  });

  test("step 1 (relabel frontend) is a membership delta plus the re-sent endpoint", () => {
    const [relabel] = stream.steps;
    expect(relabel).toMatchObject({ afterMs: 1000, description: "updatePod demo/frontend" });
    expect(cases(relabel.messages)).toEqual(["ipsetDeltaUpdate", "workloadEndpointUpdate"]);
    expect(relabel.messages[0].payload!.value).toMatchObject({ addedMembers: [], removedMembers: ["10.65.0.2/32", "fd00:65::2/128"] });
  });

  test("step 2 (remove a policy) updates the endpoint first, then removes in reverse order", () => {
    const removal = stream.steps[1];
    expectFelixOrder(removal.messages);
    expect(cases(removal.messages)).toEqual(["workloadEndpointUpdate", "activePolicyRemove", "ipsetRemove"]);
    expect(removal.messages[1].payload!.value).toEqual({ id: { name: "allow-backend-to-db", namespace: "demo", kind: "NetworkPolicy" } });
  });

  test("encodes like Felix ≥ v3.30: sequence number first, then the payload", () => {
    const inSync = stream.startOfDay[stream.startOfDay.length - 1];
    const seq = Number(inSync.sequenceNumber);
    expect([...felix.ToDataplane.encode(inSync).finish()]).toEqual([0x78, seq, 0x0a, 0x00]);
    // seq 0 is the proto3 default and is left out of the ConfigUpdate's bytes.
    expect(felix.ToDataplane.encode(stream.startOfDay[0]).finish()[0]).toBe(0x6a);
  });
});

describe("flush diffs", () => {
  const base = `
nodes: [{name: a}]
namespaces: [{name: ns}]
pods:
  - {name: p1, namespace: ns, ips: [10.0.0.1], labels: {app: x}}
  - {name: p2, namespace: ns, ips: [10.0.0.2], labels: {app: y}}
policies:
  - {name: only-p1, namespace: ns, selector: app == 'x', ingress: [{action: Allow, source: {selector: app == 'y'}}]}
`;

  test("removing the last endpoint of a policy removes endpoint, profiles, policy, IP set, in that order", () => {
    const stream = buildFelixStream(
      parseScenario(`${base}
steps:
  - {after: 0, removePod: {namespace: ns, name: p1}}
  - {after: 0, removePod: {namespace: ns, name: p2}}
`),
    );
    expect(cases(stream.steps[0].messages)).toEqual(["workloadEndpointRemove", "activePolicyRemove", "ipsetRemove"]);
    expect(cases(stream.steps[1].messages)).toEqual(["workloadEndpointRemove", "activeProfileRemove", "activeProfileRemove"]);
    expect(stream.steps[1].endpointsAfter).toEqual([]);
  });

  test("an updated pod is re-sent even when its message is unchanged, as Felix does", () => {
    const stream = buildFelixStream(parseScenario(`${base}\nsteps: [{after: 0, updatePod: {namespace: ns, name: p1, labels: {app: x, extra: "1"}}}]`));
    expect(cases(stream.steps[0].messages)).toEqual(["workloadEndpointUpdate"]);
  });

  test("a new policy that selects an endpoint brings its IP sets first", () => {
    const stream = buildFelixStream(
      parseScenario(`${base}
steps:
  - after: 10ms
    addPolicy: {name: new, namespace: ns, selector: app == 'y', ingress: [{action: Deny, source: {selector: app == 'x'}}]}
`),
    );
    expect(cases(stream.steps[0].messages)).toEqual(["ipsetUpdate", "activePolicyUpdate", "workloadEndpointUpdate"]);
  });

  test("the played node can be chosen; other nodes' pods are then remote", () => {
    const stream = buildFelixStream(parseScenario(`nodes: [{name: a}, {name: b}]\nnamespaces: [{name: ns}]\npods: [{name: p, namespace: ns, node: b}]`), { node: "a" });
    expect(stream.endpointsAtStart).toEqual([]);
    expect(() => buildFelixStream(parseScenario("nodes: [{name: a}]"), { node: "zz" })).toThrow('node: node "zz" is not in nodes');
  });
});
