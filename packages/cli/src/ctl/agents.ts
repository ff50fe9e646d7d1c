/**
 * Talking to the agents over their Unix sockets, for ptablesctl: one short-lived client per
 * command, a deadline on every call, and errors that say which agent and which socket when
 * something is not there, so "not running" and "wrong --run-dir" are obvious.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { agent, health, sync } from "@ptables/proto";
import { createPeerClient, socketPaths, type ClientConstructor } from "@ptables/runtime";

/** The agents ptablesctl knows, in the order status lists them. */
export const AGENTS = ["felix-proxy", "policy-programmer", "arp-responder", "offload-daemon"] as const;
export type AgentName = (typeof AGENTS)[number];

/** How long one call may take before the agent counts as not answering. */
export const CALL_TIMEOUT_MS = 5000;

/** The socket of each agent in a run dir. */
export function agentSocket(runDir: string, name: AgentName): string {
  const s = socketPaths(runDir);
  return { "felix-proxy": s.felixProxy, "policy-programmer": s.policyProgrammer, "arp-responder": s.arpResponder, "offload-daemon": s.offloadDaemon }[name];
}

/** An agent could not be reached: nothing at the socket, nobody listening, or no answer. */
export class AgentUnreachableError extends Error {
  constructor(
    readonly agent: AgentName,
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(`${agent} is not reachable at ${socketPath}: ${reason}`);
    this.name = "AgentUnreachableError";
  }
}

/** An agent answered a call with an error status. */
export class AgentCallError extends Error {
  constructor(
    readonly agent: AgentName,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`${agent}: ${details}`);
    this.name = "AgentCallError";
  }
}

/** Why a socket cannot be connected to, in words; undefined if something accepts connections. */
export function socketProblem(socketPath: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ path: socketPath });
    const done = (problem: string | undefined): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs); // accepted nothing yet: the gRPC deadline decides
    sock.once("connect", () => done(undefined));
    sock.once("error", (err: NodeJS.ErrnoException) => {
      switch (err.code) {
        case "ENOENT":
          return done(fs.existsSync(socketPath) ? "the socket vanished" : "no socket there (is ptables running, and is --run-dir right?)");
        case "ECONNREFUSED":
          return done("nothing listens on the socket (a stale socket left by a stopped agent?)");
        case "EACCES":
        case "EPERM":
          return done("permission denied (the sockets are root's: run as root)");
        default:
          return done(err.code ?? err.message);
      }
    });
  });
}

/** The gRPC clients of one agent's socket, closed together. */
export class AgentConnection {
  private readonly clients: grpc.Client[] = [];

  private constructor(
    readonly agent: AgentName,
    readonly socketPath: string,
  ) {}

  /** Checks that the agent's socket accepts connections; throws AgentUnreachableError if not. */
  static async open(runDir: string, name: AgentName): Promise<AgentConnection> {
    const socketPath = agentSocket(runDir, name);
    const problem = await socketProblem(socketPath);
    if (problem) throw new AgentUnreachableError(name, socketPath, problem);
    return new AgentConnection(name, socketPath);
  }

  close(): void {
    for (const c of this.clients.splice(0)) c.close();
  }

  private client<C extends grpc.Client>(ctor: ClientConstructor<C>): C {
    const c = createPeerClient(ctor, this.socketPath, { initialMs: 100, maxMs: 1000 });
    this.clients.push(c);
    return c;
  }

  /** Runs one unary call with a deadline, mapping failures to AgentUnreachableError / AgentCallError. */
  private call<Res>(start: (options: Partial<grpc.CallOptions>, done: (err: grpc.ServiceError | null, res: Res) => void) => void): Promise<Res> {
    return new Promise((resolve, reject) => {
      start({ deadline: Date.now() + CALL_TIMEOUT_MS }, (err, res) => {
        if (!err) return resolve(res);
        if (err.code === grpc.status.UNAVAILABLE) return reject(new AgentUnreachableError(this.agent, this.socketPath, err.details || "unavailable"));
        if (err.code === grpc.status.DEADLINE_EXCEEDED) return reject(new AgentUnreachableError(this.agent, this.socketPath, `no answer within ${CALL_TIMEOUT_MS / 1000} s`));
        reject(new AgentCallError(this.agent, err.code, err.details));
      });
    });
  }

  info(): Promise<agent.InfoResponse> {
    const c = this.client(agent.AgentClient);
    return this.call((o, done) => c.info({}, new grpc.Metadata(), o, done));
  }

  /** The serving status of one health service name; undefined if the agent does not know the name. */
  async health(service: string): Promise<health.HealthCheckResponse_ServingStatus | undefined> {
    const c = this.client(health.HealthClient);
    try {
      return (await this.call<health.HealthCheckResponse>((o, done) => c.check({ service }, new grpc.Metadata(), o, done))).status;
    } catch (err) {
      if (err instanceof AgentCallError && err.code === grpc.status.NOT_FOUND) return undefined;
      throw err;
    }
  }

  state(endpoint = ""): Promise<sync.StateResponse> {
    const c = this.client(sync.PolicyProgrammerClient);
    return this.call((o, done) => c.state({ endpoint }, new grpc.Metadata(), o, done));
  }

  trace(req: sync.TraceRequest): Promise<sync.TraceResponse> {
    const c = this.client(sync.PolicyProgrammerClient);
    return this.call((o, done) => c.trace(req, new grpc.Metadata(), o, done));
  }

  listFlows(limit: number): Promise<agent.ListFlowsResponse> {
    const c = this.client(agent.FlowsClient);
    return this.call((o, done) => c.listFlows({ limit }, new grpc.Metadata(), o, done));
  }
}

/** Opens a connection, runs `use`, and closes the connection whatever happens. */
export async function withAgent<T>(runDir: string, name: AgentName, use: (c: AgentConnection) => Promise<T>): Promise<T> {
  const c = await AgentConnection.open(runDir, name);
  try {
    return await use(c);
  } finally {
    c.close();
  }
}
