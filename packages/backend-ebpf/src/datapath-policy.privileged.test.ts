/**
 * privileged: the rule interpreter in the kernel, through BPF_PROG_TEST_RUN on hand-built
 * packets (no interfaces involved; the endpoint is keyed by lo's ifindex 1).
 */
import { DpAction, DropReason } from "@ptables/api";
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, compiledRule, denyRule } from "./testing/compiled-rule";
import { TCP_ACK, TCP_SYN, ethHeader, ethPacket } from "./testing/packets";
import { TC_ACT_OK, TC_ACT_SHOT, TestRunHarness } from "./testing/test-run-harness";

const POD = "10.65.0.2";
const PEER = "10.65.1.7";
const POD6 = "fd00:65::2";
const PEER6 = "fd00:65:1::7";

let h: TestRunHarness;
let nextProgram = 100;

beforeAll(async () => {
  h = await TestRunHarness.open();
});

afterAll(async () => {
  await h?.close();
});

/** Installs `rules` as the egress program of the endpoint on ifindex 1 (packets "from" it). */
async function egressProgram(rules: Parameters<TestRunHarness["program"]>[1]): Promise<number> {
  const id = nextProgram++;
  await h.program(id, rules);
  h.endpoint(1, { ingressProgram: id, egressProgram: id, flags: 0, ingressLength: rules.length, egressLength: rules.length });
  return id;
}

/** A new flow each call (unique source port), so conntrack never short-cuts policy. */
let nextPort = 20000;
function tcp(dstPort: number, src = POD, dst = PEER): Buffer {
  return ethPacket({ src, dst, proto: "tcp", srcPort: nextPort++, dstPort, tcpFlags: TCP_SYN });
}
function udp(dstPort: number, src = POD, dst = PEER): Buffer {
  return ethPacket({ src, dst, proto: "udp", srcPort: nextPort++, dstPort });
}

