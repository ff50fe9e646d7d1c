/**
 * Standalone mode: no felix-proxy daemon answered on felix.sock, so the driver is the proxy.
 * It runs FelixProxy in-process on fd 3 / fd 4 (no extra hop, nothing to wait for before
 * reading Felix's first frame) and supervises the host-mode agents as child processes.
 */
import * as path from "node:path";
import type { Readable, Writable } from "node:stream";
import { FelixProxy, startFelixProxyHttp } from "@ptables/felix-proxy";
import type { FelixSessionEnd } from "@ptables/felix-proxy";
import type { AgentHttpServer, BackoffOptions, Logger, PtablesConfig } from "@ptables/runtime";
import { ChildSupervisor } from "./child-supervisor";

/** The agents a standalone driver runs, in start order. */
export const STANDALONE_AGENTS = ["policy-programmer", "arp-responder", "offload-daemon"] as const;

/** Where an agent's entry point is: packages/<agent>/dist/main.js, next to this package. */
export function agentScript(agent: string): string {
  return path.resolve(__dirname, "..", "..", agent, "dist", "main.js");
}

/** Options of startStandalone. */
export interface StandaloneOptions {
  config: PtablesConfig;
  logger: Logger;
  input: Readable;
  output: Writable;
  /** Environment for the agents (the driver's own, as Felix gave it). */
  env: NodeJS.ProcessEnv;
  agents?: readonly string[];
  restartBackoff?: BackoffOptions;
}

/** A running standalone driver. */
export interface Standalone {
  /** Resolves when the Felix session ends. */
  felixDone: Promise<FelixSessionEnd>;
  supervisors: ChildSupervisor[];
  /** Stops the proxy and the agents (SIGTERM, SIGKILL after 2.5 s). */
  stop(): Promise<void>;
}

/** Starts the in-process proxy on Felix's streams and the supervised agents. */
export async function startStandalone(opts: StandaloneOptions): Promise<Standalone> {
  const { config, logger } = opts;
  const supervisors = (opts.agents ?? STANDALONE_AGENTS).map(
    (name) => new ChildSupervisor({ name, script: agentScript(name), env: opts.env, logger, backoff: opts.restartBackoff }),
  );
  const proxy = new FelixProxy({ config, logger });
  let http: AgentHttpServer | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([http?.stop(), proxy.stop(), ...supervisors.map((s) => s.stop())]);
  };
  try {
    await proxy.start();
    // The in-process proxy answers on the felix-proxy port, as the daemon would.
    http = await startFelixProxyHttp(proxy, config, logger);
  } catch (err) {
    await stop();
    throw err;
  }
  // Read Felix at once; the agents come up in parallel and the programmer gets its snapshot
  // as soon as it listens.
  const session = proxy.attach(opts.input, opts.output, "fd3/fd4");
  for (const s of supervisors) s.start();
  logger.info("standalone mode: felix-proxy in-process, agents supervised", { agents: supervisors.map((s) => s.name) });
  return { felixDone: session.done, supervisors, stop };
}
