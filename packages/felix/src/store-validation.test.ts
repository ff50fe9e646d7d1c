/**
 * Invalid objects are rejected one by one: the object goes into error and out of the
 * snapshot, everything else keeps working, and objects that name it follow it.
 */
import { sync } from "@ptables/proto";
import { encodeFelixFrame } from "@ptables/testkit";
import { decodeToDataplane } from "./decode";
import { FrameReader } from "./framing";
import { DesiredStateStore, type ApplyResult } from "./store";

type Msg = Record<string, unknown>;

function feed(store: DesiredStateStore, ...messages: Msg[]): ApplyResult[] {
  const reader = new FrameReader();
  const bytes = Buffer.concat(messages.map((m) => encodeFelixFrame("ToDataplane", m)));
  const results = reader.push(bytes).map((frame) => store.apply(decodeToDataplane(frame)));
  reader.end();
  return results;
}

const { OBJECT_KIND_IP_SET, OBJECT_KIND_POLICY, OBJECT_KIND_PROFILE, OBJECT_KIND_WORKLOAD_ENDPOINT, OBJECT_KIND_UNSPECIFIED } = sync.ObjectKind;
const cases = (r: ApplyResult): Array<string | undefined> => r.changes.map((c) => c.change?.$case);

const ipSet = (id: string, members: string[], type: string | number = "NET"): Msg => ({ ipset_update: { id, members, type } });
const policy = (name: string, rules: Msg[], kind = "GlobalNetworkPolicy"): Msg => ({
  active_policy_update: { id: { name, kind }, policy: { tier: "default", inbound_rules: rules } },
});
const policyKey = (name: string): string => `GlobalNetworkPolicy//${name}`;
const profile = (name: string): Msg => ({ active_profile_update: { id: { name }, profile: { inbound_rules: [{ action: "allow" }] } } });
const wep = (pod: string, policies: string[], profiles: string[] = [], state = "active"): Msg => ({
  workload_endpoint_update: {
    id: { orchestrator_id: "k8s", workload_id: `default/${pod}`, endpoint_id: "eth0" },
    endpoint: {
      state,
      name: `cali${pod}`,
      profile_ids: profiles,
      tiers: policies.length ? [{ name: "default", ingress_policies: policies.map((name) => ({ name, kind: "GlobalNetworkPolicy" })) }] : [],
    },
  },
});

