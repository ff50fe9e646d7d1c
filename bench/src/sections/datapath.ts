/**
 * Point 3: the datapath between two pod namespaces through a node namespace (testkit topology,
 * Calico-style veths, scope-link routes and permanent neighbours). On the same topology, one
 * after the other:
 *  - none: no policy anywhere (plain forwarding);
 *  - ptables: the eBPF backend programmed by the real Programmer from Felix messages;
 *  - iptables: the same policy as Calico's iptables dataplane renders it (dp-scenario.ts), in
 *    the node namespace's filter table, ipset for the IP set; ptables removed first.
 * Measured per configuration: established TCP throughput (iperf3, one stream) and the rate of
 * new TCP connections (bench/native/crr.c: connect, 64-byte request, 64-byte response, close;
 * 4 client processes, 2 server processes).
 *
 * Throughput on a shared 2-vCPU VM drifts by tens of percent from one second to the next, so
 * every throughput run of the policed pair (client -> server) is paired with a run of a
 * reference pair on the same node (ref0cli -> ref0srv: interfaces that are neither ptables
 * endpoints nor `cali+`, so no policy touches them) and the ratio is the median of the per-pair
 * ratios.
 */
import { join } from "node:path";
import type { NodeNs, PodNs } from "@ptables/testkit";
import type { BenchBpffs } from "../lib/bpffs";
import { DP, IPTABLES_FLUSH, dpLabel, ipsetRestore, renderIptables, type DpConfig } from "../lib/dp-scenario";
import type { Report } from "../lib/report";
import { median, nowMs, round, sleep } from "../lib/stats";
import { runIn } from "../lib/sys";
import { benchTopology } from "../lib/topology";
import { Worker } from "../lib/worker";

const SECTION = "3. Datapath (pod -> node -> pod)";
const CRR_CONCURRENCY = 4;
const REF = { client: { name: "refclient", ifname: "ref0cli", ipv4: "10.66.1.2" }, server: { name: "refserver", ifname: "ref0srv", ipv4: "10.66.1.3" } };

export interface DatapathOptions {
  quick: boolean;
  bpffs: BenchBpffs;
  crrBinary: string;
  /** "iptables" (nft backend on this host) or "iptables-legacy". */
  iptables: string;
  members: number;
  log: (line: string) => void;
}

type Crr = { rate: number; connections: number; errors: number; p50_us: number; p99_us: number };

interface Measurement {
  dataplane: "none" | "ptables" | "iptables";
  config: DpConfig;
  label: string;
  gbps: number | null;
  gbpsRuns: number[];
  refRuns: number[];
  /** Median of policed/reference over paired runs. */
  vsReference: number | null;
  crr: Crr | null;
  programMs?: number;
  /** ptables: rule-counter hits during the iperf3 runs (policy evaluations; established packets never count). */
  ruleHitsDuringIperf?: number;
  note?: string;
}

