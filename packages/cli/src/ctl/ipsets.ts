/** `ptablesctl ipsets`: Felix's IP sets as the datapath holds them. */
import { EXIT_OK } from "../cli-io";
import type { Command } from "../command";
import { formatTable } from "../play-report";
import { withAgent } from "./agents";
import { parseCtlArgs, printJson } from "./options";
import { parseState } from "./state-views";

const HELP = `Usage: ptablesctl ipsets [--json] [--run-dir <dir>]

Lists Felix's IP sets with the id each has in the datapath and its member count, and how many
synthetic sets (the CIDR and port lists of rules) are held.

Exit status: 0 on success; 1 if the programmer failed the request; 3 if it cannot be reached.`;

export const ipsetsCommand: Command = {
  name: "ipsets",
  summary: "IP sets: datapath ids and member counts",
  help: HELP,
  async run(args, io) {
    const { runDir, json } = parseCtlArgs(args, io, {}, []);
    const { tables } = parseState(await withAgent(runDir, "policy-programmer", (c) => c.state()));
    const sets = [...(tables.ipSets ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (json) {
      printJson(io, { ipSets: sets, syntheticSets: tables.syntheticSets });
      return EXIT_OK;
    }
    if (sets.length === 0) io.out("No IP sets.");
    else for (const line of formatTable(["IP SET", "DATAPATH ID", "MEMBERS", "IN MODEL"], sets.map((s) => [s.id, String(s.setId), String(s.members), s.inModel ? "yes" : "no (removal pending)"]))) io.out(line);
    io.out("");
    io.out(`Synthetic sets (rules' CIDR and port lists): ${tables.syntheticSets?.netSets ?? 0} net sets, ${tables.syntheticSets?.portSets ?? 0} port sets.`);
    return EXIT_OK;
  },
};
