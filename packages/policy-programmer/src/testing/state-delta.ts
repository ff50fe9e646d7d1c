/**
 * The Delta that turns one desired state into another, as the felix-proxy would send it:
 * upserts of new or changed objects, removals of missing ones, and membership deltas for IP
 * sets that only changed members. Lets state-sequence tests drive the programmer both by
 * snapshot and by delta and expect the same tables.
 */
import { model, sync } from "@ptables/proto";
import { policyKey, type DesiredState } from "@ptables/api";

type ChangeValue = NonNullable<sync.Change["change"]>;

function same<T>(fns: { encode(m: T): { finish(): Uint8Array } }, a: T, b: T): boolean {
  return Buffer.from(fns.encode(a).finish()).equals(Buffer.from(fns.encode(b).finish()));
}

function diffList<T>(
  prev: T[],
  next: T[],
  key: (o: T) => string,
  fns: { encode(m: T): { finish(): Uint8Array } },
  upsert: (o: T) => ChangeValue,
  remove: (k: string) => ChangeValue,
  out: sync.Change[],
): void {
  const before = new Map(prev.map((o) => [key(o), o]));
  const after = new Map(next.map((o) => [key(o), o]));
  for (const [k, o] of after) {
    const old = before.get(k);
    if (!old || !same(fns, old, o)) out.push({ change: upsert(o) });
  }
  for (const k of before.keys()) if (!after.has(k)) out.push({ change: remove(k) });
}

export function deltaBetween(prev: DesiredState, next: DesiredState, version: bigint, inSync = true): sync.Delta {
  const changes: sync.Change[] = [];
  const prevSets = new Map(prev.ipSets.map((s) => [s.id, s]));
  for (const s of next.ipSets) {
    const old = prevSets.get(s.id);
    if (old && old.type === s.type) {
      const added = s.members.filter((m) => !old.members.includes(m));
      const removed = old.members.filter((m) => !s.members.includes(m));
      if (added.length || removed.length) changes.push({ change: { $case: "ipSetDelta", value: { id: s.id, added, removed } } });
    } else if (!old || !same(model.IpSet, old, s)) {
      changes.push({ change: { $case: "ipSet", value: s } });
    }
  }
  diffList(prev.policies, next.policies, (p) => policyKey(p.id!), model.Policy, (value) => ({ $case: "policy", value }), (value) => ({ $case: "removePolicy", value }), changes);
  diffList(prev.profiles, next.profiles, (p) => p.id, model.Profile, (value) => ({ $case: "profile", value }), (value) => ({ $case: "removeProfile", value }), changes);
  diffList(
    prev.workloadEndpoints,
    next.workloadEndpoints,
    (e) => e.key,
    model.WorkloadEndpoint,
    (value) => ({ $case: "workloadEndpoint", value }),
    (value) => ({ $case: "removeWorkloadEndpoint", value }),
    changes,
  );
  diffList(
    prev.hostEndpoints,
    next.hostEndpoints,
    (e) => e.key,
    model.HostEndpoint,
    (value) => ({ $case: "hostEndpoint", value }),
    (value) => ({ $case: "removeHostEndpoint", value }),
    changes,
  );
  // Removing sets last, as Felix does: nothing refers to them any more by then.
  for (const s of prev.ipSets) if (!next.ipSets.some((n) => n.id === s.id)) changes.push({ change: { $case: "removeIpSet", value: s.id } });
  if (next.config && (!prev.config || !same(model.DataplaneConfig, prev.config, next.config))) changes.push({ change: { $case: "config", value: next.config } });
  return { version, changes, inSync };
}
