/**
 * The stream Felix would send one node's driver for a scenario: ConfigUpdate (seq 0), the
 * start-of-day flush, InSync, then one flush per step. Each flush is the difference between two
 * NodeView snapshots, emitted in EventSequencer.Flush order (felix/calc/event_sequencer.go):
 *
 *   IPSetUpdate → IPSetDeltaUpdate → ActivePolicyUpdate → ActiveProfileUpdate →
 *   WorkloadEndpointUpdate → WorkloadEndpointRemove → ActiveProfileRemove →
 *   ActivePolicyRemove → IPSetRemove → ServiceAccountRemove → ServiceAccountUpdate →
 *   NamespaceRemove → NamespaceUpdate → RouteRemove → VXLANTunnelEndpointRemove →
 *   VXLANTunnelEndpointUpdate → RouteUpdate → HostMetadataRemove → HostMetadataUpdate →
 *   IPAMPoolRemove → IPAMPoolUpdate → Encapsulation (network-stream.ts)
 *
 * Felix emits each group in Go map order (random); the player sorts by key so streams are
 * reproducible.
 */
import { felix } from "@ptables/proto";
import type { NodeView, Versioned } from "./calc";
import { computeNodeView } from "./calc";
import { ClusterState } from "./cluster";
import { emptyNetworkView } from "./network-calc";
import { networkPayloads } from "./network-stream";
import type { Scenario, StepAction } from "./scenario-types";

type Payload = NonNullable<felix.ToDataplane["payload"]>;

/** One flush that a step produces, to be sent `afterMs` after InSync. */
export interface PlayedStep {
  /** Index in the scenario's `steps`. */
  index: number;
  afterMs: number;
  /** e.g. "updatePod demo/backend". */
  description: string;
  messages: felix.ToDataplane[];
  /** Keys ("k8s/<ns>/<pod>/eth0") of the local endpoints that exist after this step. */
  endpointsAfter: string[];
}

export interface FelixStream {
  node: string;
  /** ConfigUpdate, the first flush and InSync. */
  startOfDay: felix.ToDataplane[];
  /** Keys of the local endpoints after start of day. */
  endpointsAtStart: string[];
  steps: PlayedStep[];
}

export interface StreamOptions {
  /** The node to play; defaults to the scenario's `node`. */
  node?: string;
}

/** Builds the whole stream. Throws ScenarioError if `node` is not one of the scenario's nodes. */
export function buildFelixStream(scenario: Scenario, options: StreamOptions = {}): FelixStream {
  const node = options.node ?? scenario.node;
  const state = ClusterState.fromScenario({ ...scenario, node });
  let seq = 0;
  const envelope = (payload: Payload): felix.ToDataplane => felix.ToDataplane.fromPartial({ sequenceNumber: BigInt(seq++), payload });

  const startOfDay = [envelope({ $case: "configUpdate", value: configUpdate(scenario, node) })];
  let view = computeNodeView(state, node);
  startOfDay.push(...flushPayloads(emptyView(), view).map(envelope));
  startOfDay.push(envelope({ $case: "inSync", value: {} }));
  const endpointsAtStart = [...view.endpoints.keys()].sort();

  const steps = scenario.steps.map((step, index): PlayedStep => {
    state.apply(step.action, `steps[${index}].${step.action.kind}`);
    const next = computeNodeView(state, node);
    const messages = flushPayloads(view, next).map(envelope);
    view = next;
    return { index, afterMs: step.afterMs, description: describeStep(step.action), messages, endpointsAfter: [...view.endpoints.keys()].sort() };
  });
  return { node, startOfDay, endpointsAtStart, steps };
}

/**
 * The start-of-day ConfigUpdate: the scenario's config as if set in the datastore, plus
 * FelixHostname from the environment, as calico-node sets it. Only explicitly set values are
 * sent; Felix never includes defaults.
 */
function configUpdate(scenario: Scenario, node: string): felix.ConfigUpdate {
  const env = { felixhostname: node };
  const sourceToRawConfig: Record<number, felix.RawConfig> = { 5: { source: "environment variable", config: env } };
  if (Object.keys(scenario.config).length > 0) sourceToRawConfig[1] = { source: "datastore (global)", config: scenario.config };
  return felix.ConfigUpdate.fromPartial({ config: { FelixHostname: node, ...scenario.config }, sourceToRawConfig });
}

function describeStep(action: StepAction): string {
  switch (action.kind) {
    case "addPod":
      return `addPod ${action.pod.namespace}/${action.pod.name}`;
    case "removePod":
    case "updatePod":
      return `${action.kind} ${action.namespace}/${action.name}`;
    case "addPolicy":
    case "updatePolicy":
    case "removePolicy":
      return `${action.kind} ${action.policy.namespace ? `${action.policy.namespace}/` : ""}${action.policy.name}`;
    case "setNetworkSet":
      return `setNetworkSet ${action.networkSet.namespace ? `${action.networkSet.namespace}/` : ""}${action.networkSet.name}`;
    case "removeNetworkSet":
      return `removeNetworkSet ${action.namespace ? `${action.namespace}/` : ""}${action.name}`;
  }
}

