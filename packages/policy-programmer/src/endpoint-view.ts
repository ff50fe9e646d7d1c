/**
 * The JSON behind State.model_json (what `ptablesctl endpoints`, `policy` and `routes` show):
 * the desired model joined with what the datapath holds. For one endpoint, every tier, policy
 * and profile in evaluation order with each rule's match and its packet/byte counters; for the
 * whole node, every endpoint in brief and the routes. Bigints are rendered as strings.
 */
import { sync, type model } from "@ptables/proto";
import { ValidationError, type Counter, type HostEndpoint, type Rule, type Tier, type WorkloadEndpoint } from "@ptables/api";
import type { Direction } from "./compiler";
import type { Program } from "./program-manager";
import type { Programmer } from "./programmer";
import { actionName, matchSummary } from "./rule-summary";

export interface RuleView {
  index: number;
  action: string;
  match: string;
  ruleId: string;
  /** Null when the rule is not in the datapath (staged policy, endpoint not programmed). */
  packets: string | null;
  bytes: string | null;
}

export interface PolicyView {
  key: string;
  staged: boolean;
  /** The endpoint names a policy the model does not hold (the endpoint fails closed). */
  missing: boolean;
  rules: RuleView[];
}

export interface TierView {
  name: string;
  defaultAction: "deny" | "pass";
  policies: PolicyView[];
}

export interface ProfileView {
  id: string;
  missing: boolean;
  rules: RuleView[];
}

export interface DirectionView {
  /** The program the endpoint entry points at, if any. */
  programId: number | null;
  /** Rules of that program, control rules included. */
  compiledRules: number;
  tiers: TierView[];
  profiles: ProfileView[];
}

export interface EndpointSummary {
  kind: "workload" | "host";
  key: string;
  ifname: string;
  addresses: string[];
  adminUp: boolean;
  /** programmed, pending, error, down (lower case ObjectState names). */
  state: string;
  reason: string;
  tiers: string[];
  profiles: string[];
}

export interface EndpointDetail extends EndpointSummary {
  ingress: DirectionView;
  egress: DirectionView;
}

export interface RouteView {
  dst: string;
  /** Felix's RouteType bits by name; empty for CIDR_INFO. */
  types: string[];
  poolType: string;
  node: string;
  nodeIp: string;
  flags: string[];
}

export interface DatapathRouteView {
  dst: string;
  ifname: string;
  via: string;
  kind: string;
}

/** State.model_json: `endpoint` for one endpoint, the rest for the whole node. */
export interface ModelView {
  endpoint?: EndpointDetail;
  endpoints?: EndpointSummary[];
  routes?: RouteView[];
  datapathRoutes?: DatapathRouteView[];
  datapathRoutesError?: string;
}

/** An endpoint of the model, found the way ptablesctl users name them. */
export type FoundEndpoint = { kind: "workload"; endpoint: WorkloadEndpoint } | { kind: "host"; endpoint: HostEndpoint };

/**
 * A workload endpoint by key or interface name, or a host endpoint by key. Throws
 * ValidationError("endpoint", ...) naming what was asked for.
 */
export function findEndpoint(p: Programmer, name: string): FoundEndpoint {
  if (!name) throw new ValidationError("endpoint", "no endpoint given");
  const store = p.store;
  const wep = store.workloadEndpoints.get(name) ?? [...store.workloadEndpoints.values()].find((e) => e.ifname === name);
  if (wep) return { kind: "workload", endpoint: wep };
  const hep = store.hostEndpoints.get(name);
  if (hep) return { kind: "host", endpoint: hep };
  throw new ValidationError("endpoint", `unknown endpoint "${name}" (give a workload endpoint key, an interface name or a host endpoint key)`);
}

const ROUTE_TYPES: Array<[number, string]> = [
  [1, "remote-workload"],
  [2, "remote-host"],
  [4, "local-workload"],
  [8, "local-host"],
  [16, "remote-tunnel"],
  [32, "local-tunnel"],
];
const POOL_TYPES = ["none", "no-encap", "vxlan", "ipip"];

function stateOf(p: Programmer, kind: sync.ObjectKind, key: string): { state: string; reason: string } {
  const st = p.status.get(kind, key);
  if (!st) return { state: "pending", reason: "" };
  return { state: (sync.ObjectState[st.state] ?? String(st.state)).replace(/^OBJECT_STATE_/, "").toLowerCase(), reason: st.reason };
}

function summary(p: Programmer, found: FoundEndpoint): EndpointSummary {
  if (found.kind === "workload") {
    const e = found.endpoint;
    return {
      kind: "workload",
      key: e.key,
      ifname: e.ifname,
      addresses: [...e.ipv4Nets, ...e.ipv6Nets],
      adminUp: e.adminUp,
      ...stateOf(p, sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT, e.key),
      tiers: e.tiers.map((t) => t.name),
      profiles: e.profileIds,
    };
  }
  const h = found.endpoint;
  return {
    kind: "host",
    key: h.key,
    ifname: h.ifname,
    addresses: [...h.expectedIpv4Addrs, ...h.expectedIpv6Addrs],
    adminUp: true,
    ...stateOf(p, sync.ObjectKind.OBJECT_KIND_HOST_ENDPOINT, h.key),
    tiers: h.tiers.map((t) => t.name),
    profiles: h.profileIds,
  };
}

