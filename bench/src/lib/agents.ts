/**
 * The agents' Info (ptables.agent.v1.Agent) over their Unix sockets in the run directory, and
 * the agent processes under a driver (found through /proc by their command line).
 */
import { Metadata } from "@grpc/grpc-js";
import { agent } from "@ptables/proto";
import { createPeerClient, socketPaths } from "@ptables/runtime";
import { cmdline, descendants } from "./sys";

export type AgentName = "felixProxy" | "policyProgrammer" | "arpResponder" | "offloadDaemon";

export async function agentInfo(runDir: string, name: AgentName, timeoutMs = 3000): Promise<Record<string, any>> {
  const client = createPeerClient(agent.AgentClient, socketPaths(runDir)[name], { initialMs: 50, maxMs: 200 });
  try {
    const response = await new Promise<agent.InfoResponse>((resolve, reject) => {
      client.info({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
    return JSON.parse(response.detailJson || "{}") as Record<string, any>;
  } finally {
    client.close();
  }
}

/** The driver and its agent children: name -> pid ("driver", "policy-programmer", …). */
export function agentProcesses(driverPid: number): Map<string, number> {
  const out = new Map<string, number>([["driver (felix-proxy)", driverPid]]);
  for (const pid of descendants(driverPid)) {
    const args = cmdline(pid);
    const script = args.find((a) => /packages\/[^/]+\/dist\/main\.js$/.test(a));
    const name = script ? /packages\/([^/]+)\/dist\/main\.js$/.exec(script)![1]! : `${args[0] ?? "?"} (pid ${pid})`;
    out.set(out.has(name) ? `${name} (pid ${pid})` : name, pid);
  }
  return out;
}
