/**
 * Felix's ConfigUpdate -> the settings ptables uses. Felix sends only parameters some source
 * set explicitly, never its defaults, so everything starts from Felix's defaults and each key
 * Felix sent overrides one setting. A value that does not parse keeps the default and is
 * reported; it never stops the driver.
 */
import { ValidationError, defaultDataplaneConfig } from "@ptables/api";
import type { DataplaneConfig } from "@ptables/api";
import { AddressSyntaxError, parseIpPrefix } from "@ptables/api";
import { PORT_PROTOCOLS, parsePortNumber } from "./validate";

/** Settings for the driver itself rather than the datapath. */
export interface FelixSettings {
  /** How often to send ProcessStatusUpdate; 0 = never (ReportingIntervalSecs, default 30). */
  reportingIntervalSecs: number;
  /** FelixHostname, "" when Felix did not send one. */
  hostname: string;
}

export function defaultFelixSettings(): FelixSettings {
  return { reportingIntervalSecs: 30, hostname: "" };
}

/** A parameter whose value could not be used; `key` is the name Felix sent. */
export interface ConfigProblem {
  key: string;
  reason: string;
}

export interface FelixConfiguration {
  config: DataplaneConfig;
  settings: FelixSettings;
  problems: ConfigProblem[];
}

interface Target {
  config: DataplaneConfig;
  settings: FelixSettings;
}

/** Felix parameter name -> how its raw value lands in the target. Parsers throw ValidationError. */
const PARAMETERS: ReadonlyArray<[string, (value: string, target: Target, path: string) => void]> = [
  ["InterfacePrefix", (v, t, p) => (t.config.interfacePrefix = interfacePrefix(v, p))],
  ["FailsafeInboundHostPorts", (v, t, p) => (t.config.failsafeInbound = failsafePorts(v, p))],
  ["FailsafeOutboundHostPorts", (v, t, p) => (t.config.failsafeOutbound = failsafePorts(v, p))],
  ["DefaultEndpointToHostAction", (v, t, p) => (t.config.defaultEndpointToHostAction = oneOf(v, p, ["DROP", "RETURN", "ACCEPT"]))],
  ["VXLANPort", (v, t, p) => (t.config.vxlanPort = integer(v, p, 1, 65535))],
  ["VXLANVNI", (v, t, p) => (t.config.vxlanVni = integer(v, p, 0, 0xffffff))],
  ["VXLANMTU", (v, t, p) => (t.config.vxlanMtu = integer(v, p, 0, 65535))],
  ["VXLANMTUV6", (v, t, p) => (t.config.vxlanMtuV6 = integer(v, p, 0, 65535))],
  ["IpInIpMtu", (v, t, p) => (t.config.ipipMtu = integer(v, p, 0, 65535))],
  ["ProgramClusterRoutes", (v, t, p) => (t.config.programClusterRoutes = clusterRoutes(v, p))],
  ["RouteRefreshInterval", (v, t, p) => (t.config.routeRefreshIntervalSecs = wholeSeconds(v, p))],
  ["AllowVXLANPacketsFromWorkloads", (v, t, p) => (t.config.allowVxlanPacketsFromWorkloads = bool(v, p))],
  ["AllowIPIPPacketsFromWorkloads", (v, t, p) => (t.config.allowIpipPacketsFromWorkloads = bool(v, p))],
  ["FelixHostname", (v, t, p) => (t.config.hostname = t.settings.hostname = hostname(v, p))],
  ["ReportingIntervalSecs", (v, t, p) => (t.settings.reportingIntervalSecs = seconds(v, p))],
];

const BY_LOWER_NAME = new Map(PARAMETERS.map(([name, apply]) => [name.toLowerCase(), { name, apply }]));

/**
 * Builds the configuration from ConfigUpdate.config. Keys are matched case-insensitively
 * (Felix passes env-derived unknown keys through lower-cased); keys ptables does not use, and
 * empty values, are ignored.
 */
export function configFromFelix(raw: Readonly<Record<string, string>>): FelixConfiguration {
  const target: Target = { config: defaultDataplaneConfig(), settings: defaultFelixSettings() };
  const problems: ConfigProblem[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const parameter = BY_LOWER_NAME.get(key.toLowerCase());
    // Felix treats an empty value as not set ("none" is how a list is emptied).
    if (!parameter || value.trim() === "") continue;
    // Parse into a scratch copy so a failing parser cannot leave half a value behind.
    const scratch: Target = { config: { ...target.config }, settings: { ...target.settings } };
    try {
      parameter.apply(value, scratch, `config ${parameter.name}`);
      target.config = scratch.config;
      target.settings = scratch.settings;
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push({ key, reason: `${err.message}; keeping the default` });
    }
  }
  return { ...target, problems };
}