describe("one bad object does not stop the others", () => {
  test("bad CIDR: that policy is in error with the path, the next policy is fine", () => {
    const store = new DesiredStateStore();
    const [bad, good] = feed(store, policy("p1", [{ action: "allow", src_net: ["10.0.0.300/33"] }]), policy("p2", [{ action: "deny", dst_net: ["10.0.0.7/8"] }]));
    expect(bad.changes).toEqual([]);
    expect(bad.errors).toEqual([
      { kind: OBJECT_KIND_POLICY, id: policyKey("p1"), reason: 'policy GlobalNetworkPolicy//p1 inbound rule 0 src_net[0]: "10.0.0.300/33": octet 300 is out of range' },
    ]);
    expect(good.errors).toEqual([]);
    expect(store.snapshot().policies.map((p) => p.id?.name)).toEqual(["p2"]);
    expect(store.snapshot().policies[0].inboundRules[0].dstNets).toEqual(["10.0.0.0/8"]);
  });

  test("unknown IP set type: that set is in error, the other set is fine", () => {
    const store = new DesiredStateStore();
    const [bad, good] = feed(store, ipSet("s:bad", ["10.0.0.1/32"], 9), ipSet("s:good", ["10.0.0.1/32"]));
    expect(bad.errors).toEqual([{ kind: OBJECT_KIND_IP_SET, id: "s:bad", reason: "IP set s:bad type: unknown IP set type 9 (expected IP 0, IP_AND_PORT 1 or NET 2)" }]);
    expect(good.changes.map((c) => c.change?.$case)).toEqual(["ipSet"]);
    expect(store.snapshot().ipSets.map((s) => s.id)).toEqual(["s:good"]);
  });

  test("bad member: the set is in error and says which member", () => {
    const store = new DesiredStateStore();
    const [r] = feed(store, ipSet("s:x", ["10.0.0.1/32", "nonsense", "10.0.0.300"]));
    expect(r.errors[0].reason).toBe('IP set s:x members[1]: "nonsense": not an IPv4 address (needs 4 dotted parts) (and 1 more invalid members)');
  });

  test("unknown rule action: that profile is in error", () => {
    const store = new DesiredStateStore();
    const [r] = feed(store, { active_profile_update: { id: { name: "prof" }, profile: { outbound_rules: [{ action: "allow" }, { action: "reject" }] } } });
    expect(r.errors).toEqual([
      { kind: OBJECT_KIND_PROFILE, id: "prof", reason: 'profile prof outbound rule 1 action: unknown action "reject" (expected allow, deny, log, next-tier or pass)' },
    ]);
  });

  test("unknown IP set reference: the policy is in error until the set arrives", () => {
    const store = new DesiredStateStore();
    const rules = [{ action: "allow" }, { action: "allow" }, { action: "allow" }, { action: "allow", src_ip_set_ids: ["s:abc"] }];
    const [r] = feed(store, ipSet("s:other", []), policy("p1", rules));
    expect(r.errors).toEqual([]);
    const [missing] = feed(store, policy("p1", rules));
    expect(missing.errors).toEqual([
      { kind: OBJECT_KIND_POLICY, id: policyKey("p1"), reason: "policy GlobalNetworkPolicy//p1 inbound rule 3 src_ip_set_ids[0]: unknown IP set s:abc" },
    ]);
    const [arrived] = feed(store, ipSet("s:abc", ["10.0.0.1"]));
    expect(arrived.changes.map((c) => c.change?.$case)).toEqual(["ipSet", "policy"]);
    expect(arrived.cleared).toEqual([{ kind: OBJECT_KIND_POLICY, id: policyKey("p1") }]);
  });

  test("a named-port set must be IP_AND_PORT and a match set must not be", () => {
    const store = new DesiredStateStore();
    const [, , r] = feed(store, ipSet("s:net", []), ipSet("n:port", [], "IP_AND_PORT"), policy("p1", [{ dst_named_port_ip_set_ids: ["s:net"] }]));
    expect(r.errors[0].reason).toBe(
      "policy GlobalNetworkPolicy//p1 inbound rule 0 dst_named_port_ip_set_ids[0]: IP set s:net has type IP_SET_TYPE_NET, expected IP_SET_TYPE_IP_AND_PORT",
    );
    const [r2] = feed(store, policy("p1", [{ src_ip_set_ids: ["n:port"] }]));
    expect(r2.errors[0].reason).toMatch(/src_ip_set_ids\[0\]: IP set n:port has type IP_SET_TYPE_IP_AND_PORT, expected IP_SET_TYPE_IP or IP_SET_TYPE_NET/);
  });

  test("a later valid update of the same object clears its error", () => {
    const store = new DesiredStateStore();
    feed(store, policy("p1", [{ action: "bogus" }]));
    expect(store.currentErrors().map((e) => e.id)).toEqual([policyKey("p1")]);
    const [fixed] = feed(store, policy("p1", [{ action: "deny" }]));
    expect(fixed.changes.map((c) => c.change?.$case)).toEqual(["policy"]);
    expect(fixed.cleared).toEqual([{ kind: OBJECT_KIND_POLICY, id: policyKey("p1") }]);
    expect(store.currentErrors()).toEqual([]);
  });

  test("a valid object replaced by an invalid one leaves the snapshot, with its dependents first", () => {
    const store = new DesiredStateStore();
    feed(store, policy("p1", [{ action: "deny" }]), wep("a", ["p1"]));
    const [broken] = feed(store, policy("p1", [{ action: "deny", protocol: { number: 300 } }]));
    expect(cases(broken)).toEqual(["removeWorkloadEndpoint", "removePolicy"]);
    expect(broken.errors.map((e) => [e.kind, e.id])).toEqual([
      [OBJECT_KIND_POLICY, policyKey("p1")],
      [OBJECT_KIND_WORKLOAD_ENDPOINT, "k8s/default/a/eth0"],
    ]);
    expect(broken.errors[1].reason).toBe("workload endpoint k8s/default/a/eth0 tiers[0] ingress_policies[0]: policy GlobalNetworkPolicy//p1 is in error");
    const [healed] = feed(store, policy("p1", [{ action: "deny" }]));
    expect(cases(healed)).toEqual(["policy", "workloadEndpoint"]);
    expect(store.snapshot().workloadEndpoints).toHaveLength(1);
  });
});

