/**
 * `ptables`: a small registry of subcommands. Each command parses its own arguments and returns
 * an exit code; a wrong command line is a UsageError, reported with the argument it names and
 * exit status 2. Add a command by adding it to COMMANDS.
 */
import type { CliIo } from "./cli-io";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIo } from "./cli-io";
import type { Command } from "./command";
import { UsageError } from "./command";
import { cleanupCommand } from "./cleanup";
import { felixPlayCommand } from "./felix-play";

const helpCommand: Command = {
  name: "help",
  summary: "Show the commands, or one command's usage",
  help: "Usage: ptables help [<command>]",
  async run(args, io) {
    if (args.length > 1) throw new UsageError(args[1], "unexpected argument");
    if (args.length === 0) {
      for (const line of overview()) io.out(line);
      return EXIT_OK;
    }
    io.out(findCommand(args[0]).help);
    return EXIT_OK;
  },
};

/** Every `ptables` subcommand, in the order help lists them. */
export const COMMANDS: readonly Command[] = [felixPlayCommand, cleanupCommand("ptables"), helpCommand];

function overview(): string[] {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: ptables <command> [arguments]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run 'ptables help <command>' for a command's arguments and options.",
  ];
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(name, `unknown command (expected one of: ${COMMANDS.map((c) => c.name).join(", ")})`);
  return command;
}

/** Runs `ptables <argv...>` and resolves with the exit code; never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    for (const line of overview()) (name === undefined ? io.err : io.out)(line);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  let command: Command | undefined;
  try {
    command = findCommand(name);
    if (args.includes("--help") || args.includes("-h")) {
      io.out(command.help);
      return EXIT_OK;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      const prefix = command ? `ptables ${command.name}` : "ptables";
      io.err(`${prefix}: ${err.message}`);
      io.err(command ? `Run 'ptables help ${command.name}' for usage.` : "Run 'ptables help' for the list of commands.");
      return EXIT_USAGE;
    }
    io.err(`ptables${command ? ` ${command.name}` : ""}: ${(err as Error).stack ?? String(err)}`);
    return EXIT_FAILURE;
  }
}

/** Entry point for bin/ptables.js: real argv and stdio; Ctrl-C stops the running command cleanly. */
export function runFromProcess(): void {
  const interrupted = new AbortController();
  process.once("SIGINT", () => interrupted.abort());
  process.once("SIGTERM", () => interrupted.abort());
  void main(process.argv.slice(2), processIo(interrupted.signal)).then((code) => {
    process.exitCode = code;
  });
}
