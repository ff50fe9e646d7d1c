/**
 * The model's IP sets, with members held as a Set so a membership delta costs its own size,
 * not the set's. A resent set with the same type records only the members that differ; a new,
 * re-typed or removed set is recorded as replaced (its users must be recompiled).
 */
import { sync } from "@ptables/proto";
import { IpSetType, type IpSet } from "@ptables/api";
import type { ModelChanges, Rejection } from "./model-changes";

export interface StoredIpSet {
  id: string;
  type: IpSetType;
  members: Set<string>;
}

const KIND = sync.ObjectKind.OBJECT_KIND_IP_SET;

function validType(t: number): boolean {
  return t === IpSetType.IP_SET_TYPE_IP || t === IpSetType.IP_SET_TYPE_IP_AND_PORT || t === IpSetType.IP_SET_TYPE_NET;
}

/** Why a set cannot be stored, if it cannot. */
function problem(set: IpSet | undefined): string | undefined {
  if (!set || !set.id) return "ip set without an id";
  if (!validType(set.type)) return `ip set ${set.id}: unknown type ${String(set.type)}`;
  if (!Array.isArray(set.members)) return `ip set ${set.id}: members is not a list`;
  return undefined;
}

export class IpSetStore {
  private readonly sets = new Map<string, StoredIpSet>();
  /** IpSet views for the compiler and the evaluator, rebuilt only after a set changes. */
  private readonly views = new Map<string, IpSet>();
  /** Kept from before a partial snapshot; removed at InSync unless re-sent. */
  private readonly unconfirmed = new Set<string>();

  /** `changes` returns the record of the current batch (it is replaced at each takeChanges). */
  constructor(private readonly changes: () => ModelChanges) {}

  get(id: string): StoredIpSet | undefined {
    return this.sets.get(id);
  }

  view(id: string): IpSet | undefined {
    const stored = this.sets.get(id);
    if (!stored) return undefined;
    let view = this.views.get(id);
    if (!view) {
      view = { id, type: stored.type, members: [...stored.members] };
      this.views.set(id, view);
    }
    return view;
  }

  ids(): IterableIterator<string> {
    return this.sets.keys();
  }

  /** Stores a set (whole replacement); returns a rejection if it is not a usable set. */
  upsert(set: IpSet, where: string): Rejection | undefined {
    const why = problem(set);
    if (why) return { kind: KIND, id: set?.id ?? "", reason: `${where}: ${why}` };
    this.unconfirmed.delete(set.id);
    const existing = this.sets.get(set.id);
    const members = new Set(set.members);
    if (!existing || existing.type !== set.type) {
      this.sets.set(set.id, { id: set.id, type: set.type, members });
      this.views.delete(set.id);
      this.changes().ipSetsReplaced.add(set.id);
      return undefined;
    }
    const touched = this.touched(set.id);
    for (const m of members) if (!existing.members.has(m)) touched.add(m);
    for (const m of existing.members) if (!members.has(m)) touched.add(m);
    if (touched.size === 0) this.changes().ipSetMembersTouched.delete(set.id);
    else this.views.delete(set.id);
    existing.members = members;
    return undefined;
  }

  /** Applies a membership delta; a delta for an unknown set is rejected and ignored. */
  applyDelta(delta: sync.IpSetDelta, where: string): Rejection | undefined {
    const set = delta?.id ? this.sets.get(delta.id) : undefined;
    if (!set) return { kind: KIND, id: delta?.id ?? "", reason: `${where}: membership delta for unknown ip set "${delta?.id ?? ""}"; ignored` };
    this.unconfirmed.delete(set.id);
    const touched = this.touched(set.id);
    for (const m of delta.removed ?? []) if (set.members.delete(m)) touched.add(m);
    for (const m of delta.added ?? []) {
      if (set.members.has(m)) continue;
      set.members.add(m);
      touched.add(m);
    }
    if (touched.size === 0) this.changes().ipSetMembersTouched.delete(set.id);
    this.views.delete(set.id);
    return undefined;
  }

  remove(id: string): void {
    this.unconfirmed.delete(id);
    if (!this.sets.delete(id)) return;
    this.views.delete(id);
    this.changes().ipSetsReplaced.add(id);
    this.changes().ipSetMembersTouched.delete(id);
  }

  /** A snapshot's sets; stored sets it leaves out are removed when `authoritative`, else kept unconfirmed. */
  replaceAll(sets: IpSet[] | undefined, where: string, authoritative: boolean): Rejection[] {
    const rejected: Rejection[] = [];
    const seen = new Set<string>();
    (sets ?? []).forEach((set, i) => {
      if (set?.id && seen.has(set.id)) {
        rejected.push({ kind: KIND, id: set.id, reason: `${where}[${i}]: duplicate id; the first one is kept` });
        return;
      }
      const r = this.upsert(set, `${where}[${i}]`);
      if (r) rejected.push(r);
      else seen.add(set.id);
    });
    for (const id of [...this.sets.keys()]) {
      if (seen.has(id)) continue;
      if (authoritative) this.remove(id);
      else this.unconfirmed.add(id);
    }
    return rejected;
  }

  removeUnconfirmed(): void {
    for (const id of [...this.unconfirmed]) this.remove(id);
  }

  private touched(id: string): Set<string> {
    const all = this.changes().ipSetMembersTouched;
    let t = all.get(id);
    if (!t) {
      t = new Set();
      all.set(id, t);
    }
    return t;
  }
}
