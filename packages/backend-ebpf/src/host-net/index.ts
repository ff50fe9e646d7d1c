/** Host-mode plumbing of the eBPF/tc backend: tunnel devices, VXLAN FDB, NAT outgoing, sysctls. */
export { LinuxHostNetwork } from "./linux-host-network";
export { localHostSystem } from "./host-system";
export type { CommandResult, HostSystem } from "./host-system";
export { TUNNEL_ALIAS_PREFIX, tunnelOverhead } from "./tunnels-table";
export { NAT_TABLE } from "./nat-table";
