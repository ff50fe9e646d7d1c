/**
 * The desired-state model. Its types are the generated ptables.model.v1 messages, so the
 * objects agents hold in memory are exactly what they exchange over gRPC: no conversion layer.
 */
import { model } from "@ptables/proto";

export type IpSet = model.IpSet;
export type Rule = model.Rule;
export type PortRange = model.PortRange;
export type IcmpMatch = model.IcmpMatch;
export type Policy = model.Policy;
export type PolicyId = model.PolicyId;
export type Profile = model.Profile;
export type Tier = model.Tier;
export type WorkloadEndpoint = model.WorkloadEndpoint;
export type HostEndpoint = model.HostEndpoint;
export type Route = model.Route;
export type Vtep = model.Vtep;
export type HostMetadata = model.HostMetadata;
export type IpamPool = model.IpamPool;
export type Encapsulation = model.Encapsulation;
export type DataplaneConfig = model.DataplaneConfig;
export type DesiredState = model.DesiredState;

export const IpVersion = model.IpVersion;
export type IpVersion = model.IpVersion;
export const IpSetType = model.IpSetType;
export type IpSetType = model.IpSetType;
export const RuleAction = model.RuleAction;
export type RuleAction = model.RuleAction;
export const TierDefaultAction = model.TierDefaultAction;
export type TierDefaultAction = model.TierDefaultAction;

/**
 * The key a policy is known by everywhere in ptables. Felix identifies a policy by
 * (kind, namespace, name); the tier is a property of the policy, not part of its identity.
 */
export function policyKey(id: { kind: string; namespace: string; name: string }): string {
  return `${id.kind || "GlobalNetworkPolicy"}/${id.namespace}/${id.name}`;
}

/** Staged policies are sent by Felix for flow logs and must never be enforced. */
export function isStagedKind(kind: string): boolean {
  return kind.startsWith("Staged");
}

/** "k8s/default/pod1/eth0": the key a workload endpoint is known by. */
export function workloadEndpointKey(id: {
  orchestratorId: string;
  workloadId: string;
  endpointId: string;
}): string {
  return `${id.orchestratorId}/${id.workloadId}/${id.endpointId}`;
}

/** Felix's built-in defaults for the settings the datapath uses. */
export function defaultDataplaneConfig(): DataplaneConfig {
  return {
    interfacePrefix: "cali",
    failsafeInbound: ["tcp:22", "udp:68", "tcp:179", "tcp:2379", "tcp:2380", "tcp:5473", "tcp:6443", "tcp:6666", "tcp:6667"],
    failsafeOutbound: ["udp:53", "udp:67", "tcp:179", "tcp:2379", "tcp:2380", "tcp:5473", "tcp:6443", "tcp:6666", "tcp:6667"],
    defaultEndpointToHostAction: "DROP",
    vxlanPort: 4789,
    vxlanVni: 4096,
    vxlanMtu: 0,
    allowVxlanPacketsFromWorkloads: false,
    allowIpipPacketsFromWorkloads: false,
    hostname: "",
    vxlanMtuV6: 0,
    ipipMtu: 0,
    programClusterRoutes: "Disabled",
    routeRefreshIntervalSecs: 90,
    serviceNets: [],
  };
}

export function emptyDesiredState(): DesiredState {
  return {
    config: defaultDataplaneConfig(),
    ipSets: [],
    policies: [],
    profiles: [],
    workloadEndpoints: [],
    hostEndpoints: [],
    routes: [],
    vteps: [],
    hosts: [],
    ipamPools: [],
    encapsulation: { ipipEnabled: false, vxlanEnabled: false, vxlanEnabledV6: false, noEncapEnabled: false },
  };
}
