/**
 * A small Felix calculation graph: from the cluster as it is now, what Felix on one node would
 * have sent to its dataplane driver (felix-protocol.md §3.1–3.5):
 *  - active policies: those whose selector matches at least one local endpoint;
 *  - active profiles: those named by local endpoints (a missing one becomes a deny-all profile);
 *  - IP sets: those referenced by active rules, with members from every endpoint in the cluster
 *    and from network sets;
 *  - local workload endpoints with their TierInfo (tiers by order then name, policies by order
 *    then name; only tiers with a policy for the endpoint; staged policies listed too);
 *  - namespaces, service accounts and hosts, cluster-wide;
 *  - routes, VTEPs, IPAM pools and Encapsulation (network-calc.ts).
 * The result is a snapshot (`NodeView`); stream.ts turns the difference between two snapshots
 * into messages, in the order Felix's EventSequencer flushes them.
 */
import { felix } from "@ptables/proto";
import type { ClusterState } from "./cluster";
import type { ClusterIndex, IndexedEndpoint, IndexedPolicy, ProfileDef } from "./cluster-index";
import { indexCluster } from "./cluster-index";
import { computeNetworkView, type NetworkView } from "./network-calc";
import type { IpSetDef } from "./rule-convert";
import { convertRules } from "./rule-convert";
import type { RuleSpec } from "./scenario-types";

/** An IP set's content. Members are Felix's strings ("10.0.0.1/32", "10.0.0.1,tcp:8080"). */
export interface IpSetContent {
  type: felix.IPSetUpdate_IPSetType;
  members: Set<string>;
}

/** A message plus the revision of the object it came from (see cluster.ts `Revisioned`). */
export interface Versioned<T> {
  message: T;
  revision: number;
}

/** Everything Felix would have sent for one node, keyed the way removes are keyed. */
export interface NodeView extends NetworkView {
  ipSets: Map<string, IpSetContent>;
  policies: Map<string, Versioned<felix.ActivePolicyUpdate>>;
  profiles: Map<string, felix.ActiveProfileUpdate>;
  endpoints: Map<string, Versioned<felix.WorkloadEndpointUpdate>>;
  serviceAccounts: Map<string, felix.ServiceAccountUpdate>;
  namespaces: Map<string, felix.NamespaceUpdate>;
  hosts: Map<string, felix.HostMetadataUpdate>;
}

const DENY_ALL: RuleSpec = { action: "Deny", source: { nets: [], notNets: [], ports: [], notPorts: [] }, destination: { nets: [], notNets: [], ports: [], notPorts: [] } };

/** The profile Felix invents for a profile an endpoint names but the datastore lacks. */
function missingProfile(name: string): ProfileDef {
  return { name, inbound: [DENY_ALL], outbound: [DENY_ALL], labels: {} };
}

function tierSortKey(policy: IndexedPolicy): [number, string] {
  return [policy.tier.order ?? Number.POSITIVE_INFINITY, policy.tier.name];
}

function comparePolicies(a: IndexedPolicy, b: IndexedPolicy): number {
  const [ta, tb] = [tierSortKey(a), tierSortKey(b)];
  if (ta[0] !== tb[0]) return ta[0] < tb[0] ? -1 : 1;
  if (ta[1] !== tb[1]) return ta[1] < tb[1] ? -1 : 1;
  const [oa, ob] = [a.spec.order ?? Number.POSITIVE_INFINITY, b.spec.order ?? Number.POSITIVE_INFINITY];
  if (oa !== ob) return oa < ob ? -1 : 1;
  for (const field of ["name", "namespace", "kind"] as const) {
    const [fa, fb] = [a.spec[field] ?? "", b.spec[field] ?? ""];
    if (fa !== fb) return fa < fb ? -1 : 1;
  }
  return 0;
}

/** TierInfo for one endpoint: tiers in order, each with the policies that apply to it. */
export function tierInfoFor(endpoint: IndexedEndpoint, sortedPolicies: IndexedPolicy[]): felix.TierInfo[] {
  const tiers: felix.TierInfo[] = [];
  for (const policy of sortedPolicies) {
    if (!policy.selector.matches(endpoint.labels)) continue;
    let tier = tiers[tiers.length - 1];
    if (!tier || tier.name !== policy.tier.name) {
      tier = { name: policy.tier.name, ingressPolicies: [], egressPolicies: [], defaultAction: policy.tier.defaultAction };
      tiers.push(tier);
    }
    const id: felix.PolicyID = { name: policy.spec.name, namespace: policy.spec.namespace ?? "", kind: policy.spec.kind };
    if (policy.spec.types.includes("Ingress")) tier.ingressPolicies.push(id);
    if (policy.spec.types.includes("Egress")) tier.egressPolicies.push({ ...id });
  }
  return tiers.filter((t) => t.ingressPolicies.length > 0 || t.egressPolicies.length > 0);
}

