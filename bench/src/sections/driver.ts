/**
 * Points 4 (memory and CPU) and 5 (restart): the REAL driver, standalone (felix-proxy in the
 * driver process, policy-programmer / arp-responder / offload-daemon as supervised children),
 * started the way Felix starts it (FelixPlayer: fd 3 / fd 4, no arguments) under
 * `nsenter --net` in a node namespace with 250 veths, PTABLES_BPF_DIR on the suite's bpffs.
 *
 *  1. cold start: spawn -> start of day (point-2 scale) -> every endpoint "up" and the proxy
 *     reports the programmer in sync;
 *  2. idle CPU over a window (utime + stime of every agent process);
 *  3. end-to-end endpoint latency: endpoint update frame -> its status frame back on fd 4;
 *  4. a change storm (IP-set deltas, policy and endpoint updates written as fast as the pipe
 *     takes them), its absorption time and CPU;
 *  5. peak RSS (VmHWM) of each agent process;
 *  6. restart: SIGTERM, a new driver, the same start of day (the storm is net zero), time to in
 *     sync and the writes the new programmer made.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FelixPlayer } from "@ptables/felix";
import type { felix } from "@ptables/proto";
import { agentInfo, agentProcesses } from "../lib/agents";
import type { BenchBpffs } from "../lib/bpffs";
import { onCleanup } from "../lib/cleanup";
import type { Report } from "../lib/report";
import { buildCluster, endpointChange, endpointUpdate, envelope, ifnameOf, memberChange, policyChange, scaleSummary, type Cluster, type Scale } from "../lib/scenario";
import { distribution, nowMs, round, sleep } from "../lib/stats";
import { nsArgv, procMemory, procStat, runIn } from "../lib/sys";
import { addVeths, benchTopology } from "../lib/topology";

const S4 = "4. Memory and CPU (real driver)";
const S5 = "5. Restart (real driver)";

export interface DriverOptions {
  scale: Scale;
  quick: boolean;
  bpffs: BenchBpffs;
  repoRoot: string;
  log: (line: string) => void;
}

interface Dirs {
  runDir: string;
  stateDir: string;
  bpfDir: string;
}

function driverEnv(dirs: Dirs, node: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  return {
    ...env,
    NODENAME: node,
    FELIX_FELIXHOSTNAME: node,
    PTABLES_RUN_DIR: dirs.runDir,
    PTABLES_STATE_DIR: dirs.stateDir,
    PTABLES_BPF_DIR: dirs.bpfDir,
    PTABLES_BACKEND: "ebpf",
    PTABLES_LOG_LEVEL: process.env.BENCH_DRIVER_LOG_LEVEL ?? "warn",
  };
}

/** Polls until every endpoint reports `up` and the proxy says the programmer applied an in-sync state. */
async function waitInSync(player: FelixPlayer, dirs: Dirs, keys: string[], timeoutMs: number, framesSent: number): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let info: Record<string, any> = {};
  for (;;) {
    const endpointsUp = keys.every((k) => player.endpointStatuses.get(k)?.status === "up");
    if (endpointsUp) {
      try {
        info = await agentInfo(dirs.runDir, "felixProxy");
        const applied = BigInt(String(info.appliedVersion ?? "0"));
        const sent = BigInt(String(info.sentVersion ?? "0"));
        const inSync = (info.programmedInSync ?? true) && info.inSync && applied >= sent && Number(info.framesReceived) >= framesSent;
        if (inSync) return info;
      } catch {
        // not answering yet
      }
    }
    if (player.exit || player.error) throw new Error(`driver gone: ${player.error?.message ?? JSON.stringify(player.exit)}\n${player.lastOutput.slice(-15).join("\n")}`);
    if (Date.now() > deadline) {
      const pending = keys.filter((k) => player.endpointStatuses.get(k)?.status !== "up");
      throw new Error(`not in sync after ${timeoutMs} ms: ${pending.length} endpoints not up (e.g. ${pending[0]}: ${player.endpointStatuses.get(pending[0] ?? "")?.status ?? "no status"}); proxy ${JSON.stringify(info)}\n${player.lastOutput.slice(-15).join("\n")}`);
    }
    await sleep(keys.every((k) => player.endpointStatuses.get(k)?.status === "up") ? 10 : 25);
  }
}

