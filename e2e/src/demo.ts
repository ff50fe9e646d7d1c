/**
 * The ptables demo (scripts/demo.sh): one Calico node and its pods as network namespaces, the
 * real bin/ptables-felix-driver started exactly as Felix starts it, a scenario played into it,
 * then real traffic between the pods, shown next to what Calico's semantics (the reference
 * evaluator) say and which tier, policy and rule decided. Then the scenario's timed changes, and
 * the traffic again. Everything is removed at the end, on Ctrl-C and on errors.
 *
 * Usage: node e2e/dist/src/demo.js [scenario.yaml]   (default: the player's demo.yaml)
 */
import { ScenarioError, demoScenarioPath, loadScenario, type PodSpec, type RuleSpec, type Scenario } from "@ptables/felix";
import type { sync } from "@ptables/proto";
import { createTopology, sweepStale, type Topology } from "@ptables/testkit";
import { programmerState } from "../lib/agent-info";
import { sweepStaleBpffs } from "../lib/bpffs";
import { runMatrix, type MatrixRow, type ProbeCase } from "../lib/matrix";
import { describeVerdict, shortPolicy } from "../lib/oracle";
import { createPtablesNode, endpointKey, type PtablesNode } from "../lib/ptables-node";
import { sleep } from "../lib/run";

const PREFIX = "demo";
const MAX_TCP_PORTS = 6;
const MAX_UDP_PORTS = 2;

// --- presentation ------------------------------------------------------------------------------

const tty = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint("1");
const dim = paint("2");
const green = paint("32");
const red = paint("31");
const yellow = paint("33");
const cyan = paint("36");

/** Visible length (without ANSI colour codes). */
const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").length;
const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - visible(text)));

function table(header: string[], rows: string[][], indent = "  "): string {
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]) => indent + cells.map((c, i) => pad(c, widths[i]!)).join("  ").trimEnd();
  return [line(header.map((h) => bold(h))), indent + widths.map((w) => dim("─".repeat(w))).join("  "), ...rows.map(line)].join("\n");
}

function section(title: string): void {
  console.log(`\n${bold(cyan(`▌ ${title}`))}`);
}

const say = (text = "") => console.log(text);

// --- what to probe ------------------------------------------------------------------------------

interface PortProbe {
  proto: "tcp" | "udp";
  port: number;
}

/** Ports the scenario's rules talk about (numbers, the start of ranges, named ports resolved). */
function interestingPorts(scenario: Scenario): PortProbe[] {
  const allPods = [...scenario.pods, ...scenario.steps.flatMap((s) => (s.action.kind === "addPod" ? [s.action.pod] : []))];
  const rules: RuleSpec[] = [
    ...scenario.policies.flatMap((p) => [...p.ingress, ...p.egress]),
    ...scenario.profiles.flatMap((p) => [...p.ingress, ...p.egress]),
    ...scenario.steps.flatMap((s) => (s.action.kind === "addPolicy" || s.action.kind === "updatePolicy" ? [...s.action.policy.ingress, ...s.action.policy.egress] : [])),
  ];
  const found = new Map<string, PortProbe>();
  const add = (proto: string, port: number) => {
    if (proto === "tcp" || proto === "udp") found.set(`${proto}/${port}`, { proto, port });
  };
  for (const rule of rules) {
    const proto = rule.protocol === 6 ? "tcp" : rule.protocol === 17 ? "udp" : String(rule.protocol ?? "").toLowerCase();
    for (const entity of [rule.destination, rule.source]) {
      for (const port of [...entity.ports, ...entity.notPorts]) {
        if (port.kind === "range") add(proto, port.first);
        else for (const pod of allPods) for (const named of pod.ports) if (named.name === port.name) add(named.protocol.toLowerCase(), named.port);
      }
    }
  }
  const all = [...found.values()].sort((a, b) => a.port - b.port);
  const tcp = all.filter((p) => p.proto === "tcp").slice(0, MAX_TCP_PORTS);
  const udp = all.filter((p) => p.proto === "udp").slice(0, MAX_UDP_PORTS);
  if (tcp.length === 0) tcp.push({ proto: "tcp", port: 80 });
  return [...tcp, ...udp];
}

