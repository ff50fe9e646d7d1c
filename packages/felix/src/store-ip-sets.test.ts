/** IP sets: create-or-replace updates, deltas, and how they reach the sets' users. */
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

const set = (id: string, members: string[], type: string | number = "NET"): Msg => ({ ipset_update: { id, members, type } });
const delta = (id: string, added: string[], removed: string[]): Msg => ({ ipset_delta_update: { id, added_members: added, removed_members: removed } });
const user = (setId: string): Msg => ({
  active_policy_update: { id: { name: "p", kind: "GlobalNetworkPolicy" }, policy: { inbound_rules: [{ src_ip_set_ids: [setId] }] } },
});
const cases = (r: ApplyResult): Array<string | undefined> => r.changes.map((c) => c.change?.$case);
const members = (store: DesiredStateStore, id: string): string[] | undefined => store.snapshot().ipSets.find((s) => s.id === id)?.members;

describe("IP set deltas", () => {
  test("a delta must follow an IPSetUpdate for that id", () => {
    const store = new DesiredStateStore();
    const [r] = feed(store, delta("s:none", ["10.0.0.1/32"], []));
    expect(r.changes).toEqual([]);
    expect(r.errors).toEqual([
      {
        kind: sync.ObjectKind.OBJECT_KIND_IP_SET,
        id: "s:none",
        reason: "IP set s:none: delta for an IP set Felix has not sent (IPSetDeltaUpdate must follow IPSetUpdate)",
      },
    ]);
  });

  test("a member both added and removed cancels; no-op adds and removes change nothing", () => {
    const store = new DesiredStateStore();
    feed(store, set("s:a", ["10.0.0.1/32"]));
    const [cancelled, noop] = feed(store, delta("s:a", ["10.0.0.2/32"], ["10.0.0.2/32"]), delta("s:a", ["10.0.0.1/32"], ["10.0.0.9/32"]));
    expect(cancelled.changes).toEqual([]);
    expect(noop.changes).toEqual([]);
    expect(members(store, "s:a")).toEqual(["10.0.0.1/32"]);
  });

  test("deltas are reported in canonical form; two spellings of one member count once", () => {
    const store = new DesiredStateStore();
    const [created] = feed(store, set("s:a", ["10.0.0.1", "10.0.0.1/32", "fd00::0001"]));
    expect(created.changes[0].change).toEqual({ $case: "ipSet", value: { id: "s:a", type: 2, members: ["10.0.0.1/32", "fd00::1/128"] } });
    const [stillThere, gone, added] = feed(store, delta("s:a", [], ["10.0.0.1"]), delta("s:a", [], ["10.0.0.1/32"]), delta("s:a", ["10.2.3.4/16"], ["fd00::0001"]));
    expect(stillThere.changes).toEqual([]);
    expect(gone.changes).toEqual([{ change: { $case: "ipSetDelta", value: { id: "s:a", added: [], removed: ["10.0.0.1/32"] } } }]);
    expect(added.changes).toEqual([{ change: { $case: "ipSetDelta", value: { id: "s:a", added: ["10.2.0.0/16"], removed: ["fd00::1/128"] } } }]);
    expect(members(store, "s:a")).toEqual(["10.2.0.0/16"]);
  });

  test("IPSetUpdate for a known id replaces the whole set", () => {
    const store = new DesiredStateStore();
    feed(store, set("s:a", ["10.0.0.1/32", "10.0.0.2/32"]));
    const [replaced] = feed(store, set("s:a", ["10.0.0.3/32"]));
    expect(replaced.changes).toEqual([{ change: { $case: "ipSet", value: { id: "s:a", type: 2, members: ["10.0.0.3/32"] } } }]);
  });

  test("a bad member added by a delta takes the set and its users out; removing it brings them back", () => {
    const store = new DesiredStateStore();
    feed(store, set("s:a", ["10.0.0.1/32"]), user("s:a"));
    const [broken] = feed(store, delta("s:a", ["10.0.0.2/32", "10.0.0.256/32"], []));
    expect(cases(broken)).toEqual(["removePolicy", "removeIpSet"]);
    expect(broken.errors.map((e) => e.reason)).toEqual([
      'IP set s:a added_members[1]: "10.0.0.256/32": octet 256 is out of range',
      "policy GlobalNetworkPolicy//p inbound rule 0 src_ip_set_ids[0]: IP set s:a is in error",
    ]);
    expect(store.snapshot().ipSets).toEqual([]);
    const [healed] = feed(store, delta("s:a", [], ["10.0.0.256/32"]));
    expect(cases(healed)).toEqual(["ipSet", "policy"]);
    expect(healed.changes[0].change?.value).toEqual({ id: "s:a", type: 2, members: ["10.0.0.1/32", "10.0.0.2/32"] });
    expect(healed.cleared.map((c) => c.id)).toEqual(["s:a", "GlobalNetworkPolicy//p"]);
  });

  test("a set whose type changes under its users re-checks them", () => {
    const store = new DesiredStateStore();
    feed(store, set("s:a", []), user("s:a"));
    const [retyped] = feed(store, set("s:a", ["10.0.0.1,tcp:80"], "IP_AND_PORT"));
    expect(cases(retyped)).toEqual(["ipSet", "removePolicy"]);
    expect(retyped.errors[0].reason).toMatch(/has type IP_SET_TYPE_IP_AND_PORT/);
  });

  test("removing a set its users still name takes them out first", () => {
    const store = new DesiredStateStore();
    feed(store, set("s:a", []), user("s:a"));
    const [r] = feed(store, { ipset_remove: { id: "s:a" } });
    expect(cases(r)).toEqual(["removePolicy", "removeIpSet"]);
    const [again] = feed(store, { ipset_remove: { id: "s:a" } });
    expect(again).toEqual({ changes: [], errors: [], cleared: [], inSync: false });
  });

  test("a delta to a set in error keeps it in error", () => {
    const store = new DesiredStateStore();
    feed(store, set("s:t", ["10.0.0.1/32"], 7));
    const [r] = feed(store, delta("s:t", ["10.0.0.2/32"], []));
    expect(r.changes).toEqual([]);
    expect(r.errors[0].reason).toMatch(/unknown IP set type 7/);
  });

  test("100,000 members, then a delta of 1,000 each way", () => {
    const store = new DesiredStateStore();
    const address = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
    const all = Array.from({ length: 100_000 }, (_, i) => address(i));
    const [created] = feed(store, set("s:big", all));
    expect((created.changes[0].change?.value as { members: string[] }).members).toHaveLength(100_000);
    const added = Array.from({ length: 1000 }, (_, i) => address(200_000 + i));
    const removed = all.slice(0, 1000);
    const [d] = feed(store, delta("s:big", added, removed));
    expect(d.changes[0].change?.value).toEqual({ id: "s:big", added, removed });
    expect(members(store, "s:big")).toHaveLength(100_000);
  });
});
