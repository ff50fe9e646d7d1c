/**
 * The Felix driver: relay to a felix-proxy daemon, or run standalone with the proxy
 * in-process and the agents supervised. `src/main.ts` is the executable's entry point.
 */
export { ChildSupervisor } from "./child-supervisor";
export type { ChildSupervisorOptions } from "./child-supervisor";
export { FELIX_INPUT_FD, FELIX_OUTPUT_FD, MissingFelixFdError, openFelixInput, openFelixOutput } from "./felix-fds";
export { connectFelixSocket, relay } from "./relay";
export type { RelayEnd } from "./relay";
export { STANDALONE_AGENTS, agentScript, startStandalone } from "./standalone";
export type { Standalone, StandaloneOptions } from "./standalone";
