/**
 * privileged: real traffic between two pod namespaces through a node namespace whose host-side
 * veths carry ptables' filters. The backend runs inside the node namespace (RemoteBackend);
 * the programs are hand-built CompiledRules. Covers gateway ARP answered by the datapath,
 * allowed and denied ping/TCP/UDP in both families, replies passing via conntrack, counters,
 * and restarts: maps and filters persist, a resync writes nothing, an established connection
 * keeps passing, and an upgraded object replaces the filters in place.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CachingTable, DpAction, DropReason, EndpointFlags, TABLE_UPSERT_ORDER, type TableBackend, type Tables } from "@ptables/api";
import { createTopology, holdTcp, ping, startServer, tcpConnect, udpExchange, type EchoServer, type NodeNs, type PodNs } from "@ptables/testkit";
import { removeBpfDir } from "./native/bpffs";
import { PACKAGE_ROOT } from "./package-root";
import { ensureBpfObject } from "./testing/bpf-object-build";
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, compiledRule, denyRule } from "./testing/compiled-rule";
import { RemoteBackend } from "./testing/remote-backend";
import { uniqueBpfDir } from "./testing/test-bpf-dir";
import { portRangePrefixes } from "./testing/test-run-harness";

const topology = createTopology({ prefix: "ptdatapath" });
const bpfDir = uniqueBpfDir();
const ifname = (side: string) => `calit${process.pid % 1000}1${side}`;
const MAP_SIZES = { members: 4096, portSets: 1024, rules: 4096, endpoints: 64, conntrack: 4096, counters: 4096, frags: 64 };

const SET_POD1 = 0x101;
const PORTS_8080 = 0x201;
const P1_IN = 0x1001;
const P1_OUT = 0x1002;
const P2_IN = 0x2001;
const P2_OUT = 0x2002;
const C_P2_TCP = 9001n;
const C_P2_UDP = 9002n;
const C_P2_ICMP = 9003n;
const C_P2_DENY = 9004n;
const C_P1_DENY = 9005n;

let node: NodeNs;
let pod1: PodNs;
let pod2: PodNs;
let backend: RemoteBackend;
const servers: EchoServer[] = [];
let desired: { [K in keyof Tables]: Array<[unknown, unknown]> };

function startBackend(objectPath?: string): RemoteBackend {
  return RemoteBackend.start({ ns: node.ns, bpfDir, mapSizes: MAP_SIZES, ...(objectPath ? { objectPath } : {}) });
}

function program(programId: number, rules: ReturnType<typeof compiledRule>[]): Array<[unknown, unknown]> {
  return rules.map((rule, index) => [{ programId, index }, rule]);
}

/** The whole desired state, table by table. */
function buildDesired(): typeof desired {
  const endpoint = (ingressProgram: number, ingressLength: number, egressProgram: number, egressLength: number) => ({
    ingressProgram,
    ingressLength,
    egressProgram,
    egressLength,
    flags: EndpointFlags.DropEncapFromWorkload,
  });
  return {
    setMembers: [
      [{ setId: SET_POD1, family: 4, proto: 0, port: 0, addr: pod1.ipv4!, prefixLen: 32 }, true],
      [{ setId: SET_POD1, family: 6, proto: 0, port: 0, addr: pod1.ipv6!, prefixLen: 128 }, true],
    ],
    portSets: portRangePrefixes(8080, 8080).map((p) => [{ setId: PORTS_8080, ...p }, true]),
    rules: [
      // pod1: sends anything, accepts nothing (its replies come back through conntrack).
      ...program(P1_OUT, [compiledRule()]),
      ...program(P1_IN, [denyRule(DropReason.NoProfileMatch, C_P1_DENY)]),
      // pod2: accepts TCP/UDP 8080 from pod1 and ICMP; denies the rest.
      ...program(P2_IN, [
        compiledRule({ action: DpAction.Jump, jump: 2, srcSets: [SET_POD1] }),
        denyRule(DropReason.PolicyDeny, C_P2_DENY),
        compiledRule({ proto: PROTO_TCP, dstPorts: PORTS_8080, counterId: C_P2_TCP }),
        compiledRule({ proto: PROTO_UDP, dstPorts: PORTS_8080, counterId: C_P2_UDP }),
        compiledRule({ ipVersion: 4, proto: PROTO_ICMP, counterId: C_P2_ICMP }),
        compiledRule({ ipVersion: 6, proto: PROTO_ICMPV6, counterId: C_P2_ICMP }),
        denyRule(DropReason.PolicyDeny, C_P2_DENY),
      ]),
      ...program(P2_OUT, [compiledRule()]),
    ],
    endpoints: [
      [{ ifname: pod1.ifname }, endpoint(P1_IN, 1, P1_OUT, 1)],
      [{ ifname: pod2.ifname }, endpoint(P2_IN, 7, P2_OUT, 1)],
    ],
    neighbours: [pod1, pod2].flatMap((pod) => [
      [{ ifname: pod.ifname, ip: pod.ipv4! }, { mac: pod.mac }],
      [{ ifname: pod.ifname, ip: pod.ipv6! }, { mac: pod.mac }],
    ]),
    routes: [pod1, pod2].flatMap((pod) => [
      [{ dst: `${pod.ipv4}/32` }, { ifname: pod.ifname, via: "", kind: "unicast", onlink: false }],
      [{ dst: `${pod.ipv6}/128` }, { ifname: pod.ifname, via: "", kind: "unicast", onlink: false }],
    ]),
  };
}

