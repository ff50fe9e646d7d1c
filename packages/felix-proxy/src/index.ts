/**
 * The felix-proxy agent: Felix's stream in, the neutral model out to the policy programmer,
 * endpoint and process status back to Felix.
 */
export { FelixProxy, FELIX_PROXY_SERVICE_HEALTH } from "./felix-proxy";
export type { FelixProxyCounters, FelixProxyInfo, FelixProxyOptions } from "./felix-proxy";
export { registerFelixProxyMetrics, startFelixProxyHttp } from "./metrics";
export { ProgramLatency } from "./program-latency";
export { FelixListener } from "./felix-listener";
export { FelixSession } from "./felix-session";
export type { FelixSessionEnd, FelixSessionOptions } from "./felix-session";
export { EndpointStatusReporter, hostStatusFor, workloadStatusFor } from "./endpoint-status";
export type { EndpointLookup, FelixEndpointStatus } from "./endpoint-status";
export { ProcessStatusReporter } from "./process-status";
export type { ProcessStatusOptions } from "./process-status";
export { ProgrammerSync } from "./programmer-sync";
export type { ProgrammerSyncOptions, SyncSource } from "./programmer-sync";
