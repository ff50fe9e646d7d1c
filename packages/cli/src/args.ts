/**
 * A small command-line parser: `--name value`, `--name=value`, boolean flags, `--` to end
 * options, and a fixed number of positionals. Every error names the argument at fault. A lone
 * `->` is a positional (the arrow of a packet in `ptablesctl trace`), not an option.
 */
import { UsageError } from "./command";

export type OptionKind = "string" | "boolean";

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | boolean>;
}

/**
 * Parses `args` against `spec` (option name without dashes -> kind). `positionalNames` lists
 * the positionals accepted, in order; extra ones are an error.
 */
export function parseArgs(args: readonly string[], spec: Record<string, OptionKind>, positionalNames: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], options: {} };
  let onlyPositionals = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!onlyPositionals && arg === "--") {
      onlyPositionals = true;
    } else if (!onlyPositionals && arg.startsWith("-") && arg !== "-" && arg !== "->") {
      const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
      if (!match) throw new UsageError(arg, "unknown option (options start with --)");
      const [, name, inline] = match;
      const kind = spec[name];
      if (!kind) throw new UsageError(`--${name}`, `unknown option (expected ${Object.keys(spec).map((o) => `--${o}`).join(", ")})`);
      if (parsed.options[name] !== undefined) throw new UsageError(`--${name}`, "given more than once");
      if (kind === "boolean") {
        if (inline !== undefined) throw new UsageError(`--${name}`, "takes no value");
        parsed.options[name] = true;
      } else {
        const value = inline ?? args[++i];
        if (value === undefined || (inline === undefined && value.startsWith("--"))) throw new UsageError(`--${name}`, "needs a value");
        parsed.options[name] = value;
      }
    } else {
      if (parsed.positionals.length >= positionalNames.length) throw new UsageError(arg, "unexpected argument");
      parsed.positionals.push(arg);
    }
  }
  return parsed;
}
