/**
 * The offload daemon: flow lifecycle (ageing, counts, flow logs) over a backend's flow table,
 * and the FastPath seam through which a DPU will take flows off the host later.
 */
export type { FastPath } from "./fast-path";
export { FlowAger, MAX_FLOWS_PER_SCAN } from "./flow-ager";
export type { FlowAgerOptions, FlowCounts, FlowTable, ScanResult } from "./flow-ager";
export { flowClass, flowKey, protoName } from "./flow-classes";
export type { FlowClass } from "./flow-classes";
export { FlowLog } from "./flow-log";
export type { FlowEvent } from "./flow-log";
export { FLOW_AGEING_HEALTH, FLOWS_SERVICE_NAME, OffloadDaemon } from "./offload-daemon";
export { DEFAULT_FLOW_LIST_LIMIT, MAX_FLOW_LIST_LIMIT, flowView, listFlows } from "./flow-list";
export { registerOffloadDaemonMetrics, startOffloadDaemonHttp } from "./metrics";
export type { OffloadDaemonOptions } from "./offload-daemon";
