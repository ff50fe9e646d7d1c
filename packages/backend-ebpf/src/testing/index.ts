/**
 * Test support for code that runs on this datapath (exported as `testing`): hand-built
 * packets, CompiledRule literals, a private datapath for BPF_PROG_TEST_RUN, unique bpf
 * directories, building the object on demand, and an EbpfBackend driven inside a network
 * namespace.
 */
export { ensureBpfObject } from "./bpf-object-build";
export { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, compiledRule, denyRule } from "./compiled-rule";
export { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, arpPacket, ethHeader, ethPacket, ipPacket } from "./packets";
export type { ArpSpec, IpSpec, L4Spec } from "./packets";
export { RemoteBackend } from "./remote-backend";
export type { RemoteBackendOptions } from "./remote-backend";
export { uniqueBpfDir } from "./test-bpf-dir";
export { TC_ACT_OK, TC_ACT_REDIRECT, TC_ACT_SHOT, TestRunHarness, portRangePrefixes } from "./test-run-harness";
