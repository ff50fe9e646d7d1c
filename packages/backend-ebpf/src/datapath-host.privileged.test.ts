/**
 * privileged: the host-endpoint and Service paths of the C datapath under BPF_PROG_TEST_RUN,
 * run inside a namespace of this test's own (veths there give the hooks real ifindexes):
 * host interfaces without an entry and watch-only entries pass; "to the host" (the host-address
 * set, multicast) vs forwarded at ingress, sent by the host vs forwarded at egress; untracked
 * programs before conntrack; pre-DNAT; conntrack on a host interface; a workload's toHost
 * program; and a workload's flow to a Service: deferred at from_ep (mark), resolved after DNAT at
 * the backend's to_ep or at a host interface's egress, or at the client's to_ep on the reply when
 * the backend is the host itself.
 */
import { execFileSync } from "node:child_process";
import { DpAction, DropReason, EndpointFlags, WELL_KNOWN_SETS, type CompiledRule, type EndpointValue } from "@ptables/api";
import { removeBpfDir } from "./native/bpffs";
import { PROTO_TCP, compiledRule, denyRule } from "./testing/compiled-rule";
import { ensureBpfObject } from "./testing/bpf-object-build";
import { TCP_ACK, TCP_SYN, arpPacket, ethPacket, type IpSpec } from "./testing/packets";
import { RemoteBackend } from "./testing/remote-backend";
import { uniqueBpfDir } from "./testing/test-bpf-dir";
import { TC_ACT_OK, TC_ACT_SHOT, portRangePrefixes } from "./testing/test-run-harness";

const isRoot = process.getuid?.() === 0;
const describeIfRoot = isRoot ? describe : describe.skip;

const tag = String(process.pid % 100000);
const ns = `pthostdp-${tag}`;
const POD_A = `ptha${tag}`; // a workload (the Service client)
const POD_B = `pthb${tag}`; // a workload (a Service backend)
const HOST = `pthh${tag}`; // a host interface
const bpfDir = uniqueBpfDir();

const MARK_DEFERRED = 0x80000000;
const MARK_SLOT_MASK = 0x7fff0000;

const A_IP = "10.65.0.2";
const B_IP = "10.65.0.3";
const HOST_IP = "10.0.0.1";
const PEER_IP = "10.0.0.9";
const SVC_IP = "10.96.0.10";
const REMOTE_IP = "10.254.0.2";

// Programs.
const ALLOW = 1;
const DENY = 2;
const TO_HOST_DROP = 3;
const A_EGRESS = 4; // allow tcp to B:8080 and to REMOTE:8080, deny the rest
const UNTRACKED_8081 = 5; // allow tcp dport 8081 (else no decision)
const UNTRACKED_DENY = 6; // deny tcp sport 7070 (else no decision)
const PRE_DNAT = 7; // deny tcp dport 30080, allow tcp dport 30081 (else no decision)
// Sets.
const NET_B_REMOTE = 0x80000101;
const PORTS_8080 = 0x201;
const PORTS_8081 = 0x202;
const PORTS_30080 = 0x203;
const PORTS_30081 = 0x204;
const PORTS_7070 = 0x205;

let backend: RemoteBackend;
const ifindex: Record<string, number> = {};
let nextPort = 41000;

