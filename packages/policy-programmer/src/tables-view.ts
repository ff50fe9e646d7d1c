/**
 * The JSON behind State.tables_json (what `ptablesctl` shows): every interface with the
 * programs its entry points at, their rule counts, and per-rule packet/byte counters joined
 * with the policy rule each counter belongs to. Bigints are rendered as strings.
 */
import type { Counter } from "@ptables/api";
import { DIRECTIONS } from "./compiler";
import type { Program } from "./program-manager";
import type { Programmer } from "./programmer";

export interface RuleCounterView {
  index: number;
  counterId: string;
  policy?: string;
  profile?: string;
  tier?: string;
  ruleIndex: number;
  ruleId: string;
  packets: string;
  bytes: string;
}

export interface ProgramView {
  programId: number;
  slot: 0 | 1 | null;
  rules: number;
  counters: RuleCounterView[];
}

export interface InterfaceView {
  ifname: string;
  endpoint: string | null;
  flags: number;
  pending: boolean;
  removing: boolean;
  blocked: string | null;
  ingress: ProgramView | null;
  egress: ProgramView | null;
  /** Programs written but not yet flipped to (waiting for their writes to complete). */
  nextIngress: ProgramView | null;
  nextEgress: ProgramView | null;
}

function programView(p: Program | undefined, counters: Map<bigint, Counter>): ProgramView | null {
  if (!p) return null;
  const rows: RuleCounterView[] = [];
  p.rules.forEach((rule, index) => {
    if (rule.counterId === 0n) return;
    const owner = p.counters.get(rule.counterId);
    const c = counters.get(rule.counterId);
    rows.push({
      index,
      counterId: rule.counterId.toString(),
      ...(owner?.policy !== undefined ? { policy: owner.policy } : {}),
      ...(owner?.profile !== undefined ? { profile: owner.profile } : {}),
      ...(owner?.tier !== undefined ? { tier: owner.tier } : {}),
      ruleIndex: owner?.ruleIndex ?? -1,
      ruleId: owner?.ruleId ?? "",
      packets: (c?.packets ?? 0n).toString(),
      bytes: (c?.bytes ?? 0n).toString(),
    });
  });
  return { programId: p.id, slot: p.slot ?? null, rules: p.rules.length, counters: rows };
}

/** Renders the programmed tables; `counters` comes from Backend.readRuleCounters(). */
export function renderTables(programmer: Programmer, counters: Map<bigint, Counter>, counterError?: string): string {
  const interfaces: InterfaceView[] = [];
  for (const iface of programmer.programs.interfaces()) {
    const summary = programmer.endpointManager.interfaceSummary(iface.ifname);
    const [ing, eg] = DIRECTIONS.map((d) => iface[d]);
    interfaces.push({
      ifname: iface.ifname,
      endpoint: summary?.owner ?? null,
      flags: summary?.flags ?? 0,
      pending: summary?.pending ?? false,
      removing: summary?.removing ?? false,
      blocked: summary?.blocked ?? null,
      ingress: programView(ing!.active, counters),
      egress: programView(eg!.active, counters),
      nextIngress: programView(ing!.next, counters),
      nextEgress: programView(eg!.next, counters),
    });
  }
  interfaces.sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0));
  const last = programmer.lastApply;
  return JSON.stringify({
    backend: programmer.backend.name,
    capabilities: programmer.caps,
    appliedVersion: programmer.appliedVersion.toString(),
    inSync: programmer.inSync,
    writes: programmer.writeCounts(),
    lastApply: last ? { version: last.version.toString(), writes: last.writesByTable, durationMs: Math.round(last.durationMs * 1000) / 1000, error: last.error ?? null } : null,
    ipSets: programmer.ipSetSummary(),
    syntheticSets: programmer.syntheticSetCounts(),
    ...(counterError ? { counterError } : {}),
    interfaces,
  });
}
