/**
 * Programs in the rules table, two slots per endpoint direction.
 *
 * A program is the ordered rule list of one endpoint in one direction, stored under a program
 * id. Each endpoint direction owns two ids (slots). The endpoint entry points at the *active*
 * slot; a changed program is written into the other slot (*next*), the endpoint entry is flipped
 * to it with one write (atomic for the datapath: a packet sees the old program or the new one,
 * never a mix), and only then are the old slot's rules deleted. Compiled content equal to the
 * active program writes nothing.
 *
 * The desired rules table always holds exactly the live programs (active and next), so what
 * the endpoint entries point at is never swept as stale. After a restart the programs the
 * datapath's endpoint entries point at are adopted from the readback (and pinned the same way),
 * so a recompile to the same content is recognised and costs no write.
 */
import type { CachingTable, CompiledRule, ProgramRef, RuleKey } from "@ptables/api";
import { DIRECTIONS, type CompiledProgram, type CounterOwner, type Direction, type PolicyCompiler } from "./compiler";
import type { IdRegistry } from "./id-registry";
import type { IpSetManager } from "./ip-set-manager";
import type { SyntheticRefs, SyntheticSetManager } from "./synthetic-set-manager";

export interface Program {
  id: number;
  /** Undefined for a program adopted at an id that is neither of this direction's slots. */
  slot: 0 | 1 | undefined;
  rules: CompiledRule[];
  /** False for an adopted program whose rules were not all in the readback; equal to nothing. */
  complete: boolean;
  /** References held; undefined for an adopted program until a compile shows its content. */
  refs: { synthetic: SyntheticRefs; ipSets: string[] } | undefined;
  counters: Map<bigint, CounterOwner>;
}

export interface DirectionSlots {
  /** What the endpoint entry points at. */
  active?: Program;
  /** Written (or being written) into the other slot, waiting for the flip. */
  next?: Program;
}

/**
 * What an endpoint entry refers to for one program group, per direction; undefined where the
 * entry has no program there (an absent host hook: the group's program in that direction is empty).
 */
export type GroupRefs = Record<Direction, ProgramRef | undefined>;

/**
 * The programs of one program group: an interface's normal programs (named by the interface),
 * or one hook of it (named by policy-core's hostHookProgramName, e.g. "eth0#untracked").
 */
export interface InterfacePrograms {
  ifname: string;
  ids: Record<Direction, [number, number]>;
  ingress: DirectionSlots;
  egress: DirectionSlots;
}

/** Writes that failed in this apply, by what they belong to (set or program id -> message). */
export interface ApplyFailures {
  memberSets: Map<number, string>;
  portSets: Map<number, string>;
  programs: Map<number, string>;
}

export class ProgramManager {
  private readonly ifaces = new Map<string, InterfacePrograms>();
  /** Active programs adopted from the datapath whose set references are still unknown. */
  private foreign = 0;

  constructor(
    private readonly rules: CachingTable<RuleKey, CompiledRule>,
    private readonly synthetic: SyntheticSetManager,
    private readonly ipSets: IpSetManager,
    private readonly compiler: PolicyCompiler,
    private readonly programIds: IdRegistry,
  ) {}

  /**
   * Whether some active program came from the datapath with set references we do not know.
   * While true, stale set entries must not be swept: they may be what that program matches on.
   */
  get hasForeignPrograms(): boolean {
    return this.foreign > 0;
  }

  has(ifname: string): boolean {
    return this.ifaces.has(ifname);
  }

  get(ifname: string): InterfacePrograms | undefined {
    return this.ifaces.get(ifname);
  }

  interfaces(): IterableIterator<InterfacePrograms> {
    return this.ifaces.values();
  }

  /** Claims an interface's four program ids; returns why not on a collision (nothing claimed). */
  claim(ifname: string): string | undefined {
    if (this.ifaces.has(ifname)) return undefined;
    const ids = {} as Record<Direction, [number, number]>;
    const taken: number[] = [];
    for (const dir of DIRECTIONS) {
      ids[dir] = [this.compiler.programId(ifname, dir, 0), this.compiler.programId(ifname, dir, 1)];
      for (const slot of [0, 1] as const) {
        const id = ids[dir][slot];
        const holder = taken.includes(id) ? ifname : this.programIds.claim(id, ifname);
        if (holder !== undefined) {
          for (const t of taken) this.programIds.release(t, ifname);
          return `program id ${id} (${dir} slot ${slot}) is already used by interface ${holder}`;
        }
        taken.push(id);
      }
    }
    this.ifaces.set(ifname, { ifname, ids, ingress: {}, egress: {} });
    return undefined;
  }

