/**
 * The backend interface: what the policy programmer programs into. DPU vendors implement it
 * (in-process, or behind gRPC); ptables ships the eBPF/tc backend and an in-memory reference.
 *
 * A backend is a set of typed tables plus a few datapath services (counters, flows).
 * Tables are dumb: they store exactly what they are given and read back exactly what they
 * hold. All diffing, ordering and retry logic lives once, in CachingTable and the programmer.
 */
import type {
  CompiledRule,
  Counter,
  EndpointKey,
  EndpointValue,
  Flow,
  NeighbourKey,
  NeighbourValue,
  PortSetKey,
  Present,
  RouteKey,
  RouteValue,
  RuleKey,
  SetMemberKey,
} from "./tables";
import type { HostNetwork } from "./host-network";

/** The outcome of one entry in a batch. */
export interface EntryError {
  /** Index into the batch's upserts (op "upsert") or deletes (op "delete"). */
  index: number;
  op: "upsert" | "delete";
  message: string;
}

/**
 * One table of a backend. `K` and `V` are plain values; `keyString` gives the canonical
 * identity used for diffing, so two keys are the same entry iff their strings are equal.
 */
export interface TableBackend<K, V> {
  readonly name: string;
  keyString(key: K): string;
  valueEquals(a: V, b: V): boolean;
  /** Everything the table holds now (readback for resync). Only entries ptables owns. */
  loadAll(): Promise<Array<[K, V]>>;
  /**
   * Writes upserts then deletes. Deleting an absent entry succeeds. Entries that fail are
   * reported; the others are applied. Throws only when the table itself is unusable.
   */
  applyBatch(upserts: Array<[K, V]>, deletes: K[]): Promise<EntryError[]>;
}

export interface Capabilities {
  /** Longest program (rules of one endpoint in one direction, control rules included). */
  maxRulesPerProgram: number;
  /** Total set members (all sets, both families). */
  maxSetMembers: number;
  maxEndpoints: number;
  ipv6: boolean;
  /** Whether the backend forwards (routes/neighbours) or leaves that to the host. */
  forwarding: boolean;
  /** Whether the datapath keeps its own connection tracking. */
  conntrack: boolean;
  /**
   * Whether the backend enforces host endpoints: host interfaces (HostEndpoint entries with
   * their untracked / pre-DNAT / normal / forward programs), the toHost program of workloads,
   * and the well-known sets (WELL_KNOWN_SETS). Without it the programmer reports host endpoints
   * in error and writes none of these.
   */
  hostEndpoints: boolean;
  /** Free-form description for status output. */
  description: string;
}

export interface Tables {
  setMembers: TableBackend<SetMemberKey, Present>;
  portSets: TableBackend<PortSetKey, Present>;
  rules: TableBackend<RuleKey, CompiledRule>;
  endpoints: TableBackend<EndpointKey, EndpointValue>;
  routes: TableBackend<RouteKey, RouteValue>;
  neighbours: TableBackend<NeighbourKey, NeighbourValue>;
}

/** One host interface (not a workload's) and the addresses it holds, as `hostInterfaces()` reports it. */
export interface HostInterface {
  ifname: string;
  /** Whether frames carry an Ethernet header (false for IPIP, WireGuard, tun: EndpointFlags.NoL2Header). */
  ethernet: boolean;
  /** Whether the link is administratively up. */
  up: boolean;
  /**
   * The interface's own addresses with their prefix length ("10.0.0.5/24", "fe80::1/64"; host
   * bits kept), plus IPv4 broadcast addresses as /32.
   */
  addrs: string[];
}

/** Apply order: members before the rules that use them, rules before the endpoints that point at them. */
export const TABLE_UPSERT_ORDER: Array<keyof Tables> = ["setMembers", "portSets", "rules", "endpoints", "neighbours", "routes"];
/** Deletes run in reverse. */
export const TABLE_DELETE_ORDER: Array<keyof Tables> = [...TABLE_UPSERT_ORDER].reverse();

export interface Backend {
  readonly name: string;
  /** Prepares the backend (load programs, open maps, connect). Idempotent. */
  open(): Promise<void>;
  close(): Promise<void>;
  capabilities(): Capabilities;
  readonly tables: Tables;
  /**
   * Host-mode plumbing (tunnel devices, FDB, NAT outgoing, interface sysctls) for backends that
   * forward through the host kernel; absent for backends that do not (docs/host-mode.md).
   */
  readonly hostNetwork?: HostNetwork;
  /**
   * Every interface of the host (loopback included, workload interfaces included: the caller
   * filters by prefix) with its addresses. Host endpoints are resolved against it; required when
   * capabilities().hostEndpoints is true.
   */
  hostInterfaces?(): Promise<HostInterface[]>;
  /** Per-rule counters keyed by CompiledRule.counterId. */
  readRuleCounters(): Promise<Map<bigint, Counter>>;
  /** Drop counters by DropReason. */
  readDropCounters(): Promise<Map<number, Counter>>;
  /** Flows currently tracked by the datapath (bounded by `limit`). */
  listFlows(limit: number): Promise<Flow[]>;
  /** Removes flows; returns how many were removed. */
  deleteFlows(flows: Flow[]): Promise<number>;
  /** Removes everything this backend created (maps, programs, attachments). */
  cleanup(): Promise<void>;
}
