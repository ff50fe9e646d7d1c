/**
 * Which rules use which counter. A counter id is stable across recompiles, and a recompile
 * writes the new program before deleting the old one, so a counter is shared for a while; it
 * is deleted from pt_counters only when the last rule using it goes. Built from one scan of
 * pt_rules on first use, then kept up to date by the rules table.
 */
import type { CompiledRule, RuleKey } from "@ptables/api";
import { decodeRule, decodeRuleKey, ruleKeyString } from "../codec/rule-codec";
import type { BpfMap } from "../native/bpf-map";

export class RuleCounterRefs {
  private byRule: Map<string, bigint> | undefined;
  private readonly refs = new Map<bigint, number>();

  constructor(
    private readonly rules: () => BpfMap,
    private readonly counters: () => BpfMap,
  ) {}

  /** Seeds the index from a full read of pt_rules (the resync already has one). */
  loaded(entries: Array<[RuleKey, CompiledRule]>): void {
    this.seed(entries);
  }

  private seed(entries: Array<[RuleKey, CompiledRule]>): void {
    this.byRule = new Map();
    this.refs.clear();
    for (const [key, rule] of entries) this.set(ruleKeyString(key), rule.counterId);
  }

  /** Call after a batch with the entries that were written; deletes counters nobody uses now. */
  applied(upserted: Array<[RuleKey, CompiledRule]>, deleted: RuleKey[]): void {
    this.prepare();
    const unused: bigint[] = [];
    for (const [key, rule] of upserted) {
      const k = ruleKeyString(key);
      const old = this.byRule!.get(k);
      if (old === rule.counterId) continue;
      if (old !== undefined && this.release(old)) unused.push(old);
      this.set(k, rule.counterId);
    }
    for (const key of deleted) {
      const k = ruleKeyString(key);
      const old = this.byRule!.get(k);
      if (old === undefined) continue;
      this.byRule!.delete(k);
      if (this.release(old)) unused.push(old);
    }
    const counters = this.counters();
    const key = Buffer.alloc(8);
    for (const id of unused) {
      if (this.refs.has(id)) continue; // re-used by a later rule of the same batch
      key.writeBigUInt64LE(id);
      counters.delete(key);
    }
  }

  /** Forgets the index (the maps were reopened or replaced); the next batch rebuilds it. */
  reset(): void {
    this.byRule = undefined;
    this.refs.clear();
  }

  /** Rules currently using `counterId` (for tests and status). */
  users(counterId: bigint): number {
    return this.refs.get(counterId) ?? 0;
  }

  /** Call before writing a batch: the index must describe the map as it was. */
  prepare(): void {
    if (this.byRule) return;
    this.seed(this.rules().entries().map(([k, v]) => [decodeRuleKey(k), decodeRule(v)]));
  }

  private set(ruleKey: string, counterId: bigint): void {
    this.byRule!.set(ruleKey, counterId);
    if (counterId !== 0n) this.refs.set(counterId, (this.refs.get(counterId) ?? 0) + 1);
  }

  /** Drops one reference; true when it was the last. */
  private release(counterId: bigint): boolean {
    if (counterId === 0n) return false;
    const n = (this.refs.get(counterId) ?? 0) - 1;
    if (n > 0) {
      this.refs.set(counterId, n);
      return false;
    }
    this.refs.delete(counterId);
    return true;
  }
}
