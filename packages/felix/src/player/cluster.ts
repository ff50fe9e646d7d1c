/**
 * The cluster as the datastore would hold it while a scenario plays: the scenario's objects,
 * changed step by step. Every change checks its references (namespace, service account, node,
 * tier, uniqueness of names, addresses and interfaces) and fails with the scenario path, so a
 * scenario is rejected before anything is played rather than half-way through.
 */
import { policyKey } from "@ptables/api";
import type {
  NamespaceSpec,
  NetworkSetSpec,
  NodeSpec,
  PodSpec,
  PolicyRef,
  PolicySpec,
  ProfileSpec,
  Scenario,
  ServiceAccountSpec,
  StepAction,
  TierSpec,
} from "./scenario-types";
import { ClusterNetwork } from "./cluster-network";
import { fail, indexPath, keyPath } from "./validate";

/** Calico creates the default tier with this order and a Deny default action. */
export const DEFAULT_TIER: TierSpec = { name: "default", order: 1_000_000, defaultAction: "Deny" };

/**
 * A stored object plus a revision that goes up whenever a step rewrites it. Felix re-sends an
 * endpoint or policy whenever its datastore object changes, even if the message is identical,
 * so the revision is part of what the stream diff compares.
 */
export interface Revisioned<T> {
  spec: T;
  revision: number;
}

/** "demo/frontend" */
export function namespacedKey(namespace: string | undefined, name: string): string {
  return namespace === undefined ? name : `${namespace}/${name}`;
}

export class ClusterState {
  readonly nodes = new Map<string, NodeSpec>();
  readonly namespaces = new Map<string, NamespaceSpec>();
  /** Keyed "namespace/name"; every namespace also has an implicit "default" account. */
  readonly serviceAccounts = new Map<string, ServiceAccountSpec>();
  readonly pods = new Map<string, Revisioned<PodSpec>>();
  readonly tiers = new Map<string, TierSpec>([[DEFAULT_TIER.name, DEFAULT_TIER]]);
  /** Keyed by `policyKey` (kind/namespace/name). */
  readonly policies = new Map<string, Revisioned<PolicySpec>>();
  readonly profiles = new Map<string, ProfileSpec>();
  readonly networkSets = new Map<string, NetworkSetSpec>();
  /** IP pools, block affinities and tunnel addresses. */
  readonly network = new ClusterNetwork();

  /** Loads a scenario's initial objects (not its steps). */
  static fromScenario(scenario: Scenario): ClusterState {
    const state = new ClusterState();
    scenario.nodes.forEach((node, i) => state.addUnique(state.nodes, node.name, node, indexPath("nodes", i), "node"));
    scenario.namespaces.forEach((ns, i) => state.addUnique(state.namespaces, ns.name, ns, indexPath("namespaces", i), "namespace"));
    scenario.serviceAccounts.forEach((sa, i) => {
      const path = indexPath("serviceAccounts", i);
      state.requireNamespace(sa.namespace, keyPath(path, "namespace"));
      state.addUnique(state.serviceAccounts, namespacedKey(sa.namespace, sa.name), sa, path, "service account");
    });
    scenario.tiers.forEach((tier, i) => {
      const path = indexPath("tiers", i);
      if (tier.name !== DEFAULT_TIER.name) state.addUnique(state.tiers, tier.name, tier, path, "tier");
      else state.tiers.set(tier.name, tier);
    });
    scenario.profiles.forEach((p, i) => state.addUnique(state.profiles, p.name, p, indexPath("profiles", i), "profile"));
    scenario.networkSets.forEach((set, i) => state.setNetworkSet(set, indexPath("networkSets", i), true));
    state.network.load(scenario);
    scenario.pods.forEach((pod, i) => state.addPod(pod, indexPath("pods", i)));
    const everyPod = [...scenario.pods, ...scenario.steps.flatMap((s) => (s.action.kind === "addPod" ? [s.action.pod] : []))];
    state.network.allocateTunnels(scenario.nodes, new Set(everyPod.flatMap((p) => [...p.ipv4, ...p.ipv6])));
    scenario.policies.forEach((policy, i) => state.addPolicy(policy, indexPath("policies", i)));
    if (!state.nodes.has(scenario.node)) fail("node", `node ${JSON.stringify(scenario.node)} is not in nodes`);
    return state;
  }

