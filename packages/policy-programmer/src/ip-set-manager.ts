/**
 * Felix IP sets -> the setMembers table.
 *
 * Each Felix set gets a numeric id (a stable hash of its name) and one LPM entry per member.
 * The manager keeps, per set, the member -> entry mapping it has asked for, and reconciles a
 * set by walking only the members that changed: a one-member delta is one write, and a
 * repeated snapshot of an unchanged set is no work at all.
 *
 * A set removed from the model keeps its members while a live program (active in the datapath,
 * or being written) still refers to it, so a deny rule never silently stops matching because
 * its set vanished first; the members go when the last such program is retired.
 */
import { sync } from "@ptables/proto";
import { errorMessage, type CachingTable, type Present, type SetMemberKey } from "@ptables/api";
import type { PolicyCompiler } from "./compiler";
import type { IdRegistry } from "./id-registry";
import type { ModelChanges, ModelStore } from "./model-store";
import type { StatusBook } from "./status-book";

interface ProgrammedSet {
  felixId: string;
  numericId: number;
  type: number;
  /** Member -> key strings of its entries. */
  members: Map<string, string[]>;
  /** Entries by key string, with how many members map to each. */
  entries: Map<string, { key: SetMemberKey; refs: number }>;
  /** Members the compiler could not turn into entries, with why. */
  badMembers: Map<string, string>;
  /** Holder of our numeric id when two names hash to it; nothing is programmed meanwhile. */
  collidesWith?: string;
  /** Live programs referring to the set. */
  liveRefs: number;
  inModel: boolean;
}

function owner(felixId: string): string {
  return `ip set ${felixId}`;
}

export class IpSetManager {
  private readonly sets = new Map<string, ProgrammedSet>();
  /** Sets that lost an id collision, by the id they wait for. */
  private readonly waiting = new Map<number, Set<string>>();
  /** Sets whose id was freed by a removal; they are retried at the next resolve. */
  private readonly woken = new Set<string>();
  /** Sets dropped since the last status report (they report REMOVED). */
  private readonly removedSinceReport = new Set<string>();

  constructor(
    private readonly store: ModelStore,
    private readonly table: CachingTable<SetMemberKey, Present>,
    private readonly registry: IdRegistry,
    private readonly compiler: PolicyCompiler,
  ) {}

  /** Whether a freed id lets a waiting set be programmed (the next apply should run). */
  get hasWork(): boolean {
    return this.woken.size > 0;
  }

  /**
   * Applies the model's IP-set changes to the desired table. Returns the sets whose existence,
   * type or programmability changed: programs using them must be recompiled.
   */
  resolve(changes: ModelChanges): Set<string> {
    const changed = new Set<string>();
    for (const id of this.woken) {
      const ps = this.sets.get(id);
      if (ps?.collidesWith !== undefined && this.claim(ps)) {
        this.sync(ps, this.store.storedIpSet(id)?.members ?? []);
        changed.add(id);
      }
    }
    this.woken.clear();

    for (const id of changes.ipSetsReplaced) {
      changed.add(id);
      const stored = this.store.storedIpSet(id);
      let ps = this.sets.get(id);
      if (!stored) {
        if (ps) {
          ps.inModel = false;
          if (ps.liveRefs === 0) this.drop(ps);
        }
        continue;
      }
      if (ps && ps.type !== stored.type) {
        // A type change changes every entry's shape: start the set again.
        for (const m of [...ps.members.keys()]) this.removeMember(ps, m);
        ps.badMembers.clear();
      }
      if (!ps) {
        ps = { felixId: id, numericId: this.compiler.ipSetNumericId(id), type: stored.type, members: new Map(), entries: new Map(), badMembers: new Map(), liveRefs: 0, inModel: true };
        this.sets.set(id, ps);
        this.claim(ps);
      }
      ps.type = stored.type;
      ps.inModel = true;
      this.sync(ps, new Set([...ps.members.keys(), ...ps.badMembers.keys(), ...stored.members]));
    }
    for (const [id, touched] of changes.ipSetMembersTouched) {
      const ps = this.sets.get(id);
      if (ps && ps.inModel) this.sync(ps, touched);
    }
    return changed;
  }

  /** A live program refers to the set. Returns false (and counts nothing) if it is unknown. */
  acquire(felixId: string): boolean {
    const ps = this.sets.get(felixId);
    if (!ps) return false;
    ps.liveRefs++;
    return true;
  }

  release(felixId: string): void {
    const ps = this.sets.get(felixId);
    if (!ps) return;
    ps.liveRefs--;
    if (ps.liveRefs <= 0 && !ps.inModel) this.drop(ps);
  }

  /** Why a program may not refer to this set, if it may not. */
  problem(felixId: string): string | undefined {
    const ps = this.sets.get(felixId);
    if (!ps || !ps.inModel) return `ip set ${felixId} is not known`;
    if (ps.collidesWith !== undefined) return `ip set ${felixId}: numeric id ${ps.numericId} is already used by ${ps.collidesWith}`;
    return undefined;
  }

