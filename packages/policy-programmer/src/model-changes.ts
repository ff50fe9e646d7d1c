/** What applying snapshots and deltas to the model records for the next apply. */
import type { sync } from "@ptables/proto";

/** An object the store refused, reported back as an ERROR status and logged. */
export interface Rejection {
  kind: sync.ObjectKind;
  id: string;
  reason: string;
}

/** What changed since the last ModelStore.takeChanges(). */
export interface ModelChanges {
  /** IP sets created, re-typed or removed (their users must be recompiled). */
  ipSetsReplaced: Set<string>;
  /** Per IP set, the members added or removed (by delta or by a snapshot of the same set). */
  ipSetMembersTouched: Map<string, Set<string>>;
  policies: Set<string>;
  profiles: Set<string>;
  workloadEndpoints: Set<string>;
  hostEndpoints: Set<string>;
  /** Routes, VTEPs, host metadata or IPAM pools changed (what only the RouteManager reads). */
  hostNetwork: Set<string>;
  /** DataplaneConfig or Encapsulation changed. */
  config: boolean;
  rejected: Rejection[];
}

export function emptyChanges(): ModelChanges {
  return {
    ipSetsReplaced: new Set(),
    ipSetMembersTouched: new Map(),
    policies: new Set(),
    profiles: new Set(),
    workloadEndpoints: new Set(),
    hostEndpoints: new Set(),
    hostNetwork: new Set(),
    config: false,
    rejected: [],
  };
}
