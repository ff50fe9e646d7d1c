/**
 * Endpoints -> the endpoints table, and each endpoint's status.
 *
 * An endpoint entry is keyed by an interface. A workload endpoint owns its interface; host
 * interfaces are planned from the host endpoints and the backend's host interfaces
 * (host-interface-plan.ts): each planned interface gets an entry governed by one host endpoint
 * ("*", by name or by expected address), or a watch-only entry. Resolving an interface picks its
 * programs (endpoint-programs.ts, host-endpoint-programs.ts) for each of its program groups
 * (endpoint-groups.ts) and hands them to the ProgramManager; the entry itself is only pointed at
 * programs once they are fully written (stage), and a next program becomes active once the entry
 * is confirmed to point at it (commit). An interface being removed keeps its programs until its
 * entry is gone (finishRemovals), so the datapath never follows an entry to deleted rules.
 *
 * Status: a workload is PROGRAMMED once the entry points at its compiled programs, DOWN for an
 * admin-down endpoint once its drop programs are in, ERROR (with the reason) when its policy
 * cannot be programmed (it then fails closed), when it cannot have an entry at all (bad or
 * duplicate interface, id collision, backend full; no entry means the datapath drops its traffic
 * as "no endpoint"), or while its writes keep failing. A host endpoint is PROGRAMMED once every
 * interface it governs is, DOWN while it matches no interface, and ERROR like a workload (a host
 * endpoint whose policy cannot be programmed fails closed except for the failsafe ports).
 */
import { sync } from "@ptables/proto";
import { EndpointFlags, type CachingTable, type DataplaneConfig, type EndpointKey, type EndpointValue, type HostInterface } from "@ptables/api";
import { parseIp } from "@ptables/policy-core";
import { DIRECTIONS, type CompiledProgram, type HostTunnels } from "./compiler";
import { buildEndpointValue, groupOf, groupRefs, groupsOfValue, hostGroups, workloadGroups, type ProgramGroup } from "./endpoint-groups";
import { chooseEndpointPrograms, type EndpointMode, type EndpointProgramDeps } from "./endpoint-programs";
import { chooseHostEndpointPrograms, chooseToHostProgram, failsafesOf, watchOnlyPrograms, type HostProgramChoice } from "./host-endpoint-programs";
import { hostAddressCidrs, planHostInterfaces } from "./host-interface-plan";
import type { ModelStore } from "./model-store";
import type { ApplyFailures, ProgramManager } from "./program-manager";
import { endpointPolicyKeys } from "./references";
import { ReverseIndex } from "./reverse-index";
import type { StatusBook } from "./status-book";
import type { TableGate } from "./table-gate";
import type { WellKnownSetManager } from "./well-known-sets";

const Kind = sync.ObjectKind;
const State = sync.ObjectState;

/** The reason reported for host endpoints on a backend without capabilities().hostEndpoints. */
export const HOST_ENDPOINTS_NOT_PROGRAMMED = "host endpoints are not programmed by this backend (it does not support them)";

interface EndpointRecord {
  /** The workload endpoint's key; for a host interface, its name. */
  key: string;
  /** "host": one planned host interface (record id "i:<ifname>"). */
  kind: "workload" | "host";
  /** The interface this record owns, if it has one. */
  ifname?: string;
  /** "none": no entry at all (see reason); "watch": a host interface without a host endpoint. */
  mode: EndpointMode | "none" | "watch";
  reason: string;
  /** Host interfaces: the governing host endpoint, if any. */
  hep?: string;
}

interface InterfaceState {
  ifname: string;
  /** Record id of the owning endpoint; undefined for an entry found at start-up that nobody claims. */
  owner?: string;
  flags: number;
  /** The program groups the entry points at. */
  groups: ProgramGroup[];
  /** Groups the entry pointed at before (another kind of endpoint): retired once it no longer does. */
  retiring: ProgramGroup[];
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
  /** The well-known sets (Service destinations, host addresses); absent in narrow tests. */
  wellKnown?: WellKnownSetManager;
}