  numericId(felixId: string): number | undefined {
    return this.sets.get(felixId)?.numericId;
  }

  /** Sets with their id and member counts, for State. */
  summary(): Array<{ id: string; setId: number; members: number; inModel: boolean }> {
    return [...this.sets.values()].map((ps) => ({ id: ps.felixId, setId: ps.numericId, members: ps.members.size, inModel: ps.inModel }));
  }

  /**
   * Status of every set: ERROR for an id collision, a member that could not be encoded, or
   * member writes still failing (`failingSets`: set id -> message); PROGRAMMED otherwise.
   */
  reportStatus(status: StatusBook, failingSets: Map<number, string>): void {
    const kind = sync.ObjectKind.OBJECT_KIND_IP_SET;
    const S = sync.ObjectState;
    for (const ps of this.sets.values()) {
      if (!ps.inModel) {
        status.remove(kind, ps.felixId);
      } else if (ps.collidesWith !== undefined) {
        status.set(kind, ps.felixId, S.OBJECT_STATE_ERROR, `numeric id ${ps.numericId} is already used by ${ps.collidesWith}; the set is not programmed`);
      } else if (ps.badMembers.size > 0) {
        const [m, why] = ps.badMembers.entries().next().value as [string, string];
        status.set(kind, ps.felixId, S.OBJECT_STATE_ERROR, `${ps.badMembers.size} member(s) not programmed; "${m}": ${why}`);
      } else if (failingSets.has(ps.numericId)) {
        status.set(kind, ps.felixId, S.OBJECT_STATE_ERROR, `writing members failed, retrying: ${failingSets.get(ps.numericId)!}`);
      } else {
        status.set(kind, ps.felixId, S.OBJECT_STATE_PROGRAMMED);
      }
    }
    for (const id of this.removedSinceReport) status.remove(kind, id);
    this.removedSinceReport.clear();
  }

  /** Claims the set's numeric id; on a collision the set waits for the id to be freed. */
  private claim(ps: ProgrammedSet): boolean {
    const holder = this.registry.claim(ps.numericId, owner(ps.felixId));
    if (holder === undefined) {
      ps.collidesWith = undefined;
      this.waiting.get(ps.numericId)?.delete(ps.felixId);
      return true;
    }
    ps.collidesWith = holder;
    let w = this.waiting.get(ps.numericId);
    if (!w) {
      w = new Set();
      this.waiting.set(ps.numericId, w);
    }
    w.add(ps.felixId);
    return false;
  }

  /** Brings the given members of a set in line with the model. */
  private sync(ps: ProgrammedSet, candidates: Iterable<string>): void {
    if (ps.collidesWith !== undefined) return;
    const want = this.store.storedIpSet(ps.felixId)?.members;
    for (const m of candidates) {
      const wanted = want?.has(m) ?? false;
      const have = ps.members.has(m);
      if (wanted && !have) this.addMember(ps, m);
      else if (!wanted && have) this.removeMember(ps, m);
      else if (!wanted) ps.badMembers.delete(m);
    }
  }

  private addMember(ps: ProgrammedSet, member: string): void {
    let keys: SetMemberKey[];
    try {
      keys = this.compiler.ipSetMemberKeys(ps.numericId, { id: ps.felixId, type: ps.type, members: [member] });
    } catch (err) {
      ps.badMembers.set(member, errorMessage(err));
      return;
    }
    ps.badMembers.delete(member);
    const strings: string[] = [];
    for (const key of keys) {
      const ks = this.table.keyString(key);
      strings.push(ks);
      const e = ps.entries.get(ks);
      if (e) e.refs++;
      else {
        ps.entries.set(ks, { key, refs: 1 });
        this.table.setDesired(key, true);
      }
    }
    ps.members.set(member, strings);
  }

  private removeMember(ps: ProgrammedSet, member: string): void {
    for (const ks of ps.members.get(member) ?? []) {
      const e = ps.entries.get(ks);
      if (!e) continue;
      if (--e.refs === 0) {
        ps.entries.delete(ks);
        this.table.deleteDesired(e.key);
      }
    }
    ps.members.delete(member);
    ps.badMembers.delete(member);
  }

  /** Forgets a set entirely: its entries are deleted and its id freed for a waiting set. */
  private drop(ps: ProgrammedSet): void {
    for (const m of [...ps.members.keys()]) this.removeMember(ps, m);
    this.sets.delete(ps.felixId);
    this.removedSinceReport.add(ps.felixId);
    if (ps.collidesWith !== undefined) {
      this.waiting.get(ps.numericId)?.delete(ps.felixId);
      return;
    }
    this.registry.release(ps.numericId, owner(ps.felixId));
    for (const w of this.waiting.get(ps.numericId) ?? []) this.woken.add(w);
  }
}
