/**
 * The policy programmer agent: Felix-style managers that turn the desired model into the
 * backend's tables, the PolicyProgrammer gRPC service (Sync, Trace, State) and the daemon.
 */
export { Programmer, MANAGED_TABLES } from "./programmer";
export type { ApplyStats, ManagedTable, ProgrammerLog, ProgrammerOptions } from "./programmer";
export { PolicyProgrammerService, toGrpcError } from "./service";
export { ApplyLoop } from "./apply-loop";
export { AGENT_NAME, SERVICE_NAME, startPolicyProgrammer } from "./daemon";
export type { PolicyProgrammerDaemonOptions, RunningPolicyProgrammer } from "./daemon";
export { policyCoreCompiler } from "./compiler";
export type { CounterOwner, PolicyCompiler } from "./compiler";
export { HOST_ENDPOINTS_NOT_PROGRAMMED } from "./endpoint-manager";
export { DEFAULT_RETRY } from "./table-gate";
export type { RetryPolicy } from "./table-gate";
export { MAX_RULE_COUNTER_SERIES, registerPolicyProgrammerMetrics, ruleCounterSamples, startPolicyProgrammerHttp } from "./metrics";
export { findEndpoint } from "./endpoint-view";
export { actionName, matchSummary, protocolName } from "./rule-summary";
/** The shape of State.model_json, for tools that render it. */
export type { DirectionView, EndpointDetail, EndpointSummary, ModelView, PolicyView, ProfileView, RouteView, RuleView, TierView } from "./endpoint-view";
/** The shape of State.tables_json, for tools that render it. */
export type { InterfaceView, ProgramView, RuleCounterView } from "./tables-view";
