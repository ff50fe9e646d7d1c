/** The reference DPU against the shared backend contract (routes and neighbours included: it stores them). */
import { runBackendContract } from "@ptables/testkit";
import { ReferenceDpuBackend } from "./index";

runBackendContract("reference-dpu", async () => new ReferenceDpuBackend(), { forwardingTables: true });
