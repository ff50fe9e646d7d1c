import { CachingTable } from "../caching-table";
import { DpAction, DropReason, type CompiledRule, type SetMemberKey } from "../tables";
import { createMemoryTables } from "./memory-tables";
import { MemoryTable } from "./memory-table";
import { clonePlain, plainEquals } from "./plain-clone";

const member = (i: number): SetMemberKey => ({ setId: 1, family: 4, proto: 0, port: 0, addr: `10.0.${i >> 8}.${i & 255}`, prefixLen: 32 });

function rule(counterId: bigint, srcSets: number[] = []): CompiledRule {
  return {
    action: DpAction.Deny, reason: DropReason.PolicyDeny, jump: 0, ipVersion: 0, proto: 0, notProto: 0,
    srcNet: 0, notSrcNet: 0, dstNet: 0, notDstNet: 0, srcSets, notSrcSets: [], dstSets: [], notDstSets: [],
    srcPorts: 0, notSrcPorts: 0, dstPorts: 0, notDstPorts: 0, srcNamedPorts: [], notSrcNamedPorts: [], dstNamedPorts: [], notDstNamedPorts: [],
    dstIpPortSets: [], icmpType: 0, icmpCode: 0, notIcmpType: 0, notIcmpCode: 0, counterId,
  };
}

describe("MemoryTable", () => {
  test("round-trips upserts and deletes; deleting an absent entry succeeds; writes are counted", async () => {
    const t = createMemoryTables().setMembers;
    expect(await t.applyBatch([[member(1), true], [member(2), true]], [member(9)])).toEqual([]);
    expect(await t.applyBatch([[member(1), true]], [member(2)])).toEqual([]);
    expect(await t.loadAll()).toEqual([[member(1), true]]);
    expect([t.writes, t.batches, t.size]).toEqual([5, 2, 1]);
  });

  test("stores copies: mutating after the write or after loadAll changes nothing", async () => {
    const t = createMemoryTables().rules;
    const value = rule(5n, [1]);
    await t.applyBatch([[{ programId: 1, index: 0 }, value]], []);
    value.srcSets.push(2);
    const [[, loaded]] = (await t.loadAll()) as [[unknown, CompiledRule]];
    loaded.srcSets.push(3);
    expect(t.get({ programId: 1, index: 0 })!.srcSets).toEqual([1]);
  });

  test("an injected entry failure is reported per entry; the others are applied", async () => {
    const t = createMemoryTables().setMembers;
    t.failKey(member(2), "no room");
    expect(await t.applyBatch([[member(1), true], [member(2), true], [member(3), true]], [member(2)])).toEqual([
      { index: 1, op: "upsert", message: "no room" },
      { index: 0, op: "delete", message: "no room" },
    ]);
    expect(t.has(member(1)) && t.has(member(3)) && !t.has(member(2))).toBe(true);
    t.clearFailures();
    expect(await t.applyBatch([[member(2), true]], [])).toEqual([]);
  });

  test("an unusable table throws from loadAll and applyBatch", async () => {
    const t = createMemoryTables().endpoints;
    t.failAll(new Error("device gone"));
    await expect(t.loadAll()).rejects.toThrow("device gone");
    await expect(t.applyBatch([], [])).rejects.toThrow("device gone");
  });

  test("reject() refuses single entries; onUpsert/onDelete see what changed; clear() empties", async () => {
    const seen: string[] = [];
    const t = new MemoryTable<string, number>({
      name: "t",
      keyString: (k) => k,
      valueEquals: (a, b) => a === b,
      reject: (k, v, table) => (v < 0 ? `negative value for ${k}` : !table.has(k) && table.size >= 2 ? "full" : undefined),
      onUpsert: (k, v, prev) => seen.push(`+${k}=${v}${prev === undefined ? "" : ` (was ${prev})`}`),
      onDelete: (k, prev) => seen.push(`-${k}=${prev}`),
    });
    expect(await t.applyBatch([["a", 1], ["b", -1], ["b", 2], ["c", 3], ["a", 4]], ["zz", "b"])).toEqual([
      { index: 1, op: "upsert", message: "negative value for b" },
      { index: 3, op: "upsert", message: "full" },
    ]);
    t.clear();
    expect(seen).toEqual(["+a=1", "+b=2", "+a=4 (was 1)", "-b=2", "-a=4"]);
    expect(t.size).toBe(0);
  });

  test("a second CachingTable over a written table makes zero writes on resync", async () => {
    const tables = createMemoryTables();
    const first = new CachingTable(tables.rules);
    for (let i = 0; i < 50; i++) first.setDesired({ programId: 7, index: i }, rule(BigInt(i), [i]));
    await first.applyUpserts();
    const second = new CachingTable(tables.rules);
    for (let i = 0; i < 50; i++) second.setDesired({ programId: 7, index: i }, rule(BigInt(i), [i]));
    await second.applyUpserts();
    await second.applyDeletes(true);
    expect(second.writes).toBe(0);
    expect(tables.rules.writes).toBe(50);
  });
});

describe("plain values", () => {
  test("clone and equality handle nested arrays, objects and bigint", () => {
    const v = { a: [1, { b: 2n }], c: "x", d: true };
    const c = clonePlain(v);
    expect(c).toEqual(v);
    expect(c.a).not.toBe(v.a);
    expect(plainEquals(v, c)).toBe(true);
    expect(plainEquals(v, { ...v, c: "y" })).toBe(false);
    expect(plainEquals({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(plainEquals({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(plainEquals(1n, 1n)).toBe(true);
  });
});
