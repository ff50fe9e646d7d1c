/**
 * The policy programmer: the desired model in, the backend's tables out.
 *
 * applySnapshot()/applyDelta() are cheap: they update the model and record what changed, with
 * no I/O (Felix's OnUpdate contract). apply() does all the I/O, in batches, in this order:
 *
 *   readback (first apply only: the resync) -> resolve changes into desired entries ->
 *   upsert setMembers, portSets, rules -> point endpoint entries at fully written programs ->
 *   upsert endpoints -> retire programs the entries no longer point at ->
 *   delete endpoints, then rules, portSets, setMembers.
 *
 * Every table diffs against what it holds (CachingTable), so re-applying the same state, or a
 * fresh programmer over a datapath programmed by an earlier one, writes nothing. Entries found
 * at the readback that nothing asks for are swept only once the sync is in sync; set entries
 * wait also while an adopted program's set references are unknown. Entries that fail stay dirty
 * and are retried with per-entry backoff (table-gate.ts); the objects they belong to report
 * ERROR meanwhile. Routes, neighbours, tunnel devices, NAT outgoing and interface sysctls are
 * the RouteManager's (route-manager.ts), for backends that forward through the host: it runs
 * after endpoint upserts and before endpoint deletes.
 */
import { sync } from "@ptables/proto";
import {
  CachingTable,
  errorMessage,
  type Backend,
  type Capabilities,
  type CompiledRule,
  type EndpointKey,
  type EndpointValue,
  type PortSetKey,
  type Present,
  type RuleKey,
  type SetMemberKey,
} from "@ptables/api";
import { policyCoreCompiler, type CounterOwner, type PolicyCompiler } from "./compiler";
import { EndpointManager } from "./endpoint-manager";
import { DEFAULT_HOST_SCAN_MS, HostInterfaceWatch } from "./host-interface-watch";
import { WellKnownSetManager } from "./well-known-sets";
import { IdRegistry } from "./id-registry";
import { IpSetManager } from "./ip-set-manager";
import { ModelStore } from "./model-store";
import { PolicyManager } from "./policy-manager";
import { ProgramManager, type ApplyFailures } from "./program-manager";
import { RouteManager } from "./route-manager";
import { StatusBook } from "./status-book";
import { SyntheticSetManager } from "./synthetic-set-manager";
import { DEFAULT_RETRY, TableGate, type EntryFailure, type RetryPolicy } from "./table-gate";

/** The tables the programmer owns, in upsert order. */
export const MANAGED_TABLES = ["setMembers", "portSets", "rules", "endpoints"] as const;
export type ManagedTable = (typeof MANAGED_TABLES)[number];

/** What the programmer logs through (a winston Logger fits). */
export interface ProgrammerLog {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface ProgrammerOptions {
  /** The policy compiler; @ptables/policy-core unless a test wraps it. */
  compiler?: PolicyCompiler;
  log?: ProgrammerLog;
  /** Clock for retry backoff (ms). */
  now?: () => number;
  retry?: RetryPolicy;
  /** How often the backend's host interfaces are rescanned (ms; host endpoints, host addresses). */
  hostInterfaceScanMs?: number;
}

export interface ApplyStats {
  /** Version of the model the apply programmed. */
  version: bigint;
  writesByTable: Record<ManagedTable, number>;
  writes: number;
  durationMs: number;
  /** Set when the backend failed as a whole (e.g. a readback threw); the apply is retried. */
  error?: string;
  /** Whether this apply began by reading the tables back (the resync after a start or a failure). */
  resync: boolean;
}

const SILENT: ProgrammerLog = { debug() {}, info() {}, warn() {}, error() {} };

export class Programmer {
  readonly store = new ModelStore();
  readonly status = new StatusBook();
  readonly caps: Capabilities;
  private readonly log: ProgrammerLog;
  /** The clock retry times are on (ms). */
  readonly now: () => number;
  private readonly retry: RetryPolicy;
  private readonly gates: {
    setMembers: TableGate<SetMemberKey, Present>;
    portSets: TableGate<PortSetKey, Present>;
    rules: TableGate<RuleKey, CompiledRule>;
    endpoints: TableGate<EndpointKey, EndpointValue>;
  };
  private readonly members: CachingTable<SetMemberKey, Present>;
  private readonly portSets: CachingTable<PortSetKey, Present>;
  private readonly rules: CachingTable<RuleKey, CompiledRule>;
  private readonly endpoints: CachingTable<EndpointKey, EndpointValue>;
  private readonly ipSets: IpSetManager;
  private readonly synthetic: SyntheticSetManager;
  private readonly policies: PolicyManager;
  readonly programs: ProgramManager;
  readonly endpointManager: EndpointManager;
  /** The backend's host interfaces, rescanned periodically (backends with host endpoints). */
  readonly hostWatch: HostInterfaceWatch;
  /** Service destinations and host addresses in setMembers (backends with host endpoints). */
  readonly wellKnownSets: WellKnownSetManager;
  /** Host-mode routes, devices, NAT and sysctls (backends that forward through the host). */
  readonly routeManager: RouteManager;

