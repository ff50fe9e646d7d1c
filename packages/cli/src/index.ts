/** The `ptables` command line: a registry of subcommands and the entry point bin/ptables.js uses. */
export { COMMANDS, main, runFromProcess } from "./main";
export type { Command } from "./command";
export { UsageError } from "./command";
export type { CliIo } from "./cli-io";
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIo } from "./cli-io";
export { defaultDriverPath, felixPlayCommand } from "./felix-play";
export { EXIT_DENIED, EXIT_UNREACHABLE } from "./cli-io";
export { cleanupCommand, ebpfCleanupBackend } from "./cleanup";
export type { CleanupBackendFactory } from "./cleanup";
export { CTL_COMMANDS, ctlMain, runCtlFromProcess } from "./ctl/main";
export { formatPacket, parsePacket } from "./ctl/packet";
export type { TracePacket } from "./ctl/packet";
