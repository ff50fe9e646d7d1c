import { CachingTable } from "./caching-table";
import type { EntryError, TableBackend } from "./backend";

class MemTable implements TableBackend<string, number> {
  readonly name = "mem";
  data = new Map<string, number>();
  calls = 0;
  failKeys = new Set<string>();
  keyString(k: string): string {
    return k;
  }
  valueEquals(a: number, b: number): boolean {
    return a === b;
  }
  async loadAll(): Promise<Array<[string, number]>> {
    return [...this.data.entries()];
  }
  async applyBatch(ups: Array<[string, number]>, dels: string[]): Promise<EntryError[]> {
    this.calls++;
    const errs: EntryError[] = [];
    ups.forEach(([k, v], index) => {
      if (this.failKeys.has(k)) errs.push({ index, op: "upsert", message: "boom" });
      else this.data.set(k, v);
    });
    dels.forEach((k) => this.data.delete(k));
    return errs;
  }
}

describe("CachingTable", () => {
  test("writes only the difference and nothing when in sync", async () => {
    const mem = new MemTable();
    mem.data.set("a", 1);
    mem.data.set("b", 2);
    const t = new CachingTable(mem);
    t.setDesired("a", 1);
    t.setDesired("b", 3);
    t.setDesired("c", 4);
    expect((await t.applyUpserts()).writes).toBe(2);
    expect(mem.data.get("b")).toBe(3);
    expect((await t.applyUpserts()).writes).toBe(0);
    expect((await t.applyDeletes(true)).writes).toBe(0);
    expect(t.writes).toBe(2);
  });

  test("a restarted table over the same state makes zero writes (resync)", async () => {
    const mem = new MemTable();
    const first = new CachingTable(mem);
    for (let i = 0; i < 100; i++) first.setDesired(`k${i}`, i);
    await first.applyUpserts();
    const second = new CachingTable(mem);
    for (let i = 0; i < 100; i++) second.setDesired(`k${i}`, i);
    await second.applyUpserts();
    await second.applyDeletes(true);
    expect(second.writes).toBe(0);
  });

  test("stale entries found at load survive until stale deletes are allowed", async () => {
    const mem = new MemTable();
    mem.data.set("stale", 9);
    const t = new CachingTable(mem);
    t.setDesired("x", 1);
    t.setDesired("gone", 2);
    await t.applyUpserts();
    t.deleteDesired("gone");
    await t.applyDeletes(false);
    expect(mem.data.has("gone")).toBe(false);
    expect(mem.data.has("stale")).toBe(true);
    await t.applyDeletes(true);
    expect(mem.data.has("stale")).toBe(false);
  });

  test("a failed entry is reported, the rest applied, and it is retried", async () => {
    const mem = new MemTable();
    mem.failKeys.add("bad");
    const t = new CachingTable(mem);
    t.setDesired("good", 1);
    t.setDesired("bad", 2);
    const out = await t.applyUpserts();
    expect(out.errors.get("bad")).toBe("boom");
    expect(mem.data.get("good")).toBe(1);
    expect(t.pendingCount()).toBe(1);
    mem.failKeys.clear();
    expect((await t.applyUpserts()).writes).toBe(1);
    expect(t.pendingCount()).toBe(0);
  });
});
