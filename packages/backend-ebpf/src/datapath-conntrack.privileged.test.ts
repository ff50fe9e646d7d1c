/**
 * privileged: conntrack in the kernel, through BPF_PROG_TEST_RUN. The endpoint (ifindex 1)
 * allows everything it sends and denies everything sent to it, so any packet "to" it that
 * passes was let through by conntrack.
 */
import { DropReason } from "@ptables/api";
import { compiledRule, denyRule } from "./testing/compiled-rule";
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, ethPacket, ipPacket, type IpSpec } from "./testing/packets";
import { TC_ACT_OK, TC_ACT_SHOT, TestRunHarness } from "./testing/test-run-harness";

const POD = "10.65.0.2";
const PEER = "10.65.1.7";
const POD6 = "fd00:65::2";
const PEER6 = "fd00:65:1::7";
const ALLOW = 1;
const DENY = 2;

let h: TestRunHarness;
let nextPort = 40000;

beforeAll(async () => {
  h = await TestRunHarness.open();
  await h.program(ALLOW, [compiledRule()]);
  await h.program(DENY, [denyRule(DropReason.PolicyDeny)]);
});

beforeEach(() => {
  h.endpoint(1, { ingressProgram: DENY, egressProgram: ALLOW, flags: 0, ingressLength: 1, egressLength: 1 });
});

afterAll(async () => {
  await h?.close();
});

/** The reply direction of `spec` (addresses and ports swapped). */
function reverse(spec: IpSpec, change: Partial<IpSpec>): IpSpec {
  return { ...spec, src: spec.dst, dst: spec.src, srcPort: spec.dstPort, dstPort: spec.srcPort, ...change };
}

async function flowState(srcPort: number): Promise<string | undefined> {
  return (await h.backend.listFlows(10000)).find((f) => f.srcPort === srcPort)?.state;
}