describe("endpoints", () => {
  test("an endpoint naming a policy or profile the store does not have is in error", () => {
    const store = new DesiredStateStore();
    const [noPolicy] = feed(store, wep("a", ["missing"]));
    expect(noPolicy.errors[0].reason).toBe("workload endpoint k8s/default/a/eth0 tiers[0] ingress_policies[0]: unknown policy GlobalNetworkPolicy//missing");
    const [noProfile] = feed(store, wep("b", [], ["kns.gone"]));
    expect(noProfile.errors[0].reason).toBe("workload endpoint k8s/default/b/eth0 profile_ids[0]: unknown profile kns.gone");
    expect(store.snapshot().workloadEndpoints).toEqual([]);
    const [arrived] = feed(store, profile("kns.gone"));
    expect(cases(arrived)).toEqual(["profile", "workloadEndpoint"]);
  });

  test("removing a policy an endpoint still names takes the endpoint out first", () => {
    const store = new DesiredStateStore();
    feed(store, policy("p1", []), wep("a", ["p1"]));
    const [r] = feed(store, { active_policy_remove: { id: { name: "p1", kind: "GlobalNetworkPolicy" } } });
    expect(cases(r)).toEqual(["removeWorkloadEndpoint", "removePolicy"]);
    expect(r.errors[0].reason).toMatch(/unknown policy GlobalNetworkPolicy\/\/p1/);
  });

  test("admin state, staged policies, Felix's ids for status", () => {
    const store = new DesiredStateStore();
    feed(store, policy("s1", [], "StagedGlobalNetworkPolicy"), wep("a", [], [], "inactive"), {
      host_endpoint_update: { id: { endpoint_id: "hep1" }, endpoint: { name: "" } },
    });
    const state = store.snapshot();
    expect(state.policies[0].staged).toBe(true);
    expect(state.workloadEndpoints[0].adminUp).toBe(false);
    expect(state.hostEndpoints[0].ifname).toBe("");
    const key = "k8s/default/a/eth0";
    expect(store.felixWorkloadEndpoint(key)?.endpoint?.name).toBe("calia");
    expect(store.felixWorkloadEndpointId(key)).toEqual({ orchestratorId: "k8s", workloadId: "default/a", endpointId: "eth0" });
    expect(store.felixHostEndpointId("hep1")).toEqual({ endpointId: "hep1" });
    feed(store, { workload_endpoint_remove: { id: { orchestrator_id: "k8s", workload_id: "default/a", endpoint_id: "eth0" } } });
    expect(store.felixWorkloadEndpoint(key)).toBeUndefined();
    expect(store.felixWorkloadEndpointId(key)).toEqual({ orchestratorId: "k8s", workloadId: "default/a", endpointId: "eth0" });
    expect(store.felixWorkloadEndpointId("nonsense")).toBeUndefined();
  });

  test("bad endpoint fields", () => {
    const store = new DesiredStateStore();
    const base = { orchestrator_id: "k8s", workload_id: "default/x", endpoint_id: "eth0" };
    const [netFamily, mac, hepAddr] = feed(
      store,
      { workload_endpoint_update: { id: base, endpoint: { name: "calix", ipv4_nets: ["fd00::1/128"] } } },
      { workload_endpoint_update: { id: { ...base, workload_id: "default/y" }, endpoint: { name: "caliy", mac: "zz" } } },
      { host_endpoint_update: { id: { endpoint_id: "h" }, endpoint: { name: "eth0", expected_ipv4_addrs: ["10.0.0.0/24"] } } },
    );
    expect(netFamily.errors[0].reason).toBe('workload endpoint k8s/default/x/eth0 ipv4_nets[0]: "fd00::1/128" is not an IPv4 CIDR');
    expect(mac.errors[0].reason).toBe('workload endpoint k8s/default/y/eth0 mac: "zz" is not a MAC address');
    expect(hepAddr.errors[0].reason).toBe('host endpoint h expected_ipv4_addrs[0]: "10.0.0.0/24" is a network, expected an address');
  });
});

