/**
 * `ptablesctl`: looks at a running ptables through the agents' sockets. A registry of
 * commands like `ptables`; every command takes --json and --run-dir (also before the command
 * name). Exit codes: 0 ok, 1 the operation failed, 2 a bad command line (naming the argument),
 * 3 an agent is not reachable (naming its socket), 4 `trace`: the packet is denied.
 */
import * as grpc from "@grpc/grpc-js";
import { cleanupCommand } from "../cleanup";
import type { CliIo } from "../cli-io";
import { EXIT_FAILURE, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, processIo } from "../cli-io";
import type { Command } from "../command";
import { UsageError } from "../command";
import { AgentCallError, AgentUnreachableError } from "./agents";
import { endpointsCommand } from "./endpoints";
import { flowsCommand } from "./flows";
import { ipsetsCommand } from "./ipsets";
import { policyCommand } from "./policy";
import { routesCommand } from "./routes";
import { statusCommand } from "./status";
import { traceCommand } from "./trace";

const helpCommand: Command = {
  name: "help",
  summary: "Show the commands, or one command's usage",
  help: "Usage: ptablesctl help [<command>]",
  async run(args, io) {
    if (args.length > 1) throw new UsageError(args[1]!, "unexpected argument");
    if (args.length === 0) {
      for (const line of overview()) io.out(line);
      return EXIT_OK;
    }
    io.out(findCommand(args[0]!).help);
    return EXIT_OK;
  },
};

/** Every `ptablesctl` command, in the order help lists them. */
export const CTL_COMMANDS: readonly Command[] = [
  statusCommand,
  endpointsCommand,
  policyCommand,
  ipsetsCommand,
  routesCommand,
  flowsCommand,
  traceCommand,
  cleanupCommand("ptablesctl"),
  helpCommand,
];

function overview(): string[] {
  const width = Math.max(...CTL_COMMANDS.map((c) => c.name.length));
  return [
    "Usage: ptablesctl [--json] [--run-dir <dir>] <command> [arguments]",
    "",
    "Commands:",
    ...CTL_COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --json (one JSON document instead of tables) and --run-dir (where the",
    "agents' sockets are; default PTABLES_RUN_DIR or /var/run/ptables).",
    "Exit status: 0 ok, 1 failed, 2 bad command line, 3 agent not reachable, 4 trace: denied.",
    "Run 'ptablesctl help <command>' for a command's arguments and options.",
  ];
}

function findCommand(name: string): Command {
  const command = CTL_COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(name, `unknown command (expected one of: ${CTL_COMMANDS.map((c) => c.name).join(", ")})`);
  return command;
}

/** Moves --json / --run-dir written before the command name to after it. */
export function splitCommandLine(argv: readonly string[]): { name: string | undefined; args: string[] } {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith("--") && argv[i] !== "--help") {
    const arg = argv[i]!;
    leading.push(arg);
    if (arg === "--run-dir" && i + 1 < argv.length) leading.push(argv[++i]!);
    i++;
  }
  return { name: argv[i], args: [...leading, ...argv.slice(i + 1)] };
}

/** Runs `ptablesctl <argv...>` and resolves with the exit code; never throws. */
export async function ctlMain(argv: readonly string[], io: CliIo): Promise<number> {
  const { name, args } = splitCommandLine(argv);
  if (name === undefined || name === "--help" || name === "-h") {
    for (const line of overview()) (name === undefined ? io.err : io.out)(line);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  let command: Command | undefined;
  const prefix = () => (command ? `ptablesctl ${command.name}` : "ptablesctl");
  try {
    command = findCommand(name);
    if (args.includes("--help") || args.includes("-h")) {
      io.out(command.help);
      return EXIT_OK;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${prefix()}: ${err.message}`);
      io.err(command ? `Run 'ptablesctl help ${command.name}' for usage.` : "Run 'ptablesctl help' for the list of commands.");
      return EXIT_USAGE;
    }
    if (err instanceof AgentUnreachableError) {
      io.err(`${prefix()}: ${err.message}`);
      return EXIT_UNREACHABLE;
    }
    if (err instanceof AgentCallError) {
      // The agent's details start with its RPC ("state: endpoint: ..."); the command is what the user typed.
      const details = err.details.replace(/^[a-z]+: /, "");
      if (err.code === grpc.status.INVALID_ARGUMENT) {
        io.err(`${prefix()}: ${details}`);
        return EXIT_USAGE;
      }
      io.err(`${prefix()}: ${err.agent} failed: ${details}`);
      return EXIT_FAILURE;
    }
    io.err(`${prefix()}: ${(err as Error).stack ?? String(err)}`);
    return EXIT_FAILURE;
  }
}

/** Entry point for bin/ptablesctl.js. */
export function runCtlFromProcess(): void {
  void ctlMain(process.argv.slice(2), processIo()).then((code) => {
    process.exitCode = code;
  });
}