  /**
   * Adopts the programs a readback endpoint entry points at (for a claimed group that has no
   * active program yet), pinning their rules so they are not swept as stale. A direction the
   * entry has no program for is an empty program, whose (lack of) references is known.
   */
  adopt(ifname: string, refs: GroupRefs): void {
    const iface = this.ifaces.get(ifname);
    if (!iface) return;
    for (const dir of DIRECTIONS) {
      const d = iface[dir];
      const ref = refs[dir];
      if (ref === undefined || ref.length === 0) {
        if (!d.active && !d.next) d.active = { id: iface.ids[dir][0], slot: 0, rules: [], complete: true, refs: { synthetic: { net: [], port: [] }, ipSets: [] }, counters: new Map() };
        continue;
      }
      const id = ref.program;
      // Known already, or the entry points at our own next program (commit() takes it from here).
      if (d.active || d.next?.id === id) continue;
      const length = ref.length;
      const slot = id === iface.ids[dir][0] ? 0 : id === iface.ids[dir][1] ? 1 : undefined;
      const rules: CompiledRule[] = [];
      let complete = true;
      for (let index = 0; index < length; index++) {
        const have = this.rules.getActual({ programId: id, index });
        if (!have) {
          complete = false;
          break;
        }
        rules.push(have);
        this.rules.setDesired({ programId: id, index }, have);
      }
      d.active = { id, slot, rules, complete, refs: undefined, counters: new Map() };
      this.foreign++;
    }
  }

  /**
   * Makes `compiled` the program of an interface direction. The caller has checked it with
   * SyntheticSetManager.check(). Equal to the active program: nothing to write.
   */
  setTarget(ifname: string, dir: Direction, compiled: CompiledProgram): void {
    const iface = this.ifaces.get(ifname);
    if (!iface) throw new Error(`program manager: interface ${ifname} is not claimed`);
    const d = iface[dir];
    if (d.active && this.same(d.active, compiled.rules)) {
      if (d.next) this.retire(d.next);
      d.next = undefined;
      if (!d.active.refs) {
        // The adopted program turned out to be this compile's output: now we know its sets.
        d.active.refs = this.take(compiled);
        this.foreign--;
      }
      d.active.counters = compiled.counters;
      return;
    }
    if (d.next && this.same(d.next, compiled.rules)) {
      d.next.counters = compiled.counters;
      return;
    }
    const slot: 0 | 1 = d.active?.slot === 0 ? 1 : 0;
    const id = iface.ids[dir][slot];
    const program: Program = { id, slot, rules: compiled.rules, complete: true, refs: this.take(compiled), counters: compiled.counters };
    compiled.rules.forEach((rule, index) => this.rules.setDesired({ programId: id, index }, rule));
    if (d.next) {
      // An earlier next that never became active, in the same slot: drop its extra rules.
      for (let index = compiled.rules.length; index < d.next.rules.length; index++) this.rules.deleteDesired({ programId: id, index });
      this.release(d.next);
    }
    d.next = program;
  }

  /** The program the endpoint entry should point at: next if there is one, else active. */
  target(ifname: string, dir: Direction): Program | undefined {
    const d = this.ifaces.get(ifname)?.[dir];
    return d?.next ?? d?.active;
  }

  /** Whether every direction's next program is fully written; if not, why. */
  readiness(ifname: string, failures: ApplyFailures): string | undefined {
    const iface = this.ifaces.get(ifname);
    if (!iface) return `interface ${ifname} has no programs`;
    for (const dir of DIRECTIONS) {
      const p = iface[dir].next;
      if (!p) {
        if (!iface[dir].active) return `${dir} program not compiled yet`;
        continue;
      }
      const why = this.unwritten(p, failures) ?? this.setFailure(p, failures);
      if (why !== undefined) return `${dir} program: ${why}`;
    }
    return undefined;
  }

