/**
 * Hand-written expectations in a compact form: which flows are allowed, everything else is
 * denied. Keys are "from>to" pod names; values are "*" (every probe) or space-separated probe
 * labels: "ping" (IPv4 echo), "ping6", "tcp/8080" (both families), "tcp/8080@4" or "@6" (one
 * family). Typos are caught: every entry must match at least one case of the matrix.
 */
import type { ProbeCase, Verdict } from "./matrix";

export function probeLabel(c: Pick<ProbeCase, "family" | "proto" | "port">): string {
  return c.proto === "icmp" ? (c.family === 4 ? "ping" : "ping6") : `${c.proto}/${c.port}`;
}

export class AllowSpec {
  private readonly entries = new Map<string, { labels: string[] | "*"; used: Set<string> }>();

  constructor(spec: Record<string, string>) {
    for (const [pair, value] of Object.entries(spec)) {
      if (!/^[^>\s]+>[^>\s]+$/.test(pair)) throw new Error(`allow spec: key "${pair}" is not "from>to"`);
      const labels = value.trim() === "*" ? "*" : value.trim().split(/\s+/);
      this.entries.set(pair, { labels, used: new Set() });
    }
  }

  /** The expected verdict of a case. */
  verdict(c: ProbeCase): Verdict {
    const entry = this.entries.get(`${c.from}>${c.to}`);
    if (!entry) return "deny";
    if (entry.labels === "*") {
      entry.used.add("*");
      return "allow";
    }
    const label = probeLabel(c);
    for (const candidate of [label, `${label}@${c.family}`]) {
      if (entry.labels.includes(candidate)) {
        entry.used.add(candidate);
        return "allow";
      }
    }
    return "deny";
  }

  /** Entries (or labels) that matched no case: typos in the spec. */
  unused(): string[] {
    const out: string[] = [];
    for (const [pair, entry] of this.entries) {
      if (entry.labels === "*") {
        if (!entry.used.has("*")) out.push(`${pair}: *`);
      } else {
        for (const label of entry.labels) if (!entry.used.has(label)) out.push(`${pair}: ${label}`);
      }
    }
    return out;
  }

  /** Sets each case's `expect` from the spec. */
  apply(cases: readonly ProbeCase[]): ProbeCase[] {
    return cases.map((c) => ({ ...c, expect: this.verdict(c) }));
  }
}