/** The node's pods in scenario order (steps' pods last). */
function podsInOrder(node: PtablesNode): PodSpec[] {
  const order = [...node.scenario.pods, ...node.scenario.steps.flatMap((s) => (s.action.kind === "addPod" ? [s.action.pod] : []))].map((p) => `${p.namespace}/${p.name}`);
  return [...node.pods.values()].map((p) => p.spec).sort((a, b) => order.indexOf(`${a.namespace}/${a.name}`) - order.indexOf(`${b.namespace}/${b.name}`));
}

function probeCases(node: PtablesNode, ports: PortProbe[]): ProbeCase[] {
  const pods = podsInOrder(node);
  const families = ([4, 6] as const).filter((f) => pods.some((p) => (f === 4 ? p.ipv4 : p.ipv6).length > 0));
  const cases: ProbeCase[] = [];
  for (const from of pods) {
    for (const to of pods) {
      if (from === to) continue;
      for (const probe of [...ports, { proto: "icmp" as const, port: undefined }]) {
        for (const family of families) {
          if ((family === 4 ? from.ipv4 : from.ipv6).length === 0 || (family === 4 ? to.ipv4 : to.ipv6).length === 0) continue;
          cases.push({ from: `${from.namespace}/${from.name}`, to: `${to.namespace}/${to.name}`, family, proto: probe.proto, port: probe.port });
        }
      }
    }
  }
  return cases;
}

// --- what was programmed ------------------------------------------------------------------------

interface InterfaceView {
  ifname: string;
  endpoint: string | null;
  ingress: { rules: number } | null;
  egress: { rules: number } | null;
}

async function programmed(node: PtablesNode): Promise<{ statuses: sync.ObjectStatus[]; tables: { interfaces?: InterfaceView[]; ipSets?: Array<{ members: number }> } }> {
  const res = await programmerState(node.runDir);
  return { statuses: res.statuses, tables: JSON.parse(res.tablesJson || "{}") };
}

function tiersOf(node: PtablesNode, pod: PodSpec): string {
  const ep = node.oracle.model().endpoints.find((e) => e.key === endpointKey(pod));
  if (!ep) return dim("(not in the model)");
  const parts = ep.tiers
    .map((tier) => {
      const policies = [...new Set([...tier.ingressPolicies, ...tier.egressPolicies])].map(shortPolicy);
      return policies.length ? `${tier.name}: ${policies.join(", ")}` : "";
    })
    .filter(Boolean);
  const profiles = ep.profileIds.length ? `profiles: ${ep.profileIds.join(", ")}` : "no profiles";
  return [...parts, profiles].join(" │ ");
}

async function showProgrammed(node: PtablesNode): Promise<void> {
  const state = await programmed(node);
  const interfaces = new Map((state.tables.interfaces ?? []).map((i) => [i.ifname, i]));
  const reasons = new Map(state.statuses.filter((s) => s.reason).map((s) => [s.id, s.reason]));
  const rows = podsInOrder(node).map((spec) => {
    const key = endpointKey(spec);
    const status = node.driver.endpointStatuses.get(key)?.status ?? "(none)";
    const iface = interfaces.get(spec.ifname);
    const colour = status === "up" ? green : status === "down" ? yellow : red;
    return [
      `${spec.namespace}/${spec.name}`,
      spec.ifname,
      colour(status) + (reasons.has(key) ? dim(` (${reasons.get(key)})`) : ""),
      String(iface?.ingress?.rules ?? "-"),
      String(iface?.egress?.rules ?? "-"),
      tiersOf(node, spec),
    ];
  });
  say(table(["pod", "interface", "Felix status", "in rules", "out rules", "policy (tier: policies │ profiles)"], rows));
  const sets = state.tables.ipSets ?? [];
  say(dim(`  ${sets.length} IP set(s) with ${sets.reduce((n, s) => n + s.members, 0)} member(s) programmed; pinned under ${node.bpfDir}`));
}

