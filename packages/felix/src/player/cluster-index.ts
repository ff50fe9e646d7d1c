/**
 * What Felix's datastore syncer makes of the cluster before the calculation graph sees it:
 * workload endpoints with Calico's extra labels, the Kubernetes-style profiles Calico generates
 * (`kns.<namespace>`: allow everything, labels `pcns.*`; `ksa.<namespace>.<account>`: labels
 * `pcsa.*` only), network sets, and policies with their selectors rewritten for namespace and
 * service-account scope (updateprocessors/*policyprocessor.go). Label inheritance follows
 * Felix's label index: an object's own labels win, then its profiles' labels in order.
 */
import { policyKey, workloadEndpointKey } from "@ptables/api";
import type { ClusterState } from "./cluster";
import { namespacedKey } from "./cluster";
import {
  LABEL_NAME,
  LABEL_NAMESPACE,
  LABEL_ORCHESTRATOR,
  LABEL_SERVICE_ACCOUNT,
  NAMESPACE_LABEL_PREFIX,
  SERVICE_ACCOUNT_LABEL_PREFIX,
  prefixSelector,
} from "./rule-convert";
import type { PodSpec, PolicySpec, RuleSpec, TierSpec } from "./scenario-types";
import type { Labels } from "./selector";
import { Selector } from "./selector";

/** A profile as Felix holds it: rules plus the labels its endpoints inherit. */
export interface ProfileDef {
  name: string;
  inbound: RuleSpec[];
  outbound: RuleSpec[];
  labels: Labels;
}

export interface IndexedEndpoint {
  /** "k8s/<namespace>/<pod>/eth0" */
  key: string;
  id: { orchestratorId: string; workloadId: string; endpointId: string };
  pod: PodSpec;
  revision: number;
  profileIds: string[];
  /** Own labels plus inherited profile labels: what selectors are matched against. */
  labels: Labels;
}

export interface IndexedNetworkSet {
  key: string;
  labels: Labels;
  nets: string[];
}

export interface IndexedPolicy {
  key: string;
  spec: PolicySpec;
  revision: number;
  tier: TierSpec;
  /** The selector after namespace / service-account rewriting. */
  selector: Selector;
}

export interface ClusterIndex {
  endpoints: IndexedEndpoint[];
  networkSets: IndexedNetworkSet[];
  profiles: Map<string, ProfileDef>;
  policies: IndexedPolicy[];
  /** Namespace and service account labels as Felix sends them (profile labels, prefix removed). */
  namespaceLabels: Map<string, Labels>;
  serviceAccountLabels: Map<string, { namespace: string; name: string; labels: Labels }>;
}

const ALLOW_ALL: RuleSpec = { action: "Allow", source: emptyEntity(), destination: emptyEntity() };

function emptyEntity(): RuleSpec["source"] {
  return { nets: [], notNets: [], ports: [], notPorts: [] };
}

function prefixed(prefix: string, labels: Labels): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [prefix + k, v]));
}

function unprefixed(prefix: string, labels: Labels): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v]] : [])));
}

/** Own labels first; then each parent's labels that are not already set (first parent wins). */
function inherit(own: Labels, profileIds: string[], profiles: Map<string, ProfileDef>): Labels {
  const labels: Record<string, string> = { ...own };
  for (const id of profileIds) {
    for (const [k, v] of Object.entries(profiles.get(id)?.labels ?? {})) if (!(k in labels)) labels[k] = v;
  }
  return labels;
}

