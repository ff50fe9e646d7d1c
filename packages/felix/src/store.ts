/**
 * The desired state as Felix describes it, validated. Felix streams whole-object updates,
 * IP-set deltas and removes; the store applies each message, keeps only valid objects (and
 * only those whose references resolve) in the snapshot, and returns the model changes the
 * policy programmer needs, in dependency order. Invalid input rejects that object alone.
 */
import { ValidationError, emptyDesiredState, errorMessage } from "@ptables/api";
import type { DataplaneConfig, DesiredState, Encapsulation } from "@ptables/api";
import { sync, type felix } from "@ptables/proto";
import { convertHostEndpoint, convertWorkloadEndpoint, hostEndpointKeyOf, workloadEndpointKeyOf } from "./convert-endpoints";
import {
  convertEncapsulation,
  convertIpamPool,
  convertRoute,
  convertVtep,
  mergeHostMetadata,
  routeKeyOf,
  type HostMetadataSources,
} from "./convert-network";
import { convertPolicy, convertProfile, policyKeyOf, profileKeyOf } from "./convert-rules";
import { ConfigState } from "./config-state";
import type { FelixSettings } from "./felix-config";
import { IpSetMembers } from "./ip-set-members";
import { ObjectGraph } from "./object-graph";
import { objectRef, type ApplyOutput, type Converted, type ObjectError, type ObjectKindName, type ObjectRef } from "./object-kinds";
import { UnimplementedPayloads, isUnimplementedPayload, type UnimplementedState } from "./unimplemented-payloads";
import { serviceNetsOf } from "./service-nets";

/** Payloads whose Service addresses feed DataplaneConfig.serviceNets (service-nets.ts). */
const SERVICE_NET_PAYLOADS: ReadonlySet<string> = new Set(["serviceUpdate", "serviceRemove", "globalBgpConfigUpdate"]);

type Payload = NonNullable<felix.ToDataplane["payload"]>;

/** Where the store reports things an operator should see once (winston's Logger fits). */
export interface StoreLogger {
  warn(message: string): void;
}

export interface DesiredStateStoreOptions {
  logger?: StoreLogger;
}

/** What one Felix message did. */
export interface ApplyResult {
  /** Model changes, in the order they must be applied. */
  changes: sync.Change[];
  /** Objects this message put (or kept) in error. */
  errors: ObjectError[];
  /** Objects that were in error and no longer are. */
  cleared: ObjectRef[];
  /** Whether Felix has sent InSync on this connection. */
  inSync: boolean;
}

/** Felix's original identity and body of a workload endpoint, for status messages. */
export interface FelixWorkloadEndpoint {
  id: felix.WorkloadEndpointID;
  endpoint: felix.WorkloadEndpoint | undefined;
}

export class DesiredStateStore {
  private readonly graph = new ObjectGraph();
  private readonly ipSets = new Map<string, IpSetMembers>();
  private readonly workloadEndpoints = new Map<string, FelixWorkloadEndpoint>();
  private readonly hostMetadata = new Map<string, HostMetadataSources>();
  private readonly unimplemented = new UnimplementedPayloads();
  private readonly configState = new ConfigState();
  private encapsulation: Encapsulation = emptyDesiredState().encapsulation!;
  private synced = false;
  private sequence = 0n;
  private readonly logged = new Set<string>();
  /**
   * Messages received per payload kind that the datapath does not implement (plus "none":
   * envelopes without a payload this Felix protocol version knows). Kept across reset().
   */
  readonly unimplementedCounts: Record<string, number> = {};

  constructor(private readonly options: DesiredStateStoreOptions = {}) {}

