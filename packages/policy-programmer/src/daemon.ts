/**
 * The policy programmer agent around a backend: opens it, serves PolicyProgrammer (plus health
 * and Info) on <runDir>/policy-programmer.sock, and stops gracefully. Stopping closes the
 * backend but never cleans it up: the datapath keeps enforcing the last programmed policy while
 * the agent is away, and a restarted agent resyncs from the tables without rewriting them.
 */
import { sync } from "@ptables/proto";
import type { Backend } from "@ptables/api";
import { grpcLiveness, ptablesVersion, socketPaths, startAgentServer, type AgentServer, type HealthReport, type Logger, type PtablesConfig } from "@ptables/runtime";
import type { PolicyCompiler } from "./compiler";
import { Programmer } from "./programmer";
import { PolicyProgrammerService } from "./service";

export const AGENT_NAME = "policy-programmer";
export const SERVICE_NAME = "ptables.policy.v1.PolicyProgrammer";

export interface PolicyProgrammerDaemonOptions {
  config: Pick<PtablesConfig, "runDir">;
  logger: Logger;
  backend: Backend;
  compiler?: PolicyCompiler;
}

export interface RunningPolicyProgrammer {
  readonly programmer: Programmer;
  readonly service: PolicyProgrammerService;
  readonly server: AgentServer;
  /** Liveness: the gRPC server still serves policy-programmer.sock. */
  liveness(): HealthReport;
  /** Readiness: the backend is open and the last apply succeeded (or one is running now). */
  readiness(): HealthReport;
  /** Graceful stop: ends the Sync stream, lets a running apply finish, closes the backend. */
  stop(): Promise<void>;
}

export async function startPolicyProgrammer(opts: PolicyProgrammerDaemonOptions): Promise<RunningPolicyProgrammer> {
  const { backend, logger } = opts;
  await backend.open();
  const programmer = new Programmer(backend, { log: logger, ...(opts.compiler ? { compiler: opts.compiler } : {}) });
  const service = new PolicyProgrammerService(programmer, logger);
  let server: AgentServer;
  try {
    server = await startAgentServer({
      socketPath: socketPaths(opts.config.runDir).policyProgrammer,
      agentName: AGENT_NAME,
      version: ptablesVersion(),
      services: [{ name: SERVICE_NAME, definition: sync.PolicyProgrammerService, implementation: service.implementation() }],
      info: () => info(programmer, service),
      logger,
    });
  } catch (err) {
    await backend.close();
    throw err;
  }
  logger.info("policy programmer started", { backend: backend.name, capabilities: backend.capabilities().description });
  let stopping: Promise<void> | undefined;
  return {
    programmer,
    service,
    server,
    liveness: () => grpcLiveness(server),
    readiness: () => readiness(programmer, service, stopping === undefined),
    stop: () =>
      (stopping ??= (async () => {
        await service.stop();
        await server.stop();
        await backend.close();
      })()),
  };
}

/**
 * Ready while the backend is open and the datapath follows the model: the last apply did not
 * fail as a whole, or a new attempt is running. Before the first Sync there is nothing to
 * follow yet, which is ready too (the proxy's readiness covers "in sync with Felix").
 */
function readiness(p: Programmer, service: PolicyProgrammerService, backendOpen: boolean): HealthReport {
  const last = p.lastApply;
  const detail = {
    backend: p.backend.name,
    backendOpen,
    syncConnected: service.syncConnected,
    applying: p.isApplying,
    lastApply: last ? { version: last.version.toString(), ok: last.error === undefined, ...(last.error !== undefined ? { error: last.error } : {}) } : null,
  };
  return { ok: backendOpen && (p.isApplying || !last || last.error === undefined), detail };
}

/** What Info reports: versions, sync state, last apply and status counts. */
function info(p: Programmer, service: PolicyProgrammerService): Record<string, unknown> {
  const counts: Record<string, number> = {};
  for (const s of p.statuses()) {
    const k = `${sync.ObjectKind[s.kind]}/${sync.ObjectState[s.state]}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return {
    backend: p.backend.name,
    syncConnected: service.syncConnected,
    appliedVersion: p.appliedVersion,
    inSync: p.inSync,
    applies: p.applies,
    lastApply: p.lastApply,
    writes: p.writeCounts(),
    statuses: counts,
  };
}
