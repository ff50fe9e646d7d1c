/**
 * The offload-daemon agent: flow ageing, counts and flow logs; health, Info and the flow list on
 * offload-daemon.sock; liveness, readiness and metrics on its HTTP port.
 */
import { runAgent } from "@ptables/runtime";
import { startOffloadDaemonHttp } from "./metrics";
import { OffloadDaemon } from "./offload-daemon";

runAgent("offload-daemon", async ({ config, logger }) => {
  const daemon = new OffloadDaemon({ config, logger });
  await daemon.start();
  const http = await startOffloadDaemonHttp(daemon, config, logger);
  return {
    stop: async () => {
      await http?.stop();
      await daemon.stop();
    },
  };
});
