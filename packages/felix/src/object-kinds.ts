/**
 * The kinds of objects the store validates, what a converter produces for one, and how each
 * kind turns into model changes and error reports.
 */
import { IpSetType, ValidationError } from "@ptables/api";
import type {
  HostEndpoint,
  HostMetadata,
  IpamPool,
  IpSet,
  Policy,
  Profile,
  Route,
  Vtep,
  WorkloadEndpoint,
} from "@ptables/api";
import { sync } from "@ptables/proto";

export interface KindModels {
  ipSet: IpSet;
  policy: Policy;
  profile: Profile;
  workloadEndpoint: WorkloadEndpoint;
  hostEndpoint: HostEndpoint;
  route: Route;
  vtep: Vtep;
  host: HostMetadata;
  ipamPool: IpamPool;
}
export type ObjectKindName = keyof KindModels;

/** A name one object uses for another, and where in the object it appears. */
export interface Dependency {
  kind: "ipSet" | "policy" | "profile";
  id: string;
  /** Relative to the object, e.g. "inbound rule 3 src_ip_set_ids[0]". */
  path: string;
  /** For IP set references: the set types this use accepts. */
  ipSetTypes?: readonly IpSetType[];
}

/** An object that cannot be programmed, and why. */
export interface ObjectError {
  kind: sync.ObjectKind;
  id: string;
  reason: string;
}

export interface ObjectRef {
  kind: sync.ObjectKind;
  id: string;
}

/** What one apply produced; the graph appends to it. */
export interface ApplyOutput {
  changes: sync.Change[];
  errors: ObjectError[];
  /** Objects that were in error and no longer are (valid again, or removed). */
  cleared: ObjectRef[];
}

/** A converter's result: a model (built on demand) and what it names, or why it is invalid. */
export type Converted<K extends ObjectKindName> =
  | { model: () => KindModels[K]; deps: readonly Dependency[]; ipSetType?: IpSetType }
  | { error: string };

/** Runs a conversion, turning a ValidationError into the object's error. */
export function converting<K extends ObjectKindName>(convert: () => Converted<K>): Converted<K> {
  try {
    return convert();
  } catch (err) {
    if (err instanceof ValidationError) return { error: err.message };
    throw err;
  }
}

/** How one kind is reported and turned into changes. */
export interface KindInfo<K extends ObjectKindName> {
  objectKind: sync.ObjectKind;
  label: string;
  upsert(model: KindModels[K]): sync.Change;
  remove(id: string): sync.Change;
}

export const KINDS: { [K in ObjectKindName]: KindInfo<K> } = {
  ipSet: {
    objectKind: sync.ObjectKind.OBJECT_KIND_IP_SET,
    label: "IP set",
    upsert: (value) => ({ change: { $case: "ipSet", value } }),
    remove: (value) => ({ change: { $case: "removeIpSet", value } }),
  },
  policy: {
    objectKind: sync.ObjectKind.OBJECT_KIND_POLICY,
    label: "policy",
    upsert: (value) => ({ change: { $case: "policy", value } }),
    remove: (value) => ({ change: { $case: "removePolicy", value } }),
  },
  profile: {
    objectKind: sync.ObjectKind.OBJECT_KIND_PROFILE,
    label: "profile",
    upsert: (value) => ({ change: { $case: "profile", value } }),
    remove: (value) => ({ change: { $case: "removeProfile", value } }),
  },
  workloadEndpoint: {
    objectKind: sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT,
    label: "workload endpoint",
    upsert: (value) => ({ change: { $case: "workloadEndpoint", value } }),
    remove: (value) => ({ change: { $case: "removeWorkloadEndpoint", value } }),
  },
  hostEndpoint: {
    objectKind: sync.ObjectKind.OBJECT_KIND_HOST_ENDPOINT,
    label: "host endpoint",
    upsert: (value) => ({ change: { $case: "hostEndpoint", value } }),
    remove: (value) => ({ change: { $case: "removeHostEndpoint", value } }),
  },
  route: {
    objectKind: sync.ObjectKind.OBJECT_KIND_ROUTE,
    label: "route",
    upsert: (value) => ({ change: { $case: "route", value } }),
    remove: (value) => ({ change: { $case: "removeRoute", value } }),
  },
  vtep: {
    objectKind: sync.ObjectKind.OBJECT_KIND_VTEP,
    label: "VXLAN tunnel endpoint",
    upsert: (value) => ({ change: { $case: "vtep", value } }),
    remove: (value) => ({ change: { $case: "removeVtep", value } }),
  },
  host: {
    objectKind: sync.ObjectKind.OBJECT_KIND_UNSPECIFIED,
    label: "host",
    upsert: (value) => ({ change: { $case: "host", value } }),
    remove: (value) => ({ change: { $case: "removeHost", value } }),
  },
  ipamPool: {
    objectKind: sync.ObjectKind.OBJECT_KIND_UNSPECIFIED,
    label: "IPAM pool",
    upsert: (value) => ({ change: { $case: "ipamPool", value } }),
    remove: (value) => ({ change: { $case: "removeIpamPool", value } }),
  },
};

/**
 * The ObjectRef an object is reported under. Kinds without their own ObjectKind are reported
 * as UNSPECIFIED with a prefixed id ("host:node1", "ipam-pool:10.0.0.0-16").
 */
export function objectRef(kind: ObjectKindName, id: string): ObjectRef {
  const objectKind = KINDS[kind].objectKind;
  if (objectKind !== sync.ObjectKind.OBJECT_KIND_UNSPECIFIED) return { kind: objectKind, id };
  return { kind: objectKind, id: `${kind === "ipamPool" ? "ipam-pool" : kind}:${id}` };
}