/** Applies the desired state through CachingTables; returns the number of writes per table. */
async function sync(target: RemoteBackend): Promise<Record<string, number>> {
  const writes: Record<string, number> = {};
  for (const name of TABLE_UPSERT_ORDER) {
    const table = new CachingTable(target.tables[name] as TableBackend<unknown, unknown>);
    for (const [k, v] of desired[name]) table.setDesired(k, v);
    const ups = await table.applyUpserts();
    const dels = await table.applyDeletes(true);
    expect([name, [...ups.errors.values(), ...dels.errors.values()]]).toEqual([name, []]);
    writes[name] = table.writes;
  }
  return writes;
}

async function snapshot(target: RemoteBackend): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of TABLE_UPSERT_ORDER) {
    const table = target.tables[name] as TableBackend<unknown, unknown>;
    out[name] = (await table.loadAll()).map(([k, v]) => `${table.keyString(k)} = ${JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x))}`).sort();
  }
  return out;
}

beforeAll(async () => {
  ensureBpfObject();
  node = await topology.addNode("node");
  pod1 = await topology.addPod(node, { name: "pod1", ifname: ifname("a"), ipv4: "10.65.0.2", ipv6: "fd00:65::2", withHostRoutes: false });
  pod2 = await topology.addPod(node, { name: "pod2", ifname: ifname("b"), ipv4: "10.65.0.3", ipv6: "fd00:65::3", withHostRoutes: false });
  for (const port of [8080, 9090]) {
    servers.push(await startServer(pod2, { proto: "tcp", port }));
    servers.push(await startServer(pod1, { proto: "tcp", port }));
  }
  servers.push(await startServer(pod2, { proto: "udp", port: 8080 }));
  desired = buildDesired();
  backend = startBackend();
  await backend.open();
  const writes = await sync(backend);
  expect(writes.endpoints).toBe(2);
}, 120_000);

afterAll(async () => {
  try {
    for (const server of servers) await server.stop();
    await backend?.stop();
  } finally {
    await topology.destroy();
    removeBpfDir(bpfDir);
  }
}, 60_000);

