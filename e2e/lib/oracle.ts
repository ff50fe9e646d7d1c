/**
 * The expected verdict of a probe, from policy-core's reference evaluator over exactly what the
 * driver was told: the Felix messages played to a node go through felix's DesiredStateStore (the
 * same validation the driver does), and the resulting model is evaluated for the sender's egress
 * and the receiver's ingress. The e2e suites assert kernel == oracle, so a wrong hand-written
 * expectation cannot hide a datapath bug, and vice versa.
 */
import type { WorkloadEndpoint } from "@ptables/api";
import { DesiredStateStore } from "@ptables/felix";
import { compileWorkloadProgram, createModelLookup, evaluatePolicy, type Packet, type PolicyLookup, type Verdict } from "@ptables/policy-core";
import type { felix } from "@ptables/proto";
import type { ProbeProto } from "./pod-agent";

/** A Verdict with where it came from, for tables. */
export interface OracleVerdict {
  verdict: "allow" | "deny";
  /** Short text: the deciding tier/policy/rule or why the packet dropped. */
  decidedBy: string;
  /** Per-direction verdicts (undefined when that side is not on a node we model). */
  egress?: Verdict;
  ingress?: Verdict;
}

/** What the probing pod sends: the first packet of the flow as policy sees it. */
export interface ProbePacket {
  family: 4 | 6;
  srcIp: string;
  dstIp: string;
  proto: ProbeProto;
  port?: number;
}

/** An arbitrary ephemeral source port: no e2e scenario matches on source ports. */
const SRC_PORT = 40000;

export function probeToPacket(p: ProbePacket): Packet {
  switch (p.proto) {
    case "tcp":
      return { family: p.family, srcIp: p.srcIp, dstIp: p.dstIp, proto: 6, srcPort: SRC_PORT, dstPort: p.port };
    case "udp":
      return { family: p.family, srcIp: p.srcIp, dstIp: p.dstIp, proto: 17, srcPort: SRC_PORT, dstPort: p.port };
    case "icmp":
      // ping sends echo requests: type 8 (ICMP) or 128 (ICMPv6), code 0.
      return p.family === 4
        ? { family: 4, srcIp: p.srcIp, dstIp: p.dstIp, proto: 1, icmpType: 8, icmpCode: 0 }
        : { family: 6, srcIp: p.srcIp, dstIp: p.dstIp, proto: 58, icmpType: 128, icmpCode: 0 };
  }
}

/** The eBPF backend's default per-program rule limit (EbpfBackend DEFAULT_MAX_RULES_PER_PROGRAM). */
export const EBPF_MAX_RULES_PER_PROGRAM = 65536;

/**
 * One node's desired state, fed with the messages played to its driver. Verdicts come from the
 * reference evaluator; `datapathCaps` adds what the datapath can hold: an endpoint whose policy
 * does not compile within the limits (rules per program, IP sets per rule) is never
 * half-programmed, both its directions fail closed (the programmer's rule).
 */
export class NodeOracle {
  private store = new DesiredStateStore();

  constructor(private readonly datapathCaps: { maxRulesPerProgram: number } | undefined = { maxRulesPerProgram: EBPF_MAX_RULES_PER_PROGRAM }) {}

  /** Applies messages in order, as the driver's store does; returns how many model changes they made. */
  apply(messages: readonly felix.ToDataplane[]): number {
    let changes = 0;
    for (const message of messages) changes += this.store.apply(message).changes.length;
    return changes;
  }

  /** Forgets everything: a restarted driver is sent the whole state again. */
  reset(): void {
    this.store = new DesiredStateStore();
  }

  /** The valid model the driver would hold now. */
  model(): { lookup: PolicyLookup; endpoints: WorkloadEndpoint[] } {
    const snap = this.store.snapshot();
    return { lookup: createModelLookup({ policies: snap.policies, profiles: snap.profiles, ipSets: snap.ipSets }), endpoints: snap.workloadEndpoints };
  }

  /** The local endpoint owning `ip`, if any. */
  endpointFor(ip: string): WorkloadEndpoint | undefined {
    return this.model().endpoints.find((ep) => [...ep.ipv4Nets, ...ep.ipv6Nets].some((net) => net.split("/")[0] === ip));
  }

