/**
 * Felix workload and host endpoints -> model objects. The policies (through TierInfo) and
 * profiles an endpoint names become dependencies: the endpoint is held back until all of
 * them are present and valid.
 */
import { ValidationError, policyKey, workloadEndpointKey } from "@ptables/api";
import type { HostEndpoint, Tier, WorkloadEndpoint } from "@ptables/api";
import type { felix } from "@ptables/proto";
import { converting, type Converted, type Dependency } from "./object-kinds";
import {
  canonicalAddresses,
  canonicalMac,
  canonicalNets,
  interfaceName,
  required,
  tierDefaultAction,
} from "./validate";

/** The key of a Felix WorkloadEndpointID; throws if missing or incomplete. */
export function workloadEndpointKeyOf(id: felix.WorkloadEndpointID | undefined, path: string): string {
  if (id === undefined) throw new ValidationError(path, "has no id");
  required(id.orchestratorId, `${path} id.orchestrator_id`);
  required(id.workloadId, `${path} id.workload_id`);
  required(id.endpointId, `${path} id.endpoint_id`);
  return workloadEndpointKey(id);
}

/** The key of a Felix HostEndpointID (its endpoint_id); throws if missing or empty. */
export function hostEndpointKeyOf(id: felix.HostEndpointID | undefined, path: string): string {
  if (id === undefined) throw new ValidationError(path, "has no id");
  return required(id.endpointId, `${path} id.endpoint_id`);
}

export function convertWorkloadEndpoint(
  key: string,
  id: felix.WorkloadEndpointID,
  endpoint: felix.WorkloadEndpoint | undefined,
): Converted<"workloadEndpoint"> {
  return converting(() => {
    const label = `workload endpoint ${key}`;
    if (endpoint === undefined) throw new ValidationError(label, "update has no endpoint body");
    const deps: Dependency[] = [];
    const model: WorkloadEndpoint = {
      key,
      orchestratorId: id.orchestratorId,
      workloadId: id.workloadId,
      endpointId: id.endpointId,
      ifname: interfaceName(endpoint.name, `${label} name`, { allowWildcard: false, allowEmpty: false }),
      adminUp: endpoint.state === "active",
      mac: canonicalMac(endpoint.mac, `${label} mac`),
      ipv4Nets: canonicalNets(endpoint.ipv4Nets, `${label} ipv4_nets`, 4),
      ipv6Nets: canonicalNets(endpoint.ipv6Nets, `${label} ipv6_nets`, 6),
      tiers: convertTiers(endpoint.tiers, label, "tiers", deps),
      profileIds: profileIds(endpoint.profileIds, label, deps),
      allowSpoofedSourcePrefixes: canonicalNets(endpoint.allowSpoofedSourcePrefixes, `${label} allow_spoofed_source_prefixes`),
    };
    return { model: () => model, deps };
  });
}

export function convertHostEndpoint(key: string, endpoint: felix.HostEndpoint | undefined): Converted<"hostEndpoint"> {
  return converting(() => {
    const label = `host endpoint ${key}`;
    if (endpoint === undefined) throw new ValidationError(label, "update has no endpoint body");
    const deps: Dependency[] = [];
    const model: HostEndpoint = {
      key,
      ifname: interfaceName(endpoint.name, `${label} name`, { allowWildcard: true, allowEmpty: true }),
      expectedIpv4Addrs: canonicalAddresses(endpoint.expectedIpv4Addrs, `${label} expected_ipv4_addrs`, 4),
      expectedIpv6Addrs: canonicalAddresses(endpoint.expectedIpv6Addrs, `${label} expected_ipv6_addrs`, 6),
      tiers: convertTiers(endpoint.tiers, label, "tiers", deps),
      untrackedTiers: convertTiers(endpoint.untrackedTiers, label, "untracked_tiers", deps),
      preDnatTiers: convertTiers(endpoint.preDnatTiers, label, "pre_dnat_tiers", deps),
      forwardTiers: convertTiers(endpoint.forwardTiers, label, "forward_tiers", deps),
      profileIds: profileIds(endpoint.profileIds, label, deps),
    };
    return { model: () => model, deps };
  });
}

function convertTiers(tiers: readonly felix.TierInfo[], label: string, field: string, deps: Dependency[]): Tier[] {
  return tiers.map((tier, i) => {
    const where = `${field}[${i}]`;
    const keys = (ids: readonly felix.PolicyID[], list: string): string[] =>
      ids.map((id, j) => {
        required(id.name, `${label} ${where} ${list}[${j}] name`);
        const key = policyKey(id);
        deps.push({ kind: "policy", id: key, path: `${where} ${list}[${j}]` });
        return key;
      });
    return {
      name: tier.name,
      ingressPolicies: keys(tier.ingressPolicies, "ingress_policies"),
      egressPolicies: keys(tier.egressPolicies, "egress_policies"),
      defaultAction: tierDefaultAction(tier.defaultAction),
    };
  });
}

function profileIds(ids: readonly string[], label: string, deps: Dependency[]): string[] {
  return ids.map((id, i) => {
    required(id, `${label} profile_ids[${i}]`);
    deps.push({ kind: "profile", id, path: `profile_ids[${i}]` });
    return id;
  });
}
