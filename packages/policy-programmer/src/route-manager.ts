/**
 * Host-mode connectivity: writes what host-plan.ts computes (workload routes and neighbours,
 * Felix's cluster routes, tunnel devices, VXLAN FDB and neighbours, NAT outgoing, interface
 * sysctls) into the backend's routes and neighbours tables and its HostNetwork. Only for
 * backends that forward through the host (`capabilities().forwarding`); the others keep their
 * routes and neighbours tables untouched.
 *
 * The programmer calls apply() once per apply, after the endpoint entries are written and
 * before any endpoint entry is deleted, so:
 *  - a workload's routes appear only once its endpoint entry is in the datapath (its policy is
 *    enforced on the interface before anything is routed to it);
 *  - a removed workload's routes go before its endpoint entry does.
 * Within apply(): upserts tunnels -> sysctls -> neighbours, FDB -> routes -> NAT; then deletes
 * routes -> neighbours, FDB -> tunnels -> NAT. Routes need their device and next hop; a device
 * goes only once nothing routes through it.
 *
 * Like the other tables: desired vs actual per table (CachingTable), per-entry failures retried
 * with backoff (TableGate), readback at start (a restarted programmer computing the same state
 * writes nothing) and again every RouteRefreshInterval (repairs routes lost with a recreated
 * interface, or changed by someone else), stale entries swept only after InSync. A table that
 * fails as a whole is retried with backoff and never stops policy programming.
 */
import { sync } from "@ptables/proto";
import {
  CachingTable,
  defaultDataplaneConfig,
  errorMessage,
  type Backend,
  type FdbKey,
  type FdbValue,
  type NatOutgoingKey,
  type NatOutgoingValue,
  type NeighbourKey,
  type NeighbourValue,
  type RouteKey,
  type RouteValue,
  type TableBackend,
  type TunnelKey,
  type TunnelValue,
} from "@ptables/api";
import { computeHostPlan, isOptionalSysctl, type Disposition, type HostPlan } from "./host-plan";
import type { ModelStore } from "./model-store";
import type { ProgrammerLog } from "./programmer";
import type { StatusBook } from "./status-book";
import { TableGate, type RetryPolicy } from "./table-gate";

const Kind = sync.ObjectKind;
const State = sync.ObjectState;

export const HOST_TABLES = ["tunnels", "neighbours", "fdb", "routes", "natOutgoing"] as const;
export type HostTable = (typeof HOST_TABLES)[number];

export interface RouteManagerDeps {
  store: ModelStore;
  backend: Backend;
  status: StatusBook;
  retry: RetryPolicy;
  now: () => number;
  log: ProgrammerLog;
  /** Whether the workload endpoint `key` owns interface `ifname` and its entry is in the datapath. */
  endpointInDatapath(ifname: string, key: string): boolean;
}

interface Managed<K, V> {
  gate: TableGate<K, V>;
  table: CachingTable<K, V>;
}

function managed<K, V>(backend: TableBackend<K, V>, deps: RouteManagerDeps): Managed<K, V> {
  const gate = new TableGate(backend, deps.retry, deps.now);
  return { gate, table: new CachingTable(gate) };
}

interface Backoff {
  message: string;
  attempts: number;
  retryAt: number;
}

