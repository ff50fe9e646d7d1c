/**
 * Agent configuration: environment variables, optionally on top of a YAML/JSON file.
 *
 * Every agent (and the driver) reads the same settings, so two ptables instances can run side
 * by side on one host just by giving them different directories. Precedence: built-in default,
 * then the file named by PTABLES_CONFIG_FILE, then the environment. Anything that cannot be
 * understood is a ConfigError naming the key (or file) and the reason; agents refuse to start
 * on it rather than guessing.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { PtablesError } from "@ptables/api";

/** Log levels agents accept, most to least severe. */
export type LogLevel = "error" | "warn" | "info" | "debug";
/** "text" for people, "json" for log pipelines. */
export type LogFormat = "text" | "json";
/** Which backend the agents program: the eBPF/tc datapath or the in-memory reference DPU. */
export type BackendKind = "ebpf" | "reference";

/** Idle timeouts (seconds) after which the offload daemon removes a flow, by flow class. */
export interface FlowTimeouts {
  tcpEstablished: number;
  /** TCP flows that are opening (SYN seen) or closing (FIN/RST seen). */
  tcpTransient: number;
  udp: number;
  icmp: number;
  /** Any other IP protocol. */
  other: number;
}

/**
 * The TCP port of each agent's HTTP server (health and metrics); 0 turns that server off. The
 * standalone driver's in-process felix proxy uses `felixProxy`.
 */
export interface AgentHttpPorts {
  felixProxy: number;
  policyProgrammer: number;
  arpResponder: number;
  offloadDaemon: number;
}

/** Every setting, resolved (see docs/configuration.md for the variables and file keys). */
export interface PtablesConfig {
  /** Sockets live here (mode 0700; sockets 0600). */
  runDir: string;
  /** Persistent agent state. */
  stateDir: string;
  /** Pinned BPF maps and programs. */
  bpfDir: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  backend: BackendKind;
  /** Longest Felix frame accepted; a longer one is a protocol error. */
  maxFrameBytes: number;
  /** How often the offload daemon scans the flow table. */
  flowScanSecs: number;
  flowTimeouts: FlowTimeouts;
  /** Flow-log lines per second the offload daemon writes at most (the rest are counted). */
  flowLogMaxPerSec: number;
  /** How often the ARP responder re-asserts the gateway answer. */
  arpRefreshSecs: number;
  httpPorts: AgentHttpPorts;
  /** Address /liveness and /readiness answer on (loopback by default, like Felix's HealthHost). */
  healthHost: string;
  /** Address /metrics answers on. */
  metricsHost: string;
  /** The file the settings were read from, if any. */
  configFile?: string;
}

/** A setting that cannot be used; `key` is the env var or file key, `source` where it came from. */
export class ConfigError extends PtablesError {
  constructor(
    readonly source: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(key ? `${source}: ${key}: ${reason}` : `${source}: ${reason}`);
  }
}

type Parser = (raw: string) => unknown;

interface Setting {
  /** camelCase key in the config file. */
  fileKey: string;
  env: string;
  apply(cfg: PtablesConfig, value: unknown): void;
  parse: Parser;
}

const LOG_LEVELS: LogLevel[] = ["error", "warn", "info", "debug"];
const LOG_FORMATS: LogFormat[] = ["text", "json"];
const BACKENDS: BackendKind[] = ["ebpf", "reference"];

function oneOf<T extends string>(allowed: T[]): Parser {
  return (raw) => {
    const v = raw.trim().toLowerCase();
    if (!(allowed as string[]).includes(v)) throw new Error(`"${raw}" is not one of ${allowed.join("|")}`);
    return v as T;
  };
}

function absolutePath(raw: string): string {
  const v = raw.trim();
  if (!path.isAbsolute(v)) throw new Error(`"${raw}" is not an absolute path`);
  return path.resolve(v);
}

