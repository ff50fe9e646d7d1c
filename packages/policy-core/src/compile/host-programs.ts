/**
 * Host-endpoint programs beyond the policy itself (felix-protocol.md §3.6):
 *
 * - failsafe ports: Felix lets FailsafeInboundHostPorts to the host and FailsafeOutboundHostPorts
 *   from it through before any host-endpoint policy, so a bad host policy can never cut the node
 *   off. They are compiled as rules at the head of a program: in the normal (to/from the host)
 *   programs they allow; in the untracked and pre-DNAT programs they skip the rest of the
 *   program ("no decision": the packet goes on to conntrack and the normal program, where the
 *   failsafe allows it), as Felix's raw and mangle failsafe chains do;
 * - tunnels between Calico hosts: Felix lets VXLAN (UDP to VXLANPort) and IPIP to and from the
 *   other Calico hosts through before host-endpoint policy when the encapsulation is in use;
 *   compiled the same way, as allow rules at the head of the normal programs;
 * - the programs of a host endpoint whose policy cannot be compiled: everything but the
 *   failsafes is dropped (ProgramError);
 * - DefaultEndpointToHostAction: what happens to a new flow from a workload to the host itself
 *   after the workload's egress policy allowed it, as a program (DROP, ACCEPT, or RETURN: the
 *   "*" host endpoint's normal ingress program when there is one, else accept).
 *
 * The evaluator (evaluate.ts) judges policy only; failsafes and the endpoint-to-host action
 * are datapath stages around it.
 */
import { DpAction, DropReason, ValidationError, type CompiledRule, type PortRange } from "@ptables/api";
import { PROTOCOL_NUMBERS } from "../net/protocols";
import { canonicalNetList, netSetId, portSetId } from "./ids";
import { normalizePortRanges } from "./port-ranges";
import { bareProgram, blankRule, errorProgram, type CompiledProgram } from "./program";

/** One failsafe entry: a protocol number and a destination port. */
export interface FailsafePort {
  proto: number;
  port: number;
}

/**
 * Parses DataplaneConfig's failsafe lists ("tcp:22", "udp:68"; the felix package has already
 * validated and canonicalised them). Throws ValidationError naming a bad entry.
 */
export function parseFailsafePorts(entries: readonly string[]): FailsafePort[] {
  return entries.map((entry) => {
    const m = /^([a-z]+):(\d+)$/.exec(entry);
    const proto = m ? PROTOCOL_NUMBERS[m[1]!] : undefined;
    const port = m ? Number(m[2]) : NaN;
    if (proto === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ValidationError("failsafe ports", `"${entry}" is not <protocol>:<port>`);
    }
    return { proto, port };
  });
}

/** What the failsafe rules at the head of a program do. */
export type FailsafeMode =
  /** Allow (the normal programs: traffic to or from the host itself). */
  | "allow"
  /** Skip the rest of the program: no decision (untracked and pre-DNAT programs). */
  | "skip";

/** `program` with `prefix` in front: its jumps move along; the prefix's sets are added. */
function prepend(program: CompiledProgram, prefix: CompiledRule[], portSets: Map<number, PortRange[]>, netSets: Map<number, string[]>): CompiledProgram {
  if (prefix.length === 0) return program;
  const ports = new Map(program.portSets);
  for (const [id, list] of portSets) {
    const have = ports.get(id);
    if (have && JSON.stringify(normalizePortRanges(have)) !== JSON.stringify(list)) {
      throw new ValidationError("host endpoint", `port set id ${id} of a built-in rule is already used by other ports in this program`);
    }
    ports.set(id, list);
  }
  const nets = new Map(program.netSets);
  for (const [id, list] of netSets) {
    const have = nets.get(id);
    if (have && have.join(",") !== list.join(",")) {
      throw new ValidationError("host endpoint", `net set id ${id} of a built-in rule is already used by other CIDRs in this program`);
    }
    nets.set(id, list);
  }
  const shift = prefix.length;
  const moved = program.rules.map((r) => (r.action === DpAction.Jump ? { ...r, jump: r.jump + shift } : r));
  return { ...program, rules: [...prefix, ...moved], portSets: ports, netSets: nets };
}

