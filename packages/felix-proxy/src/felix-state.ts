/**
 * The proxy's view of Felix's state: the DesiredStateStore plus the little the proxy needs on
 * top of it to talk back to Felix (which host endpoints Felix currently has).
 */
import { DesiredStateStore, type ApplyResult, type StoreLogger } from "@ptables/felix";
import type { felix, model } from "@ptables/proto";
import type { EndpointLookup } from "./endpoint-status";
import type { SyncSource } from "./programmer-sync";

/** The store plus host-endpoint presence: the source of snapshots and of Felix ids for statuses. */
export class FelixState implements EndpointLookup, SyncSource {
  readonly store: DesiredStateStore;
  /** Host endpoints Felix has sent and not removed (valid or not), by key (endpoint_id). */
  private readonly hostEndpoints = new Set<string>();

  constructor(logger?: StoreLogger) {
    this.store = new DesiredStateStore({ logger });
  }

  apply(msg: felix.ToDataplane): ApplyResult {
    const result = this.store.apply(msg);
    const p = msg.payload;
    if (p?.$case === "hostEndpointUpdate" && p.value.id?.endpointId) this.hostEndpoints.add(p.value.id.endpointId);
    if (p?.$case === "hostEndpointRemove" && p.value.id?.endpointId) this.hostEndpoints.delete(p.value.id.endpointId);
    return result;
  }

  reset(): void {
    this.store.reset();
    this.hostEndpoints.clear();
  }

  state(): model.DesiredState {
    return this.store.snapshot();
  }

  inSync(): boolean {
    return this.store.inSync;
  }

  reportingIntervalSecs(): number {
    return this.store.settings.reportingIntervalSecs;
  }

  workloadEndpoint(key: string): { id: felix.WorkloadEndpointID; endpoint: felix.WorkloadEndpoint | undefined } | undefined {
    return this.store.felixWorkloadEndpoint(key);
  }

  hostEndpoint(key: string): { id: felix.HostEndpointID } | undefined {
    return this.hostEndpoints.has(key) ? { id: this.store.felixHostEndpointId(key) } : undefined;
  }

  /** Valid objects by kind, for Info. */
  objectCounts(): Record<string, number> {
    const s = this.store.snapshot();
    return {
      ipSets: s.ipSets.length,
      policies: s.policies.length,
      profiles: s.profiles.length,
      workloadEndpoints: s.workloadEndpoints.length,
      hostEndpoints: s.hostEndpoints.length,
      routes: s.routes.length,
      vteps: s.vteps.length,
      hosts: s.hosts.length,
      ipamPools: s.ipamPools.length,
      inError: this.store.currentErrors().length,
    };
  }
}
