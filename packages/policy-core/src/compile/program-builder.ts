/**
 * Accumulates one program: its rules (bounded by the backend's limit) and the sets they use.
 * Set ids are hashes, so the builder also checks that no two different contents share an id
 * within the program (a collision would silently merge two sets).
 */
import { NotSupportedError, type CompiledRule, type PortRange } from "@ptables/api";
import { canonicalNetList, ipSetNumericId, netSetId, portSetId } from "./ids";
import { normalizePortRanges } from "./port-ranges";
import type { CompiledProgram, CounterInfo } from "./program";

export class ProgramBuilder {
  private readonly program: CompiledProgram = { rules: [], netSets: new Map(), portSets: new Map(), ipSetsUsed: new Set(), counters: new Map() };
  private readonly ipSetNames = new Map<number, string>();

  /** `label` names the program in errors, e.g. "workload k8s/ns/pod/eth0 ingress". */
  constructor(
    private readonly maxRules: number,
    private readonly label: string,
  ) {}

  get length(): number {
    return this.program.rules.length;
  }

  rule(index: number): CompiledRule {
    return this.program.rules[index]!;
  }

  /** Appends a rule and returns its index; `where` names it if the program gets too long. */
  push(rule: CompiledRule, where: string): number {
    if (this.program.rules.length >= this.maxRules) {
      throw new NotSupportedError("program size", `${this.label}: ${where} would be rule ${this.program.rules.length + 1}; the backend holds at most ${this.maxRules} rules per program`);
    }
    this.program.rules.push(rule);
    return this.program.rules.length - 1;
  }

  count(counterId: bigint, info: CounterInfo): void {
    this.program.counters.set(counterId, info);
  }

  netSet(cidrs: string[], where: string): number {
    const list = canonicalNetList(cidrs);
    const id = netSetId(list);
    const have = this.program.netSets.get(id);
    if (have && have.join(",") !== list.join(",")) {
      throw new NotSupportedError("net set id collision", `${where}: [${list.join(", ")}] and [${have.join(", ")}] hash to the same id ${id}`);
    }
    this.program.netSets.set(id, list);
    return id;
  }

  portSet(ranges: PortRange[], where: string): number {
    const list = normalizePortRanges(ranges);
    const id = portSetId(list);
    const text = (l: PortRange[]): string => l.map((r) => `${r.first}-${r.last}`).join(",");
    const have = this.program.portSets.get(id);
    if (have && text(have) !== text(list)) {
      throw new NotSupportedError("port set id collision", `${where}: ${text(list)} and ${text(have)} hash to the same id ${id}`);
    }
    this.program.portSets.set(id, list);
    return id;
  }

  ipSet(felixId: string, where: string): number {
    const id = ipSetNumericId(felixId);
    const have = this.ipSetNames.get(id);
    if (have !== undefined && have !== felixId) {
      throw new NotSupportedError("ip set id collision", `${where}: ip sets ${felixId} and ${have} hash to the same id ${id}`);
    }
    this.ipSetNames.set(id, felixId);
    this.program.ipSetsUsed.add(felixId);
    return id;
  }

  finish(): CompiledProgram {
    return this.program;
  }
}
