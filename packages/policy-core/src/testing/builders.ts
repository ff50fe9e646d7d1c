/**
 * Terse builders for model objects in tests: every field defaulted as protobuf would, so a
 * test only spells out what it is about.
 */
import {
  IpSetType,
  RuleAction,
  TierDefaultAction,
  policyKey,
  type HostEndpoint,
  type IpSet,
  type Policy,
  type Profile,
  type Rule,
  type Tier,
  type WorkloadEndpoint,
} from "@ptables/api";
import { model } from "@ptables/proto";

export type RuleInit = Parameters<typeof model.Rule.fromPartial>[0];

export function rule(init: RuleInit = {}): Rule {
  return model.Rule.fromPartial({ action: RuleAction.RULE_ACTION_ALLOW, ...init });
}
export const allow = (init: RuleInit = {}): Rule => rule({ ...init, action: RuleAction.RULE_ACTION_ALLOW });
export const deny = (init: RuleInit = {}): Rule => rule({ ...init, action: RuleAction.RULE_ACTION_DENY });
export const pass = (init: RuleInit = {}): Rule => rule({ ...init, action: RuleAction.RULE_ACTION_PASS });
export const log = (init: RuleInit = {}): Rule => rule({ ...init, action: RuleAction.RULE_ACTION_LOG });

export interface PolicyInit {
  tier?: string;
  kind?: string;
  namespace?: string;
  inbound?: Rule[];
  outbound?: Rule[];
  staged?: boolean;
  untracked?: boolean;
  preDnat?: boolean;
}

export function policy(name: string, init: PolicyInit = {}): Policy {
  const kind = init.kind ?? "GlobalNetworkPolicy";
  return {
    id: { tier: init.tier ?? "default", name, namespace: init.namespace ?? "", kind },
    inboundRules: init.inbound ?? [],
    outboundRules: init.outbound ?? [],
    untracked: init.untracked ?? false,
    preDnat: init.preDnat ?? false,
    staged: init.staged ?? kind.startsWith("Staged"),
  };
}

/** The key a policy is listed by in tiers. */
export function keyOf(p: Policy): string {
  return policyKey(p.id!);
}

export interface TierInit {
  ingress?: Array<Policy | string>;
  egress?: Array<Policy | string>;
  defaultAction?: "deny" | "pass";
}

export function tier(name: string, init: TierInit = {}): Tier {
  const keys = (list: Array<Policy | string> | undefined): string[] => (list ?? []).map((p) => (typeof p === "string" ? p : keyOf(p)));
  return {
    name,
    ingressPolicies: keys(init.ingress),
    egressPolicies: keys(init.egress),
    defaultAction: init.defaultAction === "pass" ? TierDefaultAction.TIER_DEFAULT_ACTION_PASS : TierDefaultAction.TIER_DEFAULT_ACTION_DENY,
  };
}

export function profile(id: string, inbound: Rule[] = [], outbound: Rule[] = []): Profile {
  return { id, inboundRules: inbound, outboundRules: outbound };
}

export function ipSet(id: string, type: "net" | "ip" | "ip-port", members: string[]): IpSet {
  const t = type === "net" ? IpSetType.IP_SET_TYPE_NET : type === "ip" ? IpSetType.IP_SET_TYPE_IP : IpSetType.IP_SET_TYPE_IP_AND_PORT;
  return { id, type: t, members };
}

export function workload(init: Partial<WorkloadEndpoint> = {}): WorkloadEndpoint {
  return {
    key: "k8s/default/pod1/eth0",
    orchestratorId: "k8s",
    workloadId: "default/pod1",
    endpointId: "eth0",
    ifname: "cali0000000001",
    adminUp: true,
    mac: "ee:ee:ee:ee:ee:ee",
    ipv4Nets: ["10.65.0.2/32"],
    ipv6Nets: [],
    tiers: [],
    profileIds: [],
    allowSpoofedSourcePrefixes: [],
    ...init,
  };
}

export function hostEndpoint(init: Partial<HostEndpoint> = {}): HostEndpoint {
  return {
    key: "hep1",
    ifname: "eth0",
    expectedIpv4Addrs: [],
    expectedIpv6Addrs: [],
    tiers: [],
    untrackedTiers: [],
    preDnatTiers: [],
    forwardTiers: [],
    profileIds: [],
    ...init,
  };
}
