/**
 * A many-to-many index kept from the owning side: set(owner, refs) replaces what an owner
 * refers to, and users(ref) answers "who refers to this?" (which endpoints use a policy, which
 * policies use an IP set) without scanning every owner.
 */
export class ReverseIndex {
  private readonly refsOf = new Map<string, Set<string>>();
  private readonly usersOf = new Map<string, Set<string>>();

  /** Replaces the references of `owner` (an empty list removes the owner). */
  set(owner: string, refs: Iterable<string>): void {
    const next = new Set(refs);
    const prev = this.refsOf.get(owner);
    if (prev) {
      for (const r of prev) {
        if (next.has(r)) continue;
        const users = this.usersOf.get(r);
        users?.delete(owner);
        if (users && users.size === 0) this.usersOf.delete(r);
      }
    }
    for (const r of next) {
      if (prev?.has(r)) continue;
      let users = this.usersOf.get(r);
      if (!users) {
        users = new Set();
        this.usersOf.set(r, users);
      }
      users.add(owner);
    }
    if (next.size === 0) this.refsOf.delete(owner);
    else this.refsOf.set(owner, next);
  }

  users(ref: string): ReadonlySet<string> {
    return this.usersOf.get(ref) ?? EMPTY;
  }

  refs(owner: string): ReadonlySet<string> {
    return this.refsOf.get(owner) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
