/**
 * @ptables/backend-ebpf: Calico policy enforced by a tc eBPF datapath. See docs/datapath.md.
 */
export { EbpfBackend, DEFAULT_MAX_RULES_PER_PROGRAM, DEFAULT_OBJECT_PATH } from "./ebpf-backend";
export type { EbpfBackendOptions } from "./ebpf-backend";
export { ArpConfig } from "./arp-config";
export type { ArpSettings } from "./arp-config";
export { DEFAULT_BPF_DIR, DEFAULT_MAP_SIZES } from "./datapath/names";
export type { MapSizes } from "./datapath/names";
export { DEFAULT_CONNTRACK_TIMEOUTS_NS, DEFAULT_DATAPATH_CONFIG } from "./codec/config-codec";
export type { ConntrackTimeouts, DatapathConfig } from "./codec/config-codec";
export { CT_STATES } from "./codec/ct-codec";
export type { CtStateName } from "./codec/ct-codec";
export { BpfError } from "./native/bpf-error";
export { PT_TC_HANDLE, PT_TC_PRIORITY } from "./native/tc";
export { ROUTE_PROTO } from "./tables/ip-command";
export { ENDPOINT_FILTERS_MISSING } from "./tables/endpoints-table";
export { LinuxHostNetwork, NAT_TABLE, TUNNEL_ALIAS_PREFIX, localHostSystem, tunnelOverhead } from "./host-net";
export type { CommandResult, HostSystem } from "./host-net";
export * as testing from "./testing";