function bad(path: string, value: string, expected: string): ValidationError {
  return new ValidationError(path, `${JSON.stringify(value)} is not ${expected}`);
}

function interfacePrefix(value: string, path: string): string {
  // Felix accepts a comma-separated list of prefixes ("cali,tap").
  if (!/^[a-zA-Z0-9_-]{1,15}(,[a-zA-Z0-9_-]{1,15})*$/.test(value)) throw bad(path, value, "a list of interface prefixes");
  return value;
}

function oneOf(value: string, path: string, choices: readonly string[]): string {
  const upper = value.trim().toUpperCase();
  if (!choices.includes(upper)) throw bad(path, value, `one of ${choices.join(", ")}`);
  return upper;
}

function integer(value: string, path: string, min: number, max: number): number {
  const text = value.trim();
  if (!/^[+-]?[0-9]+$/.test(text)) throw bad(path, value, "an integer");
  const n = Number(text);
  if (n < min || n > max) throw bad(path, value, `in ${min}..${max}`);
  return n;
}

function bool(value: string, path: string): boolean {
  const text = value.trim().toLowerCase();
  if (["true", "1", "yes", "y", "t"].includes(text)) return true;
  if (["false", "0", "no", "n", "f"].includes(text)) return false;
  throw bad(path, value, "a boolean");
}

function seconds(value: string, path: string): number {
  const text = value.trim();
  const n = Number(text);
  if (text === "" || !Number.isFinite(n) || n < 0) throw bad(path, value, "a non-negative number of seconds");
  return n;
}

/** Felix's ProgramClusterRoutes values, matched case-insensitively and kept in Felix's spelling. */
const CLUSTER_ROUTE_MODES = ["Disabled", "EnabledIPIPOnly", "EnabledNoEncapOnly", "Enabled"];

function clusterRoutes(value: string, path: string): string {
  const found = CLUSTER_ROUTE_MODES.find((m) => m.toLowerCase() === value.trim().toLowerCase());
  if (!found) throw bad(path, value, `one of ${CLUSTER_ROUTE_MODES.join(", ")}`);
  return found;
}

const DURATION_UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };

/** A Go duration ("90s", "1m30s", "500ms") or a plain number of seconds, rounded up to whole seconds. */
function wholeSeconds(value: string, path: string): number {
  const text = value.trim();
  let total: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    total = Number(text);
  } else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) throw bad(path, value, "a duration such as 90s or 1m30s");
    total = parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNIT_SECONDS[p[2]!]!, 0);
  }
  if (total > 86_400) throw bad(path, value, "a duration from 0s to 24h");
  return Math.ceil(total);
}

function hostname(value: string, path: string): string {
  if (!/^[a-zA-Z0-9_.-]+$/.test(value)) throw bad(path, value, "a hostname");
  return value;
}

/**
 * Felix's port list: "tcp:22,udp:68", a bare "22" meaning tcp, or the form with a net,
 * "tcp:0.0.0.0/0:22" ("[::]/0" for IPv6). "none" is the empty list. The model keeps
 * "proto:port" only; a net narrower than everything cannot be expressed, so such a list is
 * rejected rather than silently widened.
 */
export function failsafePorts(value: string, path: string): string[] {
  const text = value.trim();
  if (text.toLowerCase() === "none") return [];
  const out: string[] = [];
  for (const entry of text.split(",").map((e) => e.trim())) {
    if (entry === "") continue;
    const first = entry.indexOf(":");
    const last = entry.lastIndexOf(":");
    const proto = first < 0 ? "tcp" : entry.slice(0, first).toLowerCase();
    const portText = last < 0 ? entry : entry.slice(last + 1);
    const net = first < last ? entry.slice(first + 1, last).replace(/^\[(.*)\](\/\d+)?$/, "$1$2") : undefined;
    if (!PORT_PROTOCOLS.has(proto)) throw bad(path, value, `a port list ("${entry}": protocol "${proto}" is not tcp, udp or sctp)`);
    const port = parsePortNumber(portText);
    if (port === undefined) throw bad(path, value, `a port list ("${entry}": port is not 0..65535)`);
    if (net !== undefined && net !== "" && !isCatchAll(net)) {
      throw bad(path, value, `a supported port list ("${entry}": limiting a failsafe port to ${net} is not supported)`);
    }
    const canonical = `${proto}:${port}`;
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}

function isCatchAll(net: string): boolean {
  try {
    return parseIpPrefix(net).prefixLength === 0;
  } catch (err) {
    if (err instanceof AddressSyntaxError) return false;
    throw err;
  }
}
