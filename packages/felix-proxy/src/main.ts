/**
 * The felix-proxy daemon: serves felix.sock (Felix's framing, from a relaying driver),
 * felix-proxy.sock (health, Info) and its HTTP port (liveness, readiness, metrics), and syncs
 * to the policy programmer.
 */
import { runAgent, socketPaths } from "@ptables/runtime";
import { FelixListener } from "./felix-listener";
import { FelixProxy } from "./felix-proxy";
import { startFelixProxyHttp } from "./metrics";

runAgent("felix-proxy", async ({ config, logger }) => {
  const proxy = new FelixProxy({ config, logger });
  await proxy.start();
  const listener = new FelixListener(proxy, socketPaths(config.runDir).felix, logger);
  try {
    await listener.listen();
  } catch (err) {
    await proxy.stop();
    throw err;
  }
  const http = await startFelixProxyHttp(proxy, config, logger);
  return {
    stop: async () => {
      await http?.stop();
      await listener.close();
      await proxy.stop();
    },
  };
});