/** The active program of an interface in one direction, if the datapath has one. */
function activeProgram(p: Programmer, ifname: string, direction: Direction): Program | undefined {
  for (const iface of p.programs.interfaces()) if (iface.ifname === ifname) return iface[direction].active;
  return undefined;
}

/** Counter lookup for one program: "<owner>|<rule index>" -> counter id. */
function counterIndex(program: Program | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [id, owner] of program?.counters ?? []) {
    const who = owner.policy !== undefined ? `policy:${owner.policy}` : `profile:${owner.profile ?? ""}`;
    out.set(`${who}|${owner.ruleIndex}`, id);
  }
  return out;
}

function ruleViews(rules: Rule[], owner: string, ids: Map<string, bigint>, counters: Map<bigint, Counter>): RuleView[] {
  return rules.map((rule, index) => {
    const id = ids.get(`${owner}|${index}`);
    const c = id === undefined ? undefined : (counters.get(id) ?? { packets: 0n, bytes: 0n });
    return {
      index,
      action: actionName(rule.action),
      match: matchSummary(rule),
      ruleId: rule.ruleId,
      packets: c ? c.packets.toString() : null,
      bytes: c ? c.bytes.toString() : null,
    };
  });
}

function directionView(p: Programmer, found: FoundEndpoint, direction: Direction, counters: Map<bigint, Counter>): DirectionView {
  // Counters are joined for workload endpoints, whose programs are keyed by their interface; a
  // host endpoint's policy is shown without counters (packets and bytes null).
  const program = found.kind === "workload" ? activeProgram(p, found.endpoint.ifname, direction) : undefined;
  const ids = counterIndex(program);
  const pick = (x: { inboundRules: Rule[]; outboundRules: Rule[] }) => (direction === "ingress" ? x.inboundRules : x.outboundRules);
  const tiers = found.endpoint.tiers.map((t: Tier): TierView => {
    const keys = direction === "ingress" ? t.ingressPolicies : t.egressPolicies;
    return {
      name: t.name,
      defaultAction: t.defaultAction === 1 ? "pass" : "deny",
      policies: keys.map((key): PolicyView => {
        const policy = p.store.policy(key);
        if (!policy) return { key, staged: false, missing: true, rules: [] };
        return { key, staged: policy.staged, missing: false, rules: ruleViews(pick(policy), `policy:${key}`, ids, counters) };
      }),
    };
  });
  const profiles = found.endpoint.profileIds.map((id): ProfileView => {
    const profile = p.store.profile(id);
    if (!profile) return { id, missing: true, rules: [] };
    return { id, missing: false, rules: ruleViews(pick(profile), `profile:${id}`, ids, counters) };
  });
  return { programId: program?.id ?? null, compiledRules: program?.rules.length ?? 0, tiers, profiles };
}

function routeView(r: model.Route): RouteView {
  const flags = (
    [
      ["same-subnet", r.sameSubnet],
      ["nat-outgoing", r.natOutgoing],
      ["local-workload", r.localWorkload],
      ["ipip", r.tunnelIpip],
      ["vxlan", r.tunnelVxlan],
      ["wireguard", r.tunnelWireguard],
      ["borrowed", r.borrowed],
    ] as const
  )
    .filter(([, on]) => on)
    .map(([name]) => name);
  return {
    dst: r.dst,
    types: ROUTE_TYPES.filter(([bit]) => (r.types & bit) !== 0).map(([, name]) => name),
    poolType: POOL_TYPES[r.ipPoolType] ?? String(r.ipPoolType),
    node: r.dstNodeName,
    nodeIp: r.dstNodeIp,
    flags,
  };
}

const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Renders State.model_json. With `endpoint`, that endpoint in full (throws ValidationError if
 * it is unknown); without, every endpoint in brief plus desired and datapath routes.
 */
export async function renderModel(p: Programmer, counters: Map<bigint, Counter>, endpoint: string): Promise<string> {
  const view: ModelView = {};
  if (endpoint) {
    const found = findEndpoint(p, endpoint);
    view.endpoint = { ...summary(p, found), ingress: directionView(p, found, "ingress", counters), egress: directionView(p, found, "egress", counters) };
    return JSON.stringify(view);
  }
  view.endpoints = [
    ...[...p.store.workloadEndpoints.values()].map((endpoint) => summary(p, { kind: "workload", endpoint })).sort(byKey),
    ...[...p.store.hostEndpoints.values()].map((endpoint) => summary(p, { kind: "host", endpoint })).sort(byKey),
  ];
  view.routes = [...p.store.routes.values()].map(routeView).sort((a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
  try {
    const held = await p.backend.tables.routes.loadAll();
    view.datapathRoutes = held.map(([k, v]) => ({ dst: k.dst, ifname: v.ifname, via: v.via, kind: v.kind }));
  } catch (err) {
    view.datapathRoutesError = err instanceof Error ? err.message : String(err);
  }
  return JSON.stringify(view);
}