  private applying = false;
  private reportEverything = true;
  private backendFailure: { message: string; attempts: number; retryAt: number } | undefined;
  /** Highest model version fully resolved and written (failures are reported per object). */
  appliedVersion = 0n;
  lastApply: ApplyStats | undefined;
  applies = 0;
  /** Applies in which the backend failed as a whole. */
  failedApplies = 0;
  /** Objects of the model the programmer refused (invalid, or referring to what is missing). */
  rejectedInputs = 0;
  /** Writes made by applies that began with a readback, per table: 0 after a hitless restart. */
  readonly resyncWrites: Record<ManagedTable, number> = { setMembers: 0, portSets: 0, rules: 0, endpoints: 0 };
  private readonly applyListeners = new Set<(stats: ApplyStats) => void>();

  constructor(
    readonly backend: Backend,
    opts: ProgrammerOptions = {},
  ) {
    this.log = opts.log ?? SILENT;
    this.now = opts.now ?? Date.now;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.caps = backend.capabilities();
    const t = backend.tables;
    this.gates = {
      setMembers: new TableGate(t.setMembers, this.retry, this.now),
      portSets: new TableGate(t.portSets, this.retry, this.now),
      rules: new TableGate(t.rules, this.retry, this.now),
      endpoints: new TableGate(t.endpoints, this.retry, this.now, true),
    };
    this.members = new CachingTable(this.gates.setMembers);
    this.portSets = new CachingTable(this.gates.portSets);
    this.rules = new CachingTable(this.gates.rules);
    this.endpoints = new CachingTable(this.gates.endpoints);
    const compiler = opts.compiler ?? policyCoreCompiler;
    const setIds = new IdRegistry();
    // First, so a Felix IP set or synthetic set hashing to a well-known id reports the collision.
    this.wellKnownSets = new WellKnownSetManager(this.members, setIds, compiler, this.caps.hostEndpoints === true);
    this.hostWatch = new HostInterfaceWatch(backend, opts.hostInterfaceScanMs ?? DEFAULT_HOST_SCAN_MS, this.now);
    this.ipSets = new IpSetManager(this.store, this.members, setIds, compiler);
    this.synthetic = new SyntheticSetManager(this.members, this.portSets, setIds, compiler);
    this.policies = new PolicyManager(this.store, compiler, this.caps, this.status);
    this.programs = new ProgramManager(this.rules, this.synthetic, this.ipSets, compiler, new IdRegistry());
    this.endpointManager = new EndpointManager({
      store: this.store,
      table: this.endpoints,
      gate: this.gates.endpoints,
      programs: this.programs,
      status: this.status,
      compiler,
      lookup: this.store,
      caps: this.caps,
      ipSets: this.ipSets,
      synthetic: this.synthetic,
      wellKnown: this.wellKnownSets,
    });
    this.routeManager = new RouteManager({
      store: this.store,
      backend,
      status: this.status,
      retry: this.retry,
      now: this.now,
      log: this.log,
      endpointInDatapath: (ifname, key) => {
        const iface = this.endpointManager.interfaceSummary(ifname);
        return iface?.owner === key && !iface.removing && this.endpoints.getActual({ ifname }) !== undefined;
      },
    });
  }

  /** Replaces the desired model (no I/O). The next apply reports every status. */
  applySnapshot(snapshot: sync.Snapshot): void {
    this.store.applySnapshot(snapshot);
    this.reportEverything = true;
  }

  /** Applies a delta to the desired model (no I/O). */
  applyDelta(delta: sync.Delta): void {
    this.store.applyDelta(delta);
  }

  get inSync(): boolean {
    return this.store.inSync;
  }

  /**
   * Whether an apply now would have something to do besides retries that are not yet due.
   * `exceptHostScan`: a due host interface scan does not count (the apply loop rescans on its
   * own, with rescanHostInterfaces(), and applies only if that found a change).
   */
  needsApply(exceptHostScan = false): boolean {
    // A backend that failed as a whole waits out its backoff even with changes pending: the
    // apply loop would otherwise retry at once, forever, and starve the event loop.
    if (this.backendFailure && this.backendFailure.retryAt > this.now()) return false;
    if (this.store.hasChanges() || this.ipSets.hasWork || this.endpointManager.hasWork) return true;
    if (this.routeManager.needsApply(this.store.version)) return true;
    const at = this.nextRetryAt(!exceptHostScan);
    return at !== undefined && at <= this.now();
  }

