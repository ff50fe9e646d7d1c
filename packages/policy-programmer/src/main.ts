/**
 * The policy-programmer daemon. The backend comes from the configuration: "ebpf" owns the tc
 * datapath pinned under PTABLES_BPF_DIR, "reference" is the in-memory reference DPU (for
 * development and tests; its tables die with the process). Health and metrics are served over
 * HTTP on its port (docs/metrics.md). SIGTERM stops gracefully; the eBPF
 * datapath keeps running from its pinned maps until the next start picks it up (hitless restart).
 */
import type { Backend } from "@ptables/api";
import { EbpfBackend } from "@ptables/backend-ebpf";
import { ReferenceDpuBackend } from "@ptables/backend-ref";
import { runAgent, type PtablesConfig } from "@ptables/runtime";
import { AGENT_NAME, startPolicyProgrammer } from "./daemon";
import { startPolicyProgrammerHttp } from "./metrics";

function backendFor(config: PtablesConfig): Backend {
  switch (config.backend) {
    case "ebpf":
      return new EbpfBackend({ bpfDir: config.bpfDir, role: "owner" });
    case "reference":
      return new ReferenceDpuBackend();
  }
}

runAgent(AGENT_NAME, async ({ config, logger }) => {
  const running = await startPolicyProgrammer({ config, logger, backend: backendFor(config) });
  const http = await startPolicyProgrammerHttp(running, config, logger);
  return {
    stop: async () => {
      await http?.stop();
      await running.stop();
    },
  };
});
