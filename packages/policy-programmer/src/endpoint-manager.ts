/**
 * Endpoints -> the endpoints table, and each endpoint's status.
 *
 * An endpoint owns one interface (its endpoints-table key). Resolving an endpoint picks its
 * programs (endpoint-programs.ts) and hands them to the ProgramManager; the entry itself is only
 * pointed at programs once they are fully written (stage), and a next program becomes active
 * once the entry is confirmed to point at it (commit). An interface being removed keeps its
 * programs until its entry is gone (finishRemovals), so the datapath never follows an entry to
 * deleted rules.
 *
 * Status: PROGRAMMED once the entry points at the endpoint's compiled programs, DOWN for an
 * admin-down endpoint once its drop programs are in, ERROR (with the reason) when its policy
 * cannot be programmed (it then fails closed), when it cannot have an entry at all (bad or
 * duplicate interface, id collision, backend full; no entry means the datapath drops its
 * traffic as "no endpoint"), or while its writes keep failing.
 */
import { sync } from "@ptables/proto";
import { EndpointFlags, type CachingTable, type DataplaneConfig, type EndpointKey, type EndpointValue } from "@ptables/api";
import { DIRECTIONS } from "./compiler";
import { chooseEndpointPrograms, type EndpointMode, type EndpointProgramDeps } from "./endpoint-programs";
import type { ModelStore } from "./model-store";
import type { ApplyFailures, ProgramManager } from "./program-manager";
import { endpointPolicyKeys } from "./references";
import { ReverseIndex } from "./reverse-index";
import type { StatusBook } from "./status-book";
import type { TableGate } from "./table-gate";

const Kind = sync.ObjectKind;
const State = sync.ObjectState;

/** The reason reported for host endpoints until the compiler and backends program them. */
export const HOST_ENDPOINTS_NOT_PROGRAMMED = "host endpoints are not programmed by this backend yet";

interface EndpointRecord {
  key: string;
  kind: "workload" | "host";
  /** The interface this endpoint owns, if it has one. */
  ifname?: string;
  /** "none": no entry at all (see reason). */
  mode: EndpointMode | "none";
  reason: string;
}

interface InterfaceState {
  ifname: string;
  /** Record id of the owning endpoint; undefined for an entry found at start-up that nobody claims. */
  owner?: string;
  flags: number;
  /** The entry is to be deleted (then the programs are retired). */
  removing: boolean;
  /** Why the entry is not yet what it should be. */
  blocked?: string;
}

export interface EndpointManagerDeps extends EndpointProgramDeps {
  store: ModelStore;
  table: CachingTable<EndpointKey, EndpointValue>;
  gate: TableGate<EndpointKey, EndpointValue>;
  programs: ProgramManager;
  status: StatusBook;
}

export class EndpointManager {
  private readonly records = new Map<string, EndpointRecord>();
  private readonly ifaces = new Map<string, InterfaceState>();
  /** Interfaces whose entry or programs are not settled yet. */
  private readonly pending = new Set<string>();
  readonly policyUsers = new ReverseIndex();
  readonly profileUsers = new ReverseIndex();
  /** Endpoints that could not get an interface (taken, backend full), to retry when one frees up. */
  private readonly waiting = new Set<string>();
  private readonly woken = new Set<string>();
  /** Interfaces with an owning endpoint (what counts against the backend's maxEndpoints). */
  private owned = 0;

  constructor(private readonly d: EndpointManagerDeps) {}

  /** Endpoints to resolve at the next apply even without a model change. */
  get hasWork(): boolean {
    return this.woken.size > 0;
  }

  /** Adopts entries found by a readback that this process does not know yet. */
  adoptLoaded(entries: Array<[EndpointKey, EndpointValue]>): void {
    for (const [key, value] of entries) {
      let iface = this.ifaces.get(key.ifname);
      if (!iface) {
        if (this.d.programs.claim(key.ifname) !== undefined) continue; // cannot adopt: it stays stale and is swept at InSync
        // Nobody claims it (yet): it is stale until an endpoint does.
        iface = { ifname: key.ifname, flags: value.flags, removing: true };
        this.ifaces.set(key.ifname, iface);
        this.pending.add(key.ifname);
      }
      this.d.programs.adopt(key.ifname, value);
    }
  }

  /** Re-resolves endpoints: the given ones, and any woken because an interface freed up. */
  resolve(workloads: Iterable<string>, hosts: Iterable<string>): void {
    const ids = new Set<string>(this.woken);
    this.woken.clear();
    for (const k of workloads) ids.add(`w:${k}`);
    for (const k of hosts) ids.add(`h:${k}`);
    for (const id of ids) {
      const key = id.slice(2);
      if (id.startsWith("w:")) this.resolveWorkload(id, key);
      else this.resolveHost(id, key);
    }
    this.d.synthetic.discardPrepared();
  }

