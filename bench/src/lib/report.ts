/**
 * Results: one row per figure, grouped by section, printed as a table and written as JSON.
 * A row may carry a target; the table then says "met" or "MISSED". There is no pass/fail exit
 * status: the suite measures and reports.
 */

export interface Target {
  op: "<" | "<=" | ">=" | ">" | "==";
  value: number;
  /** How the target reads in the table, e.g. "< 2 s". */
  text: string;
}

export interface Row {
  section: string;
  name: string;
  value: number | null;
  unit: string;
  target?: Target;
  met?: boolean;
  note?: string;
}

export class Report {
  readonly rows: Row[] = [];
  readonly errors: Array<{ section: string; error: string }> = [];
  readonly extra: Record<string, unknown> = {};

  /** `quick`: reduced scale and short runs, so targets are shown but not judged. */
  constructor(readonly quick = false) {}

  add(section: string, name: string, value: number | null, unit: string, opts: { target?: Target; note?: string } = {}): Row {
    const row: Row = { section, name, value, unit, ...opts };
    if (opts.target && !this.quick && value !== null && Number.isFinite(value)) row.met = check(value, opts.target);
    this.rows.push(row);
    return row;
  }

  error(section: string, err: unknown): void {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.errors.push({ section, error: text });
  }

  /** Rows grouped by section ("1. …" < "2. …"), in insertion order within a section. */
  sorted(): Row[] {
    return this.rows.map((r, i) => ({ r, i })).sort((a, b) => (a.r.section < b.r.section ? -1 : a.r.section > b.r.section ? 1 : a.i - b.i)).map((x) => x.r);
  }

  /** The table: section, figure, value, target, status. */
  format(): string {
    const lines: string[] = [];
    const rows = this.sorted();
    const cells = rows.map((r) => [r.name, formatValue(r.value, r.unit), r.target?.text ?? "", r.target ? status(r, this.quick) : "", r.note ?? ""]);
    const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((c) => c[i]!.length), ["figure", "value", "target", "status"][i]!.length));
    const line = (c: string[]) => `${c[0]!.padEnd(widths[0]!)}  ${c[1]!.padStart(widths[1]!)}  ${c[2]!.padEnd(widths[2]!)}  ${c[3]!.padEnd(widths[3]!)}${c[4] ? `  ${c[4]}` : ""}`.trimEnd();
    let section = "";
    lines.push(line(["figure", "value", "target", "status", ""]));
    lines.push("-".repeat(widths.reduce((a, b) => a + b + 2, 0)));
    rows.forEach((r, i) => {
      if (r.section !== section) {
        section = r.section;
        lines.push(`[${section}]`);
      }
      lines.push(line(cells[i]!));
    });
    for (const e of this.errors) lines.push(`[${e.section}] ERROR: ${e.error.split("\n")[0]}`);
    return lines.join("\n");
  }

  /** Markdown version of the same table (for docs/performance.md). */
  markdown(): string {
    const out: string[] = [];
    let section = "";
    for (const r of this.sorted()) {
      if (r.section !== section) {
        section = r.section;
        out.push("", `**${section}**`, "", "| figure | value | target | status | notes |", "|---|---:|---|---|---|");
      }
      const st = r.target ? status(r, this.quick).replace("MISSED", "**missed**") : "";
      const esc = (t: string) => t.replace(/\|/g, "\\|");
      out.push(`| ${esc(r.name.trim())} | ${formatValue(r.value, r.unit)} | ${r.target?.text ?? ""} | ${st} | ${esc(r.note ?? "")} |`);
    }
    return out.join("\n").trim();
  }
}

function status(r: Row, quick: boolean): string {
  if (quick) return "(quick)";
  return r.met === undefined ? "n/a" : r.met ? "met" : "MISSED";
}

function check(value: number, t: Target): boolean {
  switch (t.op) {
    case "<":
      return value < t.value;
    case "<=":
      return value <= t.value;
    case ">=":
      return value >= t.value;
    case ">":
      return value > t.value;
    case "==":
      return value === t.value;
  }
}

export function formatValue(value: number | null, unit: string): string {
  if (value === null || Number.isNaN(value)) return "n/a";
  const abs = Math.abs(value);
  const digits = abs === 0 || Number.isInteger(value) ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const text = value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${text} ${unit}` : text;
}
