/**
 * ptables benchmark suite: `npm run bench` (full, ~10 min on 2 cores) or
 * `npm run bench -- --quick` (reduced scale and short runs, < 2 min; a smoke test whose
 * targets are shown but not judged).
 *
 * Options:
 *   --quick                 reduced scale, short runs
 *   --only=a,b              sections: ingest, programming, datapath, driver
 *   --iptables=<cmd>        baseline's iptables: "iptables" (this host's default, nft backend) or "iptables-legacy"
 *   --markdown              also print the table as Markdown
 *   --out=<file>            JSON path (default bench/results/<timestamp>.json)
 * Environment: BENCH_DEBUG=1 echoes worker and driver output; BENCH_CPU_PROF=<dir> writes CPU
 * profiles of the in-process workers (summarise with `node bench/dist/tools/cpuprofile-top.js`).
 *
 * Everything privileged happens in namespaces it creates (ptbench-<pid>-…) and on its own
 * bpffs (/run/ptables-bench-<pid>); all of it is removed at the end, on Ctrl-C, and (if a
 * previous run was killed) at the start of the next run.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { mountBenchBpffs, sweepStaleBpffs } from "./lib/bpffs";
import { installSignalHandlers, runCleanups } from "./lib/cleanup";
import { Report } from "./lib/report";
import { FULL_SCALE, scaleSummary, type Scale } from "./lib/scenario";
import { run } from "./lib/sys";
import { sweepStaleNamespaces } from "./lib/topology";
import { runDatapath } from "./sections/datapath";
import { runDriver } from "./sections/driver";
import { runIngest } from "./sections/ingest";
import { runProgramming } from "./sections/programming";

const QUICK_SCALE: Scale = { ...FULL_SCALE, namespaces: 10, members: 20_000 };
const SECTIONS = ["ingest", "programming", "datapath", "driver"] as const;
type Section = (typeof SECTIONS)[number];

const REPO = resolve(__dirname, "..", "..");
const BENCH = resolve(__dirname, "..");

function parseArgs(argv: string[]) {
  const opts = { quick: false, only: [...SECTIONS] as Section[], iptables: "iptables", markdown: false, out: "" };
  for (const arg of argv) {
    const [key, value] = arg.split("=", 2) as [string, string | undefined];
    if (key === "--quick") opts.quick = true;
    else if (key === "--markdown") opts.markdown = true;
    else if (key === "--only" && value) {
      const wanted = value.split(",") as Section[];
      for (const w of wanted) if (!SECTIONS.includes(w)) throw new Error(`--only: unknown section ${w} (have ${SECTIONS.join(", ")})`);
      opts.only = wanted;
    } else if (key === "--iptables" && value) opts.iptables = value;
    else if (key === "--out" && value) opts.out = value;
    else if (key === "--help" || key === "-h") {
      console.log("usage: npm run bench [-- --quick] [--only=ingest,programming,datapath,driver] [--iptables=iptables|iptables-legacy] [--markdown] [--out=file.json]");
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return opts;
}

function safe(fn: () => string): string {
  try {
    return fn().trim();
  } catch {
    return "unknown";
  }
}

function machine() {
  const cpu = cpus();
  return {
    nproc: cpu.length,
    cpuModel: cpu[0]?.model ?? "unknown",
    kernel: safe(() => readFileSync("/proc/sys/kernel/osrelease", "utf8")),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    iptables: safe(() => execFileSync("iptables", ["-V"], { encoding: "utf8" })),
    iperf3: safe(() => execFileSync("iperf3", ["--version"], { encoding: "utf8" }).split("\n")[0]!),
    bpfJit: safe(() => readFileSync("/proc/sys/net/core/bpf_jit_enable", "utf8")),
    gitCommit: safe(() => execFileSync("git", ["-C", REPO, "rev-parse", "--short", "HEAD"], { encoding: "utf8" })),
    gitDirtyFiles: Number(safe(() => String(execFileSync("git", ["-C", REPO, "status", "--porcelain"], { encoding: "utf8" }).split("\n").filter(Boolean).length))),
  };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The built packages, the BPF object (rebuilt if older than its sources) and the crr binary. */