  /** Applies one Felix message. Never throws: bad input shows up in `errors`. */
  apply(message: felix.ToDataplane): ApplyResult {
    const out: ApplyOutput = { changes: [], errors: [], cleared: [] };
    this.sequence = message.sequenceNumber;
    const payload = message.payload;
    if (payload === undefined) {
      this.countUnimplemented("none", `ToDataplane ${message.sequenceNumber} carries no payload this driver knows (newer Felix?); ignored`);
    } else {
      try {
        this.dispatch(payload, out);
      } catch (err) {
        // Only a bug gets here; report it against the payload rather than kill the driver.
        out.errors.push({ kind: sync.ObjectKind.OBJECT_KIND_UNSPECIFIED, id: payload.$case, reason: `internal error applying ${payload.$case}: ${errorMessage(err)}` });
      }
    }
    return { ...out, inSync: this.synced };
  }

  /** The whole valid desired state, for a (re)connecting programmer. Objects are shared: do not mutate. */
  snapshot(): DesiredState & { config: DataplaneConfig; encapsulation: Encapsulation } {
    return {
      config: this.configState.config,
      ipSets: this.graph.validModels("ipSet"),
      policies: this.graph.validModels("policy"),
      profiles: this.graph.validModels("profile"),
      workloadEndpoints: this.graph.validModels("workloadEndpoint"),
      hostEndpoints: this.graph.validModels("hostEndpoint"),
      routes: this.graph.validModels("route"),
      vteps: this.graph.validModels("vtep"),
      hosts: this.graph.validModels("host"),
      ipamPools: this.graph.validModels("ipamPool"),
      encapsulation: this.encapsulation,
    };
  }

  /** Forgets everything: a new Felix connection resends the whole state. */
  reset(): void {
    this.graph.clear();
    this.ipSets.clear();
    this.workloadEndpoints.clear();
    this.hostMetadata.clear();
    this.unimplemented.clear();
    this.configState.reset();
    this.encapsulation = emptyDesiredState().encapsulation!;
    this.synced = false;
    this.sequence = 0n;
  }

  get inSync(): boolean {
    return this.synced;
  }

  /** The sequence number of the last message applied (for log correlation only). */
  get lastSequenceNumber(): bigint {
    return this.sequence;
  }

  get settings(): FelixSettings {
    return { ...this.configState.settings };
  }

  /** Every object currently in error, including config parameters. */
  currentErrors(): ObjectError[] {
    return [...this.graph.errors(), ...this.configState.errors()];
  }

  get unimplementedState(): UnimplementedState {
    return this.unimplemented.state;
  }

  /** Felix's id and endpoint for a workload endpoint key (valid or in error), if present. */
  felixWorkloadEndpoint(key: string): FelixWorkloadEndpoint | undefined {
    return this.workloadEndpoints.get(key);
  }

  /**
   * Felix's WorkloadEndpointID for a key. For a removed endpoint it is rebuilt from the key
   * (orchestrator up to the first "/", endpoint after the last), which is exact for every
   * orchestrator Calico uses.
   */
  felixWorkloadEndpointId(key: string): felix.WorkloadEndpointID | undefined {
    const known = this.workloadEndpoints.get(key);
    if (known) return known.id;
    const first = key.indexOf("/");
    const last = key.lastIndexOf("/");
    if (first <= 0 || last <= first + 1 || last === key.length - 1) return undefined;
    return { orchestratorId: key.slice(0, first), workloadId: key.slice(first + 1, last), endpointId: key.slice(last + 1) };
  }

  /** Felix's HostEndpointID for a host endpoint key (the key is its endpoint_id). */
  felixHostEndpointId(key: string): felix.HostEndpointID {
    return { endpointId: key };
  }

