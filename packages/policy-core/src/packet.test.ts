import { ValidationError } from "@ptables/api";
import { createModelLookup, evaluatePolicy, parsePacket, type Packet } from "./index";
import { policy, workload } from "./testing";

describe("packets", () => {
  test("ports are read only for port-bearing protocols; ICMP fields only for the family's ICMP", () => {
    expect(parsePacket({ family: 4, srcIp: "10.0.0.1", dstIp: "10.0.0.2", proto: 1, icmpType: 8, srcPort: 5 })).toMatchObject({ hasPorts: false, srcPort: 0, isIcmp: true, icmpType: 8, icmpCode: 0 });
    expect(parsePacket({ family: 6, srcIp: "::1", dstIp: "::2", proto: 1 })).toMatchObject({ isIcmp: false });
    expect(parsePacket({ family: 6, srcIp: "::1", dstIp: "::2", proto: 136, srcPort: 1, dstPort: 2 })).toMatchObject({ hasPorts: true, dstPort: 2 });
  });

  test.each<[Partial<Packet>, string]>([
    [{ family: 5 as 4 }, "family 5 is not 4 or 6"],
    [{ srcIp: "10.0.0.300" }, 'srcIp "10.0.0.300" is not an IP address'],
    [{ dstIp: "fd00::1" }, "dstIp fd00::1 is not an IPv4 address"],
    [{ proto: 300 }, "proto 300 is not 0..255"],
    [{ dstPort: undefined }, "dstPort undefined is not 0..65535 (required for port-bearing protocols)"],
    [{ srcPort: 1.5 }, "srcPort 1.5 is not 0..65535 (required for port-bearing protocols)"],
  ])("%j is refused: %s", (change, message) => {
    const packet: Packet = { family: 4, srcIp: "10.0.0.1", dstIp: "10.0.0.2", proto: 6, srcPort: 1, dstPort: 2, ...change };
    expect(() => parsePacket(packet)).toThrow(new ValidationError("packet", message));
    // The evaluator reports the same error rather than a verdict.
    expect(() => evaluatePolicy(createModelLookup({ policies: [policy("p")] }), { kind: "workload", endpoint: workload() }, "ingress", packet)).toThrow(ValidationError);
  });

  test("ICMP needs a type", () => {
    expect(() => parsePacket({ family: 4, srcIp: "10.0.0.1", dstIp: "10.0.0.2", proto: 1 })).toThrow("icmpType undefined is not 0..255");
  });
});
