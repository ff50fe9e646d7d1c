/**
 * The reference software DPU: the Backend interface over in-memory tables, with the table
 * interpreter (policy-core's runProgram) as its packet path. It defines what a vendor DPU must
 * do with the tables, and lets every layer above be tested without hardware or root.
 *
 * processPacket() judges one packet against the programmed policy and counts it. It keeps no
 * conntrack (every packet is judged as the first of its flow) and routes nothing: routes and
 * neighbours are stored and read back, never used. listFlows() is therefore always empty.
 */
import {
  DropReason,
  EndpointFlags,
  testing,
  ValidationError,
  type Backend,
  type Capabilities,
  type CompiledRule,
  type Counter,
  type Flow,
} from "@ptables/api";
import { PROTO_UDP, TableSetLookup, parsePacket, runProgram, type Direction, type Packet } from "@ptables/policy-core";
import { checkEndpoint, checkNeighbour, checkPortSetKey, checkRoute, checkRule, checkSetMember } from "./entry-checks";

/** What the reference DPU offers unless told otherwise. */
export const REFERENCE_DPU_CAPABILITIES: Capabilities = {
  maxRulesPerProgram: 4096,
  maxSetMembers: 1_000_000,
  maxEndpoints: 4096,
  ipv6: true,
  forwarding: false,
  conntrack: false,
  hostEndpoints: false,
  description: "reference software DPU: in-memory tables judged by the table interpreter; no conntrack, no forwarding, no host endpoints",
};

export interface ReferenceDpuOptions {
  /** Overrides of REFERENCE_DPU_CAPABILITIES (e.g. a small maxRulesPerProgram for limit tests). */
  capabilities?: Partial<Capabilities>;
  /** UDP port treated as VXLAN for the encap-from-workload drop (Felix's default 4789). */
  vxlanPort?: number;
}

/** The outcome of processPacket. */
export interface PacketOutcome {
  verdict: "allow" | "deny" | "continue";
  reason: DropReason;
  /** The deciding rule's index in the program, -1 when no program ran. */
  ruleIndex: number;
  /** Counter of the deciding rule (0n for control rules or when no program ran). */
  counterId: bigint;
}

const PROTO_IPIP = 4;

export class ReferenceDpuBackend implements Backend {
  readonly name = "reference-dpu";
  readonly tables: testing.MemoryTables;
  private readonly caps: Capabilities;
  private readonly vxlanPort: number;
  private readonly sets = new TableSetLookup();
  /** programId -> index -> rule: the rules table, indexed for the packet path. */
  private readonly programs = new Map<number, Map<number, CompiledRule>>();
  private readonly ruleCounters = new Map<bigint, Counter>();
  private readonly dropCounters = new Map<number, Counter>();

  constructor(options: ReferenceDpuOptions = {}) {
    this.caps = { ...REFERENCE_DPU_CAPABILITIES, ...options.capabilities };
    this.vxlanPort = options.vxlanPort ?? 4789;
    this.tables = this.createTables();
  }

