/**
 * Logging for agents: winston, one line per event, to stderr. Felix copies its driver's stdout
 * and stderr into its own log, so in standalone mode everything ptables says ends up next to
 * Felix's own lines; stdout is left alone for tools that print results.
 */
import type { Writable } from "node:stream";
import * as winston from "winston";
import type { LogFormat, LogLevel } from "./config";

/** The logger agents pass around (winston's). */
export type Logger = winston.Logger;

/** Options of createLogger. */
export interface LoggerOptions {
  /** Agent or component name, printed with every line ("felix-proxy"). */
  component: string;
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stderr unless given (tests pass a stream to read them back). */
  stream?: Writable;
}

/** Fields winston keeps for itself; everything else on the info object is printed as key=value. */
const RESERVED = new Set(["level", "message", "timestamp", "component", "stack"]);

const textFormat = winston.format.printf((info) => {
  const fields = Object.keys(info)
    .filter((k) => !RESERVED.has(k))
    .map((k) => `${k}=${renderValue(info[k])}`);
  const stack = typeof info.stack === "string" ? `\n${info.stack}` : "";
  return `${String(info.timestamp)} ${info.level.toUpperCase().padEnd(5)} [${String(info.component)}] ${String(info.message)}${fields.length ? " " + fields.join(" ") : ""}${stack}`;
});

function renderValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return JSON.stringify(v.message);
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** JSON cannot hold bigint; flow counters and versions are bigints, so render them as strings. */
const bigintSafe = winston.format((info) => {
  for (const k of Object.keys(info)) {
    const v = info[k];
    if (typeof v === "bigint") info[k] = v.toString();
  }
  return info;
});

/** Creates a logger for one component. Levels: error, warn, info, debug. */
export function createLogger(opts: LoggerOptions): Logger {
  const format = opts.format ?? "text";
  const transport = opts.stream
    ? new winston.transports.Stream({ stream: opts.stream })
    : new winston.transports.Console({ stderrLevels: ["error", "warn", "info", "http", "verbose", "debug", "silly"] });
  return winston.createLogger({
    level: opts.level ?? "info",
    defaultMeta: { component: opts.component },
    format: winston.format.combine(
      winston.format.errors({ stack: false }),
      winston.format.timestamp(),
      bigintSafe(),
      format === "json" ? winston.format.json() : textFormat,
    ),
    transports: [transport],
    // A logging failure must never take an agent down.
    exitOnError: false,
  });
}

/**
 * A logger whose every line carries `{ id }` (and any extra fields), for messages about one
 * object: an endpoint, a policy, a flow, a child process.
 */
export function objectLogger(logger: Logger, id: string, fields: Record<string, unknown> = {}): Logger {
  return logger.child({ id, ...fields });
}
