/**
 * The arp-responder agent: owns the gateway ARP answer; health and Info on arp-responder.sock,
 * liveness, readiness and metrics on its HTTP port.
 */
import { runAgent } from "@ptables/runtime";
import { ArpResponder } from "./arp-responder";
import { startArpResponderHttp } from "./metrics";

runAgent("arp-responder", async ({ config, logger }) => {
  const responder = new ArpResponder({ config, logger });
  await responder.start();
  const http = await startArpResponderHttp(responder, config, logger);
  return {
    stop: async () => {
      await http?.stop();
      await responder.stop();
    },
  };
});