function sortedLabels(labels: Labels): Labels {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The selector Felix evaluates for a policy (network/global policy update processors). */
export function policySelector(policy: PolicySpec): Selector {
  let selector = policy.selector;
  if (policy.namespace !== undefined) {
    const nsSelector = `${LABEL_NAMESPACE} == '${policy.namespace}'`;
    selector = selector === "" ? nsSelector : `(${selector}) && ${nsSelector}`;
  }
  const append = (extra: string | undefined, prefix: string, allReplacement: string): void => {
    if (!extra) return;
    const prefixedSelector = prefixSelector(extra, prefix);
    selector = selector === "" ? prefixedSelector : `(${selector}) && ${prefixedSelector}`;
    if (policy.namespace === undefined) selector = selector.replaceAll("all()", allReplacement);
  };
  append(policy.namespaceSelector, NAMESPACE_LABEL_PREFIX, `has(${LABEL_NAMESPACE})`);
  append(policy.serviceAccountSelector, SERVICE_ACCOUNT_LABEL_PREFIX, `has(${LABEL_SERVICE_ACCOUNT})`);
  return Selector.parse(selector);
}

/** Builds the index for the cluster as it is now. */
export function indexCluster(state: ClusterState): ClusterIndex {
  const profiles = new Map<string, ProfileDef>();
  const namespaceLabels = new Map<string, Labels>();
  const serviceAccountLabels = new Map<string, { namespace: string; name: string; labels: Labels }>();
  const accountProfiles = new Map<string, { namespace: string; name: string }>();
  for (const ns of state.namespaces.values()) {
    // Kubernetes (≥ 1.21) labels every namespace with its name; Calico adds its own name label.
    const labels = { ...ns.labels, "kubernetes.io/metadata.name": ns.name, [LABEL_NAME]: ns.name };
    const name = `kns.${ns.name}`;
    profiles.set(name, { name, inbound: [ALLOW_ALL], outbound: [ALLOW_ALL], labels: prefixed(NAMESPACE_LABEL_PREFIX, labels) });
    // Every namespace has a "default" service account, declared or not.
    const accounts = [...state.serviceAccounts.values()].filter((sa) => sa.namespace === ns.name);
    if (!accounts.some((sa) => sa.name === "default")) accounts.unshift({ name: "default", namespace: ns.name, labels: {} });
    for (const sa of accounts) {
      const saName = `ksa.${ns.name}.${sa.name}`;
      profiles.set(saName, { name: saName, inbound: [], outbound: [], labels: prefixed(SERVICE_ACCOUNT_LABEL_PREFIX, { ...sa.labels, [LABEL_NAME]: sa.name }) });
      accountProfiles.set(saName, { namespace: ns.name, name: sa.name });
    }
  }
  // Explicit profiles replace generated ones of the same name.
  for (const p of state.profiles.values()) profiles.set(p.name, { name: p.name, inbound: p.ingress, outbound: p.egress, labels: p.labelsToApply });
  for (const ns of state.namespaces.values()) {
    namespaceLabels.set(ns.name, sortedLabels(unprefixed(NAMESPACE_LABEL_PREFIX, profiles.get(`kns.${ns.name}`)?.labels ?? {})));
  }
  for (const [profileName, account] of accountProfiles) {
    const labels = sortedLabels(unprefixed(SERVICE_ACCOUNT_LABEL_PREFIX, profiles.get(profileName)?.labels ?? {}));
    serviceAccountLabels.set(namespacedKey(account.namespace, account.name), { ...account, labels });
  }

  const endpoints = [...state.pods.values()].map(({ spec: pod, revision }): IndexedEndpoint => {
    const id = { orchestratorId: "k8s", workloadId: `${pod.namespace}/${pod.name}`, endpointId: "eth0" };
    const profileIds = [`kns.${pod.namespace}`, `ksa.${pod.namespace}.${pod.serviceAccount}`, ...pod.profiles];
    const own = { ...pod.labels, [LABEL_NAMESPACE]: pod.namespace, [LABEL_ORCHESTRATOR]: "k8s", [LABEL_SERVICE_ACCOUNT]: pod.serviceAccount };
    return { key: workloadEndpointKey(id), id, pod, revision, profileIds, labels: inherit(own, profileIds, profiles) };
  });
  const networkSets = [...state.networkSets.values()].map((set): IndexedNetworkSet => {
    const key = namespacedKey(set.namespace, set.name);
    if (set.namespace === undefined) return { key, labels: set.labels, nets: set.nets };
    const own = { ...set.labels, [LABEL_NAMESPACE]: set.namespace };
    return { key, labels: inherit(own, [`kns.${set.namespace}`], profiles), nets: set.nets };
  });
  const policies = [...state.policies.values()].map(({ spec, revision }): IndexedPolicy => ({
    key: policyKey({ kind: spec.kind, namespace: spec.namespace ?? "", name: spec.name }),
    spec,
    revision,
    tier: state.tiers.get(spec.tier)!,
    selector: policySelector(spec),
  }));
  return { endpoints, networkSets, profiles, policies, namespaceLabels, serviceAccountLabels };
}
