/**
 * The eBPF/tc backend. The owner (the policy programmer) loads the tc programs, pins maps and
 * programs under `bpfDir`, and attaches filters; readers (the offload daemon, the ARP
 * responder) open the same pinned maps. Either way the tables read and write the maps directly,
 * so what one process writes the others (and the datapath) see at once.
 */
import { join } from "node:path";
import { DROP_REASON_NAMES, PtablesError, type Backend, type Capabilities, type Counter, type DropReason, type Flow, type HostInterface, type Tables } from "@ptables/api";
import { ArpConfig } from "./arp-config";
import { decodePerCpuCounter } from "./codec/counter-codec";
import type { ConntrackTimeouts } from "./codec/config-codec";
import { MAX_PROGRAM_LENGTH_C } from "./codec/layouts";
import type { Datapath } from "./datapath/datapath";
import { loadDatapath } from "./datapath/load-datapath";
import { DEFAULT_BPF_DIR, resolveMapSizes, type MapRole, type MapSizes } from "./datapath/names";
import { openPinnedDatapath } from "./datapath/open-pinned";
import { DatapathConfigStore } from "./datapath-config";
import { PACKAGE_ROOT } from "./package-root";
import { deleteFlows, listFlows } from "./flows";
import { LinuxHostNetwork } from "./host-net/linux-host-network";
import type { BpfMap } from "./native/bpf-map";
import { removeBpfDir } from "./native/bpffs";
import { TcHook, attachFilter, detachFilter, ifindexToName, listLinks, queryFilter } from "./native/tc";
import { EndpointsTable, entryPrograms } from "./tables/endpoints-table";
import { decodeEndpoint } from "./codec/endpoint-codec";
import { listHostInterfaces } from "./host-interfaces";
import { NeighboursTable } from "./tables/neighbours-table";
import { RoutesTable } from "./tables/routes-table";
import { RuleCounterRefs } from "./tables/rule-counter-refs";
import { createRulesTable } from "./tables/rules-table";
import { createPortSetsTable, createSetMembersTable } from "./tables/set-tables";

/** Default cap on rules per program (one endpoint, one direction). */
export const DEFAULT_MAX_RULES_PER_PROGRAM = 65536;

export interface EbpfBackendOptions {
  /** Where maps and programs are pinned (PTABLES_BPF_DIR); default /sys/fs/bpf/ptables. */
  bpfDir?: string;
  /** "owner" loads, pins and attaches; "reader" only opens the owner's pins. Default "owner". */
  role?: "owner" | "reader";
  /** Map sizes for a fresh load (existing pinned maps keep their size). */
  mapSizes?: Partial<MapSizes>;
  /** The compiled datapath object; default build/ptables.bpf.o of this package. */
  objectPath?: string;
  /** Longest program accepted (at most 1,048,576, the datapath's own bound). Default 65536. */
  maxRulesPerProgram?: number;
}

/** Where bpf/build.sh puts the object. */
export const DEFAULT_OBJECT_PATH = join(PACKAGE_ROOT, "build", "ptables.bpf.o");

export class EbpfBackend implements Backend {
  readonly name = "ebpf";
  readonly tables: Tables;
  /** Tunnel devices, VXLAN FDB, NAT outgoing and interface sysctls in this network namespace. */
  readonly hostNetwork = new LinuxHostNetwork();
  readonly bpfDir: string;
  readonly role: "owner" | "reader";
  /** The ARP responder's settings (pt_config). */
  readonly arpConfig: ArpConfig;
  private readonly sizes: MapSizes;
  private readonly objectPath: string;
  private readonly maxRulesPerProgram: number;
  private readonly config: DatapathConfigStore;
  /** Which rules use which counter; rebuilt from the maps after every open. */
  private readonly counterRefs: RuleCounterRefs;
  private datapath: Datapath | undefined;
  private opening: Promise<void> | undefined;