  /** Recomputes entry flags after a config change. */
  configChanged(): void {
    for (const iface of this.ifaces.values()) {
      if (!iface.owner || iface.removing) continue;
      const flags = this.flagsFor(this.records.get(iface.owner)!.kind);
      if (flags === iface.flags) continue;
      iface.flags = flags;
      this.pending.add(iface.ifname);
    }
  }

  /** Points entries at their programs where those are fully written (after rules upserts). */
  stage(failures: ApplyFailures): void {
    for (const ifname of this.pending) {
      const iface = this.ifaces.get(ifname)!;
      if (iface.removing) continue;
      const why = this.d.programs.readiness(ifname, failures);
      iface.blocked = why;
      if (why !== undefined) continue;
      const ing = this.d.programs.target(ifname, "ingress")!;
      const eg = this.d.programs.target(ifname, "egress")!;
      this.d.table.setDesired({ ifname }, { ingressProgram: ing.id, egressProgram: eg.id, flags: iface.flags, ingressLength: ing.rules.length, egressLength: eg.rules.length });
    }
  }

  /** After endpoint upserts: entries now pointing at next programs make them active. */
  commit(): void {
    for (const ifname of this.pending) {
      const iface = this.ifaces.get(ifname)!;
      if (iface.removing) continue;
      const actual = this.d.table.getActual({ ifname });
      const desired = this.d.table.getDesired({ ifname });
      if (actual && desired && this.d.table.backend.valueEquals(actual, desired)) {
        this.d.programs.commit(ifname, actual);
        if (this.d.programs.settled(ifname)) this.pending.delete(ifname);
      } else if (iface.blocked === undefined) {
        const f = this.d.gate.failureOf({ ifname });
        iface.blocked = f ? `endpoint entry: ${f.message}` : "endpoint entry not written";
      }
    }
  }

  /** After endpoint deletes: interfaces whose entry is gone lose their programs. */
  finishRemovals(): void {
    if (!this.d.table.loaded) return; // a failed readback: we cannot tell what is gone
    for (const ifname of [...this.pending]) {
      const iface = this.ifaces.get(ifname)!;
      if (!iface.removing) continue;
      if (this.d.table.getActual({ ifname }) !== undefined) {
        iface.blocked = this.d.gate.failureOf({ ifname })?.message ?? "stale entry, removed once in sync";
        continue;
      }
      this.d.programs.retireAll(ifname);
      this.ifaces.delete(ifname);
      this.pending.delete(ifname);
    }
  }

  /** Sets the status of every endpoint. */
  reportStatus(): void {
    for (const rec of this.records.values()) {
      const kind = rec.kind === "workload" ? Kind.OBJECT_KIND_WORKLOAD_ENDPOINT : Kind.OBJECT_KIND_HOST_ENDPOINT;
      if (rec.mode === "none" || rec.mode === "error") {
        this.d.status.set(kind, rec.key, State.OBJECT_STATE_ERROR, rec.reason);
        continue;
      }
      const iface = this.ifaces.get(rec.ifname!)!;
      if (!this.pending.has(iface.ifname)) {
        this.d.status.set(kind, rec.key, rec.mode === "admin-down" ? State.OBJECT_STATE_DOWN : State.OBJECT_STATE_PROGRAMMED);
      } else if (iface.blocked !== undefined) {
        this.d.status.set(kind, rec.key, State.OBJECT_STATE_ERROR, `not programmed yet, retrying: ${iface.blocked}`);
      } else if (!this.d.status.get(kind, rec.key)) {
        this.d.status.set(kind, rec.key, State.OBJECT_STATE_PENDING);
      }
    }
  }

  /** Per interface, for State. */
  interfaceSummary(ifname: string): { owner?: string; flags: number; pending: boolean; removing: boolean; blocked?: string } | undefined {
    const iface = this.ifaces.get(ifname);
    if (!iface) return undefined;
    const owner = iface.owner ? this.records.get(iface.owner)?.key : undefined;
    return { ...(owner ? { owner } : {}), flags: iface.flags, pending: this.pending.has(ifname), removing: iface.removing, ...(iface.blocked ? { blocked: iface.blocked } : {}) };
  }