export async function runDatapath(report: Report, opts: DatapathOptions): Promise<void> {
  const { topology, destroy } = benchTopology();
  const results: Measurement[] = [];
  report.extra.datapath = results;
  try {
    const node = await topology.addNode("dp");
    const pod = (p: { name: string; ifname: string; ipv4: string }) => topology.addPod(node, { ...p, staticGatewayNeigh: true });
    const client = await pod(DP.client);
    const server = await pod(DP.server);
    const refClient = await pod(REF.client);
    const refServer = await pod(REF.server);
    // Calico's host side: a scope-link route and a permanent neighbour per pod. ptables programs
    // the same (as its own, protocol 0x50) and its cleanup removes them, so they are put back
    // before the iptables phase.
    const nodeNetworking = async () => {
      for (const p of [client, server, refClient, refServer]) {
        await topology.ip(node.ns, ["-4", "route", "replace", `${p.ipv4!}/32`, "dev", p.ifname, "scope", "link"]);
        await topology.ip(node.ns, ["-4", "neigh", "replace", p.ipv4!, "lladdr", p.mac, "dev", p.ifname, "nud", "permanent"]);
      }
    };
    await nodeNetworking();
    for (const c of [client, refClient]) await topology.exec(c.ns, ["sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65535"]);
    await topology.exec(server.ns, ["sysctl", "-q", "-w", "net.core.somaxconn=4096", "net.ipv4.tcp_max_syn_backlog=4096"]);

    const servers = [
      topology.spawnIn(server.ns, ["iperf3", "-s", "-p", String(DP.iperfPort)]),
      topology.spawnIn(refServer.ns, ["iperf3", "-s", "-p", String(DP.iperfPort)]),
      topology.spawnIn(server.ns, [opts.crrBinary, "server", String(DP.crrPort), "2"]),
    ];
    for (const child of servers) child.stdout?.resume(), child.stderr?.resume();
    await sleep(300);

    const iperfSeconds = opts.quick ? 1 : 2;
    const iperfRuns = opts.quick ? 1 : 4;
    const crrSeconds = opts.quick ? 1.5 : 2.5;
    const isTarget = (c: DpConfig) => c.rules === 10_000 && c.withSet && c.miss !== "proto";
    const measure = async (dataplane: Measurement["dataplane"], config: DpConfig, extra: Partial<Measurement> = {}, ruleHits?: () => Promise<number>): Promise<Measurement> => {
      const m: Measurement = { dataplane, config, label: dpLabel(config), gbps: null, gbpsRuns: [], refRuns: [], vsReference: null, crr: null, ...extra };
      const hitsBefore = await ruleHits?.().catch(() => undefined);
      try {
        const ratios: number[] = [];
        // The target configuration gets twice the pairs: its ratio is the one judged.
        const runs = isTarget(config) && dataplane !== "none" ? 2 * iperfRuns : iperfRuns;
        for (let i = 0; i < runs; i++) {
          // Alternate which pair goes first, so a drift within the pair cancels out.
          const [a, b] = i % 2 === 0 ? [refClient, client] : [client, refClient];
          const first = await iperf(topology, a, a === client ? DP.server.ipv4 : REF.server.ipv4, iperfSeconds);
          const second = await iperf(topology, b, b === client ? DP.server.ipv4 : REF.server.ipv4, iperfSeconds);
          const [pol, ref] = a === client ? [first, second] : [second, first];
          m.gbpsRuns.push(pol);
          m.refRuns.push(ref);
          ratios.push(pol / ref);
        }
        m.gbps = median(m.gbpsRuns);
        m.vsReference = median(ratios);
        const hitsAfter = await ruleHits?.().catch(() => undefined);
        if (hitsBefore !== undefined && hitsAfter !== undefined) m.ruleHitsDuringIperf = hitsAfter - hitsBefore;
      } catch (err) {
        m.note = `iperf3 failed: ${(err as Error).message.slice(0, 200)}`;
      }
      try {
        m.crr = await crr(topology, client, opts.crrBinary, crrSeconds);
        if (m.crr.connections === 0) m.note = `${m.note ? `${m.note}; ` : ""}no connection succeeded`;
      } catch (err) {
        m.note = `${m.note ? `${m.note}; ` : ""}crr failed: ${(err as Error).message.slice(0, 200)}`;
      }
      results.push(m);
      opts.log(
        `  ${dataplane.padEnd(8)} ${m.label.padEnd(36)} ${m.gbps === null ? "n/a" : `${round(m.gbps, 2)} Gbit/s (${round(100 * (m.vsReference ?? NaN), 0)}% of reference)`}, ` +
          `${m.crr ? `${Math.round(m.crr.rate)} conn/s (${m.crr.errors} errors, p50 ${m.crr.p50_us} µs)` : "n/a"}${m.programMs !== undefined ? `, programmed in ${Math.round(m.programMs)} ms` : ""}${m.note ? ` — ${m.note}` : ""}`,
      );
      return m;
    };

    const members = opts.members;
    const configs: DpConfig[] = opts.quick
      ? [
          { rules: 0, withSet: false, members },
          { rules: 10_000, withSet: true, members },
        ]
      : [
          { rules: 0, withSet: false, members },
          ...[100, 1000, 10_000].flatMap((rules) => [
            { rules, withSet: false, members },
            { rules, withSet: true, members },
          ]),
          // Separates the rule walk from the per-rule lookups: rules that miss on protocol alone.
          { rules: 10_000, withSet: false, members, miss: "proto" as const },
        ];

    // Warm-up (caches, first connections), then the reference figure.
    await crr(topology, client, opts.crrBinary, 0.5).catch(() => undefined);
    const none = await measure("none", { rules: 0, withSet: false, members });

    // ptables.
    const worker = Worker.start("datapath-worker", node.ns, join(__dirname, "..", "workers", "datapath.js"), { nodeArgs: ["--expose-gc"] });
    try {
      await worker.call("setup", { bpfDir: opts.bpffs.dir("datapath") }, 120_000);
      for (const config of configs) {
        const programmed = await worker.call<{ ms: number; errors: string[]; programmed: number }>("configure", config, 300_000);
        await measure("ptables", config, { programMs: programmed.ms, ...(programmed.errors.length ? { note: `programming errors: ${programmed.errors[0]}` } : {}) }, () => worker.call<number>("ruleHits"));
      }
      await worker.call("cleanup");
    } finally {
      await worker.stop();
    }
    await nodeNetworking();

    // iptables, as Calico renders it. Its conntrack keeps TIME_WAIT entries 120 s by default;
    // at thousands of connections per second that fills the table across configurations, so
    // they are kept 1 s here (only the close of a connection is affected, not its cost).
    await runIn(node.ns, ["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1"]).catch(() => undefined);
    let setLoaded = false;
    for (const config of configs) {
      const t = nowMs();
      if (config.withSet && !setLoaded) {
        await runIn(node.ns, ["ipset", "restore", "-exist"], { input: ipsetRestore(members), timeoutMs: 120_000 });
        setLoaded = true;
      }
      await runIn(node.ns, [`${opts.iptables}-restore`], { input: renderIptables(config), timeoutMs: 300_000 });
      await measure("iptables", config, { programMs: nowMs() - t });
      await sleep(1100); // let the previous configuration's TIME_WAIT entries expire
    }
    await runIn(node.ns, [`${opts.iptables}-restore`], { input: IPTABLES_FLUSH }).catch(() => undefined);

    // The table.
    const pct = (x: number | null | undefined) => (x == null ? "n/a" : `${round(100 * x, 0)}%`);
    const gb = (x: number | null | undefined) => (x == null ? "n/a" : `${round(x, 2)} Gbit/s`);
    report.add(SECTION, "no policy: established TCP throughput", none.gbps === null ? null : round(none.gbps, 2), "Gbit/s", {
      note: `iperf3, 1 stream, ${iperfRuns} x ${iperfSeconds} s, median; reference pair ${gb(median(none.refRuns))}${none.note ? `; ${none.note}` : ""}`,
    });
    report.add(SECTION, "no policy: new TCP connections", none.crr ? Math.round(none.crr.rate) : null, "conn/s", { note: `crr, ${CRR_CONCURRENCY} clients, ${crrSeconds} s; connect+request+close p50 ${none.crr?.p50_us ?? "?"} µs, p99 ${none.crr?.p99_us ?? "?"} µs` });
    const find = (dp: Measurement["dataplane"], c: DpConfig) => results.find((r) => r.dataplane === dp && r.config === c);
    for (const c of configs) {
      const p = find("ptables", c);
      const i = find("iptables", c);
      const label = dpLabel(c);
      const spread = (m: Measurement | undefined) => {
        if (!m || m.gbpsRuns.length === 0) return "";
        const r = m.gbpsRuns.map((g, k) => g / m.refRuns[k]!);
        return `, pairs ${pct(Math.min(...r))}..${pct(Math.max(...r))}`;
      };
      report.add(SECTION, `${label}: throughput ptables / no policy`, p?.vsReference == null ? null : round(100 * p.vsReference, 1), "%", {
        ...(isTarget(c) ? { target: { op: ">=", value: 90, text: ">= 90%" } } : {}),
        note: `ptables ${gb(p?.gbps)} (${p?.gbpsRuns.length ?? 0} pairs${spread(p)}${p?.ruleHitsDuringIperf !== undefined ? `, ${p.ruleHitsDuringIperf} policy evaluations during them` : ""}); iptables ${gb(i?.gbps)}, ${pct(i?.vsReference)} of no policy${p?.note ? `; ${p.note}` : ""}${i?.note ? `; iptables: ${i.note}` : ""}`,
      });
      const cr = p?.crr?.rate && i?.crr?.rate ? p.crr.rate / i.crr.rate : null;
      report.add(SECTION, `${label}: new conn/s ptables / iptables`, cr === null ? null : round(cr, 2), "x", {
        ...(c.rules === 10_000 && c.miss !== "proto" ? { target: { op: ">=", value: 5, text: ">= 5x" } } : {}),
        note: `ptables ${p?.crr ? Math.round(p.crr.rate).toLocaleString("en-US") : "n/a"}/s (p50 ${p?.crr?.p50_us ?? "?"} µs), iptables ${i?.crr ? Math.round(i.crr.rate).toLocaleString("en-US") : "n/a"}/s (p50 ${i?.crr?.p50_us ?? "?"} µs)${p?.crr?.errors ? `; ptables errors ${p.crr.errors}` : ""}${i?.crr?.errors ? `; iptables errors ${i.crr.errors}` : ""}`,
      });
    }
    report.extra.datapathProgramming = results.filter((r) => r.programMs !== undefined).map((r) => ({ dataplane: r.dataplane, config: r.label, ms: Math.round(r.programMs!) }));
  } finally {
    await destroy();
  }
}

async function iperf(topology: NodeNs["topology"], client: PodNs, serverIp: string, seconds: number): Promise<number> {
  const { stdout } = await topology.exec(client.ns, ["iperf3", "-c", serverIp, "-p", String(DP.iperfPort), "-t", String(seconds), "-O", "1", "-J"], { timeoutMs: (seconds + 15) * 1000 });
  const json = JSON.parse(stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (json.error) throw new Error(json.error);
  const bps = json.end?.sum_received?.bits_per_second;
  if (!bps) throw new Error("iperf3 reported no throughput");
  return bps / 1e9;
}

async function crr(topology: NodeNs["topology"], client: PodNs, binary: string, seconds: number): Promise<Crr> {
  const { stdout } = await topology.exec(client.ns, [binary, "client", DP.server.ipv4, String(DP.crrPort), String(seconds), String(CRR_CONCURRENCY)], { timeoutMs: (seconds + 20) * 1000 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as Crr;
}
