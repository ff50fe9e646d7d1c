/** The offload-daemon agent: flow ageing, counts and flow logs; health and Info on offload-daemon.sock. */
import { runAgent } from "@ptables/runtime";
import { OffloadDaemon } from "./offload-daemon";

runAgent("offload-daemon", async ({ config, logger }) => {
  const daemon = new OffloadDaemon({ config, logger });
  await daemon.start();
  return { stop: () => daemon.stop() };
});