function cpuOf(pids: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, pid] of pids) out.set(name, procStat(pid)?.cpuSeconds ?? NaN);
  return out;
}

function startPlayer(opts: DriverOptions, ns: string, dirs: Dirs, node: string, onLine: (line: string) => void): FelixPlayer {
  const player = new FelixPlayer({
    driver: join(opts.repoRoot, "bin", "ptables-felix-driver"),
    env: driverEnv(dirs, node),
    wrapper: nsArgv(ns, []),
    output: "pipe",
  });
  player.on("output", (_stream, line) => onLine(line));
  return player;
}

export async function runDriver(report: Report, opts: DriverOptions): Promise<void> {
  const sum = scaleSummary(opts.scale);
  const cluster: Cluster = buildCluster(opts.scale);
  const keys = cluster.pods.map((p) => p.key);
  const { topology, destroy } = benchTopology();
  const temp = mkdtempSync(join(tmpdir(), "ptables-bench-"));
  const removeTemp = onCleanup(`remove ${temp}`, () => rmSync(temp, { recursive: true, force: true }));
  const dirs: Dirs = { runDir: join(temp, "run"), stateDir: join(temp, "state"), bpfDir: opts.bpffs.dir("driver") };
  const echo = process.env.BENCH_DEBUG === "1";
  const output: string[] = [];
  const onLine = (line: string) => {
    if (echo) process.stderr.write(`  [driver] ${line}\n`);
    output.push(line);
    if (output.length > 200) output.shift();
  };
  let player: FelixPlayer | undefined;
  const stopPlayer = onCleanup("stop driver", async () => {
    await player?.stop();
  });
  try {
    const node = await topology.addNode("drv");
    await addVeths(node, Array.from({ length: sum.endpoints }, (_, n) => ifnameOf(n)));

    // 1. Cold start.
    let t0 = nowMs();
    player = startPlayer(opts, node.ns, dirs, cluster.node, onLine);
    await player.send(cluster.startOfDay);
    const sentAt = nowMs() - t0;
    const coldInfo = await waitInSync(player, dirs, keys, 120_000, cluster.startOfDay.length);
    const coldMs = nowMs() - t0;
    const pids = agentProcesses(player.pid!);
    const progInfo = await agentInfo(dirs.runDir, "policyProgrammer");
    report.add(S5, "cold start -> in sync (fresh datapath)", Math.round(coldMs), "ms", {
      note: `${sum.endpoints} endpoints up, programmer applied v${coldInfo.appliedVersion}; frames written in ${Math.round(sentAt)} ms; ${sumWrites(progInfo.writes)} writes`,
    });

    // 2. Idle CPU.
    await sleep(opts.quick ? 1000 : 3000);
    const idleSeconds = opts.quick ? 3 : 10;
    const idleBefore = cpuOf(pids);
    const idleT = nowMs();
    await sleep(idleSeconds * 1000);
    const idleWall = (nowMs() - idleT) / 1000;
    const idleAfter = cpuOf(pids);
    let idleTotal = 0;
    for (const [name] of pids) {
      const pct = (100 * ((idleAfter.get(name) ?? NaN) - (idleBefore.get(name) ?? NaN))) / idleWall;
      idleTotal += pct;
      report.add(S4, `idle CPU: ${name}`, round(pct, 2), "% of a core", { target: { op: "<", value: 1, text: "< 1%" }, note: `over ${round(idleWall, 1)} s` });
    }
    report.add(S4, "idle CPU: all agents", round(idleTotal, 2), "% of a core", { note: "10 ms resolution (USER_HZ 100)" });

    // 3. Endpoint update -> status, end to end through the real driver.
    const epSamples: number[] = [];
    const nEp = opts.quick ? 3 : 15;
    for (let j = 0; j < nEp; j++) {
      const pod = cluster.pods[(j * 37) % cluster.pods.length]!;
      for (const [state, want] of [["down", "down"], ["active", "up"]] as const) {
        const msg = envelope(cluster, { $case: "workloadEndpointUpdate", value: endpointUpdate(cluster, pod, { state }) });
        const t = nowMs();
        await player.send([msg]);
        await player.waitForEndpointStatus([pod.key], want, 10_000);
        epSamples.push(nowMs() - t);
      }
    }
    const ep = distribution(epSamples);
    report.add(S4, "endpoint update -> status on fd 4: p50", round(ep.p50, 1), "ms", { note: `${ep.count} updates (admin down/up), incl. the proxy's 5 ms coalescing and the gRPC hop` });
    report.add(S4, "endpoint update -> status on fd 4: p99", round(ep.p99, 1), "ms", { note: `max ${round(ep.max, 1)} ms` });

    // 4. Change storm (net zero, so the restart below has nothing to change).
    const storm = stormMessages(cluster, opts.quick);
    const stormPids = agentProcesses(player.pid!);
    const stormBefore = cpuOf(stormPids);
    const infoBefore = await agentInfo(dirs.runDir, "policyProgrammer");
    const framesBefore = Number((await agentInfo(dirs.runDir, "felixProxy")).framesReceived);
    t0 = nowMs();
    await player.send(storm.messages);
    const writtenMs = nowMs() - t0;
    await waitInSync(player, dirs, keys, 120_000, framesBefore + storm.messages.length);
    const stormMs = nowMs() - t0;
    const stormAfter = cpuOf(stormPids);
    const infoAfter = await agentInfo(dirs.runDir, "policyProgrammer");
    let stormCpu = 0;
    const perProcess: string[] = [];
    for (const [name] of stormPids) {
      const s = (stormAfter.get(name) ?? NaN) - (stormBefore.get(name) ?? NaN);
      stormCpu += s;
      perProcess.push(`${name} ${round(s, 2)} s`);
    }
    report.add(S4, "change storm: absorbed (frames -> programmed)", Math.round(stormMs), "ms", {
      note: `${storm.messages.length} frames (${storm.describe}); written in ${Math.round(writtenMs)} ms; ${Math.round(storm.messages.length / (stormMs / 1000))} frames/s; ${sumWrites(infoAfter.writes) - sumWrites(infoBefore.writes)} writes; ${Number(infoAfter.applies) - Number(infoBefore.applies)} applies`,
    });
    report.add(S4, "change storm: CPU", round(stormCpu, 2), "CPU-s", { note: `${round((100 * stormCpu) / (stormMs / 1000), 0)}% of a core on average; ${perProcess.join(", ")}` });

    // 5. Peak RSS.
    for (const [name, pid] of agentProcesses(player.pid!)) {
      const mem = procMemory(pid);
      if (!mem) continue;
      const mib = mem.hwmKiB / 1024;
      report.add(S4, `peak RSS (VmHWM): ${name}`, round(mib, 0), "MiB", { target: { op: "<", value: 250, text: "< 250 MiB" }, note: `RSS now ${round(mem.rssKiB / 1024, 0)} MiB` });
    }

    // 6. Restart with nothing changed.
    const exit = await player.stop();
    t0 = nowMs();
    player = startPlayer(opts, node.ns, dirs, cluster.node, onLine);
    await player.send(cluster.startOfDay);
    const warmInfo = await waitInSync(player, dirs, keys, 120_000, cluster.startOfDay.length);
    const warmMs = nowMs() - t0;
    const restartProg = await agentInfo(dirs.runDir, "policyProgrammer");
    report.add(S5, "restart -> in sync (same state, pinned datapath)", Math.round(warmMs), "ms", {
      note: `old driver exited ${exit.signal ?? `code ${exit.code}`}${exit.killed ? " (SIGKILLed)" : ""}; applied v${warmInfo.appliedVersion}`,
    });
    report.add(S5, "restart: kernel writes by the new programmer", sumWrites(restartProg.writes), "writes", {
      target: { op: "==", value: 0, text: "0" },
      note: `by table ${JSON.stringify(restartProg.writes)}; ${restartProg.applies} applies`,
    });
    const restartPids = agentProcesses(player.pid!);
    for (const [name, pid] of restartPids) {
      const mem = procMemory(pid);
      if (mem) report.add(S5, `peak RSS after restart: ${name}`, round(mem.hwmKiB / 1024, 0), "MiB", { target: { op: "<", value: 250, text: "< 250 MiB" } });
    }

    await stopPlayer();
    player = undefined;
    await backendCleanup(node.ns, dirs.bpfDir, opts.repoRoot);
  } catch (err) {
    (err as Error).message += `\n--- driver output (tail) ---\n${output.slice(-20).join("\n")}`;
    throw err;
  } finally {
    await stopPlayer();
    await destroy();
    await removeTemp();
  }
}