  private createTables(): testing.MemoryTables {
    const { maxRulesPerProgram, maxSetMembers, maxEndpoints } = this.caps;
    const full = (what: string, max: number, isNew: boolean, size: number): string | undefined =>
      isNew && size >= max ? `${what} table is full (${max} entries)` : undefined;
    const T = testing;
    return {
      setMembers: new T.MemoryTable({
        name: "setMembers",
        keyString: T.setMemberKeyString,
        valueEquals: T.presentEquals,
        reject: (k, _v, t) => checkSetMember(k) ?? full("set member", maxSetMembers, !t.has(k), t.size),
        onUpsert: (k) => this.sets.addMember(k),
        onDelete: (k) => this.sets.deleteMember(k),
      }),
      portSets: new T.MemoryTable({
        name: "portSets",
        keyString: T.portSetKeyString,
        valueEquals: T.presentEquals,
        reject: (k) => checkPortSetKey(k),
        onUpsert: (k) => this.sets.addPort(k),
        onDelete: (k) => this.sets.deletePort(k),
      }),
      rules: new T.MemoryTable({
        name: "rules",
        keyString: T.ruleKeyString,
        valueEquals: T.compiledRuleEquals,
        reject: (k, v) => checkRule(k, v, maxRulesPerProgram),
        onUpsert: (k, v) => {
          let program = this.programs.get(k.programId);
          if (!program) this.programs.set(k.programId, (program = new Map()));
          program.set(k.index, v);
        },
        onDelete: (k) => {
          const program = this.programs.get(k.programId);
          program?.delete(k.index);
          if (program?.size === 0) this.programs.delete(k.programId);
        },
      }),
      endpoints: new T.MemoryTable({
        name: "endpoints",
        keyString: T.endpointKeyString,
        valueEquals: T.endpointValueEquals,
        reject: (k, v, t) => checkEndpoint(k, v, maxRulesPerProgram) ?? full("endpoint", maxEndpoints, !t.has(k), t.size),
      }),
      routes: new T.MemoryTable({ name: "routes", keyString: T.routeKeyString, valueEquals: T.routeValueEquals, reject: (k, v) => checkRoute(k, v) }),
      neighbours: new T.MemoryTable({ name: "neighbours", keyString: T.neighbourKeyString, valueEquals: T.neighbourValueEquals, reject: (k, v) => checkNeighbour(k, v) }),
    };
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  capabilities(): Capabilities {
    return { ...this.caps };
  }

  async readRuleCounters(): Promise<Map<bigint, Counter>> {
    return new Map([...this.ruleCounters].map(([k, c]) => [k, { ...c }]));
  }

  async readDropCounters(): Promise<Map<number, Counter>> {
    return new Map([...this.dropCounters].map(([k, c]) => [k, { ...c }]));
  }

  /** Always empty: the reference DPU keeps no conntrack. */
  async listFlows(_limit: number): Promise<Flow[]> {
    return [];
  }

  async deleteFlows(_flows: Flow[]): Promise<number> {
    return 0;
  }

  /** Empties every table and counter. */
  async cleanup(): Promise<void> {
    for (const t of Object.values(this.tables)) t.clear();
    this.ruleCounters.clear();
    this.dropCounters.clear();
  }

  /**
   * Judges one packet at the endpoint programmed on `ifname` ("ingress" = towards it, "egress" =
   * from it), counting the deciding and logged rules and any drop. An interface without an
   * endpoint fails closed (NoEndpoint); a program with a missing rule fails closed (ProgramError).
   * Throws ValidationError for a malformed packet.
   */
  processPacket(ifname: string, direction: Direction, packet: Packet, bytes = 0): PacketOutcome {
    if (direction !== "ingress" && direction !== "egress") throw new ValidationError("processPacket", `direction "${String(direction)}" is not ingress or egress`);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new ValidationError("processPacket", `bytes ${bytes} is not a non-negative integer`);
    const p = parsePacket(packet);
    const endpoint = this.tables.endpoints.get({ ifname });
    if (!endpoint) return this.drop(DropReason.NoEndpoint, bytes);
    if (direction === "egress" && endpoint.flags & EndpointFlags.DropEncapFromWorkload) {
      if (p.proto === PROTO_IPIP || (p.proto === PROTO_UDP && p.dstPort === this.vxlanPort)) return this.drop(DropReason.EncapFromWorkload, bytes);
    }
    const [programId, length] = direction === "ingress" ? [endpoint.ingressProgram, endpoint.ingressLength] : [endpoint.egressProgram, endpoint.egressLength];
    const stored = this.programs.get(programId);
    const rules: CompiledRule[] = [];
    for (let i = 0; i < length; i++) {
      const rule = stored?.get(i);
      if (!rule) return this.drop(DropReason.ProgramError, bytes);
      rules.push(rule);
    }
    const result = runProgram(rules, this.sets, p);
    for (const i of result.logged) this.countRule(rules[i]!.counterId, bytes);
    const decider = rules[result.ruleIndex];
    const counterId = decider?.counterId ?? 0n;
    this.countRule(counterId, bytes);
    if (result.verdict === "deny") this.count(this.dropCounters, result.reason, bytes);
    return { verdict: result.verdict, reason: result.reason, ruleIndex: result.ruleIndex, counterId };
  }

  private drop(reason: DropReason, bytes: number): PacketOutcome {
    this.count(this.dropCounters, reason, bytes);
    return { verdict: "deny", reason, ruleIndex: -1, counterId: 0n };
  }

  private countRule(counterId: bigint, bytes: number): void {
    if (counterId !== 0n) this.count(this.ruleCounters, counterId, bytes);
  }

  private count<K>(counters: Map<K, Counter>, key: K, bytes: number): void {
    const c = counters.get(key) ?? { packets: 0n, bytes: 0n };
    counters.set(key, { packets: c.packets + 1n, bytes: c.bytes + BigInt(bytes) });
  }
}
