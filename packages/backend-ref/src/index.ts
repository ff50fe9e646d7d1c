/** The reference software DPU backend: in-memory tables and the table interpreter as its packet path. */
export type { PacketOutcome, ReferenceDpuOptions } from "./reference-dpu-backend";
export { REFERENCE_DPU_CAPABILITIES, ReferenceDpuBackend } from "./reference-dpu-backend";
export { checkEndpoint, checkNeighbour, checkPortSetKey, checkRoute, checkRule, checkSetMember } from "./entry-checks";
