import { DpAction, DropReason } from "@ptables/api";
import { blankRule } from "@ptables/policy-core";
import { ReferenceDpuBackend } from "./index";

describe("entries the reference DPU refuses, one by one", () => {
  test("limits: set members and endpoints beyond capacity; replacing an entry still fits", async () => {
    const b = new ReferenceDpuBackend({ capabilities: { maxSetMembers: 2, maxEndpoints: 1 } });
    const m = (i: number) => ({ setId: 1, family: 4 as const, proto: 0, port: 0, addr: `10.0.0.${i}`, prefixLen: 32 });
    expect(await b.tables.setMembers.applyBatch([[m(1), true], [m(2), true], [m(3), true], [m(1), true]], [])).toEqual([{ index: 2, op: "upsert", message: "set member table is full (2 entries)" }]);
    const ep = { ingressProgram: 1, egressProgram: 2, flags: 0, ingressLength: 0, egressLength: 0 };
    expect(await b.tables.endpoints.applyBatch([[{ ifname: "a" }, ep], [{ ifname: "b" }, ep], [{ ifname: "a" }, { ...ep, flags: 1 }]], [])).toEqual([{ index: 1, op: "upsert", message: "endpoint table is full (1 entries)" }]);
  });

  test("malformed entries of every table, with messages naming the field", async () => {
    const b = new ReferenceDpuBackend({ capabilities: { maxRulesPerProgram: 8 } });
    const first = async (p: Promise<Array<{ message: string }>>): Promise<string | undefined> => (await p)[0]?.message;
    const member = { setId: 1, family: 4 as const, proto: 0, port: 0, addr: "10.0.0.0", prefixLen: 8 };
    expect(await first(b.tables.setMembers.applyBatch([[{ ...member, addr: "10.0.0.1" }, true]], []))).toBe("10.0.0.1/8 has host bits set");
    expect(await first(b.tables.setMembers.applyBatch([[{ ...member, setId: 0 }, true]], []))).toBe("setId 0 is not a non-zero 32-bit id");
    expect(await first(b.tables.setMembers.applyBatch([[{ ...member, family: 6 }, true]], []))).toBe('addr "10.0.0.0" is not an IPv6 address');
    expect(await first(b.tables.portSets.applyBatch([[{ setId: 1, port: 81, prefixLen: 15 }, true]], []))).toBe("port 81/15 has bits set below its prefix");
    const key = { programId: 5, index: 3 };
    expect(await first(b.tables.rules.applyBatch([[{ ...key, index: 8 }, blankRule(DpAction.Allow)]], []))).toBe("rule index 8 is beyond the 8 rules a program may hold");
    expect(await first(b.tables.rules.applyBatch([[key, { ...blankRule(DpAction.Jump), jump: 3 }]], []))).toBe("jump 3 from rule 3 does not go forward within the program");
    expect(await first(b.tables.rules.applyBatch([[key, { ...blankRule(DpAction.Deny), reason: 77 as DropReason }]], []))).toBe("drop reason 77 is unknown");
    expect(await first(b.tables.rules.applyBatch([[key, { ...blankRule(DpAction.Allow), srcSets: [1, 2, 3, 4, 5] }]], []))).toBe("srcSets must list at most 4 sets");
    expect(await first(b.tables.rules.applyBatch([[key, { ...blankRule(DpAction.Allow), proto: 257 }]], []))).toBe("proto 257 is not 0..256");
    expect(await first(b.tables.rules.applyBatch([[key, { ...blankRule(DpAction.Allow), counterId: -1n }]], []))).toBe("counterId -1 is not a 64-bit unsigned bigint");
    expect(await first(b.tables.endpoints.applyBatch([[{ ifname: "" }, { ingressProgram: 1, egressProgram: 1, flags: 0, ingressLength: 0, egressLength: 0 }]], []))).toBe("ifname is empty");
    expect(await first(b.tables.routes.applyBatch([[{ dst: "10.0.0.1/8" }, { ifname: "x", via: "", kind: "unicast", onlink: false }]], []))).toBe("dst 10.0.0.1/8 has host bits set");
    expect(await first(b.tables.routes.applyBatch([[{ dst: "10.0.0.0/8" }, { ifname: "x", via: "fd00::1", kind: "unicast", onlink: false }]], []))).toBe('via "fd00::1" is not an IPv4 address');
    expect(await first(b.tables.routes.applyBatch([[{ dst: "10.0.0.0/8" }, { ifname: "x", via: "", kind: "local", onlink: false }]], []))).toBe('kind "local" is not unicast, blackhole or throw');
    expect(await first(b.tables.neighbours.applyBatch([[{ ifname: "x", ip: "10.0.0.1" }, { mac: "ee:ee" }]], []))).toBe('mac "ee:ee" is not aa:bb:cc:dd:ee:ff');
    for (const table of Object.values(b.tables)) expect(table.size).toBe(0);
  });
});