async function preflight(needPrivileged: boolean): Promise<string> {
  const missing = ["felix", "policy-programmer", "backend-ebpf", "driver", "felix-proxy", "arp-responder", "offload-daemon"].filter((p) => !existsSync(join(REPO, "packages", p, "dist", "index.js")));
  if (missing.length > 0) throw new Error(`not built: ${missing.join(", ")}; run \`npx tsc -b\` first`);
  const crr = join(BENCH, "dist", "crr");
  const crrSource = join(BENCH, "native", "crr.c");
  if (!existsSync(crr) || statSync(crr).mtimeMs < statSync(crrSource).mtimeMs) await run(["cc", "-O2", "-Wall", "-o", crr, crrSource]);
  if (needPrivileged) {
    const bpf = join(REPO, "packages", "backend-ebpf", "bpf");
    const object = join(REPO, "packages", "backend-ebpf", "build", "ptables.bpf.o");
    if (!existsSync(object) || statSync(object).mtimeMs < newestMtime(bpf)) await run(["bash", join(bpf, "build.sh")], { timeoutMs: 180_000 });
  }
  return crr;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  installSignalHandlers(log);
  const scale = opts.quick ? QUICK_SCALE : FULL_SCALE;
  const isRoot = process.geteuid?.() === 0;
  const privileged: Section[] = ["programming", "datapath", "driver"];
  const report = new Report(opts.quick);
  const started = new Date();
  const t0 = performance.now();
  const info = { ...machine(), loadavgBefore: loadavg().map((l) => Math.round(l * 100) / 100) };
  const s = scaleSummary(scale);
  log(`ptables bench${opts.quick ? " --quick" : ""}: ${info.nproc} x ${info.cpuModel}, Linux ${info.kernel}, Node ${info.node}, commit ${info.gitCommit}${info.gitDirtyFiles ? ` (+${info.gitDirtyFiles} changed files)` : ""}`);
  log(`scale: ${s.endpoints} endpoints, ${s.policies} policies x ${scale.rulesPerPolicy} rules, ${s.ipSets} IP sets with ${s.members.toLocaleString("en-US")} members; load average ${info.loadavgBefore.join(" ")}`);

  const sectionTimes: Record<string, number> = {};
  try {
    const crr = await preflight(isRoot && opts.only.some((x) => privileged.includes(x)));
    if (isRoot && opts.only.some((x) => privileged.includes(x))) {
      const swept = [...(await sweepStaleNamespaces()), ...(await sweepStaleBpffs())];
      if (swept.length > 0) log(`swept leftovers of earlier runs: ${swept.join(", ")}`);
    }
    for (const section of opts.only) {
      if (privileged.includes(section) && !isRoot) {
        report.error(section, new Error("skipped: needs root (network namespaces, BPF)"));
        continue;
      }
      const ts = performance.now();
      log(`— ${section}`);
      try {
        if (section === "ingest") await runIngest(report, { scale, quick: opts.quick });
        if (section === "programming") await runProgramming(report, { scale, quick: opts.quick, bpffs: await mountBenchBpffs(), log });
        if (section === "datapath") await runDatapath(report, { quick: opts.quick, bpffs: await mountBenchBpffs(), crrBinary: crr, iptables: opts.iptables, members: 100_000, log });
        if (section === "driver") await runDriver(report, { scale, quick: opts.quick, bpffs: await mountBenchBpffs(), repoRoot: REPO, log });
      } catch (err) {
        report.error(section, err);
        log(`${section} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      sectionTimes[section] = Math.round((performance.now() - ts) / 100) / 10;
      log(`  (${sectionTimes[section]} s)`);
    }
  } finally {
    const failures = await runCleanups();
    for (const f of failures) log(`cleanup: ${f}`);
  }

  const totalSeconds = Math.round((performance.now() - t0) / 100) / 10;
  const result = {
    started: started.toISOString(),
    mode: opts.quick ? "quick" : "full",
    totalSeconds,
    sectionSeconds: sectionTimes,
    machine: { ...info, loadavgAfter: loadavg().map((l) => Math.round(l * 100) / 100) },
    scale: { ...scale, ...s },
    rows: report.rows,
    errors: report.errors,
    details: report.extra,
  };
  const out = opts.out || join(BENCH, "results", `${started.toISOString().replace(/[:.]/g, "-")}${opts.quick ? "-quick" : ""}.json`);
  mkdirSync(resolve(out, ".."), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

  console.log("");
  console.log(`ptables bench (${result.mode}) — ${info.nproc} x ${info.cpuModel}, Linux ${info.kernel}, commit ${info.gitCommit}; load average before ${info.loadavgBefore.join(" ")}, after ${result.machine.loadavgAfter.join(" ")}`);
  console.log(report.format());
  if (opts.markdown) console.log(`\n${report.markdown()}`);
  console.log(`\n${report.rows.filter((r) => r.met === true).length} targets met, ${report.rows.filter((r) => r.met === false).length} missed${opts.quick ? " (quick mode: targets not judged)" : ""}; ${report.errors.length} section errors; ${totalSeconds} s; JSON: ${out}`);
}

main().catch(async (err: unknown) => {
  console.error(err);
  await runCleanups();
  process.exit(1);
});
