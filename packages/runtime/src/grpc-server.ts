/**
 * Every agent's gRPC server: one Unix socket in the run dir, the standard health service and
 * ptables.agent.v1.Agent/Info always present, plus the agent's own services.
 */
import * as fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { agent, health } from "@ptables/proto";
import { errorMessage } from "@ptables/api";
import { HealthRegistry, ServingStatus } from "./health";
import type { Logger } from "./logger";
import { prepareSocketPath, removeOwnSocket } from "./unix-socket";

/** Largest gRPC message accepted or sent: snapshots of a big cluster exceed grpc's 4 MiB default. */
export const MAX_GRPC_MESSAGE_BYTES = 512 * 1024 * 1024;

/** One service to serve besides health and Agent. */
export interface AgentServiceRegistration {
  /** Fully-qualified service name, used as its health-check name ("ptables.policy.v1.PolicyProgrammer"). */
  name: string;
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

/** What startAgentServer serves, and where. */
export interface AgentServerOptions {
  socketPath: string;
  agentName: string;
  version: string;
  services?: AgentServiceRegistration[];
  /** Agent-specific state for Info, rendered as JSON (bigints as strings). */
  info?: () => unknown | Promise<unknown>;
  logger?: Logger;
  maxMessageBytes?: number;
}

/** A running agent server. */
export interface AgentServer {
  readonly socketPath: string;
  /** Per-service health; "" is the agent as a whole. All start SERVING. */
  readonly health: HealthRegistry;
  /**
   * Whether the server still serves: not stopping, and the socket file in the run dir is still
   * the one it listens on (a removed or replaced socket file leaves the agent unreachable).
   */
  check(): { ok: boolean; reason: string };
  /**
   * Stops serving: health goes NOT_SERVING, watches end, calls in flight get `graceMs` to finish
   * (then are cancelled), and the socket file is removed. Idempotent.
   */
  stop(graceMs?: number): Promise<void>;
}

/** Health-check names of the two services every agent serves. */
export const HEALTH_SERVICE_NAME = "grpc.health.v1.Health";
export const AGENT_SERVICE_NAME = "ptables.agent.v1.Agent";

/** Starts an agent's server on a Unix socket (run dir 0700, socket 0600). */
export async function startAgentServer(opts: AgentServerOptions): Promise<AgentServer> {
  const { socketPath, logger } = opts;
  await prepareSocketPath(socketPath, logger);
  const maxBytes = opts.maxMessageBytes ?? MAX_GRPC_MESSAGE_BYTES;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
  });
  const registry = new HealthRegistry();
  const startedAt = process.hrtime.bigint();

  server.addService(health.HealthService, registry.implementation());
  server.addService(agent.AgentService, {
    info: (_call: grpc.ServerUnaryCall<agent.InfoRequest, agent.InfoResponse>, callback: grpc.sendUnaryData<agent.InfoResponse>) => {
      Promise.resolve()
        .then(() => (opts.info ? opts.info() : {}))
        .then((detail) =>
          callback(null, {
            agent: opts.agentName,
            version: opts.version,
            uptimeSeconds: Number(process.hrtime.bigint() - startedAt) / 1e9,
            detailJson: toJson(detail),
          }),
        )
        .catch((err: unknown) => callback({ code: grpc.status.INTERNAL, details: `info: ${errorMessage(err)}` }));
    },
  } satisfies agent.AgentServer);
  for (const s of opts.services ?? []) server.addService(s.definition, s.implementation);

  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  }).catch((err: unknown) => {
    server.forceShutdown();
    throw new Error(`listen on ${socketPath}: ${errorMessage(err)}`, { cause: err });
  });
  fs.chmodSync(socketPath, 0o600);
  const ino = fs.lstatSync(socketPath).ino;

  for (const name of ["", HEALTH_SERVICE_NAME, AGENT_SERVICE_NAME, ...(opts.services ?? []).map((s) => s.name)]) {
    registry.setStatus(name, ServingStatus.SERVING);
  }
  logger?.info("serving", { socket: socketPath });

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 2000): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      registry.setAll(ServingStatus.NOT_SERVING);
      registry.endWatches();
      const force = setTimeout(() => server.forceShutdown(), graceMs);
      server.tryShutdown(() => {
        clearTimeout(force);
        removeOwnSocket(socketPath, ino);
        logger?.info("stopped serving", { socket: socketPath });
        resolve();
      });
    });
    return stopping;
  };
  const check = (): { ok: boolean; reason: string } => {
    if (stopping) return { ok: false, reason: "stopping" };
    try {
      if (fs.lstatSync(socketPath).ino !== ino) return { ok: false, reason: `${socketPath} was replaced by another file` };
    } catch (err) {
      return { ok: false, reason: `${socketPath}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}` };
    }
    return { ok: true, reason: `serving on ${socketPath}` };
  };
  return { socketPath, health: registry, check, stop };
}

/** JSON for Info: bigints become strings, Maps become objects. */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? {}, (_k, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Map) return Object.fromEntries(v);
    if (v instanceof Set) return [...v];
    return v;
  });
}
