/** `ptablesctl flows`: the flows the datapath tracks now, from the offload daemon. */
import { EXIT_OK } from "../cli-io";
import type { Command } from "../command";
import { UsageError } from "../command";
import { formatTable } from "../play-report";
import { withAgent } from "./agents";
import { formatDuration, parseCtlArgs, printJson } from "./options";

const DEFAULT_LIMIT = 100;

const HELP = `Usage: ptablesctl flows [--limit <n>] [--json] [--run-dir <dir>]

Lists the flows (conntrack entries) in the datapath, most recently active first: protocol,
addresses, state, interface, age, idle time and counters.

Options:
  --limit <n>   Show at most n flows (1..100000, default ${DEFAULT_LIMIT})

Exit status: 0 on success; 1 if the offload daemon failed the request; 2 for a bad command
line; 3 if it cannot be reached.`;

const PROTOCOLS: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp" };

function endpoint(ip: string, port: number, family: number, withPort: boolean): string {
  if (!withPort) return ip;
  return family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export const flowsCommand: Command = {
  name: "flows",
  summary: "Flows (conntrack entries) in the datapath",
  help: HELP,
  async run(args, io) {
    const { options, runDir, json } = parseCtlArgs(args, io, { limit: "string" }, []);
    const limitText = options.limit as string | undefined;
    if (limitText !== undefined && (!/^[0-9]+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 100_000)) {
      throw new UsageError("--limit", `'${limitText}' is not a number 1..100000`);
    }
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
    const res = await withAgent(runDir, "offload-daemon", (c) => c.listFlows(limit));
    if (json) {
      printJson(io, res);
      return EXIT_OK;
    }
    if (res.note) io.out(`No flows: ${res.note}`);
    else if (res.flows.length === 0) io.out("No flows.");
    else {
      const rows = res.flows.map((f) => {
        const ports = f.protocol === 6 || f.protocol === 17 || f.protocol === 132;
        return [
          PROTOCOLS[f.protocol] ?? String(f.protocol),
          endpoint(f.srcIp, f.srcPort, f.family, ports),
          endpoint(f.dstIp, f.dstPort, f.family, ports),
          f.state,
          f.ifname,
          formatDuration(f.ageSeconds),
          formatDuration(f.idleSeconds),
          f.packets.toString(),
          f.bytes.toString(),
        ];
      });
      for (const line of formatTable(["PROTO", "SOURCE", "DESTINATION", "STATE", "INTERFACE", "AGE", "IDLE", "PACKETS", "BYTES"], rows)) io.out(line);
    }
    if (res.truncated) io.out(`(showing the ${res.flows.length} most recently active; there are more: use --limit)`);
    return EXIT_OK;
  },
};