  private dispatch(payload: Payload, out: ApplyOutput): void {
    if (isUnimplementedPayload(payload)) {
      this.unimplemented.apply(payload);
      if (SERVICE_NET_PAYLOADS.has(payload.$case)) {
        this.countUnimplemented(payload.$case, `felix ${payload.$case}: only its Service addresses are used (DataplaneConfig.serviceNets); kube-proxy does the NAT (logged once)`);
        this.updateServiceNets(out);
        return;
      }
      this.countUnimplemented(payload.$case, `felix ${payload.$case}: not implemented in the datapath yet; kept but not programmed (logged once)`);
      return;
    }
    const { graph } = this;
    switch (payload.$case) {
      case "inSync":
        this.synced = true;
        return;
      case "configUpdate":
        return this.configState.apply(payload.value, out);
      case "ipsetUpdate":
        return this.withKey("ipSet", () => payload.value.id || this.missing("IP set update id"), out, (id) => {
          const members = new IpSetMembers(id, payload.value.type, payload.value.members);
          this.ipSets.set(id, members);
          graph.set("ipSet", id, ipSetContent(members), out);
        });
      case "ipsetDeltaUpdate":
        return this.applyIpSetDelta(payload.value, out);
      case "ipsetRemove":
        this.ipSets.delete(payload.value.id);
        graph.remove("ipSet", payload.value.id, out);
        return;
      case "activePolicyUpdate":
        return this.withKey("policy", () => policyKeyOf(payload.value.id, "active policy update"), out, (key) =>
          graph.set("policy", key, convertPolicy(key, payload.value.id!, payload.value.policy), out),
        );
      case "activePolicyRemove":
        return this.withKey("policy", () => policyKeyOf(payload.value.id, "active policy remove"), out, (key) => graph.remove("policy", key, out));
      case "activeProfileUpdate":
        return this.withKey("profile", () => profileKeyOf(payload.value.id, "active profile update"), out, (key) =>
          graph.set("profile", key, convertProfile(key, payload.value.profile), out),
        );
      case "activeProfileRemove":
        return this.withKey("profile", () => profileKeyOf(payload.value.id, "active profile remove"), out, (key) => graph.remove("profile", key, out));
      case "workloadEndpointUpdate":
        return this.withKey("workloadEndpoint", () => workloadEndpointKeyOf(payload.value.id, "workload endpoint update"), out, (key) => {
          this.workloadEndpoints.set(key, { id: payload.value.id!, endpoint: payload.value.endpoint });
          graph.set("workloadEndpoint", key, convertWorkloadEndpoint(key, payload.value.id!, payload.value.endpoint), out);
        });
      case "workloadEndpointRemove":
        return this.withKey("workloadEndpoint", () => workloadEndpointKeyOf(payload.value.id, "workload endpoint remove"), out, (key) => {
          this.workloadEndpoints.delete(key);
          graph.remove("workloadEndpoint", key, out);
        });
      case "hostEndpointUpdate":
        return this.withKey("hostEndpoint", () => hostEndpointKeyOf(payload.value.id, "host endpoint update"), out, (key) =>
          graph.set("hostEndpoint", key, convertHostEndpoint(key, payload.value.endpoint), out),
        );
      case "hostEndpointRemove":
        return this.withKey("hostEndpoint", () => hostEndpointKeyOf(payload.value.id, "host endpoint remove"), out, (key) => graph.remove("hostEndpoint", key, out));
      case "routeUpdate":
        return this.withKey("route", () => routeKeyOf(payload.value.dst || this.missing("route update dst")), out, (key) =>
          graph.set("route", key, convertRoute(key, payload.value), out),
        );
      case "routeRemove":
        graph.remove("route", routeKeyOf(payload.value.dst), out);
        return;
      case "vtepUpdate":
        return this.withKey("vtep", () => payload.value.node || this.missing("VXLAN tunnel endpoint update node"), out, (node) =>
          graph.set("vtep", node, convertVtep(node, payload.value), out),
        );
      case "vtepRemove":
        graph.remove("vtep", payload.value.node, out);
        return;
      case "ipamPoolUpdate":
        return this.withKey("ipamPool", () => payload.value.id || this.missing("IPAM pool update id"), out, (id) =>
          graph.set("ipamPool", id, convertIpamPool(id, payload.value.pool), out),
        );
      case "ipamPoolRemove":
        graph.remove("ipamPool", payload.value.id, out);
        return;
      case "hostMetadataUpdate":
        return this.updateHost(payload.value.hostname, out, (s) => (s.current = payload.value));
      case "hostMetadataRemove":
        return this.updateHost(payload.value.hostname, out, (s) => delete s.current);
      case "hostMetadataV6Update":
        return this.updateHost(payload.value.hostname, out, (s) => (s.v6 = payload.value));
      case "hostMetadataV6Remove":
        return this.updateHost(payload.value.hostname, out, (s) => delete s.v6);
      case "hostMetadataV4v6Update":
        return this.updateHost(payload.value.hostname, out, (s) => (s.v4v6 = payload.value));
      case "hostMetadataV4v6Remove":
        return this.updateHost(payload.value.hostname, out, (s) => delete s.v4v6);
      case "encapsulation": {
        const encapsulation = convertEncapsulation(payload.value);
        if (JSON.stringify(encapsulation) === JSON.stringify(this.encapsulation)) return;
        this.encapsulation = encapsulation;
        out.changes.push({ change: { $case: "encapsulation", value: encapsulation } });
        return;
      }
      default: {
        const unreachable: never = payload;
        throw new Error(`unhandled payload ${(unreachable as Payload).$case}`);
      }
    }
  }

