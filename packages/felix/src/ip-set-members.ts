/**
 * One IP set's membership as Felix sent it, with its canonical form. Felix sends a full
 * IPSetUpdate and then deltas; two raw spellings can name one canonical member ("10.0.0.1"
 * and "10.0.0.1/32"), so canonical members are reference-counted and a delta reports only
 * canonical members that really appeared or disappeared. Invalid members are remembered too,
 * so that a later delta removing them makes the set valid again.
 */
import { IpSetType, ValidationError } from "@ptables/api";
import type { IpSet } from "@ptables/api";
import { canonicalIpSetMember, ipSetType } from "./validate";

export interface MemberDelta {
  added: string[];
  removed: string[];
}

export class IpSetMembers {
  /** The model type, or undefined when Felix sent a type number we do not know. */
  readonly type: IpSetType | undefined;
  private readonly typeError: string | undefined;
  /** Raw member -> canonical member, or undefined when the member is invalid. */
  private readonly raw = new Map<string, string | undefined>();
  private readonly canonical = new Map<string, number>();
  /** Raw member -> why it is invalid. */
  private readonly invalid = new Map<string, string>();

  constructor(
    readonly id: string,
    felixType: number,
    members: readonly string[],
  ) {
    const label = `IP set ${id}`;
    try {
      this.type = ipSetType(felixType, `${label} type`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      this.typeError = err.message;
    }
    members.forEach((member, i) => this.add(member, `${label} members[${i}]`));
  }

  /** Why the set cannot be used, if it cannot: its type, or its first invalid member. */
  get error(): string | undefined {
    if (this.typeError !== undefined) return this.typeError;
    if (this.invalid.size === 0) return undefined;
    const first = this.invalid.values().next().value as string;
    return this.invalid.size === 1 ? first : `${first} (and ${this.invalid.size - 1} more invalid members)`;
  }

  toModel(): IpSet {
    return { id: this.id, type: this.type ?? IpSetType.IP_SET_TYPE_IP, members: [...this.canonical.keys()] };
  }

  /**
   * Applies Felix's IPSetDeltaUpdate. A member both added and removed cancels out; removing
   * an absent member or adding a present one does nothing. Returns the canonical difference.
   */
  applyDelta(added: readonly string[], removed: readonly string[]): MemberDelta {
    const addedSet = new Set(added);
    const removedSet = new Set(removed);
    const before = new Map<string, boolean>();
    const touch = (canonical: string | undefined): void => {
      if (canonical !== undefined && !before.has(canonical)) before.set(canonical, this.canonical.has(canonical));
    };
    removed.forEach((member) => {
      if (addedSet.has(member) || !this.raw.has(member)) return;
      const canonical = this.raw.get(member);
      touch(canonical);
      this.raw.delete(member);
      this.invalid.delete(member);
      if (canonical !== undefined) this.release(canonical);
    });
    added.forEach((member, i) => {
      if (removedSet.has(member) || this.raw.has(member)) return;
      const result = this.canonicalise(member, `IP set ${this.id} added_members[${i}]`);
      touch(result.canonical);
      this.insert(member, result);
    });
    const delta: MemberDelta = { added: [], removed: [] };
    for (const [canonical, wasPresent] of before) {
      const isPresent = this.canonical.has(canonical);
      if (isPresent && !wasPresent) delta.added.push(canonical);
      if (!isPresent && wasPresent) delta.removed.push(canonical);
    }
    return delta;
  }

  private add(member: string, path: string): void {
    if (!this.raw.has(member)) this.insert(member, this.canonicalise(member, path));
  }

  private canonicalise(member: string, path: string): { canonical?: string; error?: string } {
    if (this.type === undefined) return {};
    try {
      return { canonical: canonicalIpSetMember(this.type, member, path) };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return { error: err.message };
    }
  }

  private insert(member: string, result: { canonical?: string; error?: string }): void {
    this.raw.set(member, result.canonical);
    if (result.error !== undefined) this.invalid.set(member, result.error);
    if (result.canonical !== undefined) {
      this.canonical.set(result.canonical, (this.canonical.get(result.canonical) ?? 0) + 1);
    }
  }

  private release(canonical: string): void {
    const count = (this.canonical.get(canonical) ?? 0) - 1;
    if (count > 0) this.canonical.set(canonical, count);
    else this.canonical.delete(canonical);
  }
}
