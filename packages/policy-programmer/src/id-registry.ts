/**
 * Claims on 32-bit datapath ids. Ids are stable hashes of names (so a restarted agent computes
 * the ids already programmed), which means two names can hash to one id. The first name to
 * claim an id keeps it; a later claimant is told who holds it and reports an error, rather than
 * silently sharing (and corrupting) the other object's entries.
 */
export class IdRegistry {
  private readonly owners = new Map<number, string>();

  /** Claims `id` for `owner`; returns the current holder if it is someone else. */
  claim(id: number, owner: string): string | undefined {
    const holder = this.owners.get(id);
    if (holder !== undefined && holder !== owner) return holder;
    this.owners.set(id, owner);
    return undefined;
  }

  /** Releases `id` if `owner` holds it. */
  release(id: number, owner: string): void {
    if (this.owners.get(id) === owner) this.owners.delete(id);
  }

  holder(id: number): string | undefined {
    return this.owners.get(id);
  }
}