/** Rules compared as text (bigint counter ids included), to tell whether a shared program changed. */
function programSignature(p: CompiledProgram): string {
  return JSON.stringify(p.rules, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
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
  /** The backend's host interfaces, as last scanned (undefined: never scanned). */
  private hostInterfaces: HostInterface[] | undefined;
  /** Host interfaces or configuration changed since the host endpoints were last resolved. */
  private hostsDirty = false;
  /** Per host endpoint: the interfaces it governs, why it cannot be programmed, its programs. */
  private readonly heps = new Map<string, { ifnames: string[]; problem?: string; choice?: HostProgramChoice }>();
  /** The to-host program every workload entry points at (DefaultEndpointToHostAction). */
  private toHost: { program: CompiledProgram; reason: string; signature: string } | undefined;
  /** The tunnel peers the host programs were last compiled with (see tunnelsOf). */
  private tunnelSignature = "";

  constructor(private readonly d: EndpointManagerDeps) {}

  /** Whether workloads get a to-host program and host endpoints are programmed at all. */
  private get hostCapable(): boolean {
    return this.d.caps.hostEndpoints === true;
  }

  /** Endpoints to resolve at the next apply even without a model change. */
  get hasWork(): boolean {
    return this.woken.size > 0 || this.hostsDirty;
  }

  /** The backend's host interfaces (from a scan); host endpoints are re-resolved at the next resolve. */
  setHostInterfaces(interfaces: HostInterface[]): void {
    this.hostInterfaces = interfaces;
    this.hostsDirty = true;
  }

  /** Adopts entries found by a readback that this process does not know yet. */
  adoptLoaded(entries: Array<[EndpointKey, EndpointValue]>): void {
    for (const [key, value] of entries) {
      let iface = this.ifaces.get(key.ifname);
      const groups = iface?.groups ?? groupsOfValue(key.ifname, value);
      if (!iface) {
        // Cannot adopt on a collision: it stays stale and is swept at InSync.
        if (this.claimGroups(groups) !== undefined) continue;
        // Nobody claims it (yet): it is stale until an endpoint does.
        iface = { ifname: key.ifname, flags: value.flags, groups, retiring: [], removing: true };
        this.ifaces.set(key.ifname, iface);
        this.pending.add(key.ifname);
      }
      for (const g of groups) this.d.programs.adopt(g.name, groupRefs(value, g));
    }
  }

  /** Re-resolves endpoints: the given ones, any woken because an interface freed up, and host interfaces. */
  resolve(workloads: Iterable<string>, hosts: Iterable<string>): void {
    const ids = new Set<string>(this.woken);
    this.woken.clear();
    for (const k of workloads) ids.add(`w:${k}`);
    let hostsChanged = this.hostsDirty;
    for (const k of hosts) {
      ids.add(`h:${k}`);
      hostsChanged = true;
    }
    for (const id of ids) {
      if (id.startsWith("w:")) this.resolveWorkload(id, id.slice(2));
      else hostsChanged = true; // "h:<key>" and woken host interfaces "i:<ifname>"
    }
    // Hosts and VTEPs carry no change record of their own; their addresses matter to the host
    // programs only through the tunnel allowances.
    if (!hostsChanged && this.heps.size > 0 && JSON.stringify(this.tunnelsOf() ?? null) !== this.tunnelSignature) hostsChanged = true;
    if (hostsChanged) this.resolveHosts();
    this.d.synthetic.discardPrepared();
  }

  /** Recomputes entry flags and the host side after a config change. */
  configChanged(): void {
    for (const iface of this.ifaces.values()) {
      if (!iface.owner || iface.removing) continue;
      const rec = this.records.get(iface.owner)!;
      if (rec.kind !== "workload") continue;
      const flags = this.workloadFlags();
      if (flags === iface.flags) continue;
      iface.flags = flags;
      this.pending.add(iface.ifname);
    }
    // Failsafe ports, DefaultEndpointToHostAction, Service destinations, interface prefixes.
    this.resolveHosts();
    this.d.synthetic.discardPrepared();
  }

  /** Points entries at their programs where those are fully written (after rules upserts). */
  stage(failures: ApplyFailures): void {
    for (const ifname of this.pending) {
      const iface = this.ifaces.get(ifname)!;
      if (iface.removing) continue;
      let why: string | undefined;
      for (const g of iface.groups) why ??= this.d.programs.readiness(g.name, failures);
      iface.blocked = why;
      if (why !== undefined) continue;
      this.d.table.setDesired({ ifname }, buildEndpointValue(iface.groups, iface.flags, (name, dir) => this.d.programs.target(name, dir)));
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
        for (const g of iface.groups) this.d.programs.commit(g.name, groupRefs(actual, g));
        if (iface.groups.every((g) => this.d.programs.settled(g.name))) {
          for (const g of iface.retiring) this.d.programs.retireAll(g.name);
          iface.retiring = [];
          this.pending.delete(ifname);
        }
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
      for (const g of [...iface.groups, ...iface.retiring]) this.d.programs.retireAll(g.name);
      this.ifaces.delete(ifname);
      this.pending.delete(ifname);
    }
  }

  /** Sets the status of every endpoint. */
  reportStatus(): void {
    for (const rec of this.records.values()) {
      if (rec.kind !== "workload") continue;
      const kind = Kind.OBJECT_KIND_WORKLOAD_ENDPOINT;
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
    for (const [key, hep] of this.heps) this.reportHostEndpoint(key, hep);
  }

  /** Per interface (or program group, "eth0#forward"), for State. */
  interfaceSummary(name: string): { owner?: string; flags: number; pending: boolean; removing: boolean; blocked?: string } | undefined {
    const ifname = name.includes("#") ? name.slice(0, name.indexOf("#")) : name;
    const iface = this.ifaces.get(ifname);
    if (!iface) return undefined;
    const rec = iface.owner ? this.records.get(iface.owner) : undefined;
    const owner = rec === undefined ? undefined : rec.kind === "workload" ? rec.key : rec.hep !== undefined ? `host endpoint ${rec.hep}` : "watched host interface";
    return { ...(owner ? { owner } : {}), flags: iface.flags, pending: this.pending.has(ifname), removing: iface.removing, ...(iface.blocked ? { blocked: iface.blocked } : {}) };
  }

  private resolveWorkload(id: string, key: string): void {
    const ep = this.d.store.workloadEndpoints.get(key);
    this.policyUsers.set(id, ep ? endpointPolicyKeys(ep) : []);
    this.profileUsers.set(id, ep?.profileIds ?? []);
    let rec = this.records.get(id);
    if (!ep) {
      if (rec) this.forget(id, rec);
      return;
    }
    if (!rec) {
      rec = { key, kind: "workload", mode: "none", reason: "" };
      this.records.set(id, rec);
    }
    if (rec.ifname !== undefined && rec.ifname !== ep.ifname) this.releaseInterface(rec);
    const problem = interfaceNameProblem(ep.ifname) ?? this.claimInterface(id, rec, ep.ifname, workloadGroups(ep.ifname, this.hostCapable));
    if (problem !== undefined) {
      this.waiting.add(id);
      rec.mode = "none";
      rec.reason = problem;
      return;
    }
    this.waiting.delete(id);
    const chosen = chooseEndpointPrograms(ep, this.d);
    for (const dir of DIRECTIONS) this.d.programs.setTarget(ep.ifname, dir, chosen[dir]);
    if (this.hostCapable) this.setToHostTarget(ep.ifname);
    rec.mode = chosen.mode;
    rec.reason = chosen.reason;
    const iface = this.ifaces.get(ep.ifname)!;
    iface.flags = this.workloadFlags();
    this.pending.add(ep.ifname);
  }

  /**
   * Plans the host interfaces from the host endpoints and the last scan, compiles each host
   * endpoint once, programs every planned interface, releases the rest, and refreshes the
   * to-host program and the well-known sets.
   */
  private resolveHosts(): void {
    this.hostsDirty = false;
    const heps = [...this.d.store.hostEndpoints.values()];
    const present = new Set(heps.map((h) => h.key));
    for (const key of [...this.heps.keys()]) {
      if (present.has(key)) continue;
      this.heps.delete(key);
      this.policyUsers.set(`h:${key}`, []);
      this.profileUsers.set(`h:${key}`, []);
      this.d.status.remove(Kind.OBJECT_KIND_HOST_ENDPOINT, key);
    }
    for (const hep of heps) {
      this.policyUsers.set(`h:${hep.key}`, endpointPolicyKeys(hep));
      this.profileUsers.set(`h:${hep.key}`, hep.profileIds ?? []);
    }
    if (!this.hostCapable) {
      for (const hep of heps) this.heps.set(hep.key, { ifnames: [], problem: HOST_ENDPOINTS_NOT_PROGRAMMED });
      return;
    }
    const cfg: Partial<DataplaneConfig> = this.d.store.config ?? {};
    const interfaces = this.hostInterfaces ?? [];
    this.d.wellKnown?.set("serviceNets", cfg.serviceNets ?? []);
    this.d.wellKnown?.set("hostAddresses", hostAddressCidrs(interfaces));

    const workloadIfnames = new Set<string>();
    for (const ep of this.d.store.workloadEndpoints.values()) workloadIfnames.add(ep.ifname);
    const plan = planHostInterfaces({
      heps,
      interfaces,
      interfacePrefix: cfg.interfacePrefix,
      workloadIfnames,
      watchAll: (cfg.serviceNets ?? []).length > 0,
    });
    const { failsafes } = failsafesOf(cfg);
    const tunnels = this.tunnelsOf();
    this.tunnelSignature = JSON.stringify(tunnels ?? null);
    if (tunnels) failsafes.tunnels = tunnels;
    const choices = new Map<string, HostProgramChoice>();
    const choose = (key: string): HostProgramChoice => {
      let c = choices.get(key);
      if (!c) {
        c = chooseHostEndpointPrograms(this.d.store.hostEndpoints.get(key)!, this.d, failsafes);
        choices.set(key, c);
      }
      return c;
    };
    for (const hep of heps) {
      const planned = plan.heps.get(hep.key)!;
      this.heps.set(hep.key, { ...planned, ...(planned.ifnames.length > 0 ? { choice: choose(hep.key) } : {}) });
    }

    // Interfaces no longer planned lose their entries.
    for (const [id, rec] of [...this.records]) {
      if (rec.kind === "host" && !plan.interfaces.has(rec.key)) this.forget(id, rec);
    }
    for (const planned of plan.interfaces.values()) {
      const id = `i:${planned.ifname}`;
      let rec = this.records.get(id);
      if (!rec) {
        rec = { key: planned.ifname, kind: "host", mode: "none", reason: "" };
        this.records.set(id, rec);
      }
      if (planned.hep !== undefined) rec.hep = planned.hep;
      else delete rec.hep;
      const problem = interfaceNameProblem(planned.ifname) ?? this.claimInterface(id, rec, planned.ifname, hostGroups(planned.ifname));
      if (problem !== undefined) {
        this.waiting.add(id);
        rec.mode = "none";
        rec.reason = problem;
        continue;
      }
      this.waiting.delete(id);
      const choice = planned.hep !== undefined ? choose(planned.hep) : undefined;
      const programs = choice?.programs ?? watchOnlyPrograms();
      for (const g of hostGroups(planned.ifname)) {
        for (const dir of DIRECTIONS) this.d.programs.setTarget(g.name, dir, programs[g.hook as keyof typeof programs][dir]);
      }
      rec.mode = choice?.mode ?? "watch";
      rec.reason = choice?.reason ?? "";
      const iface = this.ifaces.get(planned.ifname)!;
      iface.flags = EndpointFlags.HostEndpoint | (planned.ethernet ? 0 : EndpointFlags.NoL2Header);
      this.pending.add(planned.ifname);
    }

    // DefaultEndpointToHostAction (RETURN runs the "*" host endpoint's normal ingress program).
    const star = plan.star !== undefined ? choose(plan.star) : undefined;
    const toHost = chooseToHostProgram(cfg.defaultEndpointToHostAction ?? "DROP", star, this.d);
    const signature = programSignature(toHost.program);
    if (this.toHost?.signature !== signature || this.toHost.reason !== toHost.reason) {
      this.toHost = { ...toHost, signature };
      for (const rec of this.records.values()) {
        if (rec.kind !== "workload" || rec.ifname === undefined || rec.mode === "none") continue;
        this.setToHostTarget(rec.ifname);
        this.pending.add(rec.ifname);
      }
    }
  }

  /**
   * The VXLAN/IPIP tunnels between Calico hosts in use, and the hosts' addresses (HostMetadata
   * and VTEP parent devices, this node included, as Felix's all-hosts set); undefined when no
   * encapsulation is in use.
   */
  private tunnelsOf(): HostTunnels | undefined {
    const encap = this.d.store.encapsulation;
    const vxlan = encap?.vxlanEnabled === true || encap?.vxlanEnabledV6 === true;
    if (!vxlan && encap?.ipipEnabled !== true) return undefined;
    const peers = new Set<string>();
    const bare = (a: string) => (a.includes("/") ? a.slice(0, a.indexOf("/")) : a);
    for (const h of this.d.store.hosts.values()) {
      if (h.ipv4Addr) peers.add(bare(h.ipv4Addr));
      if (h.ipv6Addr && vxlan) peers.add(bare(h.ipv6Addr));
    }
    for (const v of this.d.store.vteps.values()) {
      if (v.parentDeviceIp) peers.add(bare(v.parentDeviceIp));
      if (v.parentDeviceIpv6) peers.add(bare(v.parentDeviceIpv6));
    }
    const list = [...peers].filter((p) => parseIp(p) !== undefined).sort();
    return { peers: list, ...(vxlan ? { vxlanPort: this.d.store.config?.vxlanPort || 4789 } : {}), ipip: encap?.ipipEnabled === true };
  }

  /** Points a workload's to-host group at the current to-host program. */
  private setToHostTarget(ifname: string): void {
    if (!this.toHost) {
      const cfg: Partial<DataplaneConfig> = this.d.store.config ?? {};
      const toHost = chooseToHostProgram(cfg.defaultEndpointToHostAction ?? "DROP", undefined, this.d);
      this.toHost = { ...toHost, signature: programSignature(toHost.program) };
    }
    const group = groupOf(ifname, "to-host").name;
    this.d.programs.setTarget(group, "ingress", { rules: [], netSets: new Map(), portSets: new Map(), ipSetsUsed: new Set(), counters: new Map() });
    this.d.programs.setTarget(group, "egress", this.toHost.program);
  }

  private reportHostEndpoint(key: string, hep: { ifnames: string[]; problem?: string; choice?: HostProgramChoice }): void {
    const kind = Kind.OBJECT_KIND_HOST_ENDPOINT;
    if (hep.problem !== undefined) {
      this.d.status.set(kind, key, State.OBJECT_STATE_ERROR, hep.problem);
      return;
    }
    if (hep.ifnames.length === 0) {
      this.d.status.set(kind, key, State.OBJECT_STATE_DOWN, "no host interface matches it");
      return;
    }
    const recs = hep.ifnames.map((ifname) => this.records.get(`i:${ifname}`)!);
    const noEntry = recs.find((r) => r.mode === "none");
    if (noEntry) {
      this.d.status.set(kind, key, State.OBJECT_STATE_ERROR, `interface ${noEntry.key}: ${noEntry.reason}`);
      return;
    }
    if (hep.choice?.mode === "error") {
      this.d.status.set(kind, key, State.OBJECT_STATE_ERROR, hep.choice.reason);
      return;
    }
    const blocked = hep.ifnames.map((ifname) => this.ifaces.get(ifname)).find((i) => i && this.pending.has(i.ifname) && i.blocked !== undefined);
    if (blocked) {
      this.d.status.set(kind, key, State.OBJECT_STATE_ERROR, `not programmed yet, retrying: interface ${blocked.ifname}: ${blocked.blocked}`);
    } else if (hep.ifnames.every((ifname) => !this.pending.has(ifname))) {
      this.d.status.set(kind, key, State.OBJECT_STATE_PROGRAMMED);
    } else if (!this.d.status.get(kind, key)) {
      this.d.status.set(kind, key, State.OBJECT_STATE_PENDING);
    }
  }

  private forget(id: string, rec: EndpointRecord): void {
    if (rec.ifname !== undefined) this.releaseInterface(rec);
    this.records.delete(id);
    this.waiting.delete(id);
    if (rec.kind === "workload") this.d.status.remove(Kind.OBJECT_KIND_WORKLOAD_ENDPOINT, rec.key);
  }

  /** Claims every group's program ids; returns the collision (nothing claimed) if any. */
  private claimGroups(groups: readonly ProgramGroup[]): string | undefined {
    const taken: string[] = [];
    for (const g of groups) {
      if (this.d.programs.has(g.name)) continue;
      const collision = this.d.programs.claim(g.name);
      if (collision !== undefined) {
        for (const t of taken) this.d.programs.retireAll(t);
        return collision;
      }
      taken.push(g.name);
    }
    return undefined;
  }

  /** Takes the interface (with `groups`) for an endpoint; returns why not. */
  private claimInterface(id: string, rec: EndpointRecord, ifname: string, groups: ProgramGroup[]): string | undefined {
    const iface = this.ifaces.get(ifname);
    if (iface?.owner !== undefined && iface.owner !== id) {
      const holder = this.records.get(iface.owner);
      return `interface ${ifname} is already used by ${holder?.kind === "host" ? "a host endpoint's interface" : `endpoint ${holder?.key ?? iface.owner}`}`;
    }
    if (!iface) {
      const max = this.d.caps.maxEndpoints;
      if (this.owned >= max) return `the backend holds at most ${max} endpoints`;
      const collision = this.claimGroups(groups);
      if (collision !== undefined) return collision;
      this.ifaces.set(ifname, { ifname, owner: id, flags: 0, groups, retiring: [], removing: false });
      this.owned++;
      rec.ifname = ifname;
      return undefined;
    }
    const same = (a: ProgramGroup[], b: ProgramGroup[]) => a.length === b.length && a.every((g, i) => g.name === b[i]!.name);
    if (!same(iface.groups, groups)) {
      // Another kind of endpoint takes the interface over: new groups now, old ones once unused.
      const added = groups.filter((g) => !iface.groups.some((h) => h.name === g.name));
      const collision = this.claimGroups(added);
      if (collision !== undefined) return collision;
      iface.retiring.push(...iface.groups.filter((g) => !groups.some((h) => h.name === g.name)));
      iface.groups = groups;
    }
    if (iface.owner === id) return undefined;
    // Taking over an interface that was being removed (or found at start-up): keep its programs.
    iface.owner = id;
    iface.removing = false;
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

  private workloadFlags(): number {
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