export class RouteManager {
  /** Whether the backend forwards (capabilities().forwarding), so routes are ours to program. */
  readonly active: boolean;
  private readonly t: {
    routes: Managed<RouteKey, RouteValue>;
    neighbours: Managed<NeighbourKey, NeighbourValue>;
    tunnels?: Managed<TunnelKey, TunnelValue>;
    fdb?: Managed<FdbKey, FdbValue>;
    natOutgoing?: Managed<NatOutgoingKey, NatOutgoingValue>;
  };
  private plan: HostPlan | undefined;
  private appliedVersion: bigint | undefined;
  private defaultRpFilter: string | undefined;
  /** Interface -> the sysctls last confirmed on it (JSON), so unchanged interfaces are not re-read. */
  private readonly sysctlsDone = new Map<string, string>();
  private readonly sysctlFailures = new Map<string, Backoff>();
  private failure: Backoff | undefined;
  /** Tables whose readback failed, with their backoff. */
  private readonly tableFailures = new Map<Managed<any, any>, Backoff>();
  private loadedAt: number | undefined;
  private readonly reported = { routes: new Set<string>(), vteps: new Set<string>(), pools: new Set<string>(), devices: new Set<string>() };
  /** Sysctl values written since this manager was created. */
  sysctlWrites = 0;
  /**
   * Whether something the plan depends on changed since the last plan (Felix's dirty flag):
   * workload endpoints (ifname, nets, admin state, whether their entry is in the datapath),
   * routes, VTEPs, hosts, IPAM pools, encapsulation, config, or a failed run. Without it, and
   * with no retry or refresh due, apply() does nothing.
   */
  private dirty = true;
  private lastInSync: boolean | undefined;
  /** Times the plan was computed (computeHostPlan) since this manager was created. */
  plans = 0;

  constructor(private readonly d: RouteManagerDeps) {
    this.active = d.backend.capabilities().forwarding;
    const t = d.backend.tables;
    const h = d.backend.hostNetwork;
    this.t = {
      routes: managed(t.routes, d),
      neighbours: managed(t.neighbours, d),
      ...(h ? { tunnels: managed(h.tunnels, d), fdb: managed(h.fdb, d), natOutgoing: managed(h.natOutgoing, d) } : {}),
    };
  }

  /** Something the plan depends on changed: re-plan at the next apply. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Whether an apply has something to do for us: a model we have not planned, or a retry or refresh that is due. */
  needsApply(version: bigint): boolean {
    if (!this.active) return false;
    if (this.appliedVersion !== version) return true;
    const at = this.nextDueAt();
    return at !== undefined && at <= this.d.now();
  }

