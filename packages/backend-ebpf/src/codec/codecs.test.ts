/** Codecs: every table value survives encode -> decode, and bad input is refused with its location. */
import { DpAction, DropReason, NotSupportedError, ValidationError } from "@ptables/api";
import { compiledRule } from "../testing/compiled-rule";
import { DEFAULT_DATAPATH_CONFIG, decodeConfig, encodeConfig } from "./config-codec";
import { decodeCtKey, encodeCtKey } from "./ct-codec";
import { decodeEndpoint, encodeEndpoint } from "./endpoint-codec";
import { CONFIG, CT_KEY, ENDPOINT, MEMBER_KEY, PORT_KEY, RULE } from "./layouts";
import { decodeMemberKey, encodeMemberKey, memberKeyString } from "./member-key-codec";
import { decodePortKey, encodePortKey, portKeyString } from "./port-key-codec";
import { decodeRule, encodeRule, ruleEquals } from "./rule-codec";

describe("set member keys", () => {
  test("round-trip, with the LPM prefix covering set id, family, proto and port", () => {
    const buf = Buffer.alloc(MEMBER_KEY.size);
    const key = { setId: 0x01020304, family: 6 as const, proto: 6, port: 8080, addr: "fd00:65::", prefixLen: 64 };
    encodeMemberKey(key, buf);
    expect(buf.readUInt32LE(0)).toBe(64 + 64);
    expect(buf.subarray(4, 8).toString("hex")).toBe("01020304"); // big-endian set id
    expect(buf.readUInt16BE(10)).toBe(8080);
    expect(decodeMemberKey(buf)).toEqual(key);
  });

  test("host bits are cleared, and the key string ignores how the address was written", () => {
    const buf = Buffer.alloc(MEMBER_KEY.size);
    const key = { setId: 9, family: 4 as const, proto: 0, port: 0, addr: "10.65.3.7", prefixLen: 16 };
    encodeMemberKey(key, buf);
    expect(decodeMemberKey(buf).addr).toBe("10.65.0.0");
    expect(memberKeyString(key)).toBe(memberKeyString({ ...key, addr: "10.65.0.0" }));
    expect(memberKeyString({ ...key, family: 6, addr: "FD00::0", prefixLen: 8 })).toBe(memberKeyString({ ...key, family: 6, addr: "fd00::", prefixLen: 8 }));
  });

  test.each([
    [{ setId: 0 }, /setId 0/],
    [{ family: 5 }, /family 5/],
    [{ prefixLen: 33 }, /prefixLen 33/],
    [{ addr: "fd00::1" }, /not an IPv4 address/],
    [{ port: 70000 }, /port 70000/],
  ])("rejects %p", (change, message) => {
    const key = { setId: 9, family: 4 as const, proto: 0, port: 0, addr: "10.0.0.0", prefixLen: 8, ...change } as never;
    expect(() => encodeMemberKey(key, Buffer.alloc(MEMBER_KEY.size))).toThrow(ValidationError);
    expect(() => encodeMemberKey(key, Buffer.alloc(MEMBER_KEY.size))).toThrow(message);
  });
});

describe("port set keys", () => {
  test("round-trip; bits beyond the prefix are cleared", () => {
    const buf = Buffer.alloc(PORT_KEY.size);
    encodePortKey({ setId: 5, port: 8001, prefixLen: 12 }, buf);
    expect(buf.readUInt32LE(0)).toBe(32 + 12);
    expect(decodePortKey(buf)).toEqual({ setId: 5, port: 8000, prefixLen: 12 });
    expect(portKeyString({ setId: 5, port: 8001, prefixLen: 12 })).toBe(portKeyString({ setId: 5, port: 8000, prefixLen: 12 }));
    expect(() => encodePortKey({ setId: 5, port: 1, prefixLen: 17 }, buf)).toThrow(/prefixLen 17/);
  });
});

