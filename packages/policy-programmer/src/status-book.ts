/**
 * Per-object status (PENDING / PROGRAMMED / DOWN / ERROR), with the changes since the last
 * report kept apart so a SyncResponse carries only what changed (the first response on a new
 * stream asks for everything instead). A removed object is reported REMOVED once, then forgotten.
 */
import { sync } from "@ptables/proto";

const State = sync.ObjectState;

function bookKey(kind: sync.ObjectKind, id: string): string {
  return `${kind}\u0000${id}`;
}

export class StatusBook {
  private readonly statuses = new Map<string, sync.ObjectStatus>();
  private readonly changed = new Map<string, sync.ObjectStatus>();

  /** Records a status; a status equal to the current one is not a change. */
  set(kind: sync.ObjectKind, id: string, state: sync.ObjectState, reason = ""): void {
    const k = bookKey(kind, id);
    const cur = this.statuses.get(k);
    if (cur && cur.state === state && cur.reason === reason) return;
    const s = { kind, id, state, reason };
    this.statuses.set(k, s);
    this.changed.set(k, s);
  }

  get(kind: sync.ObjectKind, id: string): sync.ObjectStatus | undefined {
    return this.statuses.get(bookKey(kind, id));
  }

  /** The object is gone: report REMOVED once and forget it. */
  remove(kind: sync.ObjectKind, id: string): void {
    const k = bookKey(kind, id);
    if (!this.statuses.delete(k)) return;
    this.changed.set(k, { kind, id, state: State.OBJECT_STATE_REMOVED, reason: "" });
  }

  /** A one-off report (a rejected input) that is not kept as the object's status. */
  report(kind: sync.ObjectKind, id: string, state: sync.ObjectState, reason: string): void {
    this.changed.set(`${bookKey(kind, id)}\u0000once`, { kind, id, state, reason });
  }

  all(): sync.ObjectStatus[] {
    return [...this.statuses.values()];
  }

  /**
   * Statuses changed since the previous call. With `everything`, every current status instead,
   * plus the removals and one-off reports not yet taken.
   */
  take(everything = false): sync.ObjectStatus[] {
    const out = everything ? [...this.statuses.values()] : [];
    for (const [k, s] of this.changed) if (!everything || !this.statuses.has(k)) out.push(s);
    this.changed.clear();
    return out;
  }

  count(kind: sync.ObjectKind, state: sync.ObjectState): number {
    let n = 0;
    for (const s of this.statuses.values()) if (s.kind === kind && s.state === state) n++;
    return n;
  }
}
