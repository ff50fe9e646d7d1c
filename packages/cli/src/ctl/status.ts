/**
 * `ptablesctl status`: every agent, whether its socket answers, its health, version, uptime
 * and the state of its part of the pipeline (from Info).
 */
import { health } from "@ptables/proto";
import type { CliIo } from "../cli-io";
import { EXIT_FAILURE, EXIT_OK, EXIT_UNREACHABLE } from "../cli-io";
import type { Command } from "../command";
import { formatTable } from "../play-report";
import { AGENTS, AgentConnection, AgentUnreachableError, agentSocket, type AgentName } from "./agents";
import { formatDuration, parseCtlArgs, printJson } from "./options";

const Serving = health.HealthCheckResponse_ServingStatus;

/**
 * The health name of each agent's own function, next to "" (the agent as a whole). They are
 * the constants FELIX_PROXY_SERVICE_HEALTH, SERVICE_NAME, ARP_HEALTH and FLOW_AGEING_HEALTH of
 * the agents' packages (this command only talks to them over their sockets).
 */
export const FUNCTION_HEALTH: Record<AgentName, string> = {
  "felix-proxy": "ptables.felix-proxy",
  "policy-programmer": "ptables.policy.v1.PolicyProgrammer",
  "arp-responder": "ptables.arp-responder.GatewayArp",
  "offload-daemon": "ptables.offload-daemon.FlowAgeing",
};

/** One agent's row. */
export interface AgentStatus {
  agent: AgentName;
  socket: string;
  reachable: boolean;
  /** Why not, when not reachable. */
  error?: string;
  /** "serving", or "not serving" and which part is not. */
  health?: string;
  serving?: boolean;
  version?: string;
  uptimeSeconds?: number;
  /** One line on the agent's part of the pipeline. */
  state?: string;
  detail?: Record<string, unknown>;
}

type Detail = Record<string, any>;

/** The state column: what matters of each agent's Info, in one line. */
export function describeState(name: AgentName, d: Detail): string {
  switch (name) {
    case "felix-proxy":
      return [
        d.felixConnected ? "Felix connected" : "Felix not connected",
        d.inSync ? "in sync" : "not in sync",
        d.programmerConnected ? "programmer connected" : "programmer not connected",
        `applied ${d.appliedVersion ?? "?"}/${d.sentVersion ?? "?"}`,
      ].join(", ");
    case "policy-programmer": {
      const parts = [`backend ${d.backend}`, d.syncConnected ? "sync stream open" : "no sync stream", d.inSync ? "in sync" : "not in sync", `applied ${d.appliedVersion ?? "?"}`];
      if (d.lastApply?.error) parts.push(`last apply failed: ${d.lastApply.error}`);
      return parts.join(", ");
    }
    case "arp-responder":
      return `gateway ARP ${d.arp ?? "?"}${d.lastError ? `: ${d.lastError}` : ""}`;
    case "offload-daemon": {
      const flows = d.flows?.active !== undefined ? `, ${d.flows.active} flows` : "";
      return `flow ageing ${d.flowAgeing ?? "?"}${flows}${d.lastError ? `: ${d.lastError}` : ""}`;
    }
  }
}

async function statusOf(runDir: string, name: AgentName): Promise<AgentStatus> {
  const socket = agentSocket(runDir, name);
  let c: AgentConnection;
  try {
    c = await AgentConnection.open(runDir, name);
  } catch (err) {
    if (err instanceof AgentUnreachableError) return { agent: name, socket, reachable: false, error: err.reason };
    throw err;
  }
  try {
    const [info, whole, fn] = await Promise.all([c.info(), c.health(""), c.health(FUNCTION_HEALTH[name])]);
    const detail = JSON.parse(info.detailJson || "{}") as Detail;
    const wholeOk = whole === Serving.SERVING;
    // An agent that does not register its function's name (it is not applicable) is judged as a whole.
    const fnOk = fn === undefined || fn === Serving.SERVING;
    const healthText = wholeOk && fnOk ? "serving" : !wholeOk ? "not serving" : `not serving (${FUNCTION_HEALTH[name]})`;
    return { agent: name, socket, reachable: true, health: healthText, serving: wholeOk && fnOk, version: info.version, uptimeSeconds: info.uptimeSeconds, state: describeState(name, detail), detail };
  } catch (err) {
    if (err instanceof AgentUnreachableError) return { agent: name, socket, reachable: false, error: err.reason };
    throw err;
  } finally {
    c.close();
  }
}

const HELP = `Usage: ptablesctl status [--json] [--run-dir <dir>]

Asks every agent (felix-proxy, policy-programmer, arp-responder, offload-daemon) over its socket
for its health, version, uptime and state.

Exit status: 0 if every agent answers and serves; 1 if one answers but is not serving;
3 if one cannot be reached (each such agent is named on stderr with its socket).`;

export const statusCommand: Command = {
  name: "status",
  summary: "Agents: reachable, health, version, uptime, sync state",
  help: HELP,
  async run(args, io: CliIo) {
    const { runDir, json } = parseCtlArgs(args, io, {}, []);
    const rows = await Promise.all(AGENTS.map((a) => statusOf(runDir, a)));
    if (json) printJson(io, { runDir, agents: rows });
    else {
      const table = rows.map((r) =>
        r.reachable ? [r.agent, "yes", r.health!, r.version!, formatDuration(r.uptimeSeconds!), r.state!] : [r.agent, "no", "-", "-", "-", r.error!],
      );
      for (const line of formatTable(["AGENT", "REACHABLE", "HEALTH", "VERSION", "UPTIME", "STATE"], table)) io.out(line);
    }
    for (const r of rows) if (!r.reachable) io.err(`ptablesctl status: ${r.agent} is not reachable at ${r.socket}: ${r.error}`);
    if (rows.some((r) => !r.reachable)) return EXIT_UNREACHABLE;
    return rows.every((r) => r.serving) ? EXIT_OK : EXIT_FAILURE;
  },
};