function sumWrites(writes: unknown): number {
  if (!writes || typeof writes !== "object") return NaN;
  return Object.values(writes as Record<string, number>).reduce((a, b) => a + Number(b), 0);
}

/** A storm that ends where it started: member adds then removes, each policy/endpoint changed and changed back. */
function stormMessages(cluster: Cluster, quick: boolean): { messages: felix.ToDataplane[]; describe: string } {
  const members = quick ? 2000 : 10_000;
  const policies = quick ? 20 : 100;
  const endpoints = quick ? 20 : 100;
  const out: felix.ToDataplane[] = [];
  const nPol = cluster.policies.length;
  const nEp = cluster.pods.length;
  const pol = [...Array.from({ length: policies }, (_, i) => i), ...Array.from({ length: policies }, (_, i) => nPol + i)];
  const eps = [...Array.from({ length: endpoints }, (_, i) => i), ...Array.from({ length: endpoints }, (_, i) => nEp + i)];
  const total = members + pol.length + eps.length;
  let m = 0;
  let p = 0;
  let e = 0;
  // Interleaved: policy/endpoint changes spread evenly among the member deltas.
  for (let i = 0; i < total; i++) {
    const wantP = Math.floor(((i + 1) * pol.length) / total) > p;
    const wantE = Math.floor(((i + 1) * eps.length) / total) > e;
    if (wantP && p < pol.length) out.push(policyChange(cluster, pol[p++]!));
    else if (wantE && e < eps.length) out.push(endpointChange(cluster, eps[e++]!));
    else if (m < members) out.push(memberChange(cluster, m++));
  }
  while (m < members) out.push(memberChange(cluster, m++));
  while (p < pol.length) out.push(policyChange(cluster, pol[p++]!));
  while (e < eps.length) out.push(endpointChange(cluster, eps[e++]!));
  return { messages: out, describe: `${members} IP-set deltas, ${pol.length} policy and ${eps.length} endpoint updates` };
}

/** EbpfBackend.cleanup() inside the node namespace with the compiled backend (as the e2e suites do). */
async function backendCleanup(ns: string, bpfDir: string, repoRoot: string): Promise<void> {
  if (!existsSync(bpfDir)) return;
  const backend = join(repoRoot, "packages", "backend-ebpf", "dist", "index.js");
  const script = `const { EbpfBackend } = require(${JSON.stringify(backend)});
new EbpfBackend({ bpfDir: process.argv[1], role: "owner" }).cleanup().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
  await runIn(ns, [process.execPath, "-e", script, bpfDir], { timeoutMs: 60_000, env: { ...process.env, NODE_OPTIONS: "" } });
}
