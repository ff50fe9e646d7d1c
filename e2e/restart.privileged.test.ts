/**
 * Hitless restart: the datapath runs from its pinned maps while ptables' processes come and go.
 *
 *  - Felix restarting its driver (SIGTERM, then a new driver with the same directories, sent the
 *    whole state again) and a SIGKILLed policy-programmer (restarted by the driver's supervisor)
 *    must not break an established TCP connection (IPv4 and IPv6), must keep denied traffic
 *    denied and allowed traffic allowed at every moment of the restart window (probed
 *    continuously), and the new programmer's resync must write nothing (its Info counts writes
 *    per table since it started).
 */
import { existsSync, readdirSync } from "node:fs";
import { parseScenario } from "@ptables/felix";
import { createTopology, holdTcp, type HeldTcp, type Topology } from "@ptables/testkit";
import { assertMatrix, isRoot, probes, sweepLeftovers } from "./lib/e2e-helpers";
import { outcomeAllowed } from "./lib/pod-agent";
import { backendCleanup, startPtablesNode, type PtablesNode } from "./lib/ptables-node";

/** rtnetlink protocol of the routes ptables programs (backend-ebpf tables/ip-command.ts ROUTE_PROTO). */
const ROUTE_PROTO = 0x50;
import { sleep } from "./lib/run";

const PREFIX = "rst";
const describeIfRoot = isRoot ? describe : describe.skip;

const SCENARIO = `
node: node-a
nodes: [{name: node-a, ip: 192.168.56.10}]
namespaces: [{name: app}]
pods:
  - {name: client, namespace: app, ifname: cali-client, ips: [10.65.0.61, "fd00:65::61"], labels: {app: client}}
  - {name: server, namespace: app, ifname: cali-server, ips: [10.65.0.62, "fd00:65::62"], labels: {app: server}}
  - {name: intruder, namespace: app, ifname: cali-intruder, ips: [10.65.0.63, "fd00:65::63"], labels: {app: intruder}}
policies:
  - name: server-ingress
    namespace: app
    selector: app == 'server'
    types: [Ingress]
    ingress:
      - {action: Allow, protocol: TCP, source: {selector: app == 'client'}, destination: {ports: [8080]}}
  - name: intruder-egress
    namespace: app
    selector: app == 'intruder'
    types: [Egress]
    egress:
      - {action: Deny, protocol: UDP}
      - {action: Allow}
`;

const PODS = ["client", "server", "intruder"];
const PROBES = probes("ping tcp/8080 udp/5353 ping6 tcp6/8080 udp6/5353");
const ALLOWED = {
  "client>server": "tcp/8080",
  "client>intruder": "*",
  "server>client": "*",
  "server>intruder": "*",
  "intruder>client": "ping ping6 tcp/8080",
};

interface WatchLog {
  /** When each round of probes started and ended (ms since the epoch). */
  rounds: Array<{ start: number; end: number }>;
  failures: string[];
}

/** Rounds that ran entirely inside [from, to]. */
function roundsWithin(log: WatchLog, from: number, to: number): number {
  return log.rounds.filter((r) => r.start >= from && r.end <= to).length;
}

/**
 * Probes continuously until stopped: the held connections must echo, the intruder must stay
 * out (v4 and v6), new client connections must get in, and an egress-denied UDP flow must stay
 * denied. Each round runs its probes in parallel; rounds follow each other back to back.
 */