  /** Runs `apply` with the object's key; a message whose key is missing is reported, not applied. */
  private withKey(kind: ObjectKindName, key: () => string, out: ApplyOutput, apply: (key: string) => void): void {
    let resolved: string;
    try {
      resolved = key();
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      out.errors.push({ ...objectRef(kind, ""), reason: err.message });
      return;
    }
    apply(resolved);
  }

  private missing(path: string): never {
    throw new ValidationError(path, "is empty");
  }

  private applyIpSetDelta(delta: felix.IPSetDeltaUpdate, out: ApplyOutput): void {
    const members = this.ipSets.get(delta.id);
    if (!members) {
      const reason = `IP set ${delta.id}: delta for an IP set Felix has not sent (IPSetDeltaUpdate must follow IPSetUpdate)`;
      out.errors.push({ kind: sync.ObjectKind.OBJECT_KIND_IP_SET, id: delta.id, reason });
      return;
    }
    const wasValid = this.graph.isValid("ipSet", delta.id);
    const change = members.applyDelta(delta.addedMembers, delta.removedMembers);
    const content = ipSetContent(members);
    if (wasValid && "model" in content) {
      if (change.added.length > 0 || change.removed.length > 0) {
        out.changes.push({ change: { $case: "ipSetDelta", value: { id: delta.id, ...change } } });
      }
      return;
    }
    // Validity changes (or the set stays in error): whole-set semantics.
    this.graph.set("ipSet", delta.id, content, out);
  }

  private updateHost(hostname: string, out: ApplyOutput, edit: (sources: HostMetadataSources) => void): void {
    if (hostname === "") {
      out.errors.push({ ...objectRef("host", ""), reason: "host metadata hostname: is empty" });
      return;
    }
    const sources = { ...this.hostMetadata.get(hostname) };
    edit(sources);
    if (!sources.current && !sources.v6 && !sources.v4v6) {
      this.hostMetadata.delete(hostname);
      this.graph.remove("host", hostname, out);
      return;
    }
    this.hostMetadata.set(hostname, sources);
    this.graph.set("host", hostname, mergeHostMetadata(hostname, sources), out);
  }

  /** Recomputes the Service destinations after a Service or BGP config change. */
  private updateServiceNets(out: ApplyOutput): void {
    const { nets, skipped } = serviceNetsOf(this.unimplemented.state);
    for (const entry of skipped) this.warnOnce(`service-net:${entry}`, `felix ${entry} is not an address or CIDR; not treated as a Service destination`);
    this.configState.setServiceNets(nets, out);
  }

  private warnOnce(key: string, message: string): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.options.logger?.warn(message);
  }

  private countUnimplemented(kind: string, message: string): void {
    this.unimplementedCounts[kind] = (this.unimplementedCounts[kind] ?? 0) + 1;
    if (this.logged.has(kind)) return;
    this.logged.add(kind);
    this.options.logger?.warn(message);
  }
}

function ipSetContent(members: IpSetMembers): Converted<"ipSet"> {
  const error = members.error;
  if (error !== undefined) return { error };
  return { model: () => members.toModel(), deps: [], ipSetType: members.type };
}
