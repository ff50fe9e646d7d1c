/** Shared bits of the privileged e2e suites: root check, stale sweeps, matrix assertions. */
import { sweepStale } from "@ptables/testkit";
import { sweepStaleBpffs } from "./bpffs";
import { AllowSpec } from "./expect-spec";
import { allPairs, runMatrix, type MatrixOptions, type MatrixResult, type ProbeCase } from "./matrix";
import type { PtablesNode } from "./ptables-node";

export const isRoot = process.getuid?.() === 0;

/** Removes namespaces and bpffs mounts of e2e runs that died before their cleanup. */
export async function sweepLeftovers(prefix: string): Promise<void> {
  await sweepStale(prefix);
  await sweepStaleBpffs();
}

export type ProbeSpec = Pick<ProbeCase, "family" | "proto" | "port">;

/** Probes from a compact list: "ping", "ping6", "tcp/80" (v4), "tcp6/80", "udp/53", "udp6/53". */
export function probes(list: string): ProbeSpec[] {
  return list
    .trim()
    .split(/\s+/)
    .map((item): ProbeSpec => {
      if (item === "ping") return { family: 4, proto: "icmp" };
      if (item === "ping6") return { family: 6, proto: "icmp" };
      const m = /^(tcp|udp)(6?)\/(\d+)$/.exec(item);
      if (!m) throw new Error(`probe "${item}": want ping, ping6, tcp/<port>, tcp6/<port>, udp/<port> or udp6/<port>`);
      return { family: m[2] ? 6 : 4, proto: m[1] as "tcp" | "udp", port: Number(m[3]) };
    });
}

/**
 * Runs the whole pods × pods × probes matrix with expectations from `allowed`, and throws with
 * the full table unless kernel, oracle and expectation agree on every row.
 */
export async function assertMatrix(
  nodes: readonly PtablesNode[],
  what: string,
  pods: readonly string[],
  probeList: readonly ProbeSpec[],
  allowed: Record<string, string>,
  options: MatrixOptions = {},
): Promise<MatrixResult> {
  const spec = new AllowSpec(allowed);
  const cases = spec.apply(allPairs(pods, probeList));
  const unused = spec.unused();
  if (unused.length > 0) throw new Error(`${what}: allow spec entries that match no probe (typos?): ${unused.join(", ")}`);
  return assertCases(nodes, what, cases, options);
}

/** Runs cases and throws with the table on any disagreement. */
export async function assertCases(nodes: readonly PtablesNode[], what: string, cases: readonly ProbeCase[], options: MatrixOptions = {}): Promise<MatrixResult> {
  const result = await runMatrix(nodes, cases, options);
  if (!result.ok) {
    const bad = result.rows.filter((r) => !r.ok).length;
    const tails = nodes.map((n) => n.outputTail(15)).join("\n");
    const datapath = (await Promise.all(nodes.map((n) => n.describeDatapath()))).join("\n");
    throw new Error(`${what}: ${bad} of ${result.rows.length} probes disagree\n${result.table}\n--- datapath ---\n${datapath}\n--- driver output (tail) ---\n${tails}`);
  }
  if (process.env.E2E_DEBUG === "1") process.stderr.write(`${what}\n${result.table}\n`);
  return result;
}