  /**
   * The endpoint entry now refers to `actual`: next programs it points at become active (an
   * empty next program is "pointed at" by an entry with no program in that direction).
   */
  commit(ifname: string, actual: GroupRefs): void {
    const iface = this.ifaces.get(ifname);
    if (!iface) return;
    for (const dir of DIRECTIONS) {
      const d = iface[dir];
      const ref = actual[dir];
      if (!d.next) continue;
      const pointsAtNext = d.next.rules.length === 0 ? ref === undefined || ref.length === 0 : ref?.program === d.next.id;
      if (!pointsAtNext) continue;
      if (d.active) this.retire(d.active);
      d.active = d.next;
      d.next = undefined;
    }
  }

  /** No next program is waiting for a flip. */
  settled(ifname: string): boolean {
    const iface = this.ifaces.get(ifname);
    return !iface || (!iface.ingress.next && !iface.egress.next);
  }

  /** Retires every program of an interface whose endpoint entry is gone, and frees its ids. */
  retireAll(ifname: string): void {
    const iface = this.ifaces.get(ifname);
    if (!iface) return;
    for (const dir of DIRECTIONS) {
      if (iface[dir].active) this.retire(iface[dir].active!);
      if (iface[dir].next) this.retire(iface[dir].next!);
    }
    for (const dir of DIRECTIONS) for (const id of iface.ids[dir]) this.programIds.release(id, ifname);
    this.ifaces.delete(ifname);
  }

  /** Counter id -> owner, over the active programs. */
  counterOwners(): Map<bigint, CounterOwner> {
    const out = new Map<bigint, CounterOwner>();
    for (const iface of this.ifaces.values()) {
      for (const dir of DIRECTIONS) for (const [id, o] of iface[dir].active?.counters ?? []) out.set(id, o);
    }
    return out;
  }

  private same(p: Program, rules: CompiledRule[]): boolean {
    if (!p.complete || p.rules.length !== rules.length) return false;
    for (let i = 0; i < rules.length; i++) if (!this.rules.backend.valueEquals(p.rules[i]!, rules[i]!)) return false;
    return true;
  }

  private take(compiled: CompiledProgram): Program["refs"] {
    const synthetic = this.synthetic.acquire(compiled);
    const ipSets = [...compiled.ipSetsUsed].filter((id) => this.ipSets.acquire(id));
    return { synthetic, ipSets };
  }

  private release(p: Program): void {
    if (!p.refs) return;
    this.synthetic.release(p.refs.synthetic);
    for (const id of p.refs.ipSets) this.ipSets.release(id);
  }

  /** Deletes a program that no endpoint entry points at any more. */
  private retire(p: Program): void {
    for (let index = 0; index < p.rules.length; index++) this.rules.deleteDesired({ programId: p.id, index });
    if (!p.refs) this.foreign--;
    this.release(p);
  }

  /**
   * Why some of a program's rules are not in the table, checked against what the table holds
   * (not just against failures): the flip is the one write that makes a program live, so it
   * must never go ahead of the rules.
   */
  private unwritten(p: Program, failures: ApplyFailures): string | undefined {
    for (let index = 0; index < p.rules.length; index++) {
      const have = this.rules.getActual({ programId: p.id, index });
      if (!have || !this.rules.backend.valueEquals(have, p.rules[index]!)) return failures.programs.get(p.id) ?? `rule ${index} not written yet`;
    }
    return undefined;
  }

  private setFailure(p: Program, failures: ApplyFailures): string | undefined {
    if (!p.refs) return undefined;
    for (const id of p.refs.synthetic.net) {
      const why = failures.memberSets.get(id);
      if (why !== undefined) return `net set ${id}: ${why}`;
    }
    for (const id of p.refs.synthetic.port) {
      const why = failures.portSets.get(id);
      if (why !== undefined) return `port set ${id}: ${why}`;
    }
    for (const felixId of p.refs.ipSets) {
      const n = this.ipSets.numericId(felixId);
      const why = n === undefined ? undefined : failures.memberSets.get(n);
      if (why !== undefined) return `ip set ${felixId}: ${why}`;
    }
    return undefined;
  }
}
