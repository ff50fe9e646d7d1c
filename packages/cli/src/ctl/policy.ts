/**
 * `ptablesctl policy <endpoint>`: the policy an endpoint runs, as the datapath evaluates it:
 * per direction, tier by tier, every policy's rules with their packet and byte counters, the
 * tier's default action, then the profiles.
 */
import { EXIT_OK } from "../cli-io";
import type { Command } from "../command";
import { UsageError } from "../command";
import { formatTable } from "../play-report";
import { withAgent } from "./agents";
import { parseCtlArgs, printJson } from "./options";
import { parseState, type DirectionView, type EndpointDetail, type RuleView } from "./state-views";

const HELP = `Usage: ptablesctl policy <endpoint> [--json] [--run-dir <dir>]

Shows the tiers, policies and profiles of one endpoint in evaluation order, for ingress (traffic
to the endpoint) and egress (traffic from it), with each rule's match and the packets and bytes
it has matched in the datapath.

Arguments:
  <endpoint>   A workload endpoint key (k8s/<namespace>/<pod>/eth0), its interface name
               (cali...), or a host endpoint key

Exit status: 0 on success; 1 if the programmer failed the request; 2 for a bad command line or
an unknown endpoint; 3 if the programmer cannot be reached.`;

function ruleRows(tier: string, owner: string, rules: RuleView[]): string[][] {
  if (rules.length === 0) return [[tier, owner, "-", "-", "(no rules)", "", ""]];
  return rules.map((r) => [tier, owner, String(r.index), r.action, r.match, r.packets ?? "-", r.bytes ?? "-"]);
}

function directionLines(name: string, d: DirectionView): string[] {
  const program = d.programId === null ? "no program in the datapath" : `program ${d.programId}, ${d.compiledRules} rules in the datapath`;
  const rows: string[][] = [];
  for (const tier of d.tiers) {
    if (tier.policies.length === 0) continue;
    for (const p of tier.policies) {
      if (p.missing) rows.push([tier.name, p.key, "-", "-", "(not in the model: the endpoint fails closed)", "", ""]);
      else rows.push(...ruleRows(tier.name, p.staged ? `${p.key} (staged, not enforced)` : p.key, p.rules));
    }
    rows.push([tier.name, `(end of tier: ${tier.defaultAction})`, "", "", "", "", ""]);
  }
  for (const p of d.profiles) {
    if (p.missing) rows.push(["profile", p.id, "-", "-", "(not in the model: the endpoint fails closed)", "", ""]);
    else rows.push(...ruleRows("profile", p.id, p.rules));
  }
  if (rows.length === 0) return [`${name} (${program}): no tiers or profiles`];
  return [`${name} (${program}):`, ...formatTable(["TIER", "POLICY", "#", "ACTION", "MATCH", "PACKETS", "BYTES"], rows).map((l) => `  ${l}`.trimEnd())];
}

/** The text form of one endpoint's policy. */
export function renderPolicy(e: EndpointDetail): string[] {
  const where = [e.kind === "workload" ? "workload" : "host endpoint", e.ifname ? `on ${e.ifname}` : undefined, e.addresses.join(", ") || undefined].filter(Boolean).join(", ");
  return [
    `Endpoint ${e.key} (${where}): ${e.state}${e.reason ? ` (${e.reason})` : ""}${e.adminUp ? "" : ", admin down"}`,
    "",
    ...directionLines("Ingress", e.ingress),
    "",
    ...directionLines("Egress", e.egress),
  ];
}

export const policyCommand: Command = {
  name: "policy",
  summary: "An endpoint's tiers, policies and rules, with counters",
  help: HELP,
  async run(args, io) {
    const { positionals, runDir, json } = parseCtlArgs(args, io, {}, ["endpoint"]);
    const endpoint = positionals[0];
    if (endpoint === undefined) throw new UsageError("endpoint", "missing (give a workload endpoint key, an interface name or a host endpoint key)");
    const { model } = parseState(await withAgent(runDir, "policy-programmer", (c) => c.state(endpoint)));
    if (json) printJson(io, model.endpoint);
    else for (const line of renderPolicy(model.endpoint!)) io.out(line);
    return EXIT_OK;
  },
};