  constructor(options: EbpfBackendOptions = {}) {
    this.bpfDir = options.bpfDir ?? DEFAULT_BPF_DIR;
    this.role = options.role ?? "owner";
    if (this.role !== "owner" && this.role !== "reader") throw new RangeError(`role "${String(this.role)}" is not "owner" or "reader"`);
    this.sizes = resolveMapSizes(options.mapSizes);
    this.objectPath = options.objectPath ?? DEFAULT_OBJECT_PATH;
    this.maxRulesPerProgram = options.maxRulesPerProgram ?? DEFAULT_MAX_RULES_PER_PROGRAM;
    if (!Number.isInteger(this.maxRulesPerProgram) || this.maxRulesPerProgram < 1 || this.maxRulesPerProgram > MAX_PROGRAM_LENGTH_C) {
      throw new RangeError(`maxRulesPerProgram ${String(options.maxRulesPerProgram)} is not in 1..${MAX_PROGRAM_LENGTH_C}`);
    }
    const map = (role: MapRole) => () => this.open_().maps[role];
    this.counterRefs = new RuleCounterRefs(map("rules"), map("counters"));
    this.config = new DatapathConfigStore(map("config"));
    this.arpConfig = new ArpConfig(this.config);
    this.tables = {
      setMembers: createSetMembersTable(map("members")),
      portSets: createPortSetsTable(map("ports")),
      rules: createRulesTable(map("rules"), this.counterRefs, this.maxRulesPerProgram),
      endpoints: new EndpointsTable({
        map: map("endpoints"),
        programs: () => this.open_().programs,
        maxRulesPerProgram: this.maxRulesPerProgram,
      }),
      routes: new RoutesTable(),
      neighbours: new NeighboursTable(),
    };
  }

  /**
   * Opens the pinned maps another process (the policy programmer) owns, for agents that read
   * or tune the datapath without loading it. Throws while the pins do not exist yet; a failed
   * open leaves nothing open (see open()), so callers can simply retry.
   */
  static async openReader(bpfDir: string): Promise<EbpfBackend> {
    const backend = new EbpfBackend({ bpfDir, role: "reader" });
    await backend.open();
    return backend;
  }

  /** Loads (owner) or opens (reader) the datapath. Idempotent; a failed open leaves nothing open. */
  open(): Promise<void> {
    this.opening ??= (async () => {
      const datapath = this.role === "owner" ? loadDatapath({ bpfDir: this.bpfDir, objectPath: this.objectPath, sizes: this.sizes }) : openPinnedDatapath(this.bpfDir);
      this.datapath = datapath;
      this.counterRefs.reset();
      try {
        if (this.role === "owner") {
          this.config.initialise();
          this.refreshFilters();
        }
      } catch (err) {
        datapath.close();
        this.datapath = undefined;
        throw err;
      }
    })().catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    this.datapath?.close();
    this.datapath = undefined;
    this.opening = undefined;
  }

  /** Notes from opening (e.g. pinned map sizes kept over the configured ones). */
  openNotes(): string[] {
    return this.datapath?.notes ?? [];
  }

  capabilities(): Capabilities {
    return {
      maxRulesPerProgram: this.maxRulesPerProgram,
      maxSetMembers: this.datapath?.maps.members.info.maxEntries ?? this.sizes.members,
      maxEndpoints: this.datapath?.maps.endpoints.info.maxEntries ?? this.sizes.endpoints,
      ipv6: true,
      forwarding: true,
      conntrack: true,
      hostEndpoints: true,
      description: `eBPF tc datapath (bpf_loop rule interpreter, own conntrack), pins in ${this.bpfDir}`,
    };
  }

  /** This network namespace's links and addresses (for host endpoints and the host-address set). */
  hostInterfaces(): Promise<HostInterface[]> {
    return listHostInterfaces();
  }

  async readRuleCounters(): Promise<Map<bigint, Counter>> {
    const map = this.open_().maps.counters;
    const out = new Map<bigint, Counter>();
    for (const [key, value] of map.entries()) out.set(key.readBigUInt64LE(0), decodePerCpuCounter(value, map.cpuCount, map.slotSize));
    return out;
  }

  async readDropCounters(): Promise<Map<number, Counter>> {
    const map = this.open_().maps.drops;
    const out = new Map<number, Counter>();
    const key = Buffer.alloc(4);
    const value = Buffer.alloc(map.valueSize);
    for (const reason of Object.keys(DROP_REASON_NAMES).map(Number) as DropReason[]) {
      if (reason === 0) continue;
      key.writeUInt32LE(reason);
      if (map.lookup(key, value)) out.set(reason, decodePerCpuCounter(value, map.cpuCount, map.slotSize));
    }
    return out;
  }

