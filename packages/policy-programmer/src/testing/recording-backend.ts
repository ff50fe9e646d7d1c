/**
 * An in-memory Backend for the programmer's tests: plain maps per table with the shared entry
 * identities of @ptables/api's fakes, a log of every entry offered in order (to check apply order
 * and count writes), and fault injection per entry or per table. Unlike api's MemoryTable it
 * exposes its maps synchronously and records attempts (failed ones too), which is what ordering
 * and backoff tests look at. It deliberately knows nothing about the programmer.
 */
import { testing as apiTesting } from "@ptables/api";
import type {
  Backend,
  Capabilities,
  CompiledRule,
  Counter,
  EndpointKey,
  EndpointValue,
  EntryError,
  NeighbourKey,
  NeighbourValue,
  PortSetKey,
  Present,
  RouteKey,
  RouteValue,
  RuleKey,
  SetMemberKey,
  TableBackend,
  Tables,
} from "@ptables/api";

export interface WriteRecord {
  table: keyof Tables;
  op: "upsert" | "delete";
  key: string;
}

/** Returns an error message to make the entry fail, or undefined to let it through. */
export type FaultRule = (table: keyof Tables, op: "upsert" | "delete", key: string) => string | undefined;

export class RecordingTable<K, V> implements TableBackend<K, V> {
  readonly entries = new Map<string, [K, V]>();
  /** When set, loadAll and applyBatch throw it (the table is unusable). */
  broken: string | undefined;
  loads = 0;

  constructor(
    readonly name: keyof Tables,
    private readonly keyOf: (k: K) => string,
    private readonly equals: (a: V, b: V) => boolean,
    private readonly owner: RecordingBackend,
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
      this.owner.log.push({ table: this.name, op: "upsert", key: ks });
      const fault = this.owner.fault?.(this.name, "upsert", ks);
      if (fault) errors.push({ index, op: "upsert", message: fault });
      else this.entries.set(ks, [structuredClone(k), structuredClone(v)]);
    });
    deletes.forEach((k, index) => {
      const ks = this.keyOf(k);
      this.owner.log.push({ table: this.name, op: "delete", key: ks });
      const fault = this.owner.fault?.(this.name, "delete", ks);
      if (fault) errors.push({ index, op: "delete", message: fault });
      else this.entries.delete(ks);
    });
    return errors;
  }

  values(): V[] {
    return [...this.entries.values()].map(([, v]) => v);
  }

  keys(): K[] {
    return [...this.entries.values()].map(([k]) => k);
  }
}

export const DEFAULT_TEST_CAPS: Capabilities = {
  maxRulesPerProgram: 64,
  maxSetMembers: 100_000,
  maxEndpoints: 1000,
  ipv6: true,
  forwarding: false,
  conntrack: true,
  hostEndpoints: false,
  description: "recording test backend",
};

export class RecordingBackend implements Backend {
  readonly name = "recording";
  readonly log: WriteRecord[] = [];
  fault: FaultRule | undefined;
  counters = new Map<bigint, Counter>();
  readonly tables: {
    setMembers: RecordingTable<SetMemberKey, Present>;
    portSets: RecordingTable<PortSetKey, Present>;
    rules: RecordingTable<RuleKey, CompiledRule>;
    endpoints: RecordingTable<EndpointKey, EndpointValue>;
    routes: RecordingTable<RouteKey, RouteValue>;
    neighbours: RecordingTable<NeighbourKey, NeighbourValue>;
  };

  constructor(private readonly caps: Capabilities = DEFAULT_TEST_CAPS) {
    const id = apiTesting;
    this.tables = {
      setMembers: new RecordingTable("setMembers", id.setMemberKeyString, id.presentEquals, this),
      portSets: new RecordingTable("portSets", id.portSetKeyString, id.presentEquals, this),
      rules: new RecordingTable("rules", id.ruleKeyString, id.compiledRuleEquals, this),
      endpoints: new RecordingTable("endpoints", id.endpointKeyString, id.endpointValueEquals, this),
      routes: new RecordingTable("routes", id.routeKeyString, id.routeValueEquals, this),
      neighbours: new RecordingTable("neighbours", id.neighbourKeyString, id.neighbourValueEquals, this),
    };
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  capabilities(): Capabilities {
    return this.caps;
  }

  async readRuleCounters(): Promise<Map<bigint, Counter>> {
    return new Map(this.counters);
  }

  async readDropCounters(): Promise<Map<number, Counter>> {
    return new Map();
  }

  async listFlows(): Promise<never[]> {
    return [];
  }

  async deleteFlows(): Promise<number> {
    return 0;
  }

  async cleanup(): Promise<void> {
    for (const t of Object.values(this.tables)) t.entries.clear();
  }

  /** Forgets the write log (e.g. after setting up a starting state). */
  clearLog(): void {
    this.log.length = 0;
  }
}
