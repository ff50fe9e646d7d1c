/**
 * The programs of a host interface, and the to-host program of workloads.
 *
 * A host endpoint's interface gets four program groups (endpoint-groups.ts): normal (traffic to
 * and from the host itself: tiers, profiles, a final drop), untracked, pre-DNAT (ingress only)
 * and forward. Failsafe ports head the normal programs (allow) and any non-empty untracked or
 * pre-DNAT program (skip: no decision there; the normal program then allows them). When VXLAN or
 * IPIP is in use, the tunnel packets to and from the other Calico hosts are allowed at the head
 * of the normal programs too, as Felix's static rules allow them before host-endpoint policy. When both
 * forward programs would only allow everything (no apply-on-forward policy), they are left
 * empty: forwarded traffic then passes untracked instead of filling conntrack for nothing.
 *
 * A host endpoint whose policy cannot be programmed fails closed except for the failsafes: its
 * normal programs are the failsafes and a ProgramError drop, its forward programs a drop, and
 * its untracked and pre-DNAT programs are empty (so failsafe traffic reaches the normal ones).
 *
 * An interface no host endpoint claims, but which ptables watches for deferred Service verdicts,
 * has all programs empty ("watch only").
 */
import { DpAction, errorMessage, type DataplaneConfig, type HostEndpoint } from "@ptables/api";
import { fixedProgram, type CompiledProgram, type Direction, type FailsafePort, type HostTunnels } from "./compiler";
import type { GroupHook } from "./endpoint-groups";
import { holdProblem, type EndpointMode, type EndpointProgramDeps } from "./endpoint-programs";

export type HostHookPrograms = Record<Exclude<GroupHook, "to-host">, Record<Direction, CompiledProgram>>;

export interface HostProgramChoice {
  mode: Extract<EndpointMode, "policy" | "error">;
  /** For "error": why, and that it fails closed. */
  reason: string;
  programs: HostHookPrograms;
}

export interface Failsafes {
  inbound: FailsafePort[];
  outbound: FailsafePort[];
  /** Tunnels between Calico hosts that pass the normal programs (absent: none in use). */
  tunnels?: HostTunnels;
}

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, udplite: 136 };

/** DataplaneConfig's failsafe lists; entries that do not parse are left out (and returned). */
export function failsafesOf(config: Partial<DataplaneConfig> | undefined): { failsafes: Failsafes; bad: string[] } {
  const bad: string[] = [];
  const parse = (entries: string[] | undefined): FailsafePort[] =>
    (entries ?? []).flatMap((entry) => {
      const m = /^([a-z]+):(\d+)$/.exec(entry);
      const proto = m ? PROTOCOLS[m[1]!] : undefined;
      const port = m ? Number(m[2]) : NaN;
      if (proto === undefined || port > 65535) {
        bad.push(entry);
        return [];
      }
      return [{ proto, port }];
    });
  return { failsafes: { inbound: parse(config?.failsafeInbound), outbound: parse(config?.failsafeOutbound) }, bad };
}

const empty = (): CompiledProgram => fixedProgram([]);

/** Every program empty: an interface ptables watches without a host endpoint. */
export function watchOnlyPrograms(): HostHookPrograms {
  const both = () => ({ ingress: empty(), egress: empty() });
  return { normal: both(), untracked: both(), "pre-dnat": both(), forward: both() };
}

function onlyAllows(p: CompiledProgram): boolean {
  return p.rules.length === 1 && p.rules[0]!.action === DpAction.Allow && p.rules[0]!.counterId === 0n && p.netSets.size === 0 && p.portSets.size === 0 && p.ipSetsUsed.size === 0;
}