  async listFlows(limit: number): Promise<Flow[]> {
    return listFlows(this.open_().maps.ct, limit);
  }

  async deleteFlows(flows: Flow[]): Promise<number> {
    return deleteFlows(this.open_().maps.ct, flows);
  }

  /** Changes some conntrack idle timeouts (nanoseconds; 0n restores the built-in default). */
  async setConntrackTimeouts(timeouts: Partial<ConntrackTimeouts>): Promise<void> {
    this.config.update((current) => ({ ...current, timeoutsNs: { ...current.timeoutsNs, ...timeouts } }));
  }

  async getConntrackTimeouts(): Promise<ConntrackTimeouts> {
    return this.config.get().timeoutsNs;
  }

  /**
   * Removes everything ptables created in this network namespace and bpf directory: its tc
   * filters on every link, its routes and neighbours, its tunnel devices and NAT tables, and all
   * pins (maps and programs).
   */
  async cleanup(): Promise<void> {
    if (this.role !== "owner") throw new PtablesError("cleanup: only the owner may remove the datapath");
    for (const { ifindex, ifname } of listLinks()) {
      detachFilter(ifindex, ifname, TcHook.Ingress);
      detachFilter(ifindex, ifname, TcHook.Egress);
    }
    const routes = await this.tables.routes.loadAll();
    const neighbours = await this.tables.neighbours.loadAll();
    const errors = [
      ...(await this.tables.routes.applyBatch([], routes.map(([key]) => key))),
      ...(await this.tables.neighbours.applyBatch([], neighbours.map(([key]) => key))),
    ];
    if (errors.length > 0) throw new PtablesError(`cleanup: ${errors.map((e) => e.message).join("; ")}`);
    await this.hostNetwork.cleanup();
    await this.close();
    removeBpfDir(this.bpfDir);
  }

  /** The program fds (owner only), for BPF_PROG_TEST_RUN in tests and the bench. */
  programFds(): { fromEp: number; toEp: number; fromHost: number; toHost: number } {
    const programs = this.open_().programs;
    if (!programs) throw new PtablesError("program fds: only the owner loads programs");
    return { fromEp: programs.fromEp.fd, toEp: programs.toEp.fd, fromHost: programs.fromHost.fd, toHost: programs.toHost.fd };
  }

  /** Raw access to one map (tests, bench, diagnostics). */
  rawMap(role: MapRole): BpfMap {
    return this.open_().maps[role];
  }

  /**
   * Points the filters of every programmed endpoint at the programs just loaded. Unchanged
   * programs are the pinned ones already attached, so nothing happens; after an upgrade each
   * filter is replaced in place (atomic for packets); workload entries get the workload
   * programs, host entries the host programs. Filters on links without an endpoint keep
   * whatever program they run: it drops everything (NoEndpoint) over the same maps.
   */
  private refreshFilters(): void {
    const programs = this.datapath!.programs!;
    const endpoints = this.datapath!.maps.endpoints;
    const value = Buffer.alloc(endpoints.valueSize);
    for (const key of endpoints.keys()) {
      const ifindex = key.readUInt32LE(0);
      const ifname = ifindexToName(ifindex);
      if (ifname === undefined || !endpoints.lookup(key, value)) continue;
      const [fromProgram, toProgram] = entryPrograms(decodeEndpoint(value).flags, programs);
      const ingress = queryFilter(ifindex, ifname, TcHook.Ingress);
      if (ingress !== undefined && ingress !== fromProgram.id) attachFilter(ifindex, ifname, TcHook.Ingress, fromProgram.fd);
      const egress = queryFilter(ifindex, ifname, TcHook.Egress);
      if (egress !== undefined && egress !== toProgram.id) attachFilter(ifindex, ifname, TcHook.Egress, toProgram.fd);
    }
  }

  private open_(): Datapath {
    if (!this.datapath) throw new PtablesError(`ebpf backend (${this.bpfDir}): not open; call open() first`);
    return this.datapath;
  }
}