/**
 * `program` with failsafe rules in front: one rule per protocol, matching the destination port
 * against a port set of that protocol's failsafe ports. Jumps inside `program` are moved along.
 * No ports: `program` itself.
 */
export function withFailsafes(program: CompiledProgram, ports: readonly FailsafePort[], mode: FailsafeMode): CompiledProgram {
  const byProto = new Map<number, PortRange[]>();
  for (const { proto, port } of ports) {
    const list = byProto.get(proto) ?? [];
    list.push({ first: port, last: port });
    byProto.set(proto, list);
  }
  const prefix: CompiledRule[] = [];
  const portSets = new Map<number, PortRange[]>();
  const total = byProto.size + program.rules.length;
  for (const [proto, ranges] of [...byProto].sort(([a], [b]) => a - b)) {
    const list = normalizePortRanges(ranges);
    const id = portSetId(list);
    portSets.set(id, list);
    const rule = blankRule(mode === "allow" ? DpAction.Allow : DpAction.Jump);
    if (mode === "skip") rule.jump = total;
    rule.proto = proto + 1;
    rule.dstPorts = id;
    prefix.push(rule);
  }
  return prepend(program, prefix, portSets, new Map());
}

/** The tunnels between Calico hosts that pass before host-endpoint policy. */
export interface HostTunnels {
  /** Addresses of the Calico hosts (bare or CIDR; canonicalised). */
  peers: readonly string[];
  /** VXLAN's UDP port when VXLAN is in use. */
  vxlanPort?: number;
  ipip: boolean;
}

const PROTO_IPIP = 4;
const PROTO_UDP_NUMBER = 17;

/**
 * `program` (a normal ingress or egress program) with Felix's tunnel allowances in front: VXLAN
 * (UDP to the VXLAN port) and IPIP from the peers (ingress) or to them (egress). Nothing in use
 * or no peers: `program` itself.
 */
export function withHostTunnels(program: CompiledProgram, tunnels: HostTunnels, direction: "ingress" | "egress"): CompiledProgram {
  if (tunnels.peers.length === 0 || (tunnels.vxlanPort === undefined && !tunnels.ipip)) return program;
  const peers = canonicalNetList([...tunnels.peers]);
  const netId = netSetId(peers);
  const prefix: CompiledRule[] = [];
  const portSets = new Map<number, PortRange[]>();
  const side = (r: CompiledRule): CompiledRule => {
    if (direction === "ingress") r.srcNet = netId;
    else r.dstNet = netId;
    return r;
  };
  if (tunnels.vxlanPort !== undefined) {
    const list = [{ first: tunnels.vxlanPort, last: tunnels.vxlanPort }];
    const id = portSetId(list);
    portSets.set(id, list);
    prefix.push(side({ ...blankRule(DpAction.Allow), proto: PROTO_UDP_NUMBER + 1, dstPorts: id }));
  }
  if (tunnels.ipip) prefix.push(side({ ...blankRule(DpAction.Allow), proto: PROTO_IPIP + 1 }));
  return prepend(program, prefix, portSets, new Map([[netId, peers]]));
}

/** The normal program of a host endpoint that cannot be programmed: failsafes, then a ProgramError drop. */
export function hostErrorProgram(ports: readonly FailsafePort[]): CompiledProgram {
  return withFailsafes(bareProgram(errorProgram()), ports, "allow");
}

/**
 * DefaultEndpointToHostAction as a program: DROP drops (EndpointToHost), ACCEPT allows,
 * RETURN runs `returnProgram` (the "*" host endpoint's normal ingress program) or, without
 * one, allows: the host's own firewall decides, as with Felix's RETURN into the INPUT chain.
 */
export function endpointToHostProgram(action: string, returnProgram?: CompiledProgram): CompiledProgram {
  switch (action) {
    case "DROP":
      return bareProgram([blankRule(DpAction.Deny, DropReason.EndpointToHost)]);
    case "ACCEPT":
      return bareProgram([blankRule(DpAction.Allow)]);
    case "RETURN":
      return returnProgram ?? bareProgram([blankRule(DpAction.Allow)]);
    default:
      throw new ValidationError("DefaultEndpointToHostAction", `"${action}" is not DROP, RETURN or ACCEPT`);
  }
}