/** A view with nothing in it: what the driver has before the first flush. */
export function emptyView(): NodeView {
  return { ipSets: new Map(), policies: new Map(), profiles: new Map(), endpoints: new Map(), serviceAccounts: new Map(), namespaces: new Map(), hosts: new Map(), ...emptyNetworkView() };
}

function sortedKeys<T>(map: Map<string, T>): string[] {
  return [...map.keys()].sort();
}

function sameBytes<T>(codec: { encode(m: T): { finish(): Uint8Array } }, a: T, b: T): boolean {
  return Buffer.from(codec.encode(a).finish()).equals(codec.encode(b).finish());
}

function changedVersioned<T>(codec: { encode(m: T): { finish(): Uint8Array } }, before: Versioned<T> | undefined, after: Versioned<T>): boolean {
  return !before || before.revision !== after.revision || !sameBytes(codec, before.message, after.message);
}

/** The payloads of one flush that takes the driver from `before` to `after`, in Felix's order. */
export function flushPayloads(before: NodeView, after: NodeView): Payload[] {
  const out: Payload[] = [];
  const added = (m: Map<string, unknown>, prev: Map<string, unknown>) => sortedKeys(m).filter((k) => !prev.has(k));
  const removed = (m: Map<string, unknown>, prev: Map<string, unknown>) => sortedKeys(prev).filter((k) => !m.has(k));

  for (const id of added(after.ipSets, before.ipSets)) {
    const set = after.ipSets.get(id)!;
    out.push({ $case: "ipsetUpdate", value: { id, type: set.type, members: [...set.members].sort() } });
  }
  for (const id of sortedKeys(after.ipSets)) {
    const old = before.ipSets.get(id);
    if (!old) continue;
    const now = after.ipSets.get(id)!.members;
    const addedMembers = [...now].filter((m) => !old.members.has(m)).sort();
    const removedMembers = [...old.members].filter((m) => !now.has(m)).sort();
    if (addedMembers.length + removedMembers.length > 0) out.push({ $case: "ipsetDeltaUpdate", value: { id, addedMembers, removedMembers } });
  }
  for (const key of sortedKeys(after.policies)) {
    const now = after.policies.get(key)!;
    if (changedVersioned(felix.ActivePolicyUpdate, before.policies.get(key), now)) out.push({ $case: "activePolicyUpdate", value: now.message });
  }
  for (const key of sortedKeys(after.profiles)) {
    const old = before.profiles.get(key);
    const now = after.profiles.get(key)!;
    if (!old || !sameBytes(felix.ActiveProfileUpdate, old, now)) out.push({ $case: "activeProfileUpdate", value: now });
  }
  for (const key of sortedKeys(after.endpoints)) {
    const now = after.endpoints.get(key)!;
    if (changedVersioned(felix.WorkloadEndpointUpdate, before.endpoints.get(key), now)) out.push({ $case: "workloadEndpointUpdate", value: now.message });
  }
  // Removes run in reverse dependency order: nothing is removed while something still uses it.
  for (const key of removed(after.endpoints, before.endpoints)) {
    out.push({ $case: "workloadEndpointRemove", value: { id: before.endpoints.get(key)!.message.id } });
  }
  for (const key of removed(after.profiles, before.profiles)) out.push({ $case: "activeProfileRemove", value: { id: { name: key } } });
  for (const key of removed(after.policies, before.policies)) {
    out.push({ $case: "activePolicyRemove", value: { id: before.policies.get(key)!.message.id } });
  }
  for (const id of removed(after.ipSets, before.ipSets)) out.push({ $case: "ipsetRemove", value: { id } });

  for (const key of removed(after.serviceAccounts, before.serviceAccounts)) {
    out.push({ $case: "serviceAccountRemove", value: { id: before.serviceAccounts.get(key)!.id } });
  }
  for (const key of sortedKeys(after.serviceAccounts)) {
    const old = before.serviceAccounts.get(key);
    const now = after.serviceAccounts.get(key)!;
    if (!old || !sameBytes(felix.ServiceAccountUpdate, old, now)) out.push({ $case: "serviceAccountUpdate", value: now });
  }
  for (const key of removed(after.namespaces, before.namespaces)) out.push({ $case: "namespaceRemove", value: { id: { name: key } } });
  for (const key of sortedKeys(after.namespaces)) {
    const old = before.namespaces.get(key);
    const now = after.namespaces.get(key)!;
    if (!old || !sameBytes(felix.NamespaceUpdate, old, now)) out.push({ $case: "namespaceUpdate", value: now });
  }
  out.push(...networkPayloads(before, after));
  return out;
}
