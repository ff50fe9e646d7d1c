/**
 * What the demo prints, shared by its one-node and its multi-node run: colours and tables, the
 * ports worth probing, the probe cases, what a node's driver programmed, and the traffic matrix
 * with the deciding tier/policy/rule from the reference evaluator.
 */
import type { PodSpec, RuleSpec, Scenario } from "@ptables/felix";
import type { sync } from "@ptables/proto";
import { programmerState } from "../lib/agent-info";
import { runMatrix, type MatrixRow, type ProbeCase } from "../lib/matrix";
import { describeVerdict, shortPolicy } from "../lib/oracle";
import { endpointKey, type PtablesNode } from "../lib/ptables-node";

const MAX_TCP_PORTS = 6;
const MAX_UDP_PORTS = 2;

// --- presentation ------------------------------------------------------------------------------

const tty = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
export const bold = paint("1");
export const dim = paint("2");
export const green = paint("32");
export const red = paint("31");
export const yellow = paint("33");
export const cyan = paint("36");
export const magenta = paint("35");

/** Visible length (without ANSI colour codes). */
const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").length;
const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - visible(text)));

export function table(header: string[], rows: string[][], indent = "  "): string {
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]) => indent + cells.map((c, i) => pad(c, widths[i]!)).join("  ").trimEnd();
  return [line(header.map((h) => bold(h))), indent + widths.map((w) => dim("─".repeat(w))).join("  "), ...rows.map(line)].join("\n");
}

export function section(title: string): void {
  console.log(`\n${bold(cyan(`▌ ${title}`))}`);
}

export const say = (text = "") => console.log(text);

// --- what to probe ------------------------------------------------------------------------------

export interface PortProbe {
  proto: "tcp" | "udp";
  port: number;
}

/** Every pod of the scenario, those that steps add last. */
export function scenarioPods(scenario: Scenario): PodSpec[] {
  return [...scenario.pods, ...scenario.steps.flatMap((s) => (s.action.kind === "addPod" ? [s.action.pod] : []))];
}

/** Ports the scenario's rules talk about (numbers, the start of ranges, named ports resolved). */
export function interestingPorts(scenario: Scenario): PortProbe[] {
  const allPods = scenarioPods(scenario);
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

/** The pods built on `nodes`, in scenario order (steps' pods last). */
export function podsInOrder(nodes: readonly PtablesNode[]): PodSpec[] {
  if (nodes.length === 0) return [];
  const order = scenarioPods(nodes[0]!.scenario).map((p) => `${p.namespace}/${p.name}`);
  return nodes
    .flatMap((node) => [...node.pods.values()].map((p) => p.spec))
    .sort((a, b) => order.indexOf(`${a.namespace}/${a.name}`) - order.indexOf(`${b.namespace}/${b.name}`));
}

/** Every ordered pair of distinct pods × every port and ping × every family both pods have. */
export function probeCases(nodes: readonly PtablesNode[], ports: PortProbe[]): ProbeCase[] {
  const pods = podsInOrder(nodes);
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

/** The node's endpoints as its driver reports them, with rule counts and policies; its IP sets. */
export async function showProgrammed(node: PtablesNode): Promise<void> {
  const state = await programmed(node);
  const interfaces = new Map((state.tables.interfaces ?? []).map((i) => [i.ifname, i]));
  const reasons = new Map(state.statuses.filter((s) => s.reason).map((s) => [s.id, s.reason]));
  const rows = podsInOrder([node]).map((spec) => {
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

/** Text after a pod pair's heading (e.g. which nodes and which tunnel), by "ns/from" and "ns/to". */
export type PairNote = (from: string, to: string) => string;

/** Prints the matrix grouped by pod pair; returns the rows keyed for comparisons. */
function showMatrix(rows: MatrixRow[], previous?: Map<string, MatrixRow>, pairNote?: PairNote): Map<string, MatrixRow> {
  const byKey = new Map<string, MatrixRow>();
  for (const r of rows) byKey.set(`${r.check.from}>${r.check.to} ${probeName(r.check)} v${r.check.family}`, r);
  const pairs = [...new Set(rows.map((r) => `${r.check.from}>${r.check.to}`))];
  const short = (pod: string) => pod.split("/")[1] ?? pod;
  for (const pair of pairs) {
    const [from, to] = pair.split(">") as [string, string];
    const note = pairNote?.(from, to);
    // A pair that was not probed before (a pod added by a step) is new, not changed.
    const isNew = previous !== undefined && ![...previous.values()].some((r) => r.check.from === from && r.check.to === to);
    say(`  ${bold(short(from))} ${dim("──▶")} ${bold(short(to))}${isNew ? ` ${yellow("(new)")}` : ""}${note ? `   ${note}` : ""}`);
    const pairRows = rows.filter((r) => r.check.from === from && r.check.to === to);
    const probesHere = [...new Set(pairRows.map((r) => probeName(r.check)))];
    const lines = probesHere.map((probe) => {
      const v4 = byKey.get(`${pair} ${probe} v4`);
      const v6 = byKey.get(`${pair} ${probe} v6`);
      const changed = previous && !isNew && [v4, v6].some((r) => r && previous.get(`${pair} ${probe} v${r.check.family}`)?.actual !== r.actual);
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

/**
 * Sends every probe case as real packets from the pods of `nodes`, prints the matrix and a
 * summary line (kernel vs reference evaluator); returns the rows keyed for the next comparison.
 */
export async function trafficMatrix(
  nodes: readonly PtablesNode[],
  cases: ProbeCase[],
  title: string,
  previous?: Map<string, MatrixRow>,
  pairNote?: PairNote,
): Promise<Map<string, MatrixRow>> {
  section(title);
  const started = Date.now();
  const result = await runMatrix(nodes, cases, { denyTimeoutMs: 400 });
  const rows = showMatrix(result.rows, previous, pairNote);
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
