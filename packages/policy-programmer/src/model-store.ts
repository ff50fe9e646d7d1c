/**
 * The desired model as the felix-proxy streams it: a snapshot, then versioned deltas.
 *
 * Applying a message is cheap and does no I/O: objects are stored (whole-object replacement,
 * IP-set membership deltas) and what changed is recorded for the next apply to consume with
 * takeChanges(). Unchanged objects in a repeated snapshot record nothing, which is what lets a
 * resync after a restart do no work at all.
 *
 * A snapshot replaces the model. Objects it leaves out are removed at once when it says
 * in_sync; otherwise they are kept, marked unconfirmed, and removed only when in_sync arrives
 * (unless re-sent first): a proxy that reconnects before Felix has resent everything must not
 * make us delete endpoints that simply have not been re-sent yet (Felix's own rule: never
 * clean up before InSync).
 */
import { model, sync } from "@ptables/proto";
import { ValidationError, policyKey, workloadEndpointKey } from "@ptables/api";
import type { DataplaneConfig, Encapsulation, HostEndpoint, IpSet, Policy, Profile, WorkloadEndpoint } from "@ptables/api";
import type { PolicyLookup } from "./compiler";
import { IpSetStore, type StoredIpSet } from "./ip-set-store";
import { emptyChanges, type ModelChanges, type Rejection } from "./model-changes";
import { ObjectCollection, type ObjectCodec } from "./object-collection";

export type { ModelChanges, Rejection, StoredIpSet };

const ObjectKind = sync.ObjectKind;

export class ModelStore implements PolicyLookup {
  private readonly ipSets = new IpSetStore(() => this.changes);
  readonly policies: ObjectCollection<Policy>;
  readonly profiles: ObjectCollection<Profile>;
  readonly workloadEndpoints: ObjectCollection<WorkloadEndpoint>;
  readonly hostEndpoints: ObjectCollection<HostEndpoint>;
  readonly routes: ObjectCollection<model.Route>;
  readonly vteps: ObjectCollection<model.Vtep>;
  readonly hosts: ObjectCollection<model.HostMetadata>;
  readonly ipamPools: ObjectCollection<model.IpamPool>;
  private readonly collections: ObjectCollection<any>[];
  private cfg: DataplaneConfig | undefined;
  private encap: Encapsulation | undefined;
  private changes = emptyChanges();

  /** Version of the last message applied. */
  version = 0n;
  /** Whether Felix's InSync has been seen on the current stream. */
  inSync = false;

  constructor() {
    const codec = <T>(fns: ObjectCodec<T>["fns"], kind: sync.ObjectKind, what: string, key: (o: T) => string, dirty?: () => Set<string>): ObjectCodec<T> => ({
      fns,
      kind,
      what,
      key,
      ...(dirty ? { dirty } : {}),
    });
    this.policies = new ObjectCollection(codec(model.Policy, ObjectKind.OBJECT_KIND_POLICY, "policy", (p) => (p.id && p.id.name ? policyKey(p.id) : ""), () => this.changes.policies));
    this.profiles = new ObjectCollection(codec(model.Profile, ObjectKind.OBJECT_KIND_PROFILE, "profile", (p) => p.id, () => this.changes.profiles));
    this.workloadEndpoints = new ObjectCollection(
      codec(model.WorkloadEndpoint, ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT, "workload endpoint", workloadKeyOf, () => this.changes.workloadEndpoints),
    );
    this.hostEndpoints = new ObjectCollection(codec(model.HostEndpoint, ObjectKind.OBJECT_KIND_HOST_ENDPOINT, "host endpoint", (h) => h.key, () => this.changes.hostEndpoints));
    this.routes = new ObjectCollection(codec(model.Route, ObjectKind.OBJECT_KIND_ROUTE, "route", (r) => r.dst, () => this.changes.hostNetwork));
    this.vteps = new ObjectCollection(codec(model.Vtep, ObjectKind.OBJECT_KIND_VTEP, "vtep", (v) => v.node, () => this.changes.hostNetwork));
    this.hosts = new ObjectCollection(codec(model.HostMetadata, ObjectKind.OBJECT_KIND_UNSPECIFIED, "host", (h) => h.hostname, () => this.changes.hostNetwork));
    this.ipamPools = new ObjectCollection(codec(model.IpamPool, ObjectKind.OBJECT_KIND_UNSPECIFIED, "ipam pool", (p) => p.id, () => this.changes.hostNetwork));
    this.collections = [this.policies, this.profiles, this.workloadEndpoints, this.hostEndpoints, this.routes, this.vteps, this.hosts, this.ipamPools];
  }

  // ---- PolicyLookup (for the compiler and the evaluator) ----

  policy(key: string): Policy | undefined {
    return this.policies.get(key);
  }

  profile(id: string): Profile | undefined {
    return this.profiles.get(id);
  }

  ipSet(id: string): IpSet | undefined {
    return this.ipSets.view(id);
  }

  storedIpSet(id: string): StoredIpSet | undefined {
    return this.ipSets.get(id);
  }

  ipSetIds(): IterableIterator<string> {
    return this.ipSets.ids();
  }

  get config(): DataplaneConfig | undefined {
    return this.cfg;
  }

  get encapsulation(): Encapsulation | undefined {
    return this.encap;
  }

  /** Whether anything was recorded since the last takeChanges(). */
  hasChanges(): boolean {
    const c = this.changes;
    return (
      c.config ||
      c.rejected.length > 0 ||
      c.ipSetsReplaced.size + c.ipSetMembersTouched.size + c.policies.size + c.profiles.size + c.workloadEndpoints.size + c.hostEndpoints.size + c.hostNetwork.size > 0
    );
  }

