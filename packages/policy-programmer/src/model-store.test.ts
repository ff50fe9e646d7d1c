/** The desired model: what a snapshot or delta records as changed, and what it rejects. */
import { sync } from "@ptables/proto";
import { testing } from "@ptables/policy-core";
import { ModelStore } from "./model-store";
import { deltaOf, snapshotOf } from "./testing/fixtures";
import { STATES } from "./testing/states";

const { ipSet } = testing;
const web = STATES.web!.state;

function changed(store: ModelStore): Record<string, unknown> {
  const c = store.takeChanges();
  return {
    ipSetsReplaced: [...c.ipSetsReplaced].sort(),
    members: Object.fromEntries([...c.ipSetMembersTouched].map(([id, m]) => [id, [...m].sort()])),
    policies: [...c.policies].sort(),
    profiles: [...c.profiles].sort(),
    workloadEndpoints: [...c.workloadEndpoints].sort(),
    config: c.config,
    rejected: c.rejected.map((r) => `${sync.ObjectKind[r.kind]} "${r.id}": ${r.reason}`),
  };
}

describe("ModelStore", () => {
  test("an identical snapshot records nothing; a changed one only what changed", () => {
    const store = new ModelStore();
    store.applySnapshot(snapshotOf(web, 1n));
    store.takeChanges();
    store.applySnapshot(snapshotOf(structuredClone(web), 2n));
    expect(store.hasChanges()).toBe(false);
    store.applySnapshot(snapshotOf({ ...web, ipSets: [ipSet("s-web", "ip", ["10.0.1.2/32", "10.0.1.5/32"])] }, 3n));
    expect(changed(store)).toEqual({
      ipSetsReplaced: [],
      members: { "s-web": ["10.0.1.1/32", "10.0.1.5/32"] },
      policies: [],
      profiles: [],
      workloadEndpoints: [],
      config: false,
      rejected: [],
    });
  });

  test("membership deltas touch only members that really change", () => {
    const store = new ModelStore();
    store.applySnapshot(snapshotOf(web, 1n));
    store.takeChanges();
    store.applyDelta(deltaOf(2n, [{ $case: "ipSetDelta", value: { id: "s-web", added: ["10.0.1.1/32", "10.0.1.7/32"], removed: ["10.0.9.9/32"] } }]));
    expect(changed(store).members).toEqual({ "s-web": ["10.0.1.7/32"] });
    expect(store.ipSet("s-web")!.members.sort()).toEqual(["10.0.1.1/32", "10.0.1.2/32", "10.0.1.7/32"]);
  });

  test("objects without ids, duplicates, unknown set types and deltas to unknown sets are rejected by name and place", () => {
    const store = new ModelStore();
    const noId = { ...web.policies[0]!, id: undefined };
    store.applySnapshot(
      snapshotOf({ ...web, ipSets: [...web.ipSets, web.ipSets[0]!, { id: "bad", type: 7 as never, members: [] }], policies: [noId, ...web.policies] }, 1n),
    );
    expect(changed(store).rejected).toEqual([
      'OBJECT_KIND_IP_SET "s-web": snapshot ipSets[1]: duplicate id; the first one is kept',
      'OBJECT_KIND_IP_SET "bad": snapshot ipSets[2]: ip set bad: unknown type 7',
      'OBJECT_KIND_POLICY "": snapshot policies[0]: policy without an id',
    ]);
    expect(store.policy("GlobalNetworkPolicy//web")).toBeDefined();
    store.applyDelta(deltaOf(2n, [{ $case: "ipSetDelta", value: { id: "nope", added: ["10.0.0.1/32"], removed: [] } }, { $case: "removeIpSet", value: "s-web" }]));
    const c = changed(store);
    expect(c.rejected).toEqual(['OBJECT_KIND_IP_SET "nope": delta 2 change 0: membership delta for unknown ip set "nope"; ignored']);
    expect(c.ipSetsReplaced).toEqual(["s-web"]);
  });

  test("a snapshot without state is refused and changes nothing", () => {
    const store = new ModelStore();
    store.applySnapshot(snapshotOf(web, 1n));
    store.takeChanges();
    expect(() => store.applySnapshot({ version: 2n, inSync: true })).toThrow("snapshot version 2: has no state");
    expect(store.version).toBe(1n);
    expect(store.hasChanges()).toBe(false);
  });

  test("a partial snapshot keeps what it leaves out until InSync, unless it is re-sent", () => {
    const store = new ModelStore();
    store.applySnapshot(snapshotOf(web, 1n));
    store.takeChanges();
    store.applySnapshot(snapshotOf({ ...web, workloadEndpoints: [], ipSets: [] }, 2n, false));
    expect(store.hasChanges()).toBe(false);
    expect(store.workloadEndpoints.size).toBe(2);
    // Endpoint 1 is re-sent before InSync; endpoint 2 and the set are not.
    store.applyDelta(deltaOf(3n, [{ $case: "workloadEndpoint", value: web.workloadEndpoints[0]! }], false));
    store.applyDelta(deltaOf(4n, [], true));
    const c = changed(store);
    expect(c.workloadEndpoints).toEqual(["k8s/default/pod2/eth0"]);
    expect(c.ipSetsReplaced).toEqual(["s-web"]);
    expect([...store.workloadEndpoints.keys()]).toEqual(["k8s/default/pod1/eth0"]);
  });

  test("config changes are recorded once", () => {
    const store = new ModelStore();
    store.applySnapshot(snapshotOf(web, 1n));
    expect(changed(store).config).toBe(true);
    store.applyDelta(deltaOf(2n, [{ $case: "config", value: web.config! }]));
    expect(store.hasChanges()).toBe(false);
    store.applyDelta(deltaOf(3n, [{ $case: "config", value: { ...web.config!, allowVxlanPacketsFromWorkloads: true } }]));
    expect(changed(store).config).toBe(true);
  });
});
