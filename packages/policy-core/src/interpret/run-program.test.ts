import { DpAction, DropReason, ValidationError, type CompiledRule } from "@ptables/api";
import { blankRule, runProgram, TableSetLookup } from "../index";
import { icmp, raw, tcp, udp } from "../testing";

const NO_SETS = new TableSetLookup();
const rule = (action: DpAction, fields: Partial<CompiledRule> = {}): CompiledRule => ({ ...blankRule(action), ...fields });
const pkt = tcp("10.0.0.1:1000", "10.0.0.2:80");

describe("runProgram control flow", () => {
  test("first Allow/Deny decides; Log records and continues", () => {
    const r = runProgram([rule(DpAction.Log), rule(DpAction.Deny, { proto: 18 }), rule(DpAction.Log), rule(DpAction.Deny, { reason: DropReason.PolicyDeny })], NO_SETS, pkt);
    expect(r).toEqual({ verdict: "deny", reason: DropReason.PolicyDeny, ruleIndex: 3, logged: [0, 2] });
    expect(runProgram([rule(DpAction.Allow)], NO_SETS, pkt)).toEqual({ verdict: "allow", reason: DropReason.None, ruleIndex: 0, logged: [] });
  });

  test("a matching Jump continues at its target; a non-matching one falls through", () => {
    const prog = [rule(DpAction.Jump, { jump: 2, proto: 7 }), rule(DpAction.Deny, { reason: DropReason.EndOfTier }), rule(DpAction.Allow)];
    expect(runProgram(prog, NO_SETS, pkt)).toMatchObject({ verdict: "allow", ruleIndex: 2 });
    expect(runProgram(prog, NO_SETS, udp("10.0.0.1:1", "10.0.0.2:2"))).toMatchObject({ verdict: "deny", reason: DropReason.EndOfTier, ruleIndex: 1 });
  });

  test("running off the end is 'continue'; a jump to the length does the same", () => {
    expect(runProgram([], NO_SETS, pkt)).toEqual({ verdict: "continue", reason: DropReason.None, ruleIndex: 0, logged: [] });
    expect(runProgram([rule(DpAction.Jump, { jump: 2 }), rule(DpAction.Allow)], NO_SETS, pkt)).toMatchObject({ verdict: "continue", ruleIndex: 2 });
  });

  test("backward, self, out-of-range jumps, unknown actions and the step bound fail closed", () => {
    const failed = { verdict: "deny", reason: DropReason.ProgramError };
    expect(runProgram([rule(DpAction.Log), rule(DpAction.Jump, { jump: 0 })], NO_SETS, pkt)).toMatchObject({ ...failed, ruleIndex: 1 });
    expect(runProgram([rule(DpAction.Jump, { jump: 0 })], NO_SETS, pkt)).toMatchObject(failed);
    expect(runProgram([rule(DpAction.Jump, { jump: 5 })], NO_SETS, pkt)).toMatchObject(failed);
    expect(runProgram([rule(99 as DpAction)], NO_SETS, pkt)).toMatchObject(failed);
    expect(runProgram([rule(DpAction.Log), rule(DpAction.Log), rule(DpAction.Allow)], NO_SETS, pkt, { maxSteps: 2 })).toMatchObject({ ...failed, ruleIndex: 2 });
  });

  test("a bad packet is a ValidationError", () => {
    expect(() => runProgram([], NO_SETS, { ...pkt, srcIp: "fd00::1" })).toThrow(new ValidationError("packet", "srcIp fd00::1 is not an IPv4 address"));
  });
});

describe("rule fields as the datapath reads them", () => {
  const sets = TableSetLookup.from(
    [
      { setId: 1, family: 4, proto: 0, port: 0, addr: "10.0.0.0", prefixLen: 8 },
      { setId: 2, family: 4, proto: 6, port: 80, addr: "10.0.0.2", prefixLen: 32 },
    ],
    [{ setId: 3, port: 80, prefixLen: 16 }],
  );
  const matches = (fields: Partial<CompiledRule>, p = pkt): boolean => runProgram([rule(DpAction.Allow, fields)], sets, p).verdict === "allow";

  test("ipVersion, proto + 1 and notProto + 1", () => {
    expect([matches({ ipVersion: 4 }), matches({ ipVersion: 6 }), matches({ proto: 7 }), matches({ proto: 6 }), matches({ notProto: 7 }), matches({ notProto: 1 })]).toEqual([true, false, true, false, false, true]);
  });

  test("address sets: positive needs membership, negated needs none; lists are all-of / none-of", () => {
    expect([matches({ srcNet: 1 }), matches({ notSrcNet: 1 }), matches({ dstSets: [1, 9] }), matches({ notDstSets: [9] }), matches({ notDstSets: [9, 1] })]).toEqual([true, false, false, true, false]);
  });

  test("ports: set OR named sets; any port field fails a protocol without ports", () => {
    expect([matches({ dstPorts: 3 }), matches({ dstPorts: 9, dstNamedPorts: [2] }), matches({ notDstPorts: 3 }), matches({ dstIpPortSets: [2] }), matches({ srcNamedPorts: [2] })]).toEqual([true, true, false, true, false]);
    expect(matches({ notDstPorts: 9 }, raw(253, "10.0.0.1", "10.0.0.2"))).toBe(false);
    expect(matches({ notDstNamedPorts: [9] }, icmp("10.0.0.1", "10.0.0.2"))).toBe(false);
  });

  test("icmp fields hold type/code + 1 and need ICMP of the packet's family", () => {
    const echo = icmp("10.0.0.1", "10.0.0.2", 8, 0);
    expect([matches({ icmpType: 9 }, echo), matches({ icmpType: 9, icmpCode: 2 }, echo), matches({ notIcmpType: 9 }, echo), matches({ notIcmpType: 9, notIcmpCode: 2 }, echo)]).toEqual([true, false, false, true]);
    expect(matches({ notIcmpType: 1 }, pkt)).toBe(false);
  });
});