  /** Hands over (and forgets) everything recorded since the previous call. */
  takeChanges(): ModelChanges {
    const c = this.changes;
    this.changes = emptyChanges();
    return c;
  }

  // ---- applying messages ----

  /**
   * Replaces the model with a snapshot. Throws ValidationError, changing nothing, if the
   * snapshot has no state at all; objects that are individually invalid are rejected and
   * reported, and everything else is applied.
   */
  applySnapshot(snapshot: sync.Snapshot): void {
    const state = snapshot.state;
    if (!state) throw new ValidationError(`snapshot version ${snapshot.version}`, "has no state");
    this.version = snapshot.version;
    this.inSync = snapshot.inSync;

    for (const r of this.ipSets.replaceAll(state.ipSets, "snapshot ipSets", snapshot.inSync)) this.changes.rejected.push(r);

    const lists: Array<[ObjectCollection<any>, unknown[] | undefined, string]> = [
      [this.policies, state.policies, "policies"],
      [this.profiles, state.profiles, "profiles"],
      [this.workloadEndpoints, state.workloadEndpoints, "workloadEndpoints"],
      [this.hostEndpoints, state.hostEndpoints, "hostEndpoints"],
      [this.routes, state.routes, "routes"],
      [this.vteps, state.vteps, "vteps"],
      [this.hosts, state.hosts, "hosts"],
      [this.ipamPools, state.ipamPools, "ipamPools"],
    ];
    for (const [collection, items, field] of lists) {
      for (const r of collection.replaceAll(items, `snapshot ${field}`, snapshot.inSync)) this.changes.rejected.push(r);
    }
    this.putConfig(state.config);
    this.putEncapsulation(state.encapsulation);
    if (snapshot.inSync) this.confirmInSync();
  }

  /** Applies a delta's changes in order; an invalid change is rejected and the rest applied. */
  applyDelta(delta: sync.Delta): void {
    this.version = delta.version;
    (delta.changes ?? []).forEach((change, i) => this.applyChange(change, `delta ${delta.version} change ${i}`));
    if (delta.inSync && !this.inSync) {
      this.inSync = true;
      this.confirmInSync();
    }
  }

  private applyChange(change: sync.Change, where: string): void {
    const c = change?.change;
    if (!c) return this.reject(ObjectKind.OBJECT_KIND_UNSPECIFIED, "", `${where}: empty change`);
    switch (c.$case) {
      case "ipSet":
        return this.record(this.ipSets.upsert(c.value, where));
      case "ipSetDelta":
        return this.record(this.ipSets.applyDelta(c.value, where));
      case "removeIpSet":
        return this.ipSets.remove(c.value);
      case "policy":
        return this.upsert(this.policies, c.value, where);
      case "profile":
        return this.upsert(this.profiles, c.value, where);
      case "workloadEndpoint":
        return this.upsert(this.workloadEndpoints, c.value, where);
      case "hostEndpoint":
        return this.upsert(this.hostEndpoints, c.value, where);
      case "route":
        return this.upsert(this.routes, c.value, where);
      case "vtep":
        return this.upsert(this.vteps, c.value, where);
      case "host":
        return this.upsert(this.hosts, c.value, where);
      case "ipamPool":
        return this.upsert(this.ipamPools, c.value, where);
      case "config":
        return this.putConfig(c.value);
      case "encapsulation":
        return this.putEncapsulation(c.value);
      case "removePolicy":
        return this.policies.remove(c.value);
      case "removeProfile":
        return this.profiles.remove(c.value);
      case "removeWorkloadEndpoint":
        return this.workloadEndpoints.remove(c.value);
      case "removeHostEndpoint":
        return this.hostEndpoints.remove(c.value);
      case "removeRoute":
        return this.routes.remove(c.value);
      case "removeVtep":
        return this.vteps.remove(c.value);
      case "removeHost":
        return this.hosts.remove(c.value);
      case "removeIpamPool":
        return this.ipamPools.remove(c.value);
      default:
        return this.reject(ObjectKind.OBJECT_KIND_UNSPECIFIED, "", `${where}: unknown change ${(c as { $case: string }).$case}`);
    }
  }

  private upsert<T>(collection: ObjectCollection<T>, value: T, where: string): void {
    this.record(collection.upsert(value, where));
  }

  private record(r: Rejection | undefined): void {
    if (r) this.changes.rejected.push(r);
  }

  private reject(kind: sync.ObjectKind, id: string, reason: string): void {
    this.changes.rejected.push({ kind, id, reason });
  }

  private putConfig(cfg: DataplaneConfig | undefined): void {
    if (!cfg) return;
    const next = model.DataplaneConfig.fromPartial(cfg);
    if (this.cfg && bytesEqual(model.DataplaneConfig.encode(this.cfg).finish(), model.DataplaneConfig.encode(next).finish())) return;
    this.cfg = next;
    this.changes.config = true;
  }

  private putEncapsulation(e: Encapsulation | undefined): void {
    if (!e) return;
    const next = model.Encapsulation.fromPartial(e);
    if (this.encap && bytesEqual(model.Encapsulation.encode(this.encap).finish(), model.Encapsulation.encode(next).finish())) return;
    this.encap = next;
    this.changes.config = true;
  }

  /** InSync: whatever an earlier partial snapshot left unconfirmed is gone for real. */
  private confirmInSync(): void {
    this.ipSets.removeUnconfirmed();
    for (const c of this.collections) c.removeUnconfirmed();
  }
}

function workloadKeyOf(ep: WorkloadEndpoint): string {
  if (ep.key) return ep.key;
  return ep.orchestratorId && ep.workloadId && ep.endpointId ? workloadEndpointKey(ep) : "";
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