describe("privileged: datapath in network namespaces", () => {
  test("the pods' gateway ARP is answered by the datapath (no static neighbour, no proxy ARP)", async () => {
    expect((await ping(pod1, pod2.ipv4!)).ok).toBe(true);
    const neigh = JSON.parse((await topology.ip(pod1.ns, ["-j", "-4", "neigh", "show", "169.254.1.1", "dev", "eth0"])).stdout) as Array<{ lladdr?: string; state?: string[] }>;
    expect(neigh[0]?.lladdr).toBe("ee:ee:ee:ee:ee:ee");
    expect(neigh[0]?.state).not.toContain("PERMANENT");

    // Switch the responder off: a pod that has to ask again gets no answer.
    await backend.arp({ enabled: false });
    try {
      await topology.ip(pod2.ns, ["-4", "neigh", "flush", "dev", "eth0"]);
      expect((await ping(pod2, pod1.ipv4!, { timeoutMs: 500 })).ok).toBe(false);
      const stuck = JSON.parse((await topology.ip(pod2.ns, ["-j", "-4", "neigh", "show", "169.254.1.1", "dev", "eth0"])).stdout) as Array<{ lladdr?: string }>;
      expect(stuck[0]?.lladdr).toBeUndefined();
    } finally {
      await backend.arp({ enabled: true });
    }
    await topology.ip(pod2.ns, ["-4", "neigh", "flush", "dev", "eth0"]);
    expect((await udpExchange(pod1, pod2.ipv4!, 8080)).ok).toBe(true); // pod2 must resolve the gateway to reply
  });

  test("allowed traffic passes both ways in both families; replies come back through conntrack", async () => {
    for (const dst of [pod2.ipv4!, pod2.ipv6!]) {
      expect([dst, await ping(pod1, dst)]).toEqual([dst, { ok: true }]);
      expect([dst, await tcpConnect(pod1, dst, 8080)]).toEqual([dst, { ok: true }]);
      expect([dst, await udpExchange(pod1, dst, 8080)]).toEqual([dst, { ok: true }]);
    }
    const flows = await backend.listFlows(1000);
    expect(flows.some((f) => f.ifname === pod1.ifname && f.srcIp === pod1.ipv4 && f.dstPort === 8080 && f.proto === 6)).toBe(true);
    expect(flows.some((f) => f.ifname === pod2.ifname && f.dstIp === pod2.ipv6 && f.dstPort === 8080 && f.proto === 17)).toBe(true);
  });

  test("denied traffic is dropped and counted", async () => {
    const before = await backend.readDropCounters();
    for (const dst of [pod2.ipv4!, pod2.ipv6!]) expect([dst, (await tcpConnect(pod1, dst, 9090, { timeoutMs: 700 })).ok]).toEqual([dst, false]);
    for (const dst of [pod1.ipv4!, pod1.ipv6!]) {
      expect([dst, (await ping(pod2, dst, { timeoutMs: 500 })).ok]).toEqual([dst, false]);
      expect([dst, (await tcpConnect(pod2, dst, 8080, { timeoutMs: 700 })).ok]).toEqual([dst, false]);
    }
    const after = await backend.readDropCounters();
    const grew = (reason: DropReason) => (after.get(reason)?.packets ?? 0n) - (before.get(reason)?.packets ?? 0n);
    expect(grew(DropReason.PolicyDeny)).toBeGreaterThanOrEqual(2n);
    expect(grew(DropReason.NoProfileMatch)).toBeGreaterThanOrEqual(4n);
  });

  test("rule counters count the first packet of each allowed flow", async () => {
    const before = (await backend.readRuleCounters()).get(C_P2_TCP)?.packets ?? 0n;
    expect(await tcpConnect(pod1, pod2.ipv4!, 8080)).toEqual({ ok: true });
    const after = (await backend.readRuleCounters()).get(C_P2_TCP);
    expect(after!.packets).toBe(before + 1n); // the SYN; the rest of the flow rides on conntrack
    expect(after!.bytes).toBeGreaterThan(0n);
    expect((await backend.readRuleCounters()).get(C_P2_ICMP)?.packets).toBeGreaterThan(0n);
  });

  test("a restart reads the same state back, rewrites nothing, and an established connection keeps passing", async () => {
    const held = await holdTcp(pod1, pod2.ipv4!, 8080);
    try {
      const before = await snapshot(backend);
      const filters = await backend.filters(pod1.ifname);
      expect(filters.ingress).not.toBeNull();

      await backend.stop(); // the agent is gone; the datapath runs on from the pins
      expect(await held.probe()).toEqual({ ok: true });
      expect((await tcpConnect(pod1, pod2.ipv4!, 9090, { timeoutMs: 700 })).ok).toBe(false);

      backend = startBackend();
      await backend.open();
      expect(await snapshot(backend)).toEqual(before);
      expect(await backend.filters(pod1.ifname)).toEqual(filters); // the very same programs
      expect(await sync(backend)).toEqual(Object.fromEntries(TABLE_UPSERT_ORDER.map((t) => [t, 0])));
      expect(await held.probe()).toEqual({ ok: true });

      await backend.kill(); // a crash changes nothing either
      expect(await held.probe()).toEqual({ ok: true });
      backend = startBackend();
      await backend.open();
      expect(await held.probe()).toEqual({ ok: true });
    } finally {
      await held.close();
    }
  });

  test("an upgraded object replaces the filters in place, without breaking established flows", async () => {
    const variantDir = mkdtempSync(join(tmpdir(), "ptables-variant-"));
    const held = await holdTcp(pod1, pod2.ipv6!, 8080);
    try {
      const variant = join(variantDir, "ptables.bpf.o");
      // Different instructions (BPF ISA v3), same behaviour: a stand-in for a new release.
      execFileSync("bash", [join(PACKAGE_ROOT, "bpf", "build.sh"), variant], { env: { ...process.env, BPF_EXTRA_CFLAGS: "-mcpu=v3" } });
      const old = await backend.filters(pod2.ifname);
      await backend.stop();
      backend = startBackend(variant);
      await backend.open();
      const upgraded = await backend.filters(pod2.ifname);
      expect(upgraded.ingress).not.toBeNull();
      expect(upgraded.ingress).not.toBe(old.ingress);
      expect(upgraded.egress).not.toBe(old.egress);
      expect(await backend.filters(pod1.ifname)).toEqual(upgraded);
      expect(await held.probe()).toEqual({ ok: true });
      expect(await tcpConnect(pod1, pod2.ipv6!, 8080)).toEqual({ ok: true });
      expect((await tcpConnect(pod1, pod2.ipv6!, 9090, { timeoutMs: 700 })).ok).toBe(false);
      expect(await sync(backend)).toEqual(Object.fromEntries(TABLE_UPSERT_ORDER.map((t) => [t, 0])));
    } finally {
      await held.close();
      rmSync(variantDir, { recursive: true, force: true });
    }
  });

  test("filters removed behind ptables' back are restored by the next resync", async () => {
    await topology.exec(node.ns, ["tc", "filter", "del", "dev", pod1.ifname, "ingress"]);
    expect((await backend.filters(pod1.ifname)).ingress).toBeNull();
    const writes = await sync(backend);
    expect(writes.endpoints).toBe(1);
    expect((await backend.filters(pod1.ifname)).ingress).not.toBeNull();
    expect(await tcpConnect(pod1, pod2.ipv4!, 8080)).toEqual({ ok: true });
  });

  test("a deleted endpoint's interface drops everything (fail closed); cleanup removes the filters", async () => {
    const before = (await backend.readDropCounters()).get(DropReason.NoEndpoint)?.packets ?? 0n;
    expect(await backend.tables.endpoints.applyBatch([], [{ ifname: pod2.ifname }])).toEqual([]);
    expect((await backend.tables.endpoints.loadAll()).map(([k]) => (k as { ifname: string }).ifname)).toEqual([pod1.ifname]);
    expect((await backend.filters(pod2.ifname)).ingress).not.toBeNull();
    expect((await tcpConnect(pod1, pod2.ipv4!, 8080, { timeoutMs: 700 })).ok).toBe(false);
    expect((await backend.readDropCounters()).get(DropReason.NoEndpoint)?.packets).toBeGreaterThan(before);

    await backend.cleanup();
    for (const pod of [pod1, pod2]) expect(await backend.filters(pod.ifname)).toEqual({ ingress: null, egress: null });
    expect(JSON.parse((await topology.ip(node.ns, ["-j", "-4", "route", "show", "proto", "80"])).stdout)).toEqual([]);
    expect(JSON.parse((await topology.ip(node.ns, ["-j", "neigh", "show", "proto", "80"])).stdout)).toEqual([]);
    expect(existsSync(bpfDir)).toBe(false);
  });
});
