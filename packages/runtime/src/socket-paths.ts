/** Where each agent listens, all in the run dir (see docs/architecture.md, "Processes and sockets"). */
import * as path from "node:path";

/** The socket of each listener in a run dir. */
export interface SocketPaths {
  /** Felix's framing, byte for byte (felix-proxy in daemon mode). */
  felix: string;
  felixProxy: string;
  policyProgrammer: string;
  arpResponder: string;
  offloadDaemon: string;
}

/** The socket paths for a run dir. */
export function socketPaths(runDir: string): SocketPaths {
  return {
    felix: path.join(runDir, "felix.sock"),
    felixProxy: path.join(runDir, "felix-proxy.sock"),
    policyProgrammer: path.join(runDir, "policy-programmer.sock"),
    arpResponder: path.join(runDir, "arp-responder.sock"),
    offloadDaemon: path.join(runDir, "offload-daemon.sock"),
  };
}