describe("rules", () => {
  const full = compiledRule({
    action: DpAction.Deny,
    reason: DropReason.EndOfTier,
    jump: 0,
    ipVersion: 6,
    proto: 7,
    notProto: 18,
    srcNet: 1,
    notSrcNet: 2,
    dstNet: 3,
    notDstNet: 4,
    srcSets: [5, 6, 7, 8],
    notSrcSets: [9],
    dstSets: [10, 11],
    notDstSets: [12],
    srcPorts: 13,
    notSrcPorts: 14,
    dstPorts: 15,
    notDstPorts: 16,
    srcNamedPorts: [17],
    notSrcNamedPorts: [18, 19],
    dstNamedPorts: [20],
    notDstNamedPorts: [21],
    dstIpPortSets: [22, 23, 24],
    icmpType: 129,
    icmpCode: 1,
    notIcmpType: 256,
    notIcmpCode: 256,
    counterId: 0xfedcba9876543210n,
  });

  test("every field round-trips", () => {
    const buf = Buffer.alloc(RULE.size);
    encodeRule(full, buf, 0, "rule 1/0", 0);
    const back = decodeRule(buf);
    expect(back).toEqual(full);
    expect(ruleEquals(back, full)).toBe(true);
    expect(ruleEquals(back, { ...full, dstSets: [10] })).toBe(false);
    expect(ruleEquals(back, { ...full, counterId: 1n })).toBe(false);
  });

  test.each([
    [{ srcSets: [1, 2, 3, 4, 5] }, /srcSets has 5 sets; the datapath takes at most 4/],
    [{ dstSets: [0] }, /dstSets\[0\] 0/],
    [{ action: DpAction.Jump, jump: 3 }, /jump 3 must be greater than the rule's own index 3/],
    [{ proto: 300 }, /proto 300/],
    [{ action: 9 }, /action 9/],
    [{ counterId: -1n }, /counterId/],
    [{ ipVersion: 5 }, /ipVersion 5/],
  ])("rejects %p, naming the rule", (change, message) => {
    const rule = compiledRule(change as never);
    expect(() => encodeRule(rule, Buffer.alloc(RULE.size), 0, "rule 7/3", 3)).toThrow(message);
    expect(() => encodeRule(rule, Buffer.alloc(RULE.size), 0, "rule 7/3", 3)).toThrow(/^rule 7\/3: /);
  });
});

describe("endpoints, flows and config", () => {
  test("endpoint values round-trip; programs longer than the cap are not supported", () => {
    const buf = Buffer.alloc(ENDPOINT.size);
    const value = { ingressProgram: 1, egressProgram: 2, flags: 1, ingressLength: 3, egressLength: 4 };
    encodeEndpoint(value, buf, 0, "endpoint cali1", 10);
    expect(decodeEndpoint(buf)).toEqual(value);
    expect(() => encodeEndpoint({ ...value, egressLength: 11 }, buf, 0, "endpoint cali1", 10)).toThrow(NotSupportedError);
  });

  test("host hooks round-trip at their offsets; {0, 0} hooks read back absent; hook lengths are capped too", () => {
    const buf = Buffer.alloc(ENDPOINT.size, 0xff); // stale bytes must not leak into absent hooks
    const value = {
      ingressProgram: 1,
      egressProgram: 2,
      flags: 2,
      ingressLength: 3,
      egressLength: 4,
      untrackedIngress: { program: 5, length: 1 },
      preDnatIngress: { program: 0, length: 0 },
      forwardEgress: { program: 7, length: 2 },
      toHost: { program: 8, length: 1 },
    };
    encodeEndpoint(value, buf, 0, "endpoint eth0", 10);
    expect(buf.readUInt32LE(ENDPOINT.fields.untracked_ingress)).toBe(5);
    expect(buf.readUInt32LE(ENDPOINT.fields.forward_egress + 4)).toBe(2);
    expect(buf.readUInt32LE(ENDPOINT.fields.to_host)).toBe(8);
    expect(buf.readUInt32LE(ENDPOINT.fields.forward_ingress)).toBe(0);
    const { preDnatIngress: _zero, ...canonical } = value;
    expect(decodeEndpoint(buf)).toEqual(canonical);
    expect(() => encodeEndpoint({ ...value, toHost: { program: 8, length: 11 } }, buf, 0, "endpoint eth0", 10)).toThrow(/toHost\.length 11 exceeds/);
    expect(() => encodeEndpoint({ ...value, forwardIngress: { program: -1, length: 1 } }, buf, 0, "endpoint eth0", 10)).toThrow(/forwardIngress\.program/);
  });

  test("conntrack keys round-trip with ports in network order", () => {
    const buf = Buffer.alloc(CT_KEY.size);
    const key = { ifindex: 7, family: 6 as const, proto: 17, srcIp: "fd00::2", dstIp: "fd00::9", srcPort: 5353, dstPort: 53 };
    encodeCtKey(key, buf);
    expect(buf.readUInt16BE(40)).toBe(5353);
    expect(decodeCtKey(buf)).toEqual(key);
  });

  test("datapath config round-trips", () => {
    const buf = Buffer.alloc(CONFIG.size);
    const config = { ...DEFAULT_DATAPATH_CONFIG, gatewayMac: "02:aa:bb:cc:dd:ee", timeoutsNs: { ...DEFAULT_DATAPATH_CONFIG.timeoutsNs, udp: 5n } };
    encodeConfig(config, buf);
    expect(decodeConfig(buf)).toEqual(config);
  });
});
