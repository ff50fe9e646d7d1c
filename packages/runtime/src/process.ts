/**
 * The process shell around an agent's main: configuration (refuse to start on a bad one, exit
 * code 2), logging, signals (graceful stop within a bound), and last-resort error handling.
 */
import { errorMessage } from "@ptables/api";
import { ConfigError, loadConfig, type PtablesConfig } from "./config";
import { createLogger, type Logger } from "./logger";

/** Exit code for a configuration the agent refuses to run with. */
export const EXIT_CONFIG_ERROR = 2;
/** How long a graceful stop may take after SIGTERM/SIGINT before the process exits anyway. */
export const DEFAULT_STOP_TIMEOUT_MS = 3000;

/** What runAgent hands to an agent's main. */
export interface AgentContext {
  config: PtablesConfig;
  logger: Logger;
  /**
   * Asks for a graceful stop and then exit with `code` (e.g. the driver when Felix closes its
   * pipe). Later calls are ignored: the first reason wins.
   */
  shutdown(code: number, reason: string): void;
}

/** What main returns: how to stop what it started. */
export interface RunningAgent {
  stop(): Promise<void>;
}

/** Overrides for tests and for the driver (a shorter stop bound). */
export interface RunAgentOptions {
  env?: NodeJS.ProcessEnv;
  stopTimeoutMs?: number;
}

/**
 * Runs an agent: loads the configuration, creates the logger, calls `main`, and stops it on
 * SIGTERM/SIGINT, on `shutdown()`, or when the supervising parent's IPC channel goes away (the
 * driver died, even by SIGKILL). Uncaught errors are logged and end the process non-zero.
 */
export function runAgent(name: string, main: (ctx: AgentContext) => Promise<RunningAgent>, opts: RunAgentOptions = {}): void {
  let config: PtablesConfig;
  try {
    config = loadConfig(opts.env ?? process.env);
  } catch (err) {
    const msg = err instanceof ConfigError ? err.message : errorMessage(err);
    process.stderr.write(`${name}: invalid configuration: ${msg}\n`);
    process.exit(EXIT_CONFIG_ERROR);
  }
  const logger = createLogger({ component: name, level: config.logLevel, format: config.logFormat });
  const stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;

  let running: RunningAgent | undefined;
  let exiting: { code: number } | undefined;

  const stopAndExit = (agent: RunningAgent, code: number): void => {
    agent
      .stop()
      .then(() => {
        logger.info("stopped", { exitCode: code });
        process.exit(code);
      })
      .catch((err: unknown) => {
        logger.error("stop failed", { error: errorMessage(err) });
        process.exit(1);
      });
  };

  const shutdown = (code: number, reason: string): void => {
    if (exiting) return;
    exiting = { code };
    logger.info("stopping", { reason });
    // Not unref'd: if stopping stalls with nothing else pending, this still decides the exit code.
    setTimeout(() => {
      logger.error("graceful stop did not finish in time; exiting", { timeoutMs: stopTimeoutMs });
      process.exit(code === 0 ? 1 : code);
    }, stopTimeoutMs);
    // Still starting: main's result is stopped as soon as it arrives (below).
    if (running) stopAndExit(running, code);
  };

  const fatal = (what: string) => (err: unknown) => {
    logger.error(what, { error: errorMessage(err), stack: err instanceof Error ? err.stack : undefined });
    process.exit(1);
  };
  process.on("uncaughtException", fatal("uncaught exception"));
  process.on("unhandledRejection", fatal("unhandled promise rejection"));
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => shutdown(0, sig));
  // Supervised by the driver (spawned with an IPC channel): go when the driver goes, so a
  // SIGKILLed driver leaves no agents behind holding the sockets.
  if (process.channel) {
    process.channel.unref();
    process.on("disconnect", () => shutdown(0, "supervisor went away"));
  }

  main({ config, logger, shutdown })
    .then((r) => {
      running = r;
      if (exiting) stopAndExit(r, exiting.code);
    })
    .catch((err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${name}: invalid configuration: ${err.message}\n`);
        process.exit(EXIT_CONFIG_ERROR);
      }
      fatal("start-up failed")(err);
    });
}
