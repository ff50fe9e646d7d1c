/** Where a command writes and what it may read, so commands run the same in tests and for real. */
export interface CliIo {
  /** One line of normal output (stdout). */
  out(line: string): void;
  /** One line of diagnostics (stderr). */
  err(line: string): void;
  /** The environment commands see and pass on (e.g. to a driver). */
  env: NodeJS.ProcessEnv;
  /** Aborted when the user interrupts (Ctrl-C); long-running commands stop cleanly. */
  signal?: AbortSignal;
}

/** The real process's stdout, stderr and environment. */
export function processIo(signal?: AbortSignal): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    signal,
  };
}

export const EXIT_OK = 0;
/** The command ran and failed (bad scenario, driver failure). */
export const EXIT_FAILURE = 1;
/** The command line itself was wrong. */
export const EXIT_USAGE = 2;
/** ptablesctl: an agent was not reachable over its socket. */
export const EXIT_UNREACHABLE = 3;
/** ptablesctl trace: the traced packet would be denied (the trace itself worked). */
export const EXIT_DENIED = 4;
