/**
 * Wiring an agent's HTTP server from the configuration: the port of that agent (0 = none),
 * the health and metrics addresses, and the liveness every agent shares.
 */
import type { AgentHttpPorts, PtablesConfig } from "./config";
import type { AgentServer } from "./grpc-server";
import { AgentHttpServer, type AgentHttpServerOptions, type HealthReport } from "./http-server";

/** Options of startAgentHttp: the agent's checks and registry, and which port setting is its own. */
export type StartAgentHttpOptions = Omit<AgentHttpServerOptions, "port" | "healthHost" | "metricsHost"> & {
  config: Pick<PtablesConfig, "httpPorts" | "healthHost" | "metricsHost">;
  /** The agent's entry in httpPorts. */
  portOf: keyof AgentHttpPorts;
};

/** Starts the agent's HTTP server, or returns undefined when its port is configured as 0. */
export async function startAgentHttp(opts: StartAgentHttpOptions): Promise<AgentHttpServer | undefined> {
  const { config, portOf, ...rest } = opts;
  const port = config.httpPorts[portOf];
  if (port === 0) {
    opts.logger.info("health and metrics HTTP server turned off (port 0)", { agent: opts.agent });
    return undefined;
  }
  const server = new AgentHttpServer({ ...rest, port, healthHost: config.healthHost, metricsHost: config.metricsHost });
  await server.start();
  return server;
}

/**
 * The liveness every agent has: answering at all shows its event loop runs; on top of that its
 * gRPC server must still serve its socket. Agents with nothing more to check use this as is.
 */
export function grpcLiveness(server: AgentServer | undefined): HealthReport {
  if (!server) return { ok: false, detail: { grpc: "not started" } };
  const c = server.check();
  return { ok: c.ok, detail: { grpc: c.reason } };
}
