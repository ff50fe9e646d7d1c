/**
 * A backend that forwards through the host, in memory: the RecordingBackend's policy tables plus
 * a HostNetwork whose tunnels, FDB and NAT tables and sysctls are maps. Every write (of every
 * table, sysctls included) goes to one ordered log, so tests can check the RouteManager's order
 * against the endpoint writes; faults can be injected per entry or per sysctl.
 */
import {
  fdbKeyString,
  fdbValueEquals,
  natOutgoingKeyString,
  natOutgoingValueEquals,
  tunnelKeyString,
  tunnelValueEquals,
  type EntryError,
  type FdbKey,
  type FdbValue,
  type HostNetwork,
  type NatOutgoingKey,
  type NatOutgoingValue,
  type Sysctl,
  type TableBackend,
  type TunnelKey,
  type TunnelValue,
} from "@ptables/api";
import { DEFAULT_TEST_CAPS, RecordingBackend } from "./recording-backend";

export interface HostWriteRecord {
  table: string;
  op: "upsert" | "delete";
  key: string;
}

export class HostRecordingTable<K, V> implements TableBackend<K, V> {
  readonly entries = new Map<string, [K, V]>();
  broken: string | undefined;
  loads = 0;

  constructor(
    readonly name: string,
    private readonly keyOf: (k: K) => string,
    private readonly equals: (a: V, b: V) => boolean,
    private readonly owner: HostNetworkBackend,
  ) {}

  keyString(key: K): string {
    return this.keyOf(key);
  }

  valueEquals(a: V, b: V): boolean {
    return this.equals(a, b);
  }

  async loadAll(): Promise<Array<[K, V]>> {
    if (this.broken) throw new Error(this.broken);
    this.loads++;
    return [...this.entries.values()].map(([k, v]) => [structuredClone(k), structuredClone(v)]);
  }

  async applyBatch(upserts: Array<[K, V]>, deletes: K[]): Promise<EntryError[]> {
    if (this.broken) throw new Error(this.broken);
    const errors: EntryError[] = [];
    upserts.forEach(([k, v], index) => {
      const ks = this.keyOf(k);
      this.owner.hostLog.push({ table: this.name, op: "upsert", key: ks });
      const fault = this.owner.hostFault?.(this.name, "upsert", ks);
      if (fault) errors.push({ index, op: "upsert", message: fault });
      else this.entries.set(ks, [structuredClone(k), structuredClone(v)]);
    });
    deletes.forEach((k, index) => {
      const ks = this.keyOf(k);
      this.owner.hostLog.push({ table: this.name, op: "delete", key: ks });
      const fault = this.owner.hostFault?.(this.name, "delete", ks);
      if (fault) errors.push({ index, op: "delete", message: fault });
      else this.entries.delete(ks);
    });
    return errors;
  }

  value(key: string): V | undefined {
    return this.entries.get(key)?.[1];
  }
}

export class HostNetworkBackend extends RecordingBackend {
  /** Writes of every table, the policy tables' included, in order. */
  readonly hostLog: HostWriteRecord[] = [];
  hostFault: ((table: string, op: "upsert" | "delete", key: string) => string | undefined) | undefined;
  /** Current sysctl values by path; a path that is absent does not exist (like a missing interface). */
  readonly sysctls = new Map<string, string>();
  sysctlFault: ((s: Sysctl) => string | undefined) | undefined;
  rpFilterDefault = "1";
  readonly hostNetwork: HostNetwork & {
    tunnels: HostRecordingTable<TunnelKey, TunnelValue>;
    fdb: HostRecordingTable<FdbKey, FdbValue>;
    natOutgoing: HostRecordingTable<NatOutgoingKey, NatOutgoingValue>;
  };

  constructor() {
    super({ ...DEFAULT_TEST_CAPS, forwarding: true });
    // Mirror the policy tables' writes into the one ordered log.
    for (const table of Object.values(this.tables) as Array<TableBackend<unknown, unknown>>) {
      const apply = table.applyBatch.bind(table);
      table.applyBatch = async (ups: Array<[unknown, unknown]>, dels: unknown[]) => {
        for (const [k] of ups) this.hostLog.push({ table: table.name, op: "upsert", key: table.keyString(k) });
        for (const k of dels) this.hostLog.push({ table: table.name, op: "delete", key: table.keyString(k) });
        return apply(ups, dels);
      };
    }
    const owner = this;
    this.hostNetwork = {
      tunnels: new HostRecordingTable("tunnels", tunnelKeyString, tunnelValueEquals, this),
      fdb: new HostRecordingTable("fdb", fdbKeyString, fdbValueEquals, this),
      natOutgoing: new HostRecordingTable("natOutgoing", natOutgoingKeyString, natOutgoingValueEquals, this),
      async setSysctls(settings: Sysctl[], optional: (s: Sysctl) => boolean = () => false): Promise<number> {
        let written = 0;
        for (const s of settings) {
          const fault = owner.sysctlFault?.(s);
          if (fault) throw new Error(fault);
          const cur = owner.sysctls.get(s.path);
          if (cur === undefined) {
            if (optional(s)) continue;
            throw new Error(`sysctl ${s.path}: does not exist`);
          }
          if (cur === s.value) continue;
          owner.sysctls.set(s.path, s.value);
          owner.hostLog.push({ table: "sysctls", op: "upsert", key: s.path });
          written++;
        }
        return written;
      },
      async defaultRpFilter(): Promise<string> {
        return owner.rpFilterDefault;
      },
      async cleanup(): Promise<void> {
        owner.hostNetwork.tunnels.entries.clear();
        owner.hostNetwork.fdb.entries.clear();
        owner.hostNetwork.natOutgoing.entries.clear();
      },
    };
  }

  /** Makes interface `ifname` exist for sysctls (IPv4 and, unless `v4only`, IPv6), with kernel defaults. */
  addInterface(ifname: string, v4only = false): void {
    for (const name of ["route_localnet", "forwarding", "rp_filter", "proxy_arp"]) this.sysctls.set(`net/ipv4/conf/${ifname}/${name}`, "0");
    this.sysctls.set(`net/ipv4/neigh/${ifname}/proxy_delay`, "80");
    if (!v4only) for (const name of ["accept_ra", "proxy_ndp", "forwarding"]) this.sysctls.set(`net/ipv6/conf/${ifname}/${name}`, name === "accept_ra" ? "1" : "0");
  }

  clearHostLog(): void {
    this.hostLog.length = 0;
  }
}