  /** Applies one step's change; `path` names the step in errors (e.g. "steps[1].removePod"). */
  apply(action: StepAction, path: string): void {
    switch (action.kind) {
      case "addPod":
        return this.addPod(action.pod, path);
      case "removePod":
        this.requirePod(action.namespace, action.name, path);
        this.pods.delete(namespacedKey(action.namespace, action.name));
        return;
      case "updatePod": {
        const pod = this.requirePod(action.namespace, action.name, path);
        pod.spec = { ...pod.spec, labels: action.labels ?? pod.spec.labels, state: action.state ?? pod.spec.state };
        pod.revision++;
        return;
      }
      case "addPolicy":
        return this.addPolicy(action.policy, path);
      case "updatePolicy": {
        const existing = this.requirePolicy(action.policy, path);
        this.checkPolicyReferences(action.policy, path);
        existing.spec = action.policy;
        existing.revision++;
        return;
      }
      case "removePolicy":
        this.requirePolicy(action.policy, path);
        this.policies.delete(policyKey({ ...action.policy, namespace: action.policy.namespace ?? "" }));
        return;
      case "setNetworkSet":
        return this.setNetworkSet(action.networkSet, path, false);
      case "removeNetworkSet": {
        const key = namespacedKey(action.namespace, action.name);
        if (!this.networkSets.delete(key)) fail(path, `network set ${key} does not exist at this point`);
        return;
      }
    }
  }

  private addUnique<T>(map: Map<string, T>, key: string, value: T, path: string, what: string): void {
    if (map.has(key)) fail(path, `${what} ${key} is defined twice`);
    map.set(key, value);
  }

  private requireNamespace(namespace: string, path: string): void {
    if (!this.namespaces.has(namespace)) fail(path, `namespace ${JSON.stringify(namespace)} is not declared in namespaces`);
  }

  private requirePod(namespace: string, name: string, path: string): Revisioned<PodSpec> {
    const pod = this.pods.get(namespacedKey(namespace, name));
    if (!pod) fail(path, `pod ${namespace}/${name} does not exist at this point`);
    return pod;
  }

  private requirePolicy(ref: PolicyRef, path: string): Revisioned<PolicySpec> {
    const key = policyKey({ ...ref, namespace: ref.namespace ?? "" });
    const policy = this.policies.get(key);
    if (!policy) fail(path, `policy ${key} does not exist at this point`);
    return policy;
  }

  private addPod(pod: PodSpec, path: string): void {
    this.requireNamespace(pod.namespace, keyPath(path, "namespace"));
    if (!this.nodes.has(pod.node)) fail(keyPath(path, "node"), `node ${JSON.stringify(pod.node)} is not in nodes`);
    if (pod.serviceAccount !== "default" && !this.serviceAccounts.has(namespacedKey(pod.namespace, pod.serviceAccount))) {
      fail(keyPath(path, "serviceAccount"), `service account ${pod.namespace}/${pod.serviceAccount} is not declared in serviceAccounts`);
    }
    const key = namespacedKey(pod.namespace, pod.name);
    if (this.pods.has(key)) fail(path, `pod ${key} already exists`);
    for (const other of this.pods.values()) {
      if (other.spec.node === pod.node && other.spec.ifname === pod.ifname) {
        fail(keyPath(path, "ifname"), `interface ${pod.ifname} is already used by pod ${other.spec.namespace}/${other.spec.name} on ${pod.node}`);
      }
      const clash = [...pod.ipv4, ...pod.ipv6].find((ip) => other.spec.ipv4.includes(ip) || other.spec.ipv6.includes(ip));
      if (clash) fail(keyPath(path, "ips"), `${clash} is already used by pod ${other.spec.namespace}/${other.spec.name}`);
    }
    this.network.podAdded(pod, path);
    this.pods.set(key, { spec: pod, revision: 0 });
  }

  private checkPolicyReferences(policy: PolicySpec, path: string): void {
    if (policy.namespace !== undefined) this.requireNamespace(policy.namespace, keyPath(path, "namespace"));
    if (!this.tiers.has(policy.tier)) fail(keyPath(path, "tier"), `tier ${JSON.stringify(policy.tier)} is not declared in tiers`);
  }

  private addPolicy(policy: PolicySpec, path: string): void {
    this.checkPolicyReferences(policy, path);
    const key = policyKey({ ...policy, namespace: policy.namespace ?? "" });
    if (this.policies.has(key)) fail(path, `policy ${key} already exists`);
    this.policies.set(key, { spec: policy, revision: 0 });
  }

  private setNetworkSet(set: NetworkSetSpec, path: string, mustBeNew: boolean): void {
    if (set.namespace !== undefined) this.requireNamespace(set.namespace, keyPath(path, "namespace"));
    const key = namespacedKey(set.namespace, set.name);
    if (mustBeNew && this.networkSets.has(key)) fail(path, `network set ${key} is defined twice`);
    this.networkSets.set(key, set);
  }
}
