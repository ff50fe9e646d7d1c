/**
 * bin/ptables-felix-driver: what Felix execs (no arguments, Felix's environment, its pipes as
 * fd 3 and fd 4). If a felix-proxy daemon accepts a connection on felix.sock the driver relays
 * bytes to it; otherwise it runs standalone (proxy in-process, agents as children).
 *
 * Exit codes: 0 when Felix closed fd 3 or sent SIGTERM; 1 when the other side failed (a
 * protocol error, the proxy went away); 2 for a bad configuration or missing fds. Felix
 * restarts itself, and with it the driver, whenever the driver exits.
 */
import { errorMessage } from "@ptables/api";
import { EXIT_CONFIG_ERROR, runAgent, socketPaths } from "@ptables/runtime";
import { MissingFelixFdError, openFelixInput, openFelixOutput } from "./felix-fds";
import { connectFelixSocket, relay } from "./relay";
import { startStandalone } from "./standalone";

/** Felix SIGKILLs 4 s after SIGTERM: the whole stop must fit well inside that. */
const DRIVER_STOP_TIMEOUT_MS = 3500;

runAgent(
  "ptables-felix-driver",
  async ({ config, logger, shutdown }) => {
    let input, output;
    try {
      input = openFelixInput();
      output = openFelixOutput();
    } catch (err) {
      if (err instanceof MissingFelixFdError) {
        process.stderr.write(`ptables-felix-driver: ${err.message}\n`);
        process.exit(EXIT_CONFIG_ERROR);
      }
      throw err;
    }

    const felixSock = socketPaths(config.runDir).felix;
    const socket = await connectFelixSocket(felixSock);
    if (socket) {
      logger.info("relay mode: forwarding Felix's stream to felix-proxy", { socket: felixSock });
      const r = relay(input, output, socket);
      void r.done.then((end) => shutdown(end.code, end.reason));
      return { stop: async () => r.stop("driver stopping") };
    }

    const standalone = await startStandalone({ config, logger, input, output, env: process.env });
    void standalone.felixDone.then((end) => shutdown(end.clean ? 0 : 1, end.reason));
    return {
      stop: async () => {
        await standalone.stop().catch((err: unknown) => logger.error("stop failed", { error: errorMessage(err) }));
      },
    };
  },
  { stopTimeoutMs: DRIVER_STOP_TIMEOUT_MS },
);
