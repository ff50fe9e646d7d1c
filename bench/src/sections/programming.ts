/**
 * Point 1b (frame -> programmed latency) and point 2 (programming at scale), in-process in a
 * worker inside a node namespace with 250 real veths and the suite's bpffs.
 */
import { join } from "node:path";
import type { BenchBpffs } from "../lib/bpffs";
import type { Report } from "../lib/report";
import { ifnameOf, scaleSummary, type Scale } from "../lib/scenario";
import { nowMs, round, type Distribution } from "../lib/stats";
import { addVeths, benchTopology } from "../lib/topology";
import { Worker } from "../lib/worker";

const S1 = "1. Felix ingest";
const S2 = "2. Programming at scale (in-process, eBPF)";

export interface ProgrammingOptions {
  scale: Scale;
  quick: boolean;
  bpffs: BenchBpffs;
  log: (line: string) => void;
}

interface Latency {
  ms: Distribution;
  kernelMs: Distribution;
  writes: Distribution;
  totalWrites: number;
  errors: string[];
}

const r2 = (n: number) => round(n, 2);

export async function runProgramming(report: Report, opts: ProgrammingOptions): Promise<void> {
  const sum = scaleSummary(opts.scale);
  const { topology, destroy } = benchTopology();
  try {
    let t = nowMs();
    const node = await topology.addNode("prog");
    await addVeths(node, Array.from({ length: sum.endpoints }, (_, n) => ifnameOf(n)));
    opts.log(`  ${sum.endpoints} veths in ${node.ns} (${Math.round(nowMs() - t)} ms)`);

    const worker = Worker.start("programming-worker", node.ns, join(__dirname, "..", "workers", "programming.js"), { nodeArgs: ["--expose-gc", "--max-old-space-size=2048"] });
    try {
      const setup = await worker.call<{ openMs: number }>("setup", { scale: opts.scale, bpfDir: opts.bpffs.dir("prog") }, 120_000);
      report.add(S2, "datapath load (object open, verifier + JIT, pin)", Math.round(setup.openMs), "ms");

      t = nowMs();
      const snap = await worker.call<any>("snapshot", {}, 300_000);
      const scaleText = `${sum.endpoints} endpoints, ${sum.policies} policies x ${opts.scale.rulesPerPolicy} rules, ${sum.ipSets} IP sets / ${sum.members.toLocaleString("en-US")} members`;
      report.add(S2, "initial snapshot: frames -> kernel state", Math.round(snap.totalMs), "ms", {
        target: { op: "<", value: 2000, text: "< 2 s" },
        note: scaleText,
      });
      report.add(S2, "  of which Felix frames -> store", Math.round(snap.ingestMs), "ms", { note: `${snap.frames} frames, ${round(snap.bytes / 1e6, 1)} MB` });
      report.add(S2, "  of which programmer apply", Math.round(snap.applyMs), "ms", { note: `kernel writes ${Math.round(snap.kernelWriteMs)} ms, readback ${Math.round(snap.readbackMs)} ms` });
      const w = snap.writesByTable;
      report.add(S2, "  kernel writes (entries)", snap.writes, "", { note: `members ${w.setMembers}, port sets ${w.portSets}, rules ${w.rules}, endpoints ${w.endpoints}` });
      report.add(S2, "  endpoints programmed after the snapshot apply", snap.endpointsOk, "", { note: `statuses ${JSON.stringify(snap.endpointStates)}; ${snap.errorCount} objects in error${snap.errors.length ? `: ${snap.errors[0]}` : ""}` });
      report.add(S2, "  JS heap held: Felix store / programmer", round(snap.heapStoreMiB, 0), "MiB", { note: `programmer ${Math.round(snap.heapProgrammerMiB)} MiB (heap growth after GC, this state); worker RSS ${Math.round(snap.rssMiB)} MiB` });
      report.add(S2, "  kernel maps after snapshot", snap.kernel.members, "members", { note: `rules ${snap.kernel.rules}, port-set prefixes ${snap.kernel.ports}, endpoints ${snap.kernel.endpoints}` });

      const resyncRows = (when: string, resync: any) => {
        report.add(S2, `resync ${when}: kernel writes`, resync.writes, "writes", { target: { op: "==", value: 0, text: "0" }, note: `by table ${JSON.stringify(resync.writesByTable)}` });
        report.add(S2, `resync ${when}: time`, Math.round(resync.openMs + resync.applyMs), "ms", {
          note: `object load ${Math.round(resync.openMs)} ms + readback/diff ${Math.round(resync.applyMs)} ms (readback ${Math.round(resync.readbackMs)} ms)`,
        });
      };
      // A restarted programmer straight after the snapshot: nothing changed, nothing to write.
      resyncRows("right after the snapshot", await worker.call<any>("resync", {}, 300_000));

      const nMember = opts.quick ? 300 : 2000;
      const nPolicy = opts.quick ? 60 : 300;
      const nEndpoint = opts.quick ? 60 : 300;
      const member = await worker.call<Latency>("memberChanges", { n: nMember }, 300_000);
      const policy = await worker.call<Latency>("policyChanges", { n: nPolicy }, 300_000);
      const endpoint = await worker.call<Latency>("endpointChanges", { n: nEndpoint }, 300_000);

      const latencyRows = (section: string, what: string, l: Latency, target?: { p99: number; text: string }) => {
        report.add(section, `${what}: p50`, r2(l.ms.p50), "ms", { note: `${l.ms.count} changes, one frame each` });
        report.add(section, `${what}: p99`, r2(l.ms.p99), "ms", target ? { target: { op: "<", value: target.p99, text: target.text } } : {});
        report.add(section, `${what}: max`, r2(l.ms.max), "ms", { note: `kernel part p50 ${Math.round(l.kernelMs.p50 * 1000)} µs; writes/change p50 ${l.writes.p50}, max ${l.writes.max}${l.errors.length ? `; errors: ${l.errors[0]}` : ""}` });
      };
      latencyRows(S1, "frame -> programmed, IP-set delta", member);
      latencyRows(S1, "frame -> programmed, policy update", policy);
      latencyRows(S1, "frame -> programmed, endpoint update", endpoint);
      latencyRows(S2, "IP-set member change", member, { p99: 5, text: "p99 < 5 ms" });
      latencyRows(S2, "policy change (used by 2 endpoints)", policy, { p99: 50, text: "p99 < 50 ms" });

      // And after that churn (programs now in either slot, sets edited).
      resyncRows("after the changes", await worker.call<any>("resync", {}, 300_000));

      await worker.call("cleanup");
    } finally {
      await worker.stop();
    }
  } finally {
    await destroy();
  }
}
