/**
 * What every ptablesctl command accepts besides its own arguments: `--json` (one JSON document
 * on stdout instead of tables) and `--run-dir` (where the agents' sockets are; default from
 * PTABLES_RUN_DIR or the config file, as the agents themselves read it).
 */
import * as path from "node:path";
import { ConfigError, loadConfig } from "@ptables/runtime";
import { parseArgs, type OptionKind, type ParsedArgs } from "../args";
import type { CliIo } from "../cli-io";
import { UsageError } from "../command";

/** A command's parsed command line plus the common options, resolved. */
export interface CtlArgs extends ParsedArgs {
  runDir: string;
  json: boolean;
}

/** Parses a command's arguments with the common options added to its own. */
export function parseCtlArgs(args: readonly string[], io: CliIo, spec: Record<string, OptionKind>, positionalNames: readonly string[]): CtlArgs {
  const parsed = parseArgs(args, { ...spec, json: "boolean", "run-dir": "string" }, positionalNames);
  let runDir = parsed.options["run-dir"] as string | undefined;
  if (runDir === undefined) {
    try {
      runDir = loadConfig(io.env).runDir;
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError("configuration", err.message);
      throw err;
    }
  } else if (runDir.trim() === "") {
    throw new UsageError("--run-dir", "needs a directory");
  }
  return { ...parsed, runDir: path.resolve(runDir), json: parsed.options.json === true };
}

/** Prints a value as one JSON document (bigints as strings). */
export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
}

/** "3d4h", "2h5m", "4m10s", "12.3s": an uptime or age, short. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.floor(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${Math.floor(seconds % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}