  private resolveWorkload(id: string, key: string): void {
    const ep = this.d.store.workloadEndpoints.get(key);
    this.policyUsers.set(id, ep ? endpointPolicyKeys(ep) : []);
    this.profileUsers.set(id, ep?.profileIds ?? []);
    let rec = this.records.get(id);
    if (!ep) {
      if (rec) this.forget(id, rec, Kind.OBJECT_KIND_WORKLOAD_ENDPOINT);
      return;
    }
    if (!rec) {
      rec = { key, kind: "workload", mode: "none", reason: "" };
      this.records.set(id, rec);
    }
    if (rec.ifname !== undefined && rec.ifname !== ep.ifname) this.releaseInterface(rec);
    const problem = interfaceNameProblem(ep.ifname) ?? this.claimInterface(id, rec, ep.ifname);
    if (problem !== undefined) {
      this.waiting.add(id);
      rec.mode = "none";
      rec.reason = problem;
      return;
    }
    this.waiting.delete(id);
    const chosen = chooseEndpointPrograms(ep, this.d);
    for (const dir of DIRECTIONS) this.d.programs.setTarget(ep.ifname, dir, chosen[dir]);
    rec.mode = chosen.mode;
    rec.reason = chosen.reason;
    const iface = this.ifaces.get(ep.ifname)!;
    iface.flags = this.flagsFor("workload");
    this.pending.add(ep.ifname);
  }

  private resolveHost(id: string, key: string): void {
    const hep = this.d.store.hostEndpoints.get(key);
    this.policyUsers.set(id, hep ? endpointPolicyKeys(hep) : []);
    this.profileUsers.set(id, hep?.profileIds ?? []);
    if (!hep) {
      const rec = this.records.get(id);
      if (rec) this.forget(id, rec, Kind.OBJECT_KIND_HOST_ENDPOINT);
      return;
    }
    // Recorded and reported honestly: nothing in the datapath enforces host endpoint policy yet.
    this.records.set(id, { key, kind: "host", mode: "none", reason: HOST_ENDPOINTS_NOT_PROGRAMMED });
  }

  private forget(id: string, rec: EndpointRecord, kind: sync.ObjectKind): void {
    if (rec.ifname !== undefined) this.releaseInterface(rec);
    this.records.delete(id);
    this.waiting.delete(id);
    this.d.status.remove(kind, rec.key);
  }

  /** Takes the interface for an endpoint; returns why not. */
  private claimInterface(id: string, rec: EndpointRecord, ifname: string): string | undefined {
    const iface = this.ifaces.get(ifname);
    if (iface?.owner === id) return undefined;
    if (iface?.owner !== undefined) return `interface ${ifname} is already used by endpoint ${this.records.get(iface.owner)?.key ?? iface.owner}`;
    if (!iface) {
      const max = this.d.caps.maxEndpoints;
      if (this.owned >= max) return `the backend holds at most ${max} endpoints`;
      const collision = this.d.programs.claim(ifname);
      if (collision !== undefined) return collision;
      this.ifaces.set(ifname, { ifname, owner: id, flags: 0, removing: false });
    } else {
      // Taking over an interface that was being removed (or found at start-up): keep its programs.
      iface.owner = id;
      iface.removing = false;
    }
    this.owned++;
    rec.ifname = ifname;
    return undefined;
  }

  /** The endpoint no longer uses its interface: delete the entry, then (finishRemovals) its programs. */
  private releaseInterface(rec: EndpointRecord): void {
    const ifname = rec.ifname!;
    rec.ifname = undefined;
    const iface = this.ifaces.get(ifname);
    if (!iface) return;
    iface.owner = undefined;
    this.owned--;
    iface.removing = true;
    requestDelete(this.d.table, { ifname });
    this.pending.add(ifname);
    for (const w of this.waiting) this.woken.add(w);
    this.waiting.clear();
  }

  private flagsFor(kind: "workload" | "host"): number {
    if (kind === "host") return EndpointFlags.HostEndpoint;
    const cfg: Partial<DataplaneConfig> = this.d.store.config ?? {};
    // One flag covers both encapsulations. Felix drops each unless allowed; when only one is
    // allowed we keep dropping both (fail closed) rather than let the other through unchecked.
    return cfg.allowVxlanPacketsFromWorkloads && cfg.allowIpipPacketsFromWorkloads ? EndpointFlags.None : EndpointFlags.DropEncapFromWorkload;
  }
}

/** Interface names are the endpoints table's key: Linux's rules (1-15 bytes, no whitespace, "/" or ":"). */
export function interfaceNameProblem(ifname: string): string | undefined {
  if (!ifname) return "no interface name";
  if (/[\s/:]/.test(ifname) || Buffer.byteLength(ifname) > 15) return `"${ifname}" is not a valid interface name (1-15 bytes, no whitespace, "/" or ":")`;
  return undefined;
}

/**
 * Deletes an entry this process decided to remove. CachingTable only counts a delete as
 * requested (allowed before InSync) when the key was desired; an entry adopted from the
 * readback but not yet re-desired is made desired first, so its removal is not mistaken for a
 * stale sweep and delayed until InSync.
 */
function requestDelete<K, V>(table: CachingTable<K, V>, key: K): void {
  if (table.getDesired(key) === undefined) {
    const have = table.getActual(key);
    if (have === undefined) return;
    table.setDesired(key, have);
  }
  table.deleteDesired(key);
}