function watch(node: PtablesNode, held: HeldTcp[]): { stop(): Promise<WatchLog>; roundsAfter(t: number, n: number): Promise<void> } {
  const log: WatchLog = { rounds: [], failures: [] };
  let running = true;
  const start = Date.now();
  const server = node.pod("server").spec;
  const client = node.pod("client").spec;
  const loop = (async () => {
    while (running) {
      const roundStart = Date.now();
      const t = roundStart - start;
      const checks: Array<Promise<string | undefined>> = [
        ...held.map(async (h, i) => {
          const r = await h.probe({ timeoutMs: 2000 });
          return r.ok ? undefined : `${t}ms held connection ${i}: ${r.error}`;
        }),
        ...[server.ipv4[0]!, server.ipv6[0]!].map(async (ip) => {
          const r = await node.probe("intruder", { proto: "tcp", host: ip, port: 8080, timeoutMs: 300 });
          return outcomeAllowed(r.outcome) ? `${t}ms intruder -> ${ip}:8080 got in (${r.outcome})` : undefined;
        }),
        (async () => {
          const r = await node.probe("intruder", { proto: "udp", host: client.ipv4[0]!, port: 5353, timeoutMs: 300 });
          return outcomeAllowed(r.outcome) ? `${t}ms intruder -> client udp/5353 got out (${r.outcome})` : undefined;
        })(),
        ...[server.ipv4[0]!, server.ipv6[0]!].map(async (ip) => {
          const r = await node.probe("client", { proto: "tcp", host: ip, port: 8080, timeoutMs: 1500 });
          return r.outcome === "echo" ? undefined : `${t}ms new client connection to ${ip}:8080 failed (${r.outcome} ${r.detail ?? ""})`;
        }),
      ];
      for (const failure of await Promise.all(checks)) if (failure) log.failures.push(failure);
      log.rounds.push({ start: roundStart, end: Date.now() });
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return log;
    },
    /** Resolves once `n` whole rounds have run after time `t`. */
    roundsAfter: async (t: number, n: number) => {
      while (log.rounds.filter((r) => r.start >= t).length < n) {
        if (!running) throw new Error("watch stopped");
        await sleep(50);
      }
    },
  };
}

/** The programmer's writes since it started, per table. */
async function programmerWrites(node: PtablesNode): Promise<Record<string, number>> {
  return (await node.info("policyProgrammer")).writes as Record<string, number>;
}

describeIfRoot("hitless restart: established flows survive, denied stays denied, resync writes nothing", () => {
  let topology: Topology;
  let node: PtablesNode | undefined;
  const held: HeldTcp[] = [];

  beforeAll(async () => {
    await sweepLeftovers(PREFIX);
    topology = createTopology({ prefix: PREFIX });
    node = await startPtablesNode(topology, "node-a", parseScenario(SCENARIO, "restart"), { tcpPorts: [8080], udpPorts: [5353] });
    const client = node.pod("client").ns;
    const server = node.pod("server").spec;
    held.push(await holdTcp(client, server.ipv4[0]!, 8080), await holdTcp(client, server.ipv6[0]!, 8080));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(held.map((h) => h.close()));
    await node?.cleanup();
    await topology?.destroy();
  });

  test("before: the policy is enforced and the held connections echo", async () => {
    for (const h of held) expect(await h.probe()).toEqual({ ok: true });
    await assertMatrix([node!], "before restart", PODS, PROBES, ALLOWED);
  });

  test("Felix restarts the driver: SIGTERM, a new driver, the whole state again", async () => {
    const n = node!;
    const oldPid = n.driver.pid;
    const watcher = watch(n, held);
    await sleep(200);
    const exit = await n.stopDriver();
    const stopped = Date.now();
    // Felix restarts its driver at once; here the datapath is left alone until two whole rounds
    // of probes ran with no ptables process at all.
    await watcher.roundsAfter(stopped, 2);
    await n.resumeDriver();
    const resumed = Date.now();
    await sleep(300);
    const log = await watcher.stop();

    expect(exit).toEqual(expect.objectContaining({ code: 0, killed: false }));
    expect(n.driver.pid).not.toBe(oldPid);
    expect(log.failures).toEqual([]);
    expect(roundsWithin(log, stopped, resumed)).toBeGreaterThanOrEqual(2);
    const info = await n.info("policyProgrammer");
    expect(info.inSync).toBe(true);
    expect(info.applies).toBeGreaterThanOrEqual(1);
    expect(info.writes).toEqual({ setMembers: 0, portSets: 0, rules: 0, endpoints: 0 });
    await assertMatrix([n], "after driver restart", PODS, PROBES, ALLOWED);
  });

  test("the policy-programmer is SIGKILLed: the datapath holds while it is gone, and its successor resyncs without writing", async () => {
    const n = node!;
    const pid = n.agentPid("policy-programmer");
    expect(pid).toBeDefined();
    const driverPid = n.driver.pid!;
    const watcher = watch(n, held);
    await sleep(200);
    // Freeze the driver (its supervisor) so the programmer stays dead until two whole rounds of
    // probes ran without it; then let the supervisor notice and restart it.
    process.kill(driverPid, "SIGSTOP");
    const killed = Date.now();
    try {
      process.kill(pid!, "SIGKILL");
      await watcher.roundsAfter(killed, 2);
    } finally {
      process.kill(driverPid, "SIGCONT");
    }
    // A new programmer process, connected, in sync and done with its first apply.
    const deadline = Date.now() + 30_000;
    let info: Record<string, unknown> = {};
    for (;;) {
      const now = n.agentPid("policy-programmer");
      if (now !== undefined && now !== pid) {
        info = await n.info("policyProgrammer").catch(() => ({}));
        if (info.syncConnected === true && info.inSync === true && Number(info.applies) >= 1) break;
      }
      if (Date.now() > deadline) throw new Error(`policy-programmer not back after SIGKILL (pid ${pid} -> ${String(now)}; Info ${JSON.stringify(info)})\n${n.outputTail()}`);
      await sleep(100);
    }
    await n.waitSettled();
    const back = Date.now();
    await sleep(300);
    const log = await watcher.stop();

    expect(log.failures).toEqual([]);
    expect(roundsWithin(log, killed, back)).toBeGreaterThanOrEqual(2);
    expect(await programmerWrites(n)).toEqual({ setMembers: 0, portSets: 0, rules: 0, endpoints: 0 });
    for (const h of held) expect(await h.probe()).toEqual({ ok: true });
    await assertMatrix([n], "after programmer SIGKILL", PODS, PROBES, ALLOWED);
  });

  test("after the driver stops, the backend's cleanup removes every filter, pin and route it made", async () => {
    const n = node!;
    const exit = await n.stopDriver();
    expect(exit).toEqual(expect.objectContaining({ code: 0, killed: false }));
    const ns = n.node!.ns;
    const filters = async () =>
      (
        await Promise.all(
          PODS.map(async (pod) => {
            const ifname = n.pod(pod).spec.ifname;
            const out = await Promise.all(["ingress", "egress"].map((hook) => topology.exec(ns, ["tc", "filter", "show", "dev", ifname, hook])));
            return out.map((o) => o.stdout.trim()).filter(Boolean);
          }),
        )
      ).flat();
    const ptablesRoutes = async () =>
      (await Promise.all(["-4", "-6"].map((family) => topology.ip(ns, [family, "route", "show", "proto", String(ROUTE_PROTO)])))).map((o) => o.stdout.trim()).filter(Boolean);
    // The datapath outlives the driver: filters, pins and the workload routes are still there.
    expect(await filters()).toHaveLength(PODS.length * 2);
    expect(readdirSync(n.bpfDir).length).toBeGreaterThan(0);
    expect(await ptablesRoutes()).toHaveLength(2);
    for (const h of held) expect(await h.probe()).toEqual({ ok: true });
    await backendCleanup(ns, n.bpfDir);
    expect(await filters()).toEqual([]);
    expect(existsSync(n.bpfDir)).toBe(false);
    expect(await ptablesRoutes()).toEqual([]);
  });
});
