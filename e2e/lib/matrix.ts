/**
 * Traffic matrices checked three ways: the test's stated expectation, the reference evaluator's
 * verdict for exactly what the driver was told (oracle.ts), and what real packets did. A row
 * passes only when all three agree; the table shows every row with the deciding tier, policy
 * and rule, and marks each disagreement.
 */
import { isIPv6 } from "node:net";
import { expectedVerdict, type OracleVerdict } from "./oracle";
import { outcomeAllowed, type ProbeOutcome, type ProbeProto } from "./pod-agent";
import type { PtablesNode } from "./ptables-node";

export type Verdict = "allow" | "deny";

export interface ProbeCase {
  /** Sending pod ("namespace/name" or a unique name). */
  from: string;
  /** Receiving pod (by name; its address of `family`) or a literal IP address. */
  to: string;
  family: 4 | 6;
  proto: ProbeProto;
  port?: number;
  /** The test's own expectation; must equal the oracle's. Omit to check kernel == oracle only. */
  expect?: Verdict;
  /** A short label for the table (what the case is about). */
  note?: string;
}

export interface MatrixRow {
  check: ProbeCase;
  dstIp: string;
  oracle: OracleVerdict;
  actual: Verdict;
  outcome: ProbeOutcome;
  detail?: string;
  attempts: number;
  ok: boolean;
}

export interface MatrixOptions {
  /** Per-attempt timeout for flows that should pass (default 1500 ms). */
  allowTimeoutMs?: number;
  /** Attempts for flows that should pass (default 3). */
  allowAttempts?: number;
  /** The single attempt's timeout for flows that should be dropped (default 500 ms). */
  denyTimeoutMs?: number;
  /** Probes in flight at once (default 48). */
  concurrency?: number;
}

export interface MatrixResult {
  ok: boolean;
  rows: MatrixRow[];
  table: string;
}

/** Finds the node and pod of a name or address among `nodes`. */
function locate(nodes: readonly PtablesNode[], name: string): { node: PtablesNode; ipv4?: string; ipv6?: string; label: string } | undefined {
  for (const node of nodes) {
    try {
      const pod = node.pod(name);
      return { node, ipv4: pod.spec.ipv4[0], ipv6: pod.spec.ipv6[0], label: pod.spec.name };
    } catch {
      // Not on this node.
    }
  }
  return undefined;
}

/** Resolves a case's destination address. */
export function destinationIp(nodes: readonly PtablesNode[], check: ProbeCase): string {
  if (/^[0-9.]+$/.test(check.to) || isIPv6(check.to)) return check.to;
  const dst = locate(nodes, check.to);
  if (!dst) throw new Error(`matrix: no pod named ${check.to}`);
  const ip = check.family === 4 ? dst.ipv4 : dst.ipv6;
  if (!ip) throw new Error(`matrix: pod ${check.to} has no IPv${check.family} address`);
  return ip;
}

/** The oracle's verdict for one case (the pods' current state on their nodes). */
export function oracleFor(nodes: readonly PtablesNode[], check: ProbeCase): { dstIp: string; oracle: OracleVerdict } {
  const src = locate(nodes, check.from);
  if (!src) throw new Error(`matrix: no pod named ${check.from}`);
  const srcIp = check.family === 4 ? src.ipv4 : src.ipv6;
  if (!srcIp) throw new Error(`matrix: pod ${check.from} has no IPv${check.family} address`);
  const dstIp = destinationIp(nodes, check);
  const oracle = expectedVerdict(nodes.map((n) => ({ oracle: n.oracle, ownsIp: (ip: string) => n.ownsIp(ip) })), {
    family: check.family,
    srcIp,
    dstIp,
    proto: check.proto,
    port: check.port,
  });
  return { dstIp, oracle };
}

/** Runs every case against the live datapath and compares. */
export async function runMatrix(nodes: readonly PtablesNode[], cases: readonly ProbeCase[], options: MatrixOptions = {}): Promise<MatrixResult> {
  const allowTimeoutMs = options.allowTimeoutMs ?? 1500;
  const allowAttempts = options.allowAttempts ?? 3;
  const denyTimeoutMs = options.denyTimeoutMs ?? 500;
  const prepared = cases.map((check) => ({ check, ...oracleFor(nodes, check) }));
  const rows = await mapBounded(prepared, options.concurrency ?? 48, async ({ check, dstIp, oracle }): Promise<MatrixRow> => {
    const src = locate(nodes, check.from)!;
    const wantAllow = oracle.verdict === "allow" || check.expect === "allow";
    const attempts = wantAllow ? allowAttempts : 1;
    let reply: { outcome: ProbeOutcome; detail?: string } = { outcome: "error", detail: "not run" };
    let attempt = 0;
    while (attempt < attempts) {
      attempt += 1;
      reply = await src.node.probe(check.from, { proto: check.proto, host: dstIp, port: check.port, timeoutMs: wantAllow ? allowTimeoutMs : denyTimeoutMs });
      if (outcomeAllowed(reply.outcome)) break;
      if (attempt < attempts) await new Promise((r) => setTimeout(r, 150));
    }
    const actual: Verdict = outcomeAllowed(reply.outcome) ? "allow" : "deny";
    const ok = actual === oracle.verdict && (check.expect === undefined || check.expect === oracle.verdict);
    return { check, dstIp, oracle, actual, outcome: reply.outcome, detail: reply.detail, attempts: attempt, ok };
  });
  return { ok: rows.every((r) => r.ok), rows, table: formatMatrix(rows) };
}

function probeLabel(check: ProbeCase): string {
  return check.proto === "icmp" ? (check.family === 4 ? "ping" : "ping6") : `${check.proto}/${check.port}`;
}

/** One line per case; disagreements end with "<-- MISMATCH (...)". */
export function formatMatrix(rows: readonly MatrixRow[]): string {
  const header = ["from", "to", "ip", "probe", "expect", "oracle", "kernel", "decided by (oracle)", "outcome", "note"];
  const cells = rows.map((r) => [
    r.check.from,
    r.check.to,
    `v${r.check.family}`,
    probeLabel(r.check),
    r.check.expect ?? "-",
    r.oracle.verdict,
    r.actual,
    r.oracle.decidedBy,
    `${r.outcome}${r.detail ? ` ${r.detail}` : ""}${r.attempts > 1 ? ` (${r.attempts} tries)` : ""}`,
    r.check.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w)))];
  rows.forEach((r, i) => {
    const why: string[] = [];
    if (r.check.expect !== undefined && r.check.expect !== r.oracle.verdict) why.push("test expectation != oracle");
    if (r.actual !== r.oracle.verdict) why.push("kernel != oracle");
    out.push(line(cells[i]!) + (why.length ? `  <-- MISMATCH (${why.join(", ")})` : ""));
  });
  return out.join("\n");
}

/** Like Promise.all(items.map(fn)) with at most `limit` in flight; keeps order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Every (from, to) pair of distinct pods × each probe. */
export function allPairs(pods: readonly string[], probes: ReadonlyArray<Pick<ProbeCase, "family" | "proto" | "port">>): ProbeCase[] {
  const out: ProbeCase[] = [];
  for (const from of pods) for (const to of pods) if (from !== to) for (const p of probes) out.push({ from, to, ...p });
  return out;
}