describe("privileged: conntrack", () => {
  test("TCP: replies pass, the handshake and teardown are tracked, unsolicited packets are denied", async () => {
    const out: IpSpec = { src: POD, dst: PEER, proto: "tcp", srcPort: nextPort++, dstPort: 80 };
    expect(h.run("from", ethPacket({ ...out, tcpFlags: TCP_SYN })).retval).toBe(TC_ACT_OK);
    expect(await flowState(out.srcPort!)).toBe("syn-sent");
    expect(h.run("to", ethPacket(reverse(out, { tcpFlags: TCP_SYN | TCP_ACK }))).retval).toBe(TC_ACT_OK);
    expect(await flowState(out.srcPort!)).toBe("syn-recv");
    expect(h.run("from", ethPacket({ ...out, tcpFlags: TCP_ACK })).retval).toBe(TC_ACT_OK);
    expect(await flowState(out.srcPort!)).toBe("established");
    expect(h.run("to", ethPacket(reverse(out, { tcpFlags: TCP_ACK, payload: Buffer.alloc(100) }))).retval).toBe(TC_ACT_OK);
    expect(h.run("from", ethPacket({ ...out, tcpFlags: TCP_FIN | TCP_ACK })).retval).toBe(TC_ACT_OK);
    expect(await flowState(out.srcPort!)).toBe("fin-wait");
    expect(h.run("to", ethPacket(reverse(out, { tcpFlags: TCP_RST }))).retval).toBe(TC_ACT_OK);
    expect(await flowState(out.srcPort!)).toBe("closed");

    const flow = (await h.backend.listFlows(10000)).find((f) => f.srcPort === out.srcPort)!;
    expect(flow).toMatchObject({ ifname: "lo", family: 4, proto: 6, srcIp: POD, dstIp: PEER, dstPort: 80, packets: 6n });

    // A connection the peer opens towards the pod meets the pod's (deny) ingress policy.
    const before = await h.dropPackets(DropReason.PolicyDeny);
    expect(h.run("to", ethPacket({ src: PEER, dst: POD, proto: "tcp", srcPort: 80, dstPort: nextPort++, tcpFlags: TCP_SYN })).retval).toBe(TC_ACT_SHOT);
    expect(await h.dropPackets(DropReason.PolicyDeny)).toBe(before + 1n);
  });

  test("the same tuple in the originator's direction at the other hook is not a reply", async () => {
    const out: IpSpec = { src: POD, dst: PEER, proto: "udp", srcPort: nextPort++, dstPort: 53 };
    expect(h.run("from", ethPacket(out)).retval).toBe(TC_ACT_OK);
    // Same orientation, arriving towards the pod: not a forward hit at this hook, not a reply.
    expect(h.run("to", ethPacket(out)).retval).toBe(TC_ACT_SHOT);
    expect(h.run("to", ethPacket(reverse(out, {}))).retval).toBe(TC_ACT_OK);
  });

  test("a fresh SYN on a closed tuple goes to policy again", async () => {
    const out: IpSpec = { src: PEER, dst: POD, proto: "tcp", srcPort: nextPort++, dstPort: 8080 };
    h.endpoint(1, { ingressProgram: ALLOW, egressProgram: ALLOW, flags: 0, ingressLength: 1, egressLength: 1 });
    expect(h.run("to", ethPacket({ ...out, tcpFlags: TCP_SYN })).retval).toBe(TC_ACT_OK);
    expect(h.run("to", ethPacket({ ...out, tcpFlags: TCP_RST })).retval).toBe(TC_ACT_OK);
    h.endpoint(1, { ingressProgram: DENY, egressProgram: ALLOW, flags: 0, ingressLength: 1, egressLength: 1 });
    expect(h.run("to", ethPacket({ ...out, tcpFlags: TCP_SYN })).retval).toBe(TC_ACT_SHOT);
  });

  test("invalid TCP flag combinations are dropped as CtInvalid", async () => {
    const before = await h.dropPackets(DropReason.CtInvalid);
    for (const flags of [TCP_SYN | TCP_FIN, TCP_SYN | TCP_RST, 0, TCP_FIN]) {
      expect(h.run("from", ethPacket({ src: POD, dst: PEER, proto: "tcp", srcPort: nextPort++, dstPort: 80, tcpFlags: flags })).retval).toBe(TC_ACT_SHOT);
    }
    expect(await h.dropPackets(DropReason.CtInvalid)).toBe(before + 4n);
  });

  test("TCP without a SYN is picked up loosely when policy allows it", async () => {
    const out: IpSpec = { src: POD, dst: PEER, proto: "tcp", srcPort: nextPort++, dstPort: 443, tcpFlags: TCP_ACK };
    expect(h.run("from", ethPacket(out)).retval).toBe(TC_ACT_OK);
    expect(await flowState(out.srcPort!)).toBe("established");
    expect(h.run("to", ethPacket(reverse(out, { tcpFlags: TCP_ACK }))).retval).toBe(TC_ACT_OK);
  });

  test("UDP and IPv6 replies pass", async () => {
    for (const [src, dst] of [[POD, PEER], [POD6, PEER6]] as const) {
      const out: IpSpec = { src, dst, proto: "udp", srcPort: nextPort++, dstPort: 53 };
      expect(h.run("to", ethPacket(reverse(out, {}))).retval).toBe(TC_ACT_SHOT); // nothing sent yet
      expect(h.run("from", ethPacket(out)).retval).toBe(TC_ACT_OK);
      expect(h.run("to", ethPacket(reverse(out, {}))).retval).toBe(TC_ACT_OK);
    }
  });

  test("ICMP echo: the reply passes, a request from the peer with the same id does not", async () => {
    for (const [src, dst, request, reply] of [[POD, PEER, 8, 0], [POD6, PEER6, 128, 129]] as const) {
      const id = nextPort++;
      expect(h.run("from", ethPacket({ src, dst, proto: "icmp", icmpType: request, icmpId: id })).retval).toBe(TC_ACT_OK);
      expect(h.run("to", ethPacket({ src: dst, dst: src, proto: "icmp", icmpType: request, icmpId: id })).retval).toBe(TC_ACT_SHOT);
      expect(h.run("to", ethPacket({ src: dst, dst: src, proto: "icmp", icmpType: reply, icmpId: id })).retval).toBe(TC_ACT_OK);
    }
  });

  test("ICMP errors about a tracked flow are related; others meet policy", async () => {
    for (const [src, dst, router, unreachable] of [[POD, PEER, "10.0.0.1", 3], [POD6, PEER6, "fd00::1", 1]] as const) {
      const out: IpSpec = { src, dst, proto: "udp", srcPort: nextPort++, dstPort: 53 };
      const quoted = ipPacket(out);
      const error = (payload: Buffer) => ethPacket({ src: router, dst: src, proto: "icmp", icmpType: unreachable, icmpCode: 3, payload });
      expect(h.run("to", error(quoted)).retval).toBe(TC_ACT_SHOT); // flow not tracked yet
      expect(h.run("from", ethPacket(out)).retval).toBe(TC_ACT_OK);
      expect(h.run("to", error(quoted)).retval).toBe(TC_ACT_OK);
      expect(h.run("to", error(ipPacket({ ...out, dstPort: 54 }))).retval).toBe(TC_ACT_SHOT);
    }
  });

  test("an entry idle past its state's timeout counts as absent", async () => {
    const out: IpSpec = { src: POD, dst: PEER, proto: "udp", srcPort: nextPort++, dstPort: 123 };
    expect(h.run("from", ethPacket(out)).retval).toBe(TC_ACT_OK);
    expect(h.run("to", ethPacket(reverse(out, {}))).retval).toBe(TC_ACT_OK);
    await h.backend.setConntrackTimeouts({ udp: 1n }); // 1 ns: expired by the next packet
    try {
      expect(h.run("to", ethPacket(reverse(out, {}))).retval).toBe(TC_ACT_SHOT);
    } finally {
      await h.backend.setConntrackTimeouts({ udp: 0n });
    }
    expect((await h.backend.getConntrackTimeouts()).udp).toBe(0n);
  });

  test("fragments follow their first fragment; orphans are invalid", async () => {
    const out: IpSpec = { src: POD, dst: PEER, proto: "udp", srcPort: nextPort++, dstPort: 5000 };
    expect(h.run("from", ethPacket({ ...out, fragment: { offset: 0, more: true, id: 77 } })).retval).toBe(TC_ACT_OK);
    expect(h.run("from", ethPacket({ ...out, fragment: { offset: 185, more: false, id: 77 } })).retval).toBe(TC_ACT_OK);
    // Reply fragments: the first one passes via conntrack, and so does the rest.
    const back = reverse(out, {});
    expect(h.run("to", ethPacket({ ...back, fragment: { offset: 0, more: true, id: 9 } })).retval).toBe(TC_ACT_OK);
    expect(h.run("to", ethPacket({ ...back, fragment: { offset: 185, more: false, id: 9 } })).retval).toBe(TC_ACT_OK);
    const before = await h.dropPackets(DropReason.CtInvalid);
    expect(h.run("to", ethPacket({ ...back, fragment: { offset: 185, more: false, id: 10 } })).retval).toBe(TC_ACT_SHOT);
    expect(await h.dropPackets(DropReason.CtInvalid)).toBe(before + 1n);
    // IPv6 fragment header.
    const out6: IpSpec = { src: POD6, dst: PEER6, proto: "udp", srcPort: nextPort++, dstPort: 5000 };
    expect(h.run("from", ethPacket({ ...out6, fragment: { offset: 0, more: true, id: 0x10203 } })).retval).toBe(TC_ACT_OK);
    expect(h.run("to", ethPacket({ ...reverse(out6, {}), fragment: { offset: 0, more: true, id: 5 } })).retval).toBe(TC_ACT_OK);
    expect(h.run("to", ethPacket({ ...reverse(out6, {}), fragment: { offset: 100, more: false, id: 5 } })).retval).toBe(TC_ACT_OK);
  });

  test("deleteFlows removes entries, after which replies meet policy", async () => {
    const out: IpSpec = { src: POD, dst: PEER, proto: "udp", srcPort: nextPort++, dstPort: 9999 };
    expect(h.run("from", ethPacket(out)).retval).toBe(TC_ACT_OK);
    const flows = (await h.backend.listFlows(10000)).filter((f) => f.srcPort === out.srcPort);
    expect(flows).toHaveLength(1);
    expect(await h.backend.deleteFlows(flows)).toBe(1);
    expect(await h.backend.deleteFlows(flows)).toBe(0);
    expect(h.run("to", ethPacket(reverse(out, {}))).retval).toBe(TC_ACT_SHOT);
  });
});
