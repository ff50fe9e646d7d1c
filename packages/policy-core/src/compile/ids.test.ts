import { ValidationError } from "@ptables/api";
import { hostHookProgramName, ipSetNumericId, netSetId, portSetId, programId, ruleCounterId } from "../index";
import { fnv1a32, fnv1a64 } from "./hash";

describe("hashes", () => {
  test("FNV-1a matches the published test vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
    expect(fnv1a64("")).toBe(0xcbf29ce484222325n);
    expect(fnv1a64("a")).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64("foobar")).toBe(0x85944171f73967e8n);
  });

  test("non-ASCII names hash their UTF-8 bytes", () => {
    // "é" is c3 a9 in UTF-8.
    expect(fnv1a32("é")).toBe(Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0);
  });
});

describe("stable ids", () => {
  test("ids of the same names never change (a restarted agent must compute the programmed ids)", () => {
    expect(ipSetNumericId("s:abc")).toBe(56842072);
    expect(netSetId(["10.0.0.0/8", "fd00::/8"])).toBe(3726460438);
    expect(portSetId([{ first: 80, last: 80 }])).toBe(1749226432);
    expect(programId("cali1234", "ingress", 0)).toBe(3334046854);
    expect(programId("cali1234", "ingress", 1)).toBe(3334046855);
    expect(ruleCounterId("policy:GlobalNetworkPolicy//p1", "ingress", 0, "abc")).toBe(8441880465581061930n);
  });

  test("Felix IP set ids have the high bit clear and are never 0; net set ids have it set", () => {
    for (let i = 0; i < 5000; i++) {
      const id = ipSetNumericId(`s:${i}`);
      expect(id > 0 && id <= 0x7fffffff).toBe(true);
      const net = netSetId([`10.${i >> 8}.${i & 255}.0/24`]);
      expect(net >= 0x80000000 && net <= 0xffffffff).toBe(true);
    }
  });

  test("net set ids depend on the set of prefixes, not their spelling or order", () => {
    expect(netSetId(["fd00::1/8", "10.0.0.5/8", "10.0.0.0/8"])).toBe(netSetId(["10.0.0.0/8", "fd00::/8"]));
    expect(netSetId(["10.0.0.0/8"])).not.toBe(netSetId(["10.0.0.0/9"]));
    expect(() => netSetId(["10.0.0.0/99"])).toThrow(ValidationError);
  });

  test("port set ids depend on the set of ports, not how the ranges are cut", () => {
    expect(portSetId([{ first: 81, last: 90 }, { first: 80, last: 80 }])).toBe(portSetId([{ first: 80, last: 90 }]));
    expect(portSetId([{ first: 80, last: 80 }])).not.toBe(portSetId([{ first: 81, last: 81 }]));
    for (let i = 0; i < 2000; i++) expect(portSetId([{ first: i, last: i + 1 }])).not.toBe(0);
  });

  test("program ids: the low bit is the slot, names and directions differ, never 0", () => {
    for (let i = 0; i < 2000; i++) {
      const name = `cali${i}`;
      const [a, b] = [programId(name, "egress", 0), programId(name, "egress", 1)];
      expect([a & 1, b & 1, a ^ b]).toEqual([0, 1, 1]);
      expect(a).not.toBe(0);
      expect(programId(name, "ingress", 0)).not.toBe(a);
    }
    expect(programId(hostHookProgramName("eth0", "forward"), "ingress", 0)).not.toBe(programId(hostHookProgramName("eth0", "normal"), "ingress", 0));
    expect(hostHookProgramName("eth0", "normal")).toBe("eth0");
  });

  test("counter ids change with every input", () => {
    const base = ruleCounterId("policy:p", "ingress", 3, "id");
    expect(new Set([base, ruleCounterId("policy:q", "ingress", 3, "id"), ruleCounterId("policy:p", "egress", 3, "id"), ruleCounterId("policy:p", "ingress", 4, "id"), ruleCounterId("policy:p", "ingress", 3, "ie")]).size).toBe(5);
    expect(base > 0n && base < 1n << 64n).toBe(true);
  });
});