function ipSetMembers(def: IpSetDef, index: ClusterIndex): IpSetContent {
  const members = new Set<string>();
  for (const ep of index.endpoints) {
    if (!def.selector.matches(ep.labels)) continue;
    if (def.kind === "selector") {
      for (const ip of ep.pod.ipv4) members.add(`${ip}/32`);
      for (const ip of ep.pod.ipv6) members.add(`${ip}/128`);
      continue;
    }
    for (const port of ep.pod.ports) {
      if (port.name !== def.portName || port.protocol.toLowerCase() !== def.protocol) continue;
      for (const ip of [...ep.pod.ipv4, ...ep.pod.ipv6]) members.add(`${ip},${def.protocol}:${port.port}`);
    }
  }
  if (def.kind === "selector") {
    for (const set of index.networkSets) if (def.selector.matches(set.labels)) set.nets.forEach((n) => members.add(n));
  }
  const type = def.kind === "selector" ? felix.IPSetUpdate_IPSetType.NET : felix.IPSetUpdate_IPSetType.IP_AND_PORT;
  return { type, members };
}

/** Computes what Felix on `node` would have sent for the cluster as it is now. */
export function computeNodeView(state: ClusterState, node: string): NodeView {
  const index = indexCluster(state);
  const local = index.endpoints.filter((ep) => ep.pod.node === node);
  const sortedPolicies = [...index.policies].sort(comparePolicies);
  const ipSetDefs = new Map<string, IpSetDef>();
  const view: NodeView = {
    ipSets: new Map(),
    policies: new Map(),
    profiles: new Map(),
    endpoints: new Map(),
    serviceAccounts: new Map(),
    namespaces: new Map(),
    hosts: new Map(),
    ...computeNetworkView(state, node),
  };

  for (const policy of sortedPolicies) {
    if (!local.some((ep) => policy.selector.matches(ep.labels))) continue;
    const { name } = policy.spec;
    const rules = convertRules(policy.spec.ingress, policy.spec.egress, policy.spec.namespace, {
      inbound: `pol-in-default/${name}`,
      outbound: `pol-out-default/${name}`,
    });
    rules.ipSets.forEach((def, id) => ipSetDefs.set(id, def));
    const message = felix.ActivePolicyUpdate.fromPartial({
      id: { name, namespace: policy.spec.namespace ?? "", kind: policy.spec.kind },
      policy: {
        namespace: policy.spec.namespace ?? "",
        inboundRules: rules.inbound,
        outboundRules: rules.outbound,
        originalSelector: policy.selector.toString(),
        tier: policy.tier.name,
      },
    });
    view.policies.set(policy.key, { message, revision: policy.revision });
  }

  const activeProfiles = [...new Set(local.flatMap((ep) => ep.profileIds))].sort();
  for (const name of activeProfiles) {
    const profile = index.profiles.get(name) ?? missingProfile(name);
    const rules = convertRules(profile.inbound, profile.outbound, undefined, { inbound: `prof-in-${name}`, outbound: `prof-out-${name}` });
    rules.ipSets.forEach((def, id) => ipSetDefs.set(id, def));
    view.profiles.set(name, felix.ActiveProfileUpdate.fromPartial({ id: { name }, profile: { inboundRules: rules.inbound, outboundRules: rules.outbound } }));
  }

  for (const [id, def] of ipSetDefs) view.ipSets.set(id, ipSetMembers(def, index));

  for (const ep of local) {
    const message = felix.WorkloadEndpointUpdate.fromPartial({
      id: ep.id,
      endpoint: {
        state: ep.pod.state,
        name: ep.pod.ifname,
        mac: ep.pod.mac,
        profileIds: ep.profileIds,
        ipv4Nets: ep.pod.ipv4.map((ip) => `${ip}/32`),
        ipv6Nets: ep.pod.ipv6.map((ip) => `${ip}/128`),
        tiers: tierInfoFor(ep, sortedPolicies),
      },
    });
    view.endpoints.set(ep.key, { message, revision: ep.revision });
  }

  for (const [key, sa] of index.serviceAccountLabels) {
    view.serviceAccounts.set(key, felix.ServiceAccountUpdate.fromPartial({ id: { namespace: sa.namespace, name: sa.name }, labels: sa.labels }));
  }
  for (const [name, labels] of index.namespaceLabels) {
    view.namespaces.set(name, felix.NamespaceUpdate.fromPartial({ id: { name }, labels }));
  }
  for (const host of state.nodes.values()) {
    view.hosts.set(
      host.name,
      felix.HostMetadataUpdate.fromPartial({ hostname: host.name, ipv4Addr: host.ipv4 ?? "", ipv6Addr: host.ipv6 ?? "", labels: host.labels }),
    );
  }
  return view;
}