  /** The verdict of one endpoint's policy in one direction; undefined when the endpoint is not local. */
  directionVerdict(endpointIp: string, direction: "ingress" | "egress", packet: Packet): Verdict | undefined {
    const { lookup, endpoints } = this.model();
    const endpoint = endpoints.find((ep) => [...ep.ipv4Nets, ...ep.ipv6Nets].some((net) => net.split("/")[0] === endpointIp));
    if (!endpoint) return undefined;
    const verdict = evaluatePolicy(lookup, { kind: "workload", endpoint }, direction, packet);
    const problem = this.holdProblem(endpoint, lookup);
    if (problem === undefined) return verdict;
    return { verdict: "deny", reason: "program-error", steps: [...verdict.steps, `the datapath cannot hold this endpoint's policy (${problem}): both directions fail closed`] };
  }

  /** Why the datapath cannot hold the endpoint's programs, if it cannot. */
  holdProblem(endpoint: WorkloadEndpoint, lookup: PolicyLookup): string | undefined {
    if (!this.datapathCaps || !endpoint.adminUp) return undefined;
    try {
      for (const direction of ["ingress", "egress"] as const) compileWorkloadProgram(endpoint, direction, lookup, this.datapathCaps);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
}

/** Short text for the deciding point of a verdict. */
export function describeVerdict(v: Verdict): string {
  const rule = v.ruleIndex === undefined ? "" : ` rule ${v.ruleIndex}`;
  switch (v.reason) {
    case "allow":
    case "policy-deny":
      return v.profile !== undefined ? `profile ${v.profile}${rule}` : `${v.tier}/${shortPolicy(v.policy)}${rule}`;
    case "end-of-tier":
      return `end of tier ${v.tier}`;
    case "no-profile-match":
      return "no profile allowed";
    case "admin-down":
      return "endpoint admin down";
    case "program-error":
      return "policy cannot be programmed";
    case "no-decision":
      return "no decision";
  }
}

/** "NetworkPolicy/demo/allow-x" -> "demo/allow-x"; global kinds keep only the name; staged are marked. */
export function shortPolicy(key: string | undefined): string {
  if (key === undefined) return "?";
  const [kind, namespace, ...rest] = key.split("/");
  const name = rest.join("/");
  const base = namespace ? `${namespace}/${name}` : name;
  return kind?.startsWith("Staged") ? `staged:${base}` : base;
}

/**
 * The verdict for a probe between pods: the sender's egress (if its endpoint is on a modelled
 * node) and then the receiver's ingress. A pod whose endpoint the driver was not told about (or
 * was told to remove) has no entry: the datapath drops its traffic.
 */
export function expectedVerdict(
  oracles: ReadonlyArray<{ oracle: NodeOracle; ownsIp(ip: string): boolean }>,
  probe: ProbePacket,
): OracleVerdict {
  const packet = probeToPacket(probe);
  const side = (ip: string, direction: "egress" | "ingress"): Verdict | "no-endpoint" | undefined => {
    const node = oracles.find((o) => o.ownsIp(ip));
    if (!node) return undefined;
    return node.oracle.directionVerdict(ip, direction, packet) ?? "no-endpoint";
  };
  const egress = side(probe.srcIp, "egress");
  const ingress = side(probe.dstIp, "ingress");
  const result: OracleVerdict = { verdict: "allow", decidedBy: "", egress: typeof egress === "object" ? egress : undefined, ingress: typeof ingress === "object" ? ingress : undefined };
  if (egress === "no-endpoint") return { ...result, verdict: "deny", decidedBy: "egress: no endpoint" };
  if (egress && egress.verdict !== "allow") return { ...result, verdict: "deny", decidedBy: `egress: ${describeVerdict(egress)}` };
  if (ingress === "no-endpoint") return { ...result, verdict: "deny", decidedBy: "ingress: no endpoint" };
  if (ingress && ingress.verdict !== "allow") return { ...result, verdict: "deny", decidedBy: `ingress: ${describeVerdict(ingress)}` };
  const parts: string[] = [];
  if (egress) parts.push(`egress: ${describeVerdict(egress)}`);
  if (ingress) parts.push(`ingress: ${describeVerdict(ingress)}`);
  return { ...result, decidedBy: parts.join("; ") };
}
