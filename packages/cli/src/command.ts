/** The shape every `ptables` subcommand has, and the error for a wrong command line. */
import type { CliIo } from "./cli-io";

export interface Command {
  /** What the user types: `ptables <name>`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help: usage line, arguments, options. */
  help: string;
  /** Runs the command; resolves with the process exit code. Throws UsageError for bad arguments. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** A command line that cannot be run; `argument` names the offending argument. */
export class UsageError extends Error {
  constructor(
    readonly argument: string,
    readonly reason: string,
  ) {
    super(`${argument}: ${reason}`);
    this.name = "UsageError";
  }
}