// --- traffic ------------------------------------------------------------------------------------

function probeName(c: ProbeCase): string {
  return c.proto === "icmp" ? "ping" : `${c.proto}/${c.port}`;
}

/** The decision worth showing: the side that dropped, or both sides of an allow. */
function decision(row: MatrixRow): string {
  const o = row.oracle;
  if (o.verdict === "deny") return o.decidedBy.replace(/^egress: /, "out: ").replace(/^ingress: /, "in: ");
  const parts: string[] = [];
  if (o.egress) parts.push(`out: ${describeVerdict(o.egress)}`);
  if (o.ingress) parts.push(`in: ${describeVerdict(o.ingress)}`);
  return parts.join(" · ");
}

function verdictCell(row: MatrixRow | undefined): string {
  if (!row) return dim("—");
  const text = row.actual === "allow" ? green("ALLOWED") : red("DENIED ");
  return row.actual === row.oracle.verdict ? text : `${text}${yellow("!")}`;
}

/** Prints the matrix grouped by pod pair; returns the rows keyed for comparisons. */
function showMatrix(rows: MatrixRow[], previous?: Map<string, MatrixRow>): Map<string, MatrixRow> {
  const byKey = new Map<string, MatrixRow>();
  for (const r of rows) byKey.set(`${r.check.from}>${r.check.to} ${probeName(r.check)} v${r.check.family}`, r);
  const pairs = [...new Set(rows.map((r) => `${r.check.from}>${r.check.to}`))];
  const short = (pod: string) => pod.split("/")[1] ?? pod;
  for (const pair of pairs) {
    const [from, to] = pair.split(">") as [string, string];
    say(`  ${bold(short(from))} ${dim("──▶")} ${bold(short(to))}`);
    const pairRows = rows.filter((r) => r.check.from === from && r.check.to === to);
    const probesHere = [...new Set(pairRows.map((r) => probeName(r.check)))];
    const lines = probesHere.map((probe) => {
      const v4 = byKey.get(`${pair} ${probe} v4`);
      const v6 = byKey.get(`${pair} ${probe} v6`);
      const changed = previous && [v4, v6].some((r) => r && previous.get(`${pair} ${probe} v${r.check.family}`)?.actual !== r.actual);
      const present = [v4, v6].filter((r): r is MatrixRow => r !== undefined);
      const decisions = [...new Set(present.map(decision))];
      const text = decisions.length <= 1 ? (decisions[0] ?? "") : present.map((r) => `v${r.check.family} ${decision(r)}`).join(" │ ");
      return [`  ${probe}`, `v4 ${verdictCell(v4)}`, `v6 ${verdictCell(v6)}`, dim(text) + (changed ? ` ${yellow("← changed")}` : "")];
    });
    const widths = [0, 1, 2].map((i) => Math.max(...lines.map((l) => visible(l[i]!))));
    for (const l of lines) say(`  ${l.map((c, i) => (i < 3 ? pad(c, widths[i]!) : c)).join("   ")}`);
  }
  return byKey;
}

