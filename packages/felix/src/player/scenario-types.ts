/**
 * The validated form of a scenario: what the cluster looks like (nodes, namespaces, pods,
 * policies in Calico v3 API shape) and what changes after Felix's InSync. `scenario.ts` turns
 * YAML into these types; everything here has already been checked and normalised (IPs and nets
 * in Go's canonical form, protocols in Calico's backend spelling).
 */

export interface NodeSpec {
  name: string;
  /** "10.0.0.5/32" style: the node's IPv4 address with its prefix, as Felix ≥ v3.33 sends it. */
  ipv4?: string;
  ipv6?: string;
  labels: Record<string, string>;
  /** IPAM blocks affine to this node beyond those its pods' addresses claim (canonical CIDRs). */
  blocks?: string[];
  /** The node's VXLAN tunnel endpoint; parts left out are allocated (see cluster-network.ts). */
  vtep?: VtepSpec;
  /** The node's IPIP tunnel address; allocated from its IPIP block when left out. */
  ipipTunnelAddr?: string;
}

/** A node's VXLAN tunnel endpoint: MACs and tunnel addresses per family (canonical). */
export interface VtepSpec {
  mac?: string;
  ipv4?: string;
  macV6?: string;
  ipv6?: string;
}

export type EncapMode = "Always" | "CrossSubnet" | "Never";

/** A Calico IP pool (projectcalico.org/v3 IPPool spec, the fields Felix sends). */
export interface IpPoolSpec {
  /** Canonical CIDR. */
  cidr: string;
  vxlanMode: EncapMode;
  ipipMode: EncapMode;
  natOutgoing: boolean;
  /** Prefix length of the pool's IPAM blocks (Calico: 26 for IPv4, 122 for IPv6). */
  blockSize: number;
  allowedUses: string[];
}

/** Felix's Encapsulation message; derived from the pools unless the scenario states it. */
export interface EncapsulationSpec {
  ipipEnabled: boolean;
  vxlanEnabled: boolean;
  vxlanEnabledV6: boolean;
  noEncapEnabled: boolean;
}

export interface NamespaceSpec {
  name: string;
  labels: Record<string, string>;
}

export interface ServiceAccountSpec {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

export type PortProtocol = "TCP" | "UDP" | "SCTP";

/** A container port with a name, the target of named-port rules. */
export interface NamedPortSpec {
  name: string;
  protocol: PortProtocol;
  port: number;
}

export interface PodSpec {
  name: string;
  namespace: string;
  node: string;
  /** Host-side interface, e.g. "cali1234abcd567" (at most 15 characters). */
  ifname: string;
  /** Canonical addresses, without prefix. */
  ipv4: string[];
  ipv6: string[];
  mac: string;
  labels: Record<string, string>;
  serviceAccount: string;
  ports: NamedPortSpec[];
  state: "active" | "down";
  /** Extra profiles after the generated kns./ksa. ones. */
  profiles: string[];
}

export interface TierSpec {
  name: string;
  /** Undefined sorts after every ordered tier, as in Felix. */
  order?: number;
  defaultAction: "Deny" | "Pass";
}

export const NAMESPACED_POLICY_KINDS = [
  "NetworkPolicy",
  "StagedNetworkPolicy",
  "KubernetesNetworkPolicy",
  "StagedKubernetesNetworkPolicy",
] as const;
export const GLOBAL_POLICY_KINDS = ["GlobalNetworkPolicy", "StagedGlobalNetworkPolicy", "KubernetesClusterNetworkPolicy"] as const;
export type PolicyKind = (typeof NAMESPACED_POLICY_KINDS)[number] | (typeof GLOBAL_POLICY_KINDS)[number];

/** A protocol in Calico's backend spelling: lower-case name ("tcp", "icmpv6") or number. */
export type ProtocolSpec = string | number;

export interface IcmpSpec {
  type: number;
  code?: number;
}

/** A port match: a numeric range (single port: first == last) or a named port. */
export type PortSpec = { kind: "range"; first: number; last: number } | { kind: "named"; name: string };

export interface ServiceAccountMatchSpec {
  names: string[];
  selector?: string;
}

/** One side of a rule (Calico's EntityRule). */
export interface EntitySpec {
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  serviceAccounts?: ServiceAccountMatchSpec;
  /** Normalised CIDRs (host bits cleared). */
  nets: string[];
  notNets: string[];
  ports: PortSpec[];
  notPorts: PortSpec[];
}

export interface RuleSpec {
  action: "Allow" | "Deny" | "Log" | "Pass";
  ipVersion?: 4 | 6;
  protocol?: ProtocolSpec;
  notProtocol?: ProtocolSpec;
  icmp?: IcmpSpec;
  notICMP?: IcmpSpec;
  source: EntitySpec;
  destination: EntitySpec;
}

export type PolicyType = "Ingress" | "Egress";

export interface PolicySpec {
  name: string;
  /** Undefined for global kinds. */
  namespace?: string;
  kind: PolicyKind;
  tier: string;
  order?: number;
  /** As written; "" when omitted (selects every endpoint in scope). */
  selector: string;
  namespaceSelector?: string;
  serviceAccountSelector?: string;
  types: PolicyType[];
  ingress: RuleSpec[];
  egress: RuleSpec[];
}

export interface ProfileSpec {
  name: string;
  ingress: RuleSpec[];
  egress: RuleSpec[];
  labelsToApply: Record<string, string>;
}

export interface NetworkSetSpec {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  nets: string[];
}

/** Identifies a policy: kind defaults from whether a namespace is given. */
export interface PolicyRef {
  name: string;
  namespace?: string;
  kind: PolicyKind;
}

export type StepAction =
  | { kind: "addPod"; pod: PodSpec }
  | { kind: "removePod"; namespace: string; name: string }
  | { kind: "updatePod"; namespace: string; name: string; labels?: Record<string, string>; state?: "active" | "down" }
  | { kind: "addPolicy"; policy: PolicySpec }
  | { kind: "updatePolicy"; policy: PolicySpec }
  | { kind: "removePolicy"; policy: PolicyRef }
  | { kind: "setNetworkSet"; networkSet: NetworkSetSpec }
  | { kind: "removeNetworkSet"; name: string; namespace?: string };

/** A change played `afterMs` milliseconds after InSync. */
export interface StepSpec {
  afterMs: number;
  action: StepAction;
}

export interface Scenario {
  /** The node whose view is played. */
  node: string;
  nodes: NodeSpec[];
  config: Record<string, string>;
  namespaces: NamespaceSpec[];
  serviceAccounts: ServiceAccountSpec[];
  pods: PodSpec[];
  tiers: TierSpec[];
  policies: PolicySpec[];
  profiles: ProfileSpec[];
  networkSets: NetworkSetSpec[];
  /** IP pools: with them the player also sends routes, VTEPs, IPAM pools and Encapsulation. */
  ipPools: IpPoolSpec[];
  /** Overrides the Encapsulation derived from the pools. */
  encapsulation?: EncapsulationSpec;
  steps: StepSpec[];
}
