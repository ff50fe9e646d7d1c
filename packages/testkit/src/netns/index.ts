/** Network-namespace harness: Calico-like nodes and pods, traffic probes, connectivity matrices. */
export {
  CALICO_GATEWAY_V4,
  CALICO_GATEWAY_V6,
  CALICO_HOST_VETH_MAC,
  FABRIC_BRIDGE,
  NODE_FABRIC_IFNAME,
  POD_IFNAME,
  Topology,
  createTopology,
} from "./topology";
export type { Fabric, InNamespace, NodeNs, PodNs, PodOptions, TopologyOptions } from "./topology";
export { sweepStale } from "./sweep-stale";
export { listNamespaces } from "./namespaces";
export { MAX_IFNAME_LENGTH } from "./names";
export { CommandError } from "./run-command";
export type { CommandOutput } from "./run-command";
export { holdTcp, ping, startServer, tcpConnect, udpExchange } from "./traffic";
export type { EchoServer, Family, HeldTcp, ProbeResult, ServerOptions } from "./traffic";
export { expectMatrix, formatMatrixTable } from "./connectivity-matrix";
export type { MatrixCase, MatrixOptions, MatrixResult, MatrixRow, Verdict } from "./connectivity-matrix";