describe("privileged: rule interpreter", () => {
  test("allow by protocol, otherwise the terminal deny, counted per rule and per reason", async () => {
    await egressProgram([compiledRule({ proto: PROTO_TCP, counterId: 501n }), denyRule(DropReason.NoProfileMatch, 502n)]);
    const before = await h.dropPackets(DropReason.NoProfileMatch);
    const syn = tcp(80);
    expect(h.run("from", syn).retval).toBe(TC_ACT_OK);
    expect(h.run("from", udp(53)).retval).toBe(TC_ACT_SHOT);
    expect(await h.ruleCounter(501n)).toEqual({ packets: 1n, bytes: BigInt(syn.length) });
    expect((await h.ruleCounter(502n))?.packets).toBe(1n);
    expect(await h.dropPackets(DropReason.NoProfileMatch)).toBe(before + 1n);
  });

  test("log continues, jump skips, deny carries its reason", async () => {
    await egressProgram([
      compiledRule({ action: DpAction.Log, counterId: 601n }),
      compiledRule({ action: DpAction.Jump, jump: 3, proto: PROTO_UDP, counterId: 602n }),
      compiledRule({ action: DpAction.Deny, reason: DropReason.PolicyDeny, proto: PROTO_TCP, counterId: 603n }),
      compiledRule({ proto: PROTO_UDP, dstPorts: 0, counterId: 604n }),
      denyRule(DropReason.EndOfTier, 605n),
    ]);
    const deniedBefore = await h.dropPackets(DropReason.PolicyDeny);
    expect(h.run("from", tcp(80)).retval).toBe(TC_ACT_SHOT);
    expect(await h.dropPackets(DropReason.PolicyDeny)).toBe(deniedBefore + 1n);
    expect(h.run("from", udp(53)).retval).toBe(TC_ACT_OK);
    const endBefore = await h.dropPackets(DropReason.EndOfTier);
    expect(h.run("from", ethPacket({ src: POD, dst: PEER, proto: 47 })).retval).toBe(TC_ACT_SHOT); // GRE
    expect(await h.dropPackets(DropReason.EndOfTier)).toBe(endBefore + 1n);
    expect((await h.ruleCounter(601n))?.packets).toBe(3n);
    expect((await h.ruleCounter(602n))?.packets).toBe(1n);
    expect((await h.ruleCounter(603n))?.packets).toBe(1n);
    expect((await h.ruleCounter(604n))?.packets).toBe(1n);
  });

  test("CIDR sets (any-of, none-of) and IP sets (all-of, none-of), IPv4 and IPv6", async () => {
    await h.members(11, ["10.65.0.0/16", "fd00:65::/64"]); // src net
    await h.members(12, ["10.65.1.7/32"]); // excluded dst net
    await h.members(13, ["10.65.0.2/32", "fd00:65::2/128"]); // selector set A
    await h.members(14, ["10.65.0.0/24", "fd00:65::/120"]); // selector set B
    await h.members(15, ["10.65.0.3/32"]); // excluded src set
    await egressProgram([
      compiledRule({ srcNet: 11, notDstNet: 12, srcSets: [13, 14], notSrcSets: [15] }),
      denyRule(),
    ]);
    expect(h.run("from", tcp(80, POD, "10.65.2.1")).retval).toBe(TC_ACT_OK);
    expect(h.run("from", tcp(80, POD, PEER)).retval).toBe(TC_ACT_SHOT); // dst in the excluded net
    expect(h.run("from", tcp(80, "10.65.0.3", "10.65.2.1")).retval).toBe(TC_ACT_SHOT); // not in set 13, and in 15
    expect(h.run("from", tcp(80, "10.66.0.2", "10.65.2.1")).retval).toBe(TC_ACT_SHOT); // outside the src net
    expect(h.run("from", tcp(80, POD6, PEER6)).retval).toBe(TC_ACT_OK);
    expect(h.run("from", tcp(80, "fd00:65::3", PEER6)).retval).toBe(TC_ACT_SHOT); // not in set 13
  });

  test("port ranges OR named ports; negated ports; destination ip+port sets", async () => {
    await h.portSet(21, [[8000, 8100]]);
    await h.portSet(22, [[8050, 8050]]);
    await h.members(23, ["10.65.9.9/32"], { proto: 6, port: 9443 }); // named port "https" on one pod
    await h.members(24, ["10.65.3.3/32"], { proto: 17, port: 5353 }); // a service
    await egressProgram([
      compiledRule({ proto: PROTO_TCP, dstPorts: 21, notDstPorts: 22, dstNamedPorts: [23], counterId: 701n }),
      compiledRule({ proto: PROTO_UDP, dstIpPortSets: [24], counterId: 702n }),
      denyRule(),
    ]);
    expect(h.run("from", tcp(8000)).retval).toBe(TC_ACT_OK);
    expect(h.run("from", tcp(8100)).retval).toBe(TC_ACT_OK);
    expect(h.run("from", tcp(8101)).retval).toBe(TC_ACT_SHOT);
    expect(h.run("from", tcp(8050)).retval).toBe(TC_ACT_SHOT); // negated
    expect(h.run("from", tcp(9443, POD, "10.65.9.9")).retval).toBe(TC_ACT_OK); // named port
    expect(h.run("from", tcp(9443, POD, "10.65.9.8")).retval).toBe(TC_ACT_SHOT); // named port, other pod
    expect(h.run("from", udp(5353, POD, "10.65.3.3")).retval).toBe(TC_ACT_OK);
    expect(h.run("from", udp(5354, POD, "10.65.3.3")).retval).toBe(TC_ACT_SHOT);
    expect(h.run("from", udp(5353, POD, "10.65.3.4")).retval).toBe(TC_ACT_SHOT);
  });

  test("ICMP type and code, negated type/code, ip version", async () => {
    await egressProgram([
      compiledRule({ ipVersion: 4, proto: PROTO_ICMP, icmpType: 9 }), // echo request (8), any code
      compiledRule({ ipVersion: 4, proto: PROTO_ICMP, icmpType: 4, icmpCode: 2 }), // unreachable (3), code 1 only
      compiledRule({ ipVersion: 6, proto: PROTO_ICMPV6, notIcmpType: 129, notIcmpCode: 0 }), // anything but type 128
      denyRule(),
    ]);
    const icmp = (src: string, dst: string, icmpType: number, icmpCode = 0) =>
      ethPacket({ src, dst, proto: "icmp", icmpType, icmpCode, icmpId: nextPort++ });
    expect(h.run("from", icmp(POD, PEER, 8)).retval).toBe(TC_ACT_OK);
    expect(h.run("from", icmp(POD, PEER, 3, 1)).retval).toBe(TC_ACT_OK);
    expect(h.run("from", icmp(POD, PEER, 3, 2)).retval).toBe(TC_ACT_SHOT);
    expect(h.run("from", icmp(POD, PEER, 13)).retval).toBe(TC_ACT_SHOT);
    expect(h.run("from", icmp(POD6, PEER6, 128)).retval).toBe(TC_ACT_SHOT);
    expect(h.run("from", icmp(POD6, PEER6, 2)).retval).toBe(TC_ACT_OK);
    expect(h.run("from", tcp(80, POD6, PEER6)).retval).toBe(TC_ACT_SHOT); // ipVersion 6 rule has proto icmpv6
  });

  test("IPv6 extension headers are skipped to the transport header", async () => {
    await h.portSet(31, [[443, 443]]);
    await egressProgram([compiledRule({ proto: PROTO_TCP, dstPorts: 31 }), denyRule()]);
    const withExt = (dstPort: number) =>
      ethPacket({ src: POD6, dst: PEER6, proto: "tcp", srcPort: nextPort++, dstPort, tcpFlags: TCP_SYN, extensionHeaders: [0, 60, 43] });
    expect(h.run("from", withExt(443)).retval).toBe(TC_ACT_OK);
    expect(h.run("from", withExt(444)).retval).toBe(TC_ACT_SHOT);
    const tooMany = ethPacket({ src: POD6, dst: PEER6, proto: "tcp", srcPort: 1, dstPort: 443, extensionHeaders: [0, 60, 60, 60, 60, 60, 60, 60, 60] });
    const before = await h.dropPackets(DropReason.Malformed);
    expect(h.run("from", tooMany).retval).toBe(TC_ACT_SHOT);
    expect(await h.dropPackets(DropReason.Malformed)).toBe(before + 1n);
  });

  test("fail closed: no endpoint, missing rule, bad jump, malformed, unknown ethertype", async () => {
    const cases: Array<[string, Buffer, DropReason, () => Promise<void>]> = [
      ["no endpoint", tcp(80), DropReason.NoEndpoint, async () => h.removeEndpoint(1)],
      [
        "missing rule",
        tcp(80),
        DropReason.ProgramError,
        async () => {
          const id = nextProgram++;
          await h.program(id, [compiledRule({ proto: PROTO_UDP })]); // rule 1 of 2 never written
          h.endpoint(1, { ingressProgram: id, egressProgram: id, flags: 0, ingressLength: 2, egressLength: 2 });
        },
      ],
      ["jump beyond the end", tcp(80), DropReason.ProgramError, async () => void (await egressProgram([compiledRule({ action: DpAction.Jump, jump: 2 })]))],
      ["truncated TCP header", tcp(80).subarray(0, 14 + 20 + 6), DropReason.Malformed, async () => undefined],
      ["IPv4 header length < 20", Buffer.concat([ethHeader(0x0800), Buffer.from([0x43]), Buffer.alloc(39)]), DropReason.Malformed, async () => undefined],
      ["unknown ethertype", Buffer.concat([ethHeader(0x88cc), Buffer.alloc(46)]), DropReason.Malformed, async () => undefined],
    ];
    for (const [name, packet, reason, setup] of cases) {
      await setup();
      const before = await h.dropPackets(reason);
      expect([name, h.run("from", packet).retval]).toEqual([name, TC_ACT_SHOT]);
      expect([name, await h.dropPackets(reason)]).toEqual([name, before + 1n]);
    }
  });

  test("running off the end is no decision: the packet passes and is not tracked", async () => {
    await egressProgram([compiledRule({ proto: PROTO_UDP })]);
    const flow = { src: POD, dst: PEER, proto: "tcp" as const, srcPort: nextPort++, dstPort: 80 };
    expect(h.run("from", ethPacket({ ...flow, tcpFlags: TCP_SYN })).retval).toBe(TC_ACT_OK);
    expect((await h.backend.listFlows(10000)).some((f) => f.srcPort === flow.srcPort)).toBe(false);
    await egressProgram([compiledRule({ action: DpAction.Jump, jump: 1 })]); // a jump to the length, likewise
    expect(h.run("from", tcp(80)).retval).toBe(TC_ACT_OK);
  });

  test("any port field needs a packet with ports; any ICMP field needs ICMP (as policy-core reads them)", async () => {
    await h.portSet(41, [[1, 1]]);
    await egressProgram([compiledRule({ notDstPorts: 41, counterId: 801n }), compiledRule({ notIcmpType: 1, counterId: 802n }), denyRule()]);
    const ping = ethPacket({ src: POD, dst: PEER, proto: "icmp", icmpType: 8, icmpId: nextPort++ });
    expect(h.run("from", ping).retval).toBe(TC_ACT_OK); // rule 0 cannot match ICMP; rule 1 does
    expect((await h.ruleCounter(801n))?.packets).toBeUndefined();
    expect((await h.ruleCounter(802n))?.packets).toBe(1n);
    expect(h.run("from", ethPacket({ src: POD, dst: PEER, proto: 47 })).retval).toBe(TC_ACT_SHOT); // neither can match GRE
    expect(h.run("from", tcp(80)).retval).toBe(TC_ACT_OK);
    expect((await h.ruleCounter(801n))?.packets).toBe(1n);
  });

  test("neighbour discovery passes without an endpoint; other ICMPv6 does not", async () => {
    h.removeEndpoint(1);
    const ns = ethPacket({ src: "fe80::1", dst: "ff02::1:ffee:eeee", proto: "icmp", icmpType: 135 });
    expect(h.run("from", ns).retval).toBe(TC_ACT_OK);
    expect(h.run("to", ns).retval).toBe(TC_ACT_OK);
    expect(h.run("from", ethPacket({ src: "fe80::1", dst: "ff02::1", proto: "icmp", icmpType: 128 })).retval).toBe(TC_ACT_SHOT);
  });

  test("admin down and program error stop established flows too", async () => {
    const allowAll = await egressProgram([compiledRule()]);
    const flow = { src: POD, dst: PEER, proto: "tcp" as const, srcPort: 31000, dstPort: 80 };
    expect(h.run("from", ethPacket({ ...flow, tcpFlags: TCP_SYN })).retval).toBe(TC_ACT_OK);
    expect(h.run("from", ethPacket({ ...flow, tcpFlags: TCP_ACK })).retval).toBe(TC_ACT_OK);
    for (const reason of [DropReason.AdminDown, DropReason.ProgramError]) {
      const id = nextProgram++;
      await h.program(id, [denyRule(reason)]);
      h.endpoint(1, { ingressProgram: id, egressProgram: id, flags: 0, ingressLength: 1, egressLength: 1 });
      const before = await h.dropPackets(reason);
      expect(h.run("from", ethPacket({ ...flow, tcpFlags: TCP_ACK })).retval).toBe(TC_ACT_SHOT);
      expect(await h.dropPackets(reason)).toBe(before + 1n);
    }
    // A plain deny-all policy does not cut the established flow (conntrack first, as Felix does).
    const id = nextProgram++;
    await h.program(id, [denyRule(DropReason.NoProfileMatch)]);
    h.endpoint(1, { ingressProgram: allowAll, egressProgram: id, flags: 0, ingressLength: 1, egressLength: 1 });
    expect(h.run("from", ethPacket({ ...flow, tcpFlags: TCP_ACK })).retval).toBe(TC_ACT_OK);
  });

  test("VXLAN and IPIP from a workload are dropped when the endpoint says so", async () => {
    const id = nextProgram++;
    await h.program(id, [compiledRule()]);
    h.endpoint(1, { ingressProgram: id, egressProgram: id, flags: 1, ingressLength: 1, egressLength: 1 });
    const before = await h.dropPackets(DropReason.EncapFromWorkload);
    expect(h.run("from", udp(4789)).retval).toBe(TC_ACT_SHOT);
    expect(h.run("from", ethPacket({ src: POD, dst: PEER, proto: 4 })).retval).toBe(TC_ACT_SHOT);
    expect(h.run("to", udp(4789, PEER, POD)).retval).toBe(TC_ACT_OK); // only traffic from the workload
    expect(await h.dropPackets(DropReason.EncapFromWorkload)).toBe(before + 2n);
    h.endpoint(1, { ingressProgram: id, egressProgram: id, flags: 0, ingressLength: 1, egressLength: 1 });
    expect(h.run("from", udp(4789)).retval).toBe(TC_ACT_OK);
  });

  test("the two hooks run the two programs", async () => {
    const allow = nextProgram++;
    const deny = nextProgram++;
    await h.program(allow, [compiledRule()]);
    await h.program(deny, [denyRule()]);
    h.endpoint(1, { ingressProgram: deny, egressProgram: allow, flags: 0, ingressLength: 1, egressLength: 1 });
    expect(h.run("from", tcp(80)).retval).toBe(TC_ACT_OK);
    expect(h.run("to", tcp(80, PEER, POD)).retval).toBe(TC_ACT_SHOT);
  });
});