describe("messages without an identity", () => {
  test.each([
    [{ active_policy_update: { policy: {} } }, OBJECT_KIND_POLICY, "active policy update: has no id"],
    [{ active_profile_update: { id: { name: "" } } }, OBJECT_KIND_PROFILE, "active profile update id.name: is empty"],
    [{ workload_endpoint_update: { id: { orchestrator_id: "k8s" } } }, OBJECT_KIND_WORKLOAD_ENDPOINT, "workload endpoint update id.workload_id: is empty"],
    [{ ipset_update: { members: ["10.0.0.1"] } }, OBJECT_KIND_IP_SET, "IP set update id: is empty"],
    [{ host_metadata_update: { ipv4_addr: "10.0.0.1" } }, OBJECT_KIND_UNSPECIFIED, "host metadata hostname: is empty"],
  ])("%j is reported and changes nothing", (msg, kind, reason) => {
    const store = new DesiredStateStore();
    const [r] = feed(store, msg);
    expect(r.changes).toEqual([]);
    expect(r.errors).toEqual([{ kind, id: expect.any(String), reason }]);
    expect(store.currentErrors()).toEqual([]);
  });

  test("an envelope with no payload this protocol version knows is counted and ignored", () => {
    const store = new DesiredStateStore();
    const warnings: string[] = [];
    const logging = new DesiredStateStore({ logger: { warn: (m) => warnings.push(m) } });
    // Field 39 (a payload from a newer Felix) is skipped by the decoder.
    const r = logging.apply(decodeToDataplane({ offset: 0, bytes: Buffer.from("78 07 ba 02 00".replace(/ /g, ""), "hex") }));
    expect(r).toEqual({ changes: [], errors: [], cleared: [], inSync: false });
    expect(logging.unimplementedCounts).toEqual({ none: 1 });
    expect(warnings[0]).toMatch(/ToDataplane 7 carries no payload this driver knows/);
    expect(store.unimplementedCounts).toEqual({});
  });
});

describe("config", () => {
  test("a bad value keeps the default and is reported; a later good ConfigUpdate clears it", () => {
    const store = new DesiredStateStore();
    const [r] = feed(store, { config_update: { config: { VXLANPort: "http", ReportingIntervalSecs: "-3", InterfacePrefix: "tap" } } });
    expect(r.errors).toEqual([
      { kind: OBJECT_KIND_UNSPECIFIED, id: "config:VXLANPort", reason: 'config VXLANPort: "http" is not an integer; keeping the default' },
      { kind: OBJECT_KIND_UNSPECIFIED, id: "config:ReportingIntervalSecs", reason: 'config ReportingIntervalSecs: "-3" is not a non-negative number of seconds; keeping the default' },
    ]);
    expect(store.snapshot().config.vxlanPort).toBe(4789);
    expect(store.snapshot().config.interfacePrefix).toBe("tap");
    expect(store.settings.reportingIntervalSecs).toBe(30);
    expect(store.currentErrors()).toHaveLength(2);
    const [fixed] = feed(store, { config_update: { config: { VXLANPort: "4790", InterfacePrefix: "tap" } } });
    expect(fixed.cleared.map((c) => c.id)).toEqual(["config:VXLANPort", "config:ReportingIntervalSecs"]);
    expect(fixed.changes.map((c) => c.change?.$case)).toEqual(["config"]);
    const [same] = feed(store, { config_update: { config: { VXLANPort: "4790", InterfacePrefix: "tap" } } });
    expect(same.changes).toEqual([]);
  });
});

describe("reset", () => {
  test("forgets the state, the in-sync flag and the config", () => {
    const store = new DesiredStateStore();
    feed(store, { config_update: { config: { VXLANPort: "1" } } }, ipSet("s:a", []), policy("p", [{ action: "x" }]), { in_sync: {} });
    expect(store.inSync).toBe(true);
    store.reset();
    expect(store.inSync).toBe(false);
    expect(store.snapshot().ipSets).toEqual([]);
    expect(store.snapshot().config.vxlanPort).toBe(4789);
    expect(store.currentErrors()).toEqual([]);
    const [again] = feed(store, ipSet("s:a", []));
    expect(again.changes.map((c) => c.change?.$case)).toEqual(["ipSet"]);
  });
});