async function trafficMatrix(node: PtablesNode, ports: PortProbe[], title: string, previous?: Map<string, MatrixRow>): Promise<Map<string, MatrixRow>> {
  section(title);
  const started = Date.now();
  const result = await runMatrix([node], probeCases(node, ports), { denyTimeoutMs: 400 });
  const rows = showMatrix(result.rows, previous);
  const disagree = result.rows.filter((r) => r.actual !== r.oracle.verdict);
  const allowed = result.rows.filter((r) => r.actual === "allow").length;
  say(
    dim(`  ${result.rows.length} probes in ${((Date.now() - started) / 1000).toFixed(1)} s: ${allowed} allowed, ${result.rows.length - allowed} denied. `) +
      (disagree.length === 0
        ? green("The kernel agrees with Calico's semantics (reference evaluator) on every probe.")
        : red(`${disagree.length} probe(s) disagree with the reference evaluator (marked !).`)),
  );
  return rows;
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes("-h") || args.includes("--help") || args.length > 1) {
    say("Usage: demo [scenario.yaml]   (default: the built-in demo scenario)");
    return args.length > 1 ? 2 : 0;
  }
  if (process.getuid?.() !== 0) {
    console.error("demo: must run as root (it creates network namespaces and loads BPF programs)");
    return 1;
  }
  const file = args[0] ?? demoScenarioPath();
  let scenario: Scenario;
  try {
    scenario = loadScenario(file);
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err;
    console.error(red(`demo: ${err.message}`));
    return 2;
  }
  const local = scenario.pods.filter((p) => p.node === scenario.node);
  const ports = interestingPorts(scenario);
  const t0 = Date.now();

  say(bold(`ptables demo — scenario ${file}`));
  say(dim(`Node ${scenario.node}: ${local.length} pod(s) at start, ${scenario.policies.length} polic${scenario.policies.length === 1 ? "y" : "ies"}, ${scenario.steps.length} timed change(s).`));
  say(dim(`Probing ${ports.map((p) => `${p.proto}/${p.port}`).join(", ")} and ping, over IPv4 and IPv6.`));

  let topology: Topology | undefined;
  let node: PtablesNode | undefined;
  let cleaning: Promise<boolean> | undefined;
  /** Resolves true when everything was removed. */
  const cleanup = () =>
    (cleaning ??= (async () => {
      say(dim("\nCleaning up: stopping the driver, removing the datapath, the bpffs mount and the namespaces..."));
      let ok = true;
      const report = (err: unknown) => {
        ok = false;
        console.error(red(`cleanup: ${(err as Error).message}`));
      };
      await node?.cleanup().catch(report);
      await topology?.destroy().catch(report);
      return ok;
    })());
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    say(yellow(`\n${signal}: stopping.`));
    void cleanup().then((ok) => {
      say(ok ? dim("Everything removed.") : red("Some things could not be removed (see above)."));
      process.exit(130);
    });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    await sweepStale(PREFIX);
    await sweepStaleBpffs();
    topology = createTopology({ prefix: PREFIX });

    section("Pods (network namespaces wired like Calico's CNI)");
    say(table(["pod", "interface", "IPv4", "IPv6", "labels"], local.map((p) => [`${p.namespace}/${p.name}`, p.ifname, p.ipv4.join(" ") || "-", p.ipv6.join(" ") || "-", Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(",")])));

    section("Starting bin/ptables-felix-driver the way Felix does (fd 3 / fd 4), and playing start of day");
    const startedAt = Date.now();
    node = createPtablesNode(topology, scenario.node, scenario, {
      tcpPorts: ports.filter((p) => p.proto === "tcp").map((p) => p.port),
      udpPorts: ports.filter((p) => p.proto === "udp").map((p) => p.port),
      keepTopology: true,
    });
    await node.start();
    say(`  Every endpoint reported to Felix after ${((Date.now() - startedAt) / 1000).toFixed(1)} s.`);

    section("What was programmed");
    await showProgrammed(node);

    let rows = await trafficMatrix(node, ports, "Traffic (real packets between the pods; decisions from the reference evaluator)");

    if (node.stream.steps.length > 0) {
      section("Playing the scenario's timed changes");
      let previousMs = 0;
      for (const step of node.stream.steps) {
        await sleep(Math.max(0, step.afterMs - previousMs));
        previousMs = step.afterMs;
        const description = await node.playStep();
        say(`  +${(step.afterMs / 1000).toFixed(1)} s  ${description}  ${dim(`(${step.messages.length} message(s) to the driver, applied)`)}`);
      }
      section("What is programmed now");
      await showProgrammed(node);
      rows = await trafficMatrix(node, ports, "Traffic after the changes", rows);
    }
    void rows;
    return 0;
  } catch (err) {
    if (interrupted) return 130;
    console.error(red(`\ndemo failed: ${(err as Error).message}`));
    return 1;
  } finally {
    const clean = await cleanup();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    say(clean ? dim(`Done in ${((Date.now() - t0) / 1000).toFixed(1)} s; everything it created is removed.`) : red("Some things could not be removed (see above)."));
  }
}

void main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