/** Compiles a host endpoint's programs with its failsafes, or its fail-closed programs. Never throws. */
export function chooseHostEndpointPrograms(hep: HostEndpoint, deps: EndpointProgramDeps, failsafes: Failsafes): HostProgramChoice {
  const { compiler } = deps;
  let why: string | undefined;
  let programs: HostHookPrograms | undefined;
  try {
    const all = compiler.compileHostEndpointPrograms(hep, deps.lookup, deps.caps);
    const skip = (p: CompiledProgram, ports: FailsafePort[]) => (p.rules.length === 0 ? p : compiler.withFailsafes(p, ports, "skip"));
    const forwardIsAllowAll = onlyAllows(all.forward.ingress) && onlyAllows(all.forward.egress);
    const tunnels = (p: CompiledProgram, dir: Direction) => (failsafes.tunnels ? compiler.withHostTunnels(p, failsafes.tunnels, dir) : p);
    programs = {
      normal: {
        ingress: compiler.withFailsafes(tunnels(all.normal.ingress, "ingress"), failsafes.inbound, "allow"),
        egress: compiler.withFailsafes(tunnels(all.normal.egress, "egress"), failsafes.outbound, "allow"),
      },
      untracked: { ingress: skip(all.untracked.ingress, failsafes.inbound), egress: skip(all.untracked.egress, failsafes.outbound) },
      "pre-dnat": { ingress: skip(all.preDnat.ingress, failsafes.inbound), egress: empty() },
      // The node's encapsulation of a pod's packet leaves with the pod's ingress interface, so
      // it is judged as forwarded: the tunnel allowance heads a non-empty forward egress too.
      forward: forwardIsAllowAll ? { ingress: empty(), egress: empty() } : { ingress: all.forward.ingress, egress: tunnels(all.forward.egress, "egress") },
    };
    const list = Object.entries(programs).flatMap(([hook, d]) => [
      [`${hook} ingress`, d.ingress],
      [`${hook} egress`, d.egress],
    ]) as Array<[string, CompiledProgram]>;
    for (const [where, p] of list) why ??= holdProblem(p, where, deps);
    why ??= deps.synthetic.check(list.map(([, p]) => p));
  } catch (err) {
    why = errorMessage(err);
  }
  if (why === undefined && programs) return { mode: "policy", reason: "", programs };
  deps.synthetic.discardPrepared();
  return { mode: "error", reason: `${why ?? "compile failed"}; failing closed (all but the failsafe ports dropped)`, programs: errorPrograms(deps, failsafes) };
}

/** The fail-closed programs of a host endpoint (failsafes still allowed to and from the host). */
function errorPrograms(deps: EndpointProgramDeps, failsafes: Failsafes): HostHookPrograms {
  const { compiler } = deps;
  const drop = () => fixedProgram(compiler.errorProgram());
  let normal = { ingress: compiler.withFailsafes(drop(), failsafes.inbound, "allow"), egress: compiler.withFailsafes(drop(), failsafes.outbound, "allow") };
  if (deps.synthetic.check([normal.ingress, normal.egress]) !== undefined) {
    // The failsafe port sets themselves cannot be held (an id collision): drop everything.
    deps.synthetic.discardPrepared();
    normal = { ingress: drop(), egress: drop() };
  }
  return { normal, untracked: { ingress: empty(), egress: empty() }, "pre-dnat": { ingress: empty(), egress: empty() }, forward: { ingress: drop(), egress: drop() } };
}

/**
 * The to-host program of every workload: DefaultEndpointToHostAction; RETURN runs the "*" host
 * endpoint's normal ingress program (with its failsafes) when there is one. When that host
 * endpoint cannot be programmed, RETURN fails closed the same way it does (failsafes only).
 */
export function chooseToHostProgram(action: string, star: HostProgramChoice | undefined, deps: EndpointProgramDeps): { program: CompiledProgram; reason: string } {
  try {
    const program = deps.compiler.endpointToHostProgram(action || "DROP", action === "RETURN" ? star?.programs.normal.ingress : undefined);
    const why = holdProblem(program, "to-host", deps) ?? deps.synthetic.check([program]);
    if (why === undefined) return { program, reason: "" };
    deps.synthetic.discardPrepared();
    return { program: fixedProgram(deps.compiler.errorProgram()), reason: `DefaultEndpointToHostAction ${action}: ${why}` };
  } catch (err) {
    return { program: fixedProgram(deps.compiler.errorProgram()), reason: `DefaultEndpointToHostAction ${action}: ${errorMessage(err)}` };
  }
}
