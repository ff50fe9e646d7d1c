/** The arp-responder agent: owns the gateway ARP answer; health and Info on arp-responder.sock. */
import { runAgent } from "@ptables/runtime";
import { ArpResponder } from "./arp-responder";

runAgent("arp-responder", async ({ config, logger }) => {
  const responder = new ArpResponder({ config, logger });
  await responder.start();
  return { stop: () => responder.stop() };
});
