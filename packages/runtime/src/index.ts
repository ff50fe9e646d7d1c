/**
 * Agent plumbing shared by every ptables process: configuration, logging, gRPC over Unix
 * sockets with the standard health service, reconnecting clients, and the process shell.
 */
export { CONFIG_FILE_ENV, ConfigError, configEnvNames, configFileKeys, defaultConfig, loadConfig } from "./config";
export type { BackendKind, FlowTimeouts, LogFormat, LogLevel, PtablesConfig } from "./config";
export { createLogger, objectLogger } from "./logger";
export type { Logger, LoggerOptions } from "./logger";
export { HealthRegistry, ServingStatus } from "./health";
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
