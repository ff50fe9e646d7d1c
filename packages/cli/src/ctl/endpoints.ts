/** `ptablesctl endpoints`: every endpoint the policy programmer knows, its state and programs. */
import { EXIT_OK } from "../cli-io";
import type { Command } from "../command";
import { formatTable } from "../play-report";
import { withAgent } from "./agents";
import { parseCtlArgs, printJson } from "./options";
import { parseState } from "./state-views";

const HELP = `Usage: ptablesctl endpoints [--json] [--run-dir <dir>]

Lists the workload and host endpoints of the desired state with their addresses, programming
state (programmed, pending, error, down) and the number of rules of the program each direction
runs in the datapath.

Exit status: 0 on success; 1 if the programmer failed the request; 3 if it cannot be reached.`;

export const endpointsCommand: Command = {
  name: "endpoints",
  summary: "Endpoints: interface, addresses, state, programs",
  help: HELP,
  async run(args, io) {
    const { runDir, json } = parseCtlArgs(args, io, {}, []);
    const { tables, model } = parseState(await withAgent(runDir, "policy-programmer", (c) => c.state()));
    const programs = new Map(tables.interfaces.map((i) => [i.ifname, i]));
    const rows = (model.endpoints ?? []).map((e) => {
      const iface = e.kind === "workload" ? programs.get(e.ifname) : undefined;
      return { ...e, ingressRules: iface?.ingress?.rules ?? null, egressRules: iface?.egress?.rules ?? null };
    });
    if (json) {
      printJson(io, { endpoints: rows });
      return EXIT_OK;
    }
    if (rows.length === 0) {
      io.out("No endpoints.");
      return EXIT_OK;
    }
    const rules = (n: number | null) => (n === null ? "-" : String(n));
    const table = rows.map((r) => [r.key, r.kind, r.ifname || "-", r.addresses.join(",") || "-", r.reason ? `${r.state}: ${r.reason}` : r.state, rules(r.ingressRules), rules(r.egressRules)]);
    for (const line of formatTable(["ENDPOINT", "KIND", "INTERFACE", "ADDRESSES", "STATE", "INGRESS RULES", "EGRESS RULES"], table)) io.out(line);
    return EXIT_OK;
  },
};
