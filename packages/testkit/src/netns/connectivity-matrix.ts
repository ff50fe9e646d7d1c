/**
 * Expected-vs-actual connectivity checks, in the spirit of Felix's connectivity.Checker: run a
 * list of probes, then print one table that shows every mismatch at a glance. "allow" checks get
 * a few attempts (policy programming may still be racing the probe); "deny" checks get one short
 * attempt, since waiting longer for a packet that must not arrive only slows the suite.
 */
import type { InNamespace } from "./topology";
import { ping, tcpConnect, udpExchange, type ProbeResult } from "./traffic";

export type Verdict = "allow" | "deny";

/** One check: traffic from a pod (or node) to an address. */
export interface MatrixCase {
  from: InNamespace & { readonly name: string };
  /** Destination address (IPv4 or IPv6). */
  to: string;
  proto: "tcp" | "udp" | "icmp";
  /** Required for tcp and udp. */
  port?: number;
  expect: Verdict;
}

export interface MatrixOptions {
  /** Per-attempt timeout of "allow" checks (default 1000 ms). */
  allowTimeoutMs?: number;
  /** Attempts for "allow" checks (default 3). */
  allowAttempts?: number;
  /** Pause between "allow" attempts (default 200 ms). */
  retryDelayMs?: number;
  /** Timeout of "deny" checks, which get exactly one attempt (default 500 ms). */
  denyTimeoutMs?: number;
  /** Probes running at once (default 16); each is a short-lived process. */
  concurrency?: number;
}

export interface MatrixRow {
  check: MatrixCase;
  actual: Verdict;
  /** The last attempt's failure reason, if it failed. */
  detail?: string;
  attempts: number;
}

export interface MatrixResult {
  /** True when every check's actual verdict equals its expected one. */
  ok: boolean;
  /** Human-readable table, one line per check, mismatches marked. */
  table: string;
  rows: MatrixRow[];
}

/** Runs every check (in parallel, bounded) and compares actual with expected verdicts. */
export async function expectMatrix(cases: readonly MatrixCase[], options: MatrixOptions = {}): Promise<MatrixResult> {
  const settings = {
    allowTimeoutMs: options.allowTimeoutMs ?? 1_000,
    allowAttempts: options.allowAttempts ?? 3,
    retryDelayMs: options.retryDelayMs ?? 200,
    denyTimeoutMs: options.denyTimeoutMs ?? 500,
  };
  for (const check of cases) {
    if (check.proto !== "icmp" && check.port === undefined) {
      throw new Error(`matrix check ${check.from.name} -> ${check.to} ${check.proto}: port is required`);
    }
  }
  const rows = await mapBounded(cases, options.concurrency ?? 16, (check) => runCheck(check, settings));
  return { ok: rows.every((row) => row.actual === row.check.expect), table: formatMatrixTable(rows), rows };
}

/** Renders rows as an aligned text table; mismatching rows end with "<-- MISMATCH". */
export function formatMatrixTable(rows: readonly MatrixRow[]): string {
  const header = ["from", "to", "proto", "expected", "actual", "detail"];
  const cells = rows.map((row) => [
    row.check.from.name,
    row.check.to,
    row.check.proto === "icmp" ? "icmp" : `${row.check.proto}/${row.check.port}`,
    row.check.expect,
    row.actual,
    row.detail === undefined ? "" : `${row.detail} (${row.attempts} attempt${row.attempts === 1 ? "" : "s"})`,
  ]);
  const widths = header.map((title, col) => Math.max(title.length, ...cells.map((line) => line[col]!.length)));
  const render = (line: string[], mark = ""): string =>
    (line.map((cell, col) => cell.padEnd(widths[col]!)).join("  ") + mark).trimEnd();
  const lines = [render(header), render(widths.map((w) => "-".repeat(w)))];
  rows.forEach((row, index) => {
    lines.push(render(cells[index]!, row.actual === row.check.expect ? "" : "  <-- MISMATCH"));
  });
  return lines.join("\n");
}

async function runCheck(
  check: MatrixCase,
  settings: { allowTimeoutMs: number; allowAttempts: number; retryDelayMs: number; denyTimeoutMs: number },
): Promise<MatrixRow> {
  const attempts = check.expect === "allow" ? Math.max(1, settings.allowAttempts) : 1;
  const timeoutMs = check.expect === "allow" ? settings.allowTimeoutMs : settings.denyTimeoutMs;
  let result: ProbeResult = { ok: false, error: "not run" };
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, settings.retryDelayMs));
    result = await probe(check, timeoutMs);
    if (result.ok) return { check, actual: "allow", attempts: attempt };
  }
  return { check, actual: "deny", detail: result.error, attempts };
}

function probe(check: MatrixCase, timeoutMs: number): Promise<ProbeResult> {
  switch (check.proto) {
    case "tcp":
      return tcpConnect(check.from, check.to, check.port!, { timeoutMs });
    case "udp":
      return udpExchange(check.from, check.to, check.port!, { timeoutMs });
    case "icmp":
      return ping(check.from, check.to, { count: 1, timeoutMs });
  }
}

/** Like Promise.all(items.map(fn)) with at most `limit` calls in flight; keeps input order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