function positiveInt(min: number, max: number): Parser {
  return (raw) => {
    const v = raw.trim();
    if (!/^[0-9]+$/.test(v)) throw new Error(`"${raw}" is not a whole number`);
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${v} is outside ${min}..${max}`);
    return n;
  };
}

const MAX_SECS = 366 * 24 * 3600;

/** An IP address (not a host name: the server listens on it and compares connections with it). */
function ipAddress(raw: string): string {
  const v = raw.trim();
  if (net.isIP(v) === 0) throw new Error(`"${raw}" is not an IP address`);
  return v;
}

function setting(fileKey: string, env: string, parse: Parser, apply: (cfg: PtablesConfig, v: any) => void): Setting {
  return { fileKey, env, parse, apply };
}

/** Every setting, in documentation order (docs/configuration.md lists the same). */
const SETTINGS: Setting[] = [
  setting("runDir", "PTABLES_RUN_DIR", absolutePath, (c, v) => (c.runDir = v)),
  setting("stateDir", "PTABLES_STATE_DIR", absolutePath, (c, v) => (c.stateDir = v)),
  setting("bpfDir", "PTABLES_BPF_DIR", absolutePath, (c, v) => (c.bpfDir = v)),
  setting("logLevel", "PTABLES_LOG_LEVEL", oneOf(LOG_LEVELS), (c, v) => (c.logLevel = v)),
  setting("logFormat", "PTABLES_LOG_FORMAT", oneOf(LOG_FORMATS), (c, v) => (c.logFormat = v)),
  setting("backend", "PTABLES_BACKEND", oneOf(BACKENDS), (c, v) => (c.backend = v)),
  // 1 KiB .. 1 GiB: a smaller limit could not hold a ConfigUpdate; protobuf itself stops at 2 GiB.
  setting("maxFrameBytes", "PTABLES_MAX_FRAME_BYTES", positiveInt(1024, 1 << 30), (c, v) => (c.maxFrameBytes = v)),
  setting("flowScanSecs", "PTABLES_FLOW_SCAN_SECS", positiveInt(1, 3600), (c, v) => (c.flowScanSecs = v)),
  setting("flowTimeoutTcpEstablishedSecs", "PTABLES_FLOW_TIMEOUT_TCP_ESTABLISHED_SECS", positiveInt(1, MAX_SECS), (c, v) => (c.flowTimeouts.tcpEstablished = v)),
  setting("flowTimeoutTcpTransientSecs", "PTABLES_FLOW_TIMEOUT_TCP_TRANSIENT_SECS", positiveInt(1, MAX_SECS), (c, v) => (c.flowTimeouts.tcpTransient = v)),
  setting("flowTimeoutUdpSecs", "PTABLES_FLOW_TIMEOUT_UDP_SECS", positiveInt(1, MAX_SECS), (c, v) => (c.flowTimeouts.udp = v)),
  setting("flowTimeoutIcmpSecs", "PTABLES_FLOW_TIMEOUT_ICMP_SECS", positiveInt(1, MAX_SECS), (c, v) => (c.flowTimeouts.icmp = v)),
  setting("flowTimeoutOtherSecs", "PTABLES_FLOW_TIMEOUT_OTHER_SECS", positiveInt(1, MAX_SECS), (c, v) => (c.flowTimeouts.other = v)),
  setting("flowLogMaxPerSec", "PTABLES_FLOW_LOG_MAX_PER_SEC", positiveInt(0, 1_000_000), (c, v) => (c.flowLogMaxPerSec = v)),
  setting("arpRefreshSecs", "PTABLES_ARP_REFRESH_SECS", positiveInt(1, 3600), (c, v) => (c.arpRefreshSecs = v)),
  setting("felixProxyHttpPort", "PTABLES_FELIX_PROXY_HTTP_PORT", positiveInt(0, 65535), (c, v) => (c.httpPorts.felixProxy = v)),
  setting("policyProgrammerHttpPort", "PTABLES_POLICY_PROGRAMMER_HTTP_PORT", positiveInt(0, 65535), (c, v) => (c.httpPorts.policyProgrammer = v)),
  setting("arpResponderHttpPort", "PTABLES_ARP_RESPONDER_HTTP_PORT", positiveInt(0, 65535), (c, v) => (c.httpPorts.arpResponder = v)),
  setting("offloadDaemonHttpPort", "PTABLES_OFFLOAD_DAEMON_HTTP_PORT", positiveInt(0, 65535), (c, v) => (c.httpPorts.offloadDaemon = v)),
  setting("healthHost", "PTABLES_HEALTH_HOST", ipAddress, (c, v) => (c.healthHost = v)),
  setting("metricsHost", "PTABLES_METRICS_HOST", ipAddress, (c, v) => (c.metricsHost = v)),
];

/** The environment variable that names the optional config file. */
export const CONFIG_FILE_ENV = "PTABLES_CONFIG_FILE";

/** The built-in defaults (see docs/configuration.md). */
export function defaultConfig(): PtablesConfig {
  return {
    runDir: "/var/run/ptables",
    stateDir: "/var/lib/ptables",
    bpfDir: "/sys/fs/bpf/ptables",
    logLevel: "info",
    logFormat: "text",
    backend: "ebpf",
    maxFrameBytes: 64 * 1024 * 1024,
    flowScanSecs: 10,
    flowTimeouts: { tcpEstablished: 3600, tcpTransient: 30, udp: 60, icmp: 10, other: 60 },
    flowLogMaxPerSec: 100,
    arpRefreshSecs: 30,
    // Outside 9090-9099 (Felix, Typha, kube-controllers, calico-vpp) and 8888 (calico-vpp
    // metrics): every one of them may share the host network with us.
    httpPorts: { felixProxy: 9190, policyProgrammer: 9191, arpResponder: 9192, offloadDaemon: 9193 },
    healthHost: "127.0.0.1",
    metricsHost: "0.0.0.0",
  };
}

/** Every config-file key (camelCase), in documentation order. */
export function configFileKeys(): string[] {
  return SETTINGS.map((s) => s.fileKey);
}

/** The names of every environment variable loadConfig reads. */
export function configEnvNames(): string[] {
  return [...SETTINGS.map((s) => s.env), CONFIG_FILE_ENV];
}

/**
 * Reads the configuration. Throws ConfigError for an unreadable or malformed file, an unknown
 * file key, or a bad value; never returns a partly applied configuration.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PtablesConfig {
  const cfg = defaultConfig();
  const file = nonEmpty(env[CONFIG_FILE_ENV]);
  if (file !== undefined) {
    applyFile(cfg, file);
    cfg.configFile = file;
  }
  for (const s of SETTINGS) {
    const raw = nonEmpty(env[s.env]);
    if (raw === undefined) continue;
    applyValue(cfg, s, raw, "environment", s.env);
  }
  checkDistinctPorts(cfg, env);
  return cfg;
}

/**
 * The standalone driver runs every agent with one configuration: two agents on one port would
 * leave one of them retrying its listen forever, so that is refused up front.
 */
function checkDistinctPorts(cfg: PtablesConfig, env: NodeJS.ProcessEnv): void {
  const seen = new Map<number, Setting>();
  for (const s of SETTINGS.filter((x) => x.fileKey.endsWith("HttpPort"))) {
    const agent = s.fileKey.slice(0, -"HttpPort".length) as keyof AgentHttpPorts;
    const port = cfg.httpPorts[agent];
    if (port === 0) continue;
    const other = seen.get(port);
    if (other) {
      const fromEnv = nonEmpty(env[s.env]) !== undefined;
      throw new ConfigError(fromEnv ? "environment" : "configuration", fromEnv ? s.env : s.fileKey, `port ${port} is already used by ${other.fileKey} (${other.env})`);
    }
    seen.set(port, s);
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v;
}

function applyValue(cfg: PtablesConfig, s: Setting, raw: string, source: string, key: string): void {
  let value: unknown;
  try {
    value = s.parse(raw);
  } catch (err) {
    throw new ConfigError(source, key, err instanceof Error ? err.message : String(err));
  }
  s.apply(cfg, value);
}

function applyFile(cfg: PtablesConfig, file: string): void {
  const source = `config file ${file}`;
  if (!path.isAbsolute(file)) throw new ConfigError("environment", CONFIG_FILE_ENV, `"${file}" is not an absolute path`);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(source, "", `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    // JSON is YAML, so one parser serves both; duplicate keys are rejected by default.
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(source, "", `not valid YAML/JSON: ${firstLine(err)}`);
  }
  if (doc === null || doc === undefined) return; // an empty file sets nothing
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError(source, "", "the top level must be a mapping of keys to values");
  const byKey = new Map(SETTINGS.map((s) => [s.fileKey, s]));
  // Validate every key before applying any, so an error leaves nothing half-applied.
  const staged: Array<[Setting, string, string]> = [];
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const s = byKey.get(key);
    if (!s) throw new ConfigError(source, key, `unknown key (known keys: ${[...byKey.keys()].join(", ")})`);
    if (typeof value !== "string" && typeof value !== "number") throw new ConfigError(source, key, `expected a string or number, got ${describe(value)}`);
    staged.push([s, String(value), key]);
  }
  const next = structuredClone(cfg);
  for (const [s, raw, key] of staged) applyValue(next, s, raw, source, key);
  Object.assign(cfg, next);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "a mapping" : typeof v;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
}