const sh = (argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8" });

async function write<K, V>(table: keyof RemoteBackend["tables"], upserts: Array<[K, V]>): Promise<void> {
  const errors = await (backend.tables[table] as unknown as { applyBatch(u: Array<[K, V]>, d: K[]): Promise<Array<{ message: string }>> }).applyBatch(upserts, []);
  expect(errors).toEqual([]);
}

async function program(id: number, rules: CompiledRule[]): Promise<void> {
  await write("rules", rules.map((rule, index) => [{ programId: id, index }, rule] as [unknown, CompiledRule]));
}

async function endpoint(ifname: string, value: EndpointValue): Promise<void> {
  await write("endpoints", [[{ ifname }, value]]);
}

const workload = (egress: number, ingress: number, extra: Partial<EndpointValue> = {}): EndpointValue => ({
  ingressProgram: ingress,
  ingressLength: 1,
  egressProgram: egress,
  egressLength: egress === A_EGRESS ? 3 : 1,
  flags: EndpointFlags.DropEncapFromWorkload,
  ...extra,
});

const host = (extra: Partial<EndpointValue> = {}): EndpointValue => ({ ingressProgram: 0, ingressLength: 0, egressProgram: 0, egressLength: 0, flags: EndpointFlags.HostEndpoint, ...extra });

const ref = (program: number, length = 1) => ({ program, length });

async function run(hook: "from" | "to" | "host-in" | "host-out", ifname: string, packet: Buffer, opts: { mark?: number; ingressIfindex?: number } = {}) {
  return backend.testRun(hook, packet, { ifindex: ifindex[ifname]!, ...opts });
}

async function drops(reason: DropReason): Promise<bigint> {
  return (await backend.readDropCounters()).get(reason)?.packets ?? 0n;
}

async function flowsOn(ifname: string, srcPort: number) {
  return (await backend.listFlows(10000)).filter((f) => f.ifname === ifname && (f.srcPort === srcPort || f.dstPort === srcPort));
}

const tcp = (src: string, dst: string, srcPort: number, dstPort: number, tcpFlags = TCP_SYN): IpSpec => ({ src, dst, proto: "tcp", srcPort, dstPort, tcpFlags });

describeIfRoot("privileged: host endpoint and Service paths (BPF_PROG_TEST_RUN)", () => {
  beforeAll(async () => {
    ensureBpfObject();
    sh(["ip", "netns", "add", ns]);
    sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    for (const d of [POD_A, POD_B, HOST]) {
      // A veth pair with both ends in the namespace (the kernel here has no dummy devices).
      sh(["ip", "-n", ns, "link", "add", d, "type", "veth", "peer", "name", `${d}p`]);
      sh(["ip", "-n", ns, "link", "set", d, "up"]);
    }
    for (const link of JSON.parse(sh(["ip", "-n", ns, "-j", "link", "show"])) as Array<{ ifname: string; ifindex: number }>) ifindex[link.ifname] = link.ifindex;
    backend = RemoteBackend.start({ ns, bpfDir, mapSizes: { members: 4096, portSets: 1024, rules: 4096, endpoints: 64, conntrack: 4096, counters: 4096, frags: 64, svcPending: 1024 } });
    await backend.open();
    await write("setMembers", [
      [{ setId: WELL_KNOWN_SETS.hostAddresses, family: 4, proto: 0, port: 0, addr: HOST_IP, prefixLen: 32 }, true],
      [{ setId: WELL_KNOWN_SETS.serviceNets, family: 4, proto: 0, port: 0, addr: "10.96.0.0", prefixLen: 12 }, true],
      [{ setId: NET_B_REMOTE, family: 4, proto: 0, port: 0, addr: B_IP, prefixLen: 32 }, true],
      [{ setId: NET_B_REMOTE, family: 4, proto: 0, port: 0, addr: REMOTE_IP, prefixLen: 32 }, true],
    ]);
    await write(
      "portSets",
      (
        [
          [PORTS_8080, 8080],
          [PORTS_8081, 8081],
          [PORTS_30080, 30080],
          [PORTS_30081, 30081],
          [PORTS_7070, 7070],
        ] as const
      ).flatMap(([setId, port]) => portRangePrefixes(port, port).map((p) => [{ setId, ...p }, true] as [unknown, true])),
    );
    await program(ALLOW, [compiledRule()]);
    await program(DENY, [denyRule(DropReason.PolicyDeny)]);
    await program(TO_HOST_DROP, [denyRule(DropReason.EndpointToHost)]);
    await program(A_EGRESS, [
      compiledRule({ proto: PROTO_TCP, dstNet: NET_B_REMOTE, dstPorts: PORTS_8080 }),
      compiledRule({ proto: PROTO_TCP, dstNet: WELL_KNOWN_SETS.serviceNets, dstPorts: PORTS_8081 }),
      denyRule(DropReason.PolicyDeny),
    ]);
    await program(UNTRACKED_8081, [compiledRule({ proto: PROTO_TCP, dstPorts: PORTS_8081 })]);
    await program(UNTRACKED_DENY, [compiledRule({ action: DpAction.Deny, reason: DropReason.PolicyDeny, proto: PROTO_TCP, srcPorts: PORTS_7070 })]);
    await program(PRE_DNAT, [
      compiledRule({ action: DpAction.Deny, reason: DropReason.PolicyDeny, proto: PROTO_TCP, dstPorts: PORTS_30080 }),
      compiledRule({ proto: PROTO_TCP, dstPorts: PORTS_30081 }),
    ]);
  }, 60_000);

  afterAll(async () => {
    try {
      await backend?.cleanup().catch(() => undefined);
      await backend?.stop();
    } finally {
      sh(["ip", "netns", "del", ns]);
      removeBpfDir(bpfDir);
    }
  });

  test("a host interface without an entry, non-IP frames and a watch-only entry all pass", async () => {
    // No entry for HOST yet (the tests below write their own): everything passes.
    const denied = tcp(PEER_IP, HOST_IP, nextPort++, 80);
    expect((await run("host-in", HOST, ethPacket(denied))).retval).toBe(TC_ACT_OK);
    await endpoint(HOST, host({ ingressProgram: DENY, ingressLength: 1, egressProgram: DENY, egressLength: 1 }));
    expect((await run("host-in", HOST, ethPacket(denied))).retval).toBe(TC_ACT_SHOT);
    expect((await run("host-in", HOST, arpPacket({ op: 1, senderMac: "02:00:00:00:00:09", senderIp: PEER_IP, targetIp: HOST_IP }))).retval).toBe(TC_ACT_OK);
    await endpoint(HOST, host());
    expect((await run("host-in", HOST, ethPacket(denied))).retval).toBe(TC_ACT_OK);
    expect((await run("host-out", HOST, ethPacket(tcp(HOST_IP, PEER_IP, nextPort++, 80)))).retval).toBe(TC_ACT_OK);
    expect(await flowsOn(HOST, denied.srcPort!)).toEqual([]);
  });

  test("ingress: the host's addresses and multicast meet the normal program, other destinations the forward one", async () => {
    await endpoint(HOST, host({ ingressProgram: ALLOW, ingressLength: 1, egressProgram: ALLOW, egressLength: 1, forwardIngress: ref(DENY) }));
    expect((await run("host-in", HOST, ethPacket(tcp(PEER_IP, HOST_IP, nextPort++, 80)))).retval).toBe(TC_ACT_OK);
    expect((await run("host-in", HOST, ethPacket({ src: PEER_IP, dst: "224.0.0.5", proto: "udp", srcPort: 5000, dstPort: 5000 }))).retval).toBe(TC_ACT_OK);
    expect((await run("host-in", HOST, ethPacket(tcp(PEER_IP, A_IP, nextPort++, 80)))).retval).toBe(TC_ACT_SHOT);
    await endpoint(HOST, host({ ingressProgram: DENY, ingressLength: 1, egressProgram: ALLOW, egressLength: 1, forwardIngress: ref(ALLOW) }));
    expect((await run("host-in", HOST, ethPacket(tcp(PEER_IP, HOST_IP, nextPort++, 80)))).retval).toBe(TC_ACT_SHOT);
    expect((await run("host-in", HOST, ethPacket(tcp(PEER_IP, A_IP, nextPort++, 80)))).retval).toBe(TC_ACT_OK);
  });

  test("egress: packets the host sends meet the normal program, routed ones the forward one; replies pass by conntrack", async () => {
    await endpoint(HOST, host({ ingressProgram: DENY, ingressLength: 1, egressProgram: ALLOW, egressLength: 1, forwardEgress: ref(DENY) }));
    const own = tcp(HOST_IP, PEER_IP, nextPort++, 443);
    expect((await run("host-out", HOST, ethPacket(own), { ingressIfindex: 0 })).retval).toBe(TC_ACT_OK);
    expect((await run("host-out", HOST, ethPacket(tcp(A_IP, PEER_IP, nextPort++, 443)), { ingressIfindex: ifindex[POD_A] })).retval).toBe(TC_ACT_SHOT);
    // The reply of the host's own flow passes the deny-all normal ingress program.
    const reply = tcp(PEER_IP, HOST_IP, 443, own.srcPort!, TCP_SYN | TCP_ACK);
    expect((await run("host-in", HOST, ethPacket(reply))).retval).toBe(TC_ACT_OK);
    expect((await flowsOn(HOST, own.srcPort!)).map((f) => f.state)).toEqual(["syn-recv"]);
    expect((await run("host-in", HOST, ethPacket(tcp(PEER_IP, HOST_IP, nextPort++, 443)))).retval).toBe(TC_ACT_SHOT);
  });

  test("untracked programs run first: allow passes without conntrack, deny drops even an established flow", async () => {
    await endpoint(HOST, host({ ingressProgram: DENY, ingressLength: 1, egressProgram: ALLOW, egressLength: 1, untrackedIngress: ref(UNTRACKED_8081) }));
    const allowed = tcp(PEER_IP, HOST_IP, nextPort++, 8081);
    expect((await run("host-in", HOST, ethPacket(allowed))).retval).toBe(TC_ACT_OK);
    expect(await flowsOn(HOST, allowed.srcPort!)).toEqual([]);
    expect((await run("host-in", HOST, ethPacket(tcp(PEER_IP, HOST_IP, nextPort++, 8082)))).retval).toBe(TC_ACT_SHOT);

    const own = tcp(HOST_IP, PEER_IP, nextPort++, 7070);
    expect((await run("host-out", HOST, ethPacket(own))).retval).toBe(TC_ACT_OK);
    const reply = tcp(PEER_IP, HOST_IP, 7070, own.srcPort!, TCP_SYN | TCP_ACK);
    expect((await run("host-in", HOST, ethPacket(reply))).retval).toBe(TC_ACT_OK);
    await endpoint(HOST, host({ ingressProgram: DENY, ingressLength: 1, egressProgram: ALLOW, egressLength: 1, untrackedIngress: ref(UNTRACKED_DENY) }));
    const before = await drops(DropReason.PolicyDeny);
    expect((await run("host-in", HOST, ethPacket({ ...reply, tcpFlags: TCP_ACK }))).retval).toBe(TC_ACT_SHOT);
    expect(await drops(DropReason.PolicyDeny)).toBe(before + 1n);
  });

  test("pre-DNAT: deny drops, allow accepts and tracks before the normal program, no decision goes on", async () => {
    await endpoint(HOST, host({ ingressProgram: DENY, ingressLength: 1, egressProgram: ALLOW, egressLength: 1, preDnatIngress: ref(PRE_DNAT, 2) }));
    expect((await run("host-in", HOST, ethPacket(tcp(PEER_IP, HOST_IP, nextPort++, 30080)))).retval).toBe(TC_ACT_SHOT);
    const allowed = tcp(PEER_IP, HOST_IP, nextPort++, 30081);
    expect((await run("host-in", HOST, ethPacket(allowed))).retval).toBe(TC_ACT_OK);
    expect((await flowsOn(HOST, allowed.srcPort!)).length).toBe(1);
    expect((await run("host-in", HOST, ethPacket(tcp(PEER_IP, HOST_IP, nextPort++, 80)))).retval).toBe(TC_ACT_SHOT);
  });

  test("a workload's toHost program judges its new flows to the host, and only those", async () => {
    await endpoint(POD_A, workload(ALLOW, DENY, { toHost: ref(TO_HOST_DROP) }));
    const before = await drops(DropReason.EndpointToHost);
    expect((await run("from", POD_A, ethPacket(tcp(A_IP, HOST_IP, nextPort++, 22)))).retval).toBe(TC_ACT_SHOT);
    expect(await drops(DropReason.EndpointToHost)).toBe(before + 1n);
    expect((await run("from", POD_A, ethPacket(tcp(A_IP, PEER_IP, nextPort++, 22)))).retval).toBe(TC_ACT_OK);
    await endpoint(POD_A, workload(ALLOW, DENY));
    expect((await run("from", POD_A, ethPacket(tcp(A_IP, HOST_IP, nextPort++, 22)))).retval).toBe(TC_ACT_OK);
  });

  describe("a workload's flow to a Service", () => {
    beforeAll(async () => {
      await endpoint(POD_A, workload(A_EGRESS, DENY, { toHost: ref(TO_HOST_DROP) }));
      await endpoint(POD_B, workload(ALLOW, ALLOW));
      await endpoint(HOST, host());
    });

    /** Sends the client's SYN to the Service; returns the mark the packet leaves with. */
    async function deferred(srcPort: number, svcPort: number): Promise<number> {
      const r = await run("from", POD_A, ethPacket(tcp(A_IP, SVC_IP, srcPort, svcPort)));
      expect(r.retval).toBe(TC_ACT_OK);
      expect((r.mark & MARK_DEFERRED) >>> 0).toBe(MARK_DEFERRED);
      expect(await flowsOn(POD_A, srcPort)).toEqual([]);
      return r.mark >>> 0;
    }

    test("local backend: the client's egress is judged on the DNAT'd packet at the backend's to_ep", async () => {
      const p = nextPort++;
      const mark = await deferred(p, 80);
      // After DNAT to B:8080, which A's egress allows (the Service address itself would not be).
      const r = await run("to", POD_B, ethPacket(tcp(A_IP, B_IP, p, 8080)), { mark });
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.mark & MARK_SLOT_MASK).toBe(0);
      expect((await flowsOn(POD_A, p)).map((f) => [f.dstIp, f.dstPort, f.state])).toEqual([[SVC_IP, 80, "syn-sent"]]);
      // The client's next packets and the (un-NATed) replies pass by conntrack.
      expect((await run("to", POD_A, ethPacket(tcp(SVC_IP, A_IP, 80, p, TCP_SYN | TCP_ACK)))).retval).toBe(TC_ACT_OK);
      expect((await run("from", POD_A, ethPacket(tcp(A_IP, SVC_IP, p, 80, TCP_ACK)))).retval).toBe(TC_ACT_OK);
      expect((await flowsOn(POD_A, p)).map((f) => f.state)).toEqual(["established"]);
    });

    test("local backend: a backend port the client's egress does not allow is dropped with its reason", async () => {
      const p = nextPort++;
      const mark = await deferred(p, 81);
      const before = await drops(DropReason.PolicyDeny);
      expect((await run("to", POD_B, ethPacket(tcp(A_IP, B_IP, p, 9090)), { mark })).retval).toBe(TC_ACT_SHOT);
      expect(await drops(DropReason.PolicyDeny)).toBe(before + 1n);
      expect(await flowsOn(POD_A, p)).toEqual([]);
      // A retransmission is deferred and denied again.
      const again = await deferred(p, 81);
      expect((await run("to", POD_B, ethPacket(tcp(A_IP, B_IP, p, 9090)), { mark: again })).retval).toBe(TC_ACT_SHOT);
    });

    test("remote backend: resolved at the egress of the host interface it leaves by", async () => {
      const allowedPort = nextPort++;
      const mark = await deferred(allowedPort, 80);
      expect((await run("host-out", HOST, ethPacket(tcp(A_IP, REMOTE_IP, allowedPort, 8080)), { mark, ingressIfindex: ifindex[POD_A] })).retval).toBe(TC_ACT_OK);
      expect((await flowsOn(POD_A, allowedPort)).length).toBe(1);
      const deniedPort = nextPort++;
      const mark2 = await deferred(deniedPort, 80);
      expect((await run("host-out", HOST, ethPacket(tcp(A_IP, "10.254.0.3", deniedPort, 8080)), { mark: mark2, ingressIfindex: ifindex[POD_A] })).retval).toBe(TC_ACT_SHOT);
      expect(await flowsOn(POD_A, deniedPort)).toEqual([]);
    });

    test("a deferral mark without a live slot is dropped (ct-invalid), never passed", async () => {
      const before = await drops(DropReason.CtInvalid);
      const bogus = (MARK_DEFERRED | MARK_SLOT_MASK) >>> 0; // the last slot, never handed out here
      expect((await run("to", POD_B, ethPacket(tcp(A_IP, B_IP, nextPort++, 8080)), { mark: bogus })).retval).toBe(TC_ACT_SHOT);
      expect((await run("host-out", HOST, ethPacket(tcp(A_IP, REMOTE_IP, nextPort++, 8080)), { mark: bogus })).retval).toBe(TC_ACT_SHOT);
      expect(await drops(DropReason.CtInvalid)).toBe(before + 2n);
    });

    test("backend on the host itself: decided on the first reply, by the client's egress and its toHost program", async () => {
      // Egress allows the Service address on 8081, but DefaultEndpointToHostAction drops.
      const p1 = nextPort++;
      await deferred(p1, 8081);
      const before = await drops(DropReason.EndpointToHost);
      expect((await run("to", POD_A, ethPacket(tcp(SVC_IP, A_IP, 8081, p1, TCP_SYN | TCP_ACK)))).retval).toBe(TC_ACT_SHOT);
      expect(await drops(DropReason.EndpointToHost)).toBe(before + 1n);

      await endpoint(POD_A, workload(A_EGRESS, DENY, { toHost: ref(ALLOW) }));
      const p2 = nextPort++;
      await deferred(p2, 8081);
      expect((await run("to", POD_A, ethPacket(tcp(SVC_IP, A_IP, 8081, p2, TCP_SYN | TCP_ACK)))).retval).toBe(TC_ACT_OK);
      expect((await flowsOn(POD_A, p2)).map((f) => [f.dstIp, f.state])).toEqual([[SVC_IP, "syn-recv"]]);
      // Egress that does not allow the flow drops the reply whatever toHost says.
      const p3 = nextPort++;
      await deferred(p3, 8090);
      expect((await run("to", POD_A, ethPacket(tcp(SVC_IP, A_IP, 8090, p3, TCP_SYN | TCP_ACK)))).retval).toBe(TC_ACT_SHOT);
      // A packet from a Service address the workload never asked for meets its ingress policy.
      expect((await run("to", POD_A, ethPacket(tcp(SVC_IP, A_IP, 8081, nextPort++, TCP_SYN | TCP_ACK)))).retval).toBe(TC_ACT_SHOT);
    });
  });
});