  /** When a failed write (or a failed backend) is next due for a retry; undefined if none. */
  nextRetryAt(withHostScan = true): number | undefined {
    let at = this.backendFailure?.retryAt;
    for (const t of [...Object.values(this.gates).map((g) => g.nextRetryAt()), this.routeManager.nextDueAt(), withHostScan ? this.hostWatch.nextScanAt() : undefined]) {
      if (t !== undefined && (at === undefined || t < at)) at = t;
    }
    return at;
  }

  /** Whether an apply is running now. */
  get isApplying(): boolean {
    return this.applying;
  }

  /** Calls `listener` after every apply with its stats (metrics observe durations this way). */
  onApply(listener: (stats: ApplyStats) => void): void {
    this.applyListeners.add(listener);
  }

  /** Entries the backend refused, per table, since this programmer was created. */
  writeFailureCounts(): Record<ManagedTable, number> {
    const g = this.gates;
    return { setMembers: g.setMembers.writeFailures, portSets: g.portSets.writeFailures, rules: g.rules.writeFailures, endpoints: g.endpoints.writeFailures };
  }

  /** Total writes per table since this programmer was created. */
  writeCounts(): Record<ManagedTable, number> {
    const g = this.gates;
    return { setMembers: g.setMembers.writes, portSets: g.portSets.writes, rules: g.rules.writes, endpoints: g.endpoints.writes };
  }

  /** Counter id -> the policy rule it counts, for the programs in the datapath. */
  counterOwners(): Map<bigint, CounterOwner> {
    return this.programs.counterOwners();
  }

  /** Felix IP sets with their datapath ids and member counts. */
  ipSetSummary(): Array<{ id: string; setId: number; members: number; inModel: boolean }> {
    return this.ipSets.summary();
  }

  /** How many synthetic NET and port sets are held. */
  syntheticSetCounts(): { netSets: number; portSets: number } {
    return this.synthetic.counts;
  }

  /** Every current status. */
  statuses(): sync.ObjectStatus[] {
    return this.status.all();
  }

  /**
   * Programs the backend. Calls must not overlap (the service runs them one at a time); a
   * backend that fails as a whole is logged, reported in the stats, and retried with backoff.
   */
  async apply(): Promise<sync.SyncResponse> {
    if (this.applying) throw new Error("apply: already running; calls must not overlap");
    this.applying = true;
    const started = performance.now();
    const before = this.writeCounts();
    const version = this.store.version;
    let failures: ApplyFailures = { memberSets: new Map(), portSets: new Map(), programs: new Map() };
    let error: string | undefined;
    const resync = [this.members, this.portSets, this.rules, this.endpoints].some((t) => !t.loaded);
    try {
      for (const g of Object.values(this.gates)) g.beginRound();
      // The readback: a no-op after the first apply, unless a table failed and was dropped.
      for (const t of [this.members, this.portSets, this.rules, this.endpoints]) await t.load();
      const loaded = this.gates.endpoints.takeLoaded();
      if (loaded) this.endpointManager.adoptLoaded(loaded);
      // What the route plan reads of the endpoints: the interface owners and which entries are
      // in the datapath. Only these change them: a readback, endpoint (re)resolution, host
      // interfaces, and writes to the endpoints table.
      if (resync || loaded || this.endpointManager.hasWork) this.routeManager.markDirty();
      await this.scanHostInterfaces();
      this.resolve();

      await this.members.applyUpserts();
      await this.portSets.applyUpserts();
      await this.rules.applyUpserts();
      failures = this.collectFailures();
      this.endpointManager.stage(failures);
      const endpointWrites = this.gates.endpoints.writes;
      try {
        await this.endpoints.applyUpserts();
      } finally {
        if (this.gates.endpoints.writes !== endpointWrites) this.routeManager.markDirty();
      }
      this.endpointManager.commit();

      const inSync = this.store.inSync;
      // Routes to new endpoints only now that their entries are in; routes of removed ones go
      // before their entries do. Never throws: host networking failing must not stop policy.
      await this.routeManager.apply(inSync);
      const writesBeforeDeletes = this.gates.endpoints.writes;
      try {
        await this.endpoints.applyDeletes(inSync);
        this.endpointManager.finishRemovals();
      } finally {
        // Seen by the next apply's plan, as before.
        if (this.gates.endpoints.writes !== writesBeforeDeletes) this.routeManager.markDirty();
      }
      await this.rules.applyDeletes(inSync);
      const sweepSets = inSync && !this.programs.hasForeignPrograms;
      await this.portSets.applyDeletes(sweepSets);
      await this.members.applyDeletes(sweepSets);
      for (const g of Object.values(this.gates)) g.endRound();
      this.appliedVersion = version;
      this.backendFailure = undefined;
    } catch (err) {
      error = errorMessage(err);
      this.failedApplies++;
      const attempts = (this.backendFailure?.attempts ?? 0) + 1;
      const delay = Math.min(this.retry.maxMs, this.retry.minMs * 2 ** Math.min(attempts - 1, 30));
      this.backendFailure = { message: error, attempts, retryAt: this.now() + delay };
      this.log.error("apply failed; retrying", { backend: this.backend.name, error, retryInMs: delay });
    } finally {
      this.applying = false;
    }

    this.ipSets.reportStatus(this.status, failures.memberSets);
    this.endpointManager.reportStatus();
    const after = this.writeCounts();
    const writesByTable = { setMembers: 0, portSets: 0, rules: 0, endpoints: 0 };
    for (const t of MANAGED_TABLES) writesByTable[t] = after[t] - before[t];
    if (resync) for (const t of MANAGED_TABLES) this.resyncWrites[t] += writesByTable[t];
    this.lastApply = {
      version,
      writesByTable,
      writes: Object.values(writesByTable).reduce((a, b) => a + b, 0),
      durationMs: performance.now() - started,
      resync,
      ...(error !== undefined ? { error } : {}),
    };
    this.applies++;
    for (const listener of this.applyListeners) listener(this.lastApply);
    if (this.lastApply.writes > 0) this.log.debug("applied", { version, writes: this.lastApply.writes, ms: Math.round(this.lastApply.durationMs) });
    const statuses = this.status.take(this.reportEverything);
    this.reportEverything = false;
    return { appliedVersion: this.appliedVersion, statuses };
  }