  /** When a retry or the periodic readback is next due (undefined: nothing scheduled). */
  nextDueAt(): number | undefined {
    if (!this.active) return undefined;
    const times: number[] = [];
    if (this.failure) times.push(this.failure.retryAt);
    for (const f of this.tableFailures.values()) times.push(f.retryAt);
    for (const f of this.sysctlFailures.values()) times.push(f.retryAt);
    for (const m of this.all()) {
      const at = m.gate.nextRetryAt();
      if (at !== undefined) times.push(at);
    }
    const refresh = this.refreshMs();
    if (refresh > 0 && this.loadedAt !== undefined) times.push(this.loadedAt + refresh);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** Entries offered to each table since this manager was created. */
  writeCounts(): Record<HostTable, number> {
    return {
      tunnels: this.t.tunnels?.gate.writes ?? 0,
      neighbours: this.t.neighbours.gate.writes,
      fdb: this.t.fdb?.gate.writes ?? 0,
      routes: this.t.routes.gate.writes,
      natOutgoing: this.t.natOutgoing?.gate.writes ?? 0,
    };
  }

  /** The plan last applied (for State and tests). */
  get lastPlan(): HostPlan | undefined {
    return this.plan;
  }

  /**
   * Plans from the current model and writes the difference; never throws. A table that cannot
   * be read is skipped (and retried with backoff) while the others are written.
   */
  async apply(inSync: boolean): Promise<void> {
    if (!this.active) return;
    const version = this.d.store.version;
    const now = this.d.now();
    if (this.failure && this.failure.retryAt > now && this.appliedVersion === version) return;
    if (!this.dirty && inSync === this.lastInSync && this.all().every((m) => m.table.loaded)) {
      const due = this.nextDueAt();
      if (due === undefined || due > now) {
        // Nothing we depend on changed and no retry or refresh is due: nothing to do.
        this.appliedVersion = version;
        return;
      }
    }
    this.dirty = false;
    this.lastInSync = inSync;
    for (const m of this.all()) m.gate.beginRound();
    try {
      const refresh = this.refreshMs();
      if (this.loadedAt !== undefined && refresh > 0 && now >= this.loadedAt + refresh) {
        for (const m of this.all()) m.table.invalidate();
        this.sysctlsDone.clear();
      }
      if (this.all().some((m) => !m.table.loaded)) this.loadedAt = now;
      for (const m of this.all()) await this.load(m, now);
      this.defaultRpFilter ??= this.d.backend.hostNetwork ? await this.d.backend.hostNetwork.defaultRpFilter() : "1";

      const plan = this.computePlan();
      this.plans++;
      this.plan = plan;
      this.setDesired(plan);

      const { routes, neighbours, tunnels, fdb, natOutgoing } = this.t;
      const upserts = (m: Managed<any, any> | undefined) => (m?.table.loaded ? m.table.applyUpserts() : undefined);
      const deletes = (m: Managed<any, any> | undefined) => (m?.table.loaded ? m.table.applyDeletes(inSync) : undefined);
      if (tunnels?.table.loaded) {
        const before = tunnels.gate.writes;
        await tunnels.table.applyUpserts();
        if (tunnels.gate.writes !== before) {
          // A recreated device loses its routes, neighbours and FDB: read them back again.
          for (const m of [routes, neighbours, fdb]) m?.table.invalidate();
          for (const m of [routes, neighbours, fdb]) if (m) await this.load(m, now);
        }
      }
      await this.applySysctls(plan);
      await upserts(neighbours);
      await upserts(fdb);
      await upserts(routes);
      await upserts(natOutgoing);

      await deletes(routes);
      await deletes(neighbours);
      await deletes(fdb);
      await deletes(tunnels);
      await deletes(natOutgoing);
      for (const m of this.all()) m.gate.endRound();
      this.failure = undefined;
      this.appliedVersion = version;
      this.reportStatus(plan);
    } catch (err) {
      const message = errorMessage(err);
      const attempts = (this.failure?.attempts ?? 0) + 1;
      const delay = Math.min(this.d.retry.maxMs, this.d.retry.minMs * 2 ** Math.min(attempts - 1, 30));
      this.failure = { message, attempts, retryAt: now + delay };
      this.appliedVersion = version;
      this.dirty = true;
      for (const m of this.all()) m.table.invalidate();
      this.d.log.error("host network programming failed; retrying", { error: message, retryInMs: delay });
    }
  }

  /** Reads a table back if needed, unless its last readback failed and is not due again. */
  private async load(m: Managed<any, any>, now: number): Promise<void> {
    if (m.table.loaded) return;
    const failed = this.tableFailures.get(m);
    if (failed && failed.retryAt > now) return;
    try {
      await m.table.load();
      this.tableFailures.delete(m);
    } catch (err) {
      const attempts = (failed?.attempts ?? 0) + 1;
      const delay = Math.min(this.d.retry.maxMs, this.d.retry.minMs * 2 ** Math.min(attempts - 1, 30));
      this.tableFailures.set(m, { message: errorMessage(err), attempts, retryAt: now + delay });
      this.d.log.error("host network table cannot be read; retrying", { table: m.gate.name, error: errorMessage(err), retryInMs: delay });
    }
  }

  private all(): Array<Managed<any, any>> {
    const { routes, neighbours, tunnels, fdb, natOutgoing } = this.t;
    return [tunnels, neighbours, fdb, routes, natOutgoing].filter((m): m is Managed<any, any> => m !== undefined);
  }

  private refreshMs(): number {
    return (this.d.store.config?.routeRefreshIntervalSecs ?? 90) * 1000;
  }

  private computePlan(): HostPlan {
    const s = this.d.store;
    const full = computeHostPlan({
      config: { ...defaultDataplaneConfig(), ...s.config },
      encapsulation: s.encapsulation ?? { ipipEnabled: false, vxlanEnabled: false, vxlanEnabledV6: false, noEncapEnabled: false },
      workloads: [...s.workloadEndpoints.values()].map((endpoint) => ({ endpoint, inDatapath: this.d.endpointInDatapath(endpoint.ifname, endpoint.key) })),
      routes: [...s.routes.values()],
      vteps: [...s.vteps.values()],
      hosts: [...s.hosts.values()],
      pools: [...s.ipamPools.values()],
      defaultRpFilter: this.defaultRpFilter ?? "1",
      hostNetwork: this.d.backend.hostNetwork !== undefined,
    });
    if (this.d.backend.hostNetwork) return full;
    // No host network: only routes and neighbours are written (NAT and sysctls have no table).
    return { ...full, nat: new Map(), sysctls: new Map() };
  }

  private setDesired(plan: HostPlan): void {
    const sync = <K, V>(m: Managed<K, V> | undefined, want: Iterable<[K, V]>) => {
      if (!m) return;
      const keep = new Set<string>();
      for (const [k, v] of want) {
        keep.add(m.table.keyString(k));
        const cur = m.table.getDesired(k);
        if (cur === undefined || !m.gate.valueEquals(cur, v)) m.table.setDesired(k, v);
      }
      for (const [k] of [...m.table.desiredEntries()]) if (!keep.has(m.table.keyString(k))) m.table.deleteDesired(k);
    };
    sync(this.t.routes, plan.routes.values());
    sync(this.t.neighbours, plan.neighbours.values());
    sync(this.t.tunnels, plan.tunnels.values());
    sync(this.t.fdb, plan.fdb.values());
    sync(this.t.natOutgoing, plan.nat.values());
  }

  private async applySysctls(plan: HostPlan): Promise<void> {
    const net = this.d.backend.hostNetwork;
    for (const ifname of [...this.sysctlsDone.keys()]) if (!plan.sysctls.has(ifname)) this.sysctlsDone.delete(ifname);
    for (const ifname of [...this.sysctlFailures.keys()]) if (!plan.sysctls.has(ifname)) this.sysctlFailures.delete(ifname);
    if (!net) return;
    const now = this.d.now();
    for (const [ifname, settings] of plan.sysctls) {
      const signature = JSON.stringify(settings);
      if (this.sysctlsDone.get(ifname) === signature) continue;
      const failed = this.sysctlFailures.get(ifname);
      if (failed && failed.retryAt > now) continue;
      try {
        this.sysctlWrites += await net.setSysctls(settings, isOptionalSysctl);
        this.sysctlsDone.set(ifname, signature);
        this.sysctlFailures.delete(ifname);
      } catch (err) {
        const attempts = (failed?.attempts ?? 0) + 1;
        const delay = Math.min(this.d.retry.maxMs, this.d.retry.minMs * 2 ** Math.min(attempts - 1, 30));
        this.sysctlFailures.set(ifname, { message: errorMessage(err), attempts, retryAt: now + delay });
      }
    }
  }

  /** ROUTE, VTEP and IPAM pool statuses, plus a CONFIG status per tunnel device that has a problem. */
  private reportStatus(plan: HostPlan): void {
    const st = this.d.status;
    const seen = { routes: new Set<string>(), vteps: new Set<string>(), pools: new Set<string>(), devices: new Set<string>() };
    const entryState = (d: Disposition, failure: string | undefined, pending: boolean): [sync.ObjectState, string] => {
      if (d.state === "none") return [State.OBJECT_STATE_DOWN, d.reason];
      if (d.state === "pending") return [State.OBJECT_STATE_PENDING, d.reason];
      if (failure !== undefined) return [State.OBJECT_STATE_ERROR, failure];
      return pending ? [State.OBJECT_STATE_PENDING, "not written yet"] : [State.OBJECT_STATE_PROGRAMMED, ""];
    };
    const failureOf = <K, V>(m: Managed<K, V> | undefined, key: K): string | undefined => {
      if (!m) return undefined;
      const broken = this.tableFailures.get(m);
      return broken ? `${m.gate.name}: ${broken.message}` : m.gate.failureOf(key)?.message;
    };
    const written = <K, V>(m: Managed<K, V> | undefined, key: K): boolean => {
      if (!m) return false;
      const want = m.table.getDesired(key);
      const have = m.table.getActual(key);
      return want !== undefined && have !== undefined && m.gate.valueEquals(want, have);
    };

    for (const [dst, d] of plan.routeStatus) {
      const key = { dst };
      let failure = failureOf(this.t.routes, key);
      const ifname = plan.routes.get(dst)?.[1].ifname;
      if (failure === undefined && ifname && this.sysctlFailures.has(ifname)) failure = `sysctls: ${this.sysctlFailures.get(ifname)!.message}`;
      const [state, reason] = entryState(d, failure, d.state === "programmed" && !written(this.t.routes, key));
      st.set(Kind.OBJECT_KIND_ROUTE, dst, state, reason);
      seen.routes.add(dst);
    }
    for (const [node, d] of plan.vtepStatus) {
      const e = plan.vtepEntries.get(node)!;
      const failures = [
        ...e.tunnels.map((k) => failureOf(this.t.tunnels, { ifname: k })),
        ...e.neighbours.map((k) => failureOf(this.t.neighbours, splitNeigh(k))),
        ...e.fdb.map((k) => failureOf(this.t.fdb, splitFdb(k))),
      ].filter((m): m is string => m !== undefined);
      const done = e.tunnels.every((k) => written(this.t.tunnels, { ifname: k })) && e.neighbours.every((k) => written(this.t.neighbours, splitNeigh(k))) && e.fdb.every((k) => written(this.t.fdb, splitFdb(k)));
      const [state, reason] = entryState(d, failures.length > 0 ? failures.join("; ") : undefined, !done);
      st.set(Kind.OBJECT_KIND_VTEP, node, state, reason);
      seen.vteps.add(node);
    }
    for (const pool of this.d.store.ipamPools.values()) {
      const family = pool.cidr.includes(":") ? 6 : 4;
      const nat = plan.nat.get(family);
      const failure = nat ? failureOf(this.t.natOutgoing, nat[0]) : undefined;
      const reason = pool.masquerade && !this.t.natOutgoing ? "NAT outgoing needs a backend with host networking" : "";
      st.set(Kind.OBJECT_KIND_IPAM_POOL, pool.id, failure ? State.OBJECT_STATE_ERROR : reason ? State.OBJECT_STATE_DOWN : State.OBJECT_STATE_PROGRAMMED, failure ?? reason);
      seen.pools.add(pool.id);
    }
    const deviceIssues = new Map(plan.deviceProblems);
    for (const [ifname] of plan.tunnels) {
      const failure = failureOf(this.t.tunnels, { ifname });
      if (failure !== undefined) deviceIssues.set(ifname, failure);
    }
    for (const [ifname, reason] of deviceIssues) {
      const failed = plan.tunnels.has(ifname);
      st.set(Kind.OBJECT_KIND_CONFIG, `device:${ifname}`, failed ? State.OBJECT_STATE_ERROR : State.OBJECT_STATE_PENDING, reason);
      seen.devices.add(`device:${ifname}`);
    }
    const forget = (kind: sync.ObjectKind, was: Set<string>, now: Set<string>) => {
      for (const id of was) if (!now.has(id)) st.remove(kind, id);
    };
    forget(Kind.OBJECT_KIND_ROUTE, this.reported.routes, seen.routes);
    forget(Kind.OBJECT_KIND_VTEP, this.reported.vteps, seen.vteps);
    forget(Kind.OBJECT_KIND_IPAM_POOL, this.reported.pools, seen.pools);
    forget(Kind.OBJECT_KIND_CONFIG, this.reported.devices, seen.devices);
    this.reported.routes = seen.routes;
    this.reported.vteps = seen.vteps;
    this.reported.pools = seen.pools;
    this.reported.devices = seen.devices;
  }
}

function splitNeigh(k: string): NeighbourKey {
  const [ifname, ip] = k.split("|");
  return { ifname: ifname!, ip: ip! };
}

function splitFdb(k: string): FdbKey {
  const [ifname, mac] = k.split("|");
  return { ifname: ifname!, mac: mac! };
}
