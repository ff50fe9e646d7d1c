/** The shared backend contract suite (see backend-contract.ts). */
export type { BackendContractOptions } from "./backend-contract";
export { runBackendContract } from "./backend-contract";
