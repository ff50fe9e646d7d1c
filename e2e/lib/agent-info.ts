/**
 * Reads an agent's Info (ptables.agent.v1.Agent) over its Unix socket in the run dir. Sockets
 * are filesystem objects, so the test process reaches agents that run inside a node namespace.
 */
import { Metadata } from "@grpc/grpc-js";
import { agent, sync } from "@ptables/proto";
import { createPeerClient, socketPaths } from "@ptables/runtime";

export type AgentName = "felixProxy" | "policyProgrammer" | "arpResponder" | "offloadDaemon";

/** The agent's detail JSON, parsed. Rejects if the agent does not answer within `timeoutMs`. */
export async function agentInfo(runDir: string, name: AgentName, timeoutMs = 2000): Promise<Record<string, unknown>> {
  const client = createPeerClient(agent.AgentClient, socketPaths(runDir)[name], { initialMs: 50, maxMs: 200 });
  try {
    const response = await new Promise<agent.InfoResponse>((resolve, reject) => {
      client.info({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
    return JSON.parse(response.detailJson || "{}") as Record<string, unknown>;
  } finally {
    client.close();
  }
}

/** The policy programmer's State (statuses and the programmed tables as JSON). */
export async function programmerState(runDir: string, timeoutMs = 5000): Promise<sync.StateResponse> {
  const client = createPeerClient(sync.PolicyProgrammerClient, socketPaths(runDir).policyProgrammer, { initialMs: 50, maxMs: 200 });
  try {
    return await new Promise<sync.StateResponse>((resolve, reject) => {
      client.state({ endpoint: "" }, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  } finally {
    client.close();
  }
}
