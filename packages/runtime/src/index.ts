/**
 * Agent plumbing shared by every ptables process: configuration, logging, gRPC over Unix
 * sockets with the standard health service, reconnecting clients, and the process shell.
 */
export { CONFIG_FILE_ENV, ConfigError, configEnvNames, configFileKeys, defaultConfig, loadConfig } from "./config";
export type { AgentHttpPorts, BackendKind, FlowTimeouts, LogFormat, LogLevel, PtablesConfig } from "./config";
export { createLogger, objectLogger } from "./logger";
export type { Logger, LoggerOptions } from "./logger";
export { HealthRegistry, ServingStatus } from "./health";
/** gRPC status codes, for agents that answer calls without depending on grpc-js themselves. */
export { status as GrpcStatus } from "@grpc/grpc-js";
export { AGENT_SERVICE_NAME, HEALTH_SERVICE_NAME, MAX_GRPC_MESSAGE_BYTES, startAgentServer, toJson } from "./grpc-server";
export type { AgentServer, AgentServerOptions, AgentServiceRegistration } from "./grpc-server";
export { Backoff, DEFAULT_BACKOFF, ResilientStream, createPeerClient, unixTarget } from "./grpc-client";
export type { BackoffOptions, ClientConstructor, ResilientStreamOptions } from "./grpc-client";
export { DEFAULT_STOP_TIMEOUT_MS, EXIT_CONFIG_ERROR, runAgent } from "./process";
export type { AgentContext, RunAgentOptions, RunningAgent } from "./process";
export { MAX_SOCKET_PATH_BYTES, SocketInUseError, ensureRunDir, prepareSocketPath, probeUnixSocket } from "./unix-socket";
export { socketPaths } from "./socket-paths";
export type { SocketPaths } from "./socket-paths";
export { ptablesVersion } from "./version";
export { countOpenSockets } from "./fd-stats";
export { retryUntilDone } from "./retry";
export type { RetryOptions } from "./retry";
export { AgentHttpServer, hostAccepts, listenHosts } from "./http-server";
export type { AgentHttpServerOptions, HealthCheck, HealthReport } from "./http-server";
export { grpcLiveness, startAgentHttp } from "./agent-http";
export type { StartAgentHttpOptions } from "./agent-http";
export {
  LATENCY_BUCKETS_SECONDS,
  METRIC_PREFIX,
  createAgentRegistry,
  sampledCounter,
  sampledGauge,
  samplesByLabel,
  single,
  snakeCase,
} from "./metrics";
export type { MetricLabels, Sample, SampledMetricOptions } from "./metrics";
/** prom-client, for the agents' own metrics (one version, one Registry class for everyone). */
export { Counter, Gauge, Histogram, Registry } from "prom-client";
export { freeTcpPort, httpGet } from "./http-probe";
export type { HttpResponse } from "./http-probe";