  /**
   * Rescans the host interfaces if a scan is due; returns whether they changed (then the next
   * apply re-resolves the host endpoints). Not while an apply runs (it scans itself).
   */
  async rescanHostInterfaces(): Promise<boolean> {
    if (this.applying || this.applies === 0) return false;
    this.applying = true;
    try {
      return await this.scanHostInterfaces();
    } finally {
      this.applying = false;
    }
  }

  /** Whether a host interface scan is due now (the apply loop scans before deciding to apply). */
  hostScanDue(): boolean {
    const at = this.hostWatch.nextScanAt();
    return at !== undefined && at <= this.now();
  }

  private async scanHostInterfaces(): Promise<boolean> {
    const scan = await this.hostWatch.refresh();
    if (scan.changed) {
      this.endpointManager.setHostInterfaces(scan.changed);
      this.routeManager.markDirty();
    }
    if (scan.error) this.log.warn("host interfaces not rescanned; keeping the last list", { error: scan.error });
    return scan.changed !== undefined;
  }

  /** Turns the model's recorded changes into desired table entries (no I/O). */
  private resolve(): void {
    const changes = this.store.takeChanges();
    if (changes.workloadEndpoints.size > 0 || changes.hostEndpoints.size > 0 || changes.hostNetwork.size > 0 || changes.config) this.routeManager.markDirty();
    for (const r of changes.rejected) {
      this.rejectedInputs++;
      this.log.warn("input rejected", { kind: sync.ObjectKind[r.kind], id: r.id, reason: r.reason });
      this.status.report(r.kind, r.id, sync.ObjectState.OBJECT_STATE_ERROR, r.reason);
    }
    const changedSets = this.ipSets.resolve(changes);
    const policies = new Set(changes.policies);
    const profiles = new Set(changes.profiles);
    for (const id of changedSets) {
      for (const p of this.policies.policyIpSets.users(id)) policies.add(p);
      for (const p of this.policies.profileIpSets.users(id)) profiles.add(p);
    }
    this.policies.resolve(policies, profiles);

    const workloads = new Set(changes.workloadEndpoints);
    const hosts = new Set(changes.hostEndpoints);
    const addUsers = (ids: Iterable<string>) => {
      for (const id of ids) (id.startsWith("w:") ? workloads : hosts).add(id.slice(2));
    };
    for (const p of policies) addUsers(this.endpointManager.policyUsers.users(p));
    for (const p of profiles) addUsers(this.endpointManager.profileUsers.users(p));
    this.endpointManager.resolve(workloads, hosts);
    if (changes.config) this.endpointManager.configChanged();
  }

  /** Failed writes of this apply, by the set or program they belong to. */
  private collectFailures(): ApplyFailures {
    const firstBy = <K>(failing: Iterable<EntryFailure<K>>, id: (k: K) => number): Map<number, string> => {
      const out = new Map<number, string>();
      for (const f of failing) if (f.op === "upsert" && !out.has(id(f.key))) out.set(id(f.key), f.message);
      return out;
    };
    return {
      memberSets: firstBy(this.gates.setMembers.failingThisRound(), (k) => k.setId),
      portSets: firstBy(this.gates.portSets.failingThisRound(), (k) => k.setId),
      programs: firstBy(this.gates.rules.failingThisRound(), (k) => k.programId),
    };
  }
}
