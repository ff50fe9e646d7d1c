import { ValidationError, type SetMemberKey } from "@ptables/api";
import { parseIp, TableSetLookup } from "../index";

const ip = (text: string): bigint => parseIp(text)!.value;
const member = (setId: number, addr: string, prefixLen: number, proto = 0, port = 0): SetMemberKey => ({ setId, family: addr.includes(":") ? 6 : 4, proto, port, addr, prefixLen });

describe("TableSetLookup", () => {
  test("a prefix covers every address in it, per set, family, protocol and port", () => {
    const t = TableSetLookup.from([member(1, "10.0.0.0", 8), member(1, "10.1.2.3", 32), member(2, "fd00::", 16), member(3, "10.0.0.1", 32, 6, 80), member(4, "0.0.0.0", 0)]);
    expect(t.setHas(1, 4, 0, 0, ip("10.255.0.1"))).toBe(true);
    expect(t.setHas(1, 4, 0, 0, ip("11.0.0.1"))).toBe(false);
    expect(t.setHas(2, 6, 0, 0, ip("fd00:ffff::1"))).toBe(true);
    expect(t.setHas(2, 6, 0, 0, ip("fd01::1"))).toBe(false);
    expect(t.setHas(3, 4, 6, 80, ip("10.0.0.1"))).toBe(true);
    expect([t.setHas(3, 4, 17, 80, ip("10.0.0.1")), t.setHas(3, 4, 6, 81, ip("10.0.0.1")), t.setHas(3, 4, 0, 0, ip("10.0.0.1"))]).toEqual([false, false, false]);
    expect(t.setHas(4, 4, 0, 0, ip("8.8.8.8"))).toBe(true);
    expect(t.setHas(4, 6, 0, 0, ip("::1"))).toBe(false);
  });

  test("add is idempotent; delete removes exactly one prefix; deleting the absent does nothing", () => {
    const t = new TableSetLookup();
    t.addMember(member(1, "10.0.0.0", 8));
    t.addMember(member(1, "10.0.0.0", 8));
    t.addMember(member(1, "10.1.0.0", 16));
    t.deleteMember(member(1, "10.0.0.0", 8));
    t.deleteMember(member(1, "192.168.0.0", 16));
    t.deleteMember(member(7, "192.168.0.0", 16));
    expect(t.setHas(1, 4, 0, 0, ip("10.1.0.1"))).toBe(true);
    expect(t.setHas(1, 4, 0, 0, ip("10.2.0.1"))).toBe(false);
    t.deleteMember(member(1, "10.1.0.0", 16));
    expect(t.setHas(1, 4, 0, 0, ip("10.1.0.1"))).toBe(false);
  });

  test("port prefixes", () => {
    const t = TableSetLookup.from([], [{ setId: 1, port: 1024, prefixLen: 6 }, { setId: 1, port: 80, prefixLen: 16 }]);
    expect([t.portSetHas(1, 1023), t.portSetHas(1, 1024), t.portSetHas(1, 2047), t.portSetHas(1, 2048), t.portSetHas(1, 80), t.portSetHas(2, 80)]).toEqual([false, true, true, false, true, false]);
    t.deletePort({ setId: 1, port: 1024, prefixLen: 6 });
    expect(t.portSetHas(1, 1500)).toBe(false);
  });

  test("malformed entries are ValidationErrors", () => {
    const t = new TableSetLookup();
    expect(() => t.addMember(member(1, "10.0.0.0", 33))).toThrow(ValidationError);
    expect(() => t.addMember({ ...member(1, "fd00::", 8), family: 4 })).toThrow("fd00::/8 is not an IPv4 prefix");
    expect(() => t.addPort({ setId: 1, port: 70000, prefixLen: 16 })).toThrow(ValidationError);
  });
});
