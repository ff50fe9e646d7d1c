/** `ptablesctl routes`: the routes Felix sent, and those ptables holds in the datapath. */
import { EXIT_OK } from "../cli-io";
import type { Command } from "../command";
import { formatTable } from "../play-report";
import { withAgent } from "./agents";
import { parseCtlArgs, printJson } from "./options";
import { parseState } from "./state-views";

const HELP = `Usage: ptablesctl routes [--json] [--run-dir <dir>]

Lists the routes of the desired state (Felix's RouteUpdates: destination, type, IP pool type,
node) and the routes ptables owns in the datapath.

Exit status: 0 on success; 1 if the programmer failed the request; 3 if it cannot be reached.`;

export const routesCommand: Command = {
  name: "routes",
  summary: "Routes: desired (from Felix) and programmed",
  help: HELP,
  async run(args, io) {
    const { runDir, json } = parseCtlArgs(args, io, {}, []);
    const { model } = parseState(await withAgent(runDir, "policy-programmer", (c) => c.state()));
    const routes = model.routes ?? [];
    const held = model.datapathRoutes ?? [];
    if (json) {
      printJson(io, { routes, datapathRoutes: held, ...(model.datapathRoutesError ? { datapathRoutesError: model.datapathRoutesError } : {}) });
      return EXIT_OK;
    }
    io.out("Routes from Felix:");
    if (routes.length === 0) io.out("  none");
    else for (const line of formatTable(["DESTINATION", "TYPES", "POOL", "NODE", "NODE IP", "FLAGS"], routes.map((r) => [r.dst, r.types.join(",") || "cidr-info", r.poolType, r.node || "-", r.nodeIp || "-", r.flags.join(",") || "-"]))) io.out(`  ${line}`);
    io.out("");
    io.out("Routes ptables holds in the datapath:");
    if (model.datapathRoutesError) io.out(`  cannot read them: ${model.datapathRoutesError}`);
    else if (held.length === 0) io.out("  none");
    else for (const line of formatTable(["DESTINATION", "INTERFACE", "VIA", "KIND"], held.map((r) => [r.dst, r.ifname || "-", r.via || "-", r.kind]))) io.out(`  ${line}`);
    return EXIT_OK;
  },
};
