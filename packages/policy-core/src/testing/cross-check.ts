/**
 * Runs one packet through both the reference evaluator and compile -> tables -> interpreter,
 * and describes any disagreement. The semantics tests and the randomized differential test are
 * built on it; a backend can reuse it to compare its own datapath with the reference.
 */
import { DpAction, ValidationError, type Capabilities } from "@ptables/api";
import { compileHostEndpointProgram, compileWorkloadProgram } from "../compile/compile-program";
import { programSetEntries } from "../compile/program-entries";
import { bareProgram, errorProgram, type CompiledProgram } from "../compile/program";
import { evaluatePolicy, type EvaluationTarget } from "../evaluate/evaluate";
import { verdictDropReason, type Verdict } from "../evaluate/verdict";
import { runProgram, type ProgramResult } from "../interpret/run-program";
import { TableSetLookup } from "../interpret/table-set-lookup";
import type { PolicyLookup } from "../lookup";
import type { Packet } from "../packet";
import type { Direction } from "../rules/endpoint-layout";

export interface CrossCheck {
  verdict: Verdict;
  result: ProgramResult;
  program: CompiledProgram;
  /** Undefined when both paths agree on verdict, drop reason, deciding rule and log count. */
  mismatch?: string;
}

const DEFAULT_CAPS: Pick<Capabilities, "maxRulesPerProgram"> = { maxRulesPerProgram: 100000 };

/** Compiles the target's program; a ValidationError installs errorProgram(), as the programmer does. */
export function compileTarget(lookup: PolicyLookup, target: EvaluationTarget, direction: Direction, caps = DEFAULT_CAPS): CompiledProgram {
  try {
    return target.kind === "workload"
      ? compileWorkloadProgram(target.endpoint, direction, lookup, caps)
      : compileHostEndpointProgram(target.endpoint, target.hook, direction, lookup, caps);
  } catch (err) {
    if (err instanceof ValidationError) return bareProgram(errorProgram());
    throw err;
  }
}

/**
 * Compiles the target's program and loads its set entries once, and returns a checker to run
 * many packets through both paths.
 */
export function prepareCrossCheck(lookup: PolicyLookup, target: EvaluationTarget, direction: Direction, caps = DEFAULT_CAPS): (packet: Packet) => CrossCheck {
  const program = compileTarget(lookup, target, direction, caps);
  const { members, ports } = programSetEntries(program, lookup);
  const sets = TableSetLookup.from(members, ports);
  return (packet) => compare(evaluatePolicy(lookup, target, direction, packet), runProgram(program.rules, sets, packet), program);
}

export function crossCheck(lookup: PolicyLookup, target: EvaluationTarget, direction: Direction, packet: Packet, caps = DEFAULT_CAPS): CrossCheck {
  return prepareCrossCheck(lookup, target, direction, caps)(packet);
}

function compare(verdict: Verdict, result: ProgramResult, program: CompiledProgram): CrossCheck {
  const problems: string[] = [];
  if (verdict.verdict !== result.verdict) problems.push(`verdict ${verdict.verdict} vs ${result.verdict}`);
  if (verdictDropReason(verdict) !== result.reason) problems.push(`drop reason ${verdictDropReason(verdict)} vs ${result.reason}`);
  if (verdict.reason === "allow" || verdict.reason === "policy-deny") {
    const rule = program.rules[result.ruleIndex];
    const info = rule && rule.counterId !== 0n ? program.counters.get(rule.counterId) : undefined;
    const same = info && info.ruleIndex === verdict.ruleIndex && info.policy === verdict.policy && info.profile === verdict.profile;
    if (!same) problems.push(`deciding rule ${JSON.stringify({ policy: verdict.policy, profile: verdict.profile, ruleIndex: verdict.ruleIndex })} vs ${JSON.stringify(info)}`);
  }
  const evaluatorLogs = verdict.steps.filter((s) => s.endsWith(": log, continue")).length;
  if (evaluatorLogs !== result.logged.length || result.logged.some((i) => program.rules[i]?.action !== DpAction.Log)) {
    problems.push(`logged ${evaluatorLogs} rules vs ${result.logged.length}`);
  }
  const out: CrossCheck = { verdict, result, program };
  if (problems.length > 0) out.mismatch = problems.join("; ");
  return out;
}

/**
 * The verdict both paths agree on; throws an Error describing the disagreement otherwise.
 * Semantics tests assert on the returned verdict and so check the compiler at the same time.
 */
export function agreedVerdict(lookup: PolicyLookup, target: EvaluationTarget, direction: Direction, packet: Packet, caps = DEFAULT_CAPS): Verdict {
  const check = crossCheck(lookup, target, direction, packet, caps);
  if (check.mismatch) {
    throw new Error(`evaluator and compiled program disagree on ${JSON.stringify(packet)} ${direction}: ${check.mismatch}\n  ${check.verdict.steps.join("\n  ")}`);
  }
  return check.verdict;
}
