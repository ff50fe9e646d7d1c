/**
 * Chooses the two programs of an endpoint: its compiled policy, the admin-down drop program, or
 * (when its policy cannot be programmed for any reason) the error program. An endpoint is never
 * half-programmed: if either direction fails, both directions fail closed.
 */
import { errorMessage, type Capabilities, type WorkloadEndpoint } from "@ptables/api";
import { fixedProgram, type CompiledProgram, type PolicyCompiler, type PolicyLookup } from "./compiler";
import type { IpSetManager } from "./ip-set-manager";
import type { SyntheticSetManager } from "./synthetic-set-manager";

export type EndpointMode = "policy" | "admin-down" | "error";

export interface EndpointPrograms {
  mode: EndpointMode;
  /** For "error": why the policy could not be programmed. */
  reason: string;
  ingress: CompiledProgram;
  egress: CompiledProgram;
}

export interface EndpointProgramDeps {
  compiler: PolicyCompiler;
  lookup: PolicyLookup;
  caps: Capabilities;
  ipSets: IpSetManager;
  synthetic: SyntheticSetManager;
}

/**
 * Compiles both directions and checks that the result can be held (program length, IP set ids,
 * synthetic set ids). Never throws: any failure, including an unexpected compiler exception,
 * yields the error program.
 */
export function chooseEndpointPrograms(ep: WorkloadEndpoint, deps: EndpointProgramDeps): EndpointPrograms {
  const { compiler } = deps;
  if (!ep.adminUp) {
    const down = fixedProgram(compiler.adminDownProgram());
    return { mode: "admin-down", reason: "", ingress: down, egress: fixedProgram(compiler.adminDownProgram()) };
  }
  let why: string | undefined;
  let ingress: CompiledProgram | undefined;
  let egress: CompiledProgram | undefined;
  try {
    ingress = compiler.compileWorkloadProgram(ep, "ingress", deps.lookup, deps.caps);
    egress = compiler.compileWorkloadProgram(ep, "egress", deps.lookup, deps.caps);
    why = holdProblem(ingress, "ingress", deps) ?? holdProblem(egress, "egress", deps) ?? deps.synthetic.check([ingress, egress]);
  } catch (err) {
    why = errorMessage(err);
  }
  if (why === undefined && ingress && egress) return { mode: "policy", reason: "", ingress, egress };
  deps.synthetic.discardPrepared();
  return {
    mode: "error",
    reason: `${why ?? "compile failed"}; failing closed (all traffic dropped)`,
    ingress: fixedProgram(compiler.errorProgram()),
    egress: fixedProgram(compiler.errorProgram()),
  };
}

/** Why a compiled program cannot be held (too long, an IP set in error); undefined if it can. */
export function holdProblem(p: CompiledProgram, dir: string, deps: EndpointProgramDeps): string | undefined {
  const max = deps.caps.maxRulesPerProgram;
  if (p.rules.length > max) return `${dir} program has ${p.rules.length} rules; the backend holds at most ${max} per program`;
  for (const id of p.ipSetsUsed) {
    const why = deps.ipSets.problem(id);
    if (why !== undefined) return why;
  }
  return undefined;
}
