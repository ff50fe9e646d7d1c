/** The `ptables` command line: a registry of subcommands and the entry point bin/ptables.js uses. */
export { COMMANDS, main, runFromProcess } from "./main";
export type { Command } from "./command";
export { UsageError } from "./command";
export type { CliIo } from "./cli-io";
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIo } from "./cli-io";
export { defaultDriverPath, felixPlayCommand } from "./felix-play";
