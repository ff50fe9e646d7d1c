/** The FelixPlayer's options, events and errors. */
import type { felix } from "@ptables/proto";
import type { EndpointStatusReport } from "./driver-reports";
import type { PlayedStep } from "./stream";

export interface FelixPlayerOptions {
  /** The driver executable; it is run with no arguments, as Felix runs it. */
  driver: string;
  /** Environment for the driver (Felix passes its whole environment). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Command to run the driver under, e.g. ["ip", "netns", "exec", "node-a"]. */
  wrapper?: readonly string[];
  /** Driver stdout/stderr: "pipe" (collected and emitted as "output") or "inherit". Default "pipe". */
  output?: "pipe" | "inherit";
  cwd?: string;
  maxFrameBytes?: number;
  /** Time between SIGTERM and SIGKILL when stopping. Felix waits 4 s. */
  stopTimeoutMs?: number;
}

/** How the driver ended. */
export interface DriverExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True if the player asked it to stop (stop() or a protocol error). */
  stopRequested: boolean;
  /** True if it ignored SIGTERM and was killed. */
  killed: boolean;
}

/** The driver went away while the player was still waiting for it. */
export class DriverExitedError extends Error {
  constructor(readonly exit: DriverExit) {
    super(`driver exited ${exit.signal ? `on ${exit.signal}` : `with code ${exit.code}`}`);
    this.name = "DriverExitedError";
  }
}

/** A wait ran out of time. */
export class PlayerTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlayerTimeoutError";
  }
}

export interface FelixPlayerEvents {
  /** Every frame the driver sent, decoded. */
  message: [felix.FromDataplane];
  endpointStatus: [EndpointStatusReport];
  endpointStatusRemove: [string];
  hostEndpointStatus: [string, string];
  processStatus: [felix.ProcessStatusUpdate];
  /** Every message written to the driver. */
  sent: [felix.ToDataplane];
  /** A step's flush was written. */
  step: [PlayedStep];
  /** One line of driver stdout/stderr (output: "pipe"). */
  output: ["stdout" | "stderr", string];
  /** The driver broke the protocol (bad frame) or the pipe failed; the driver is being stopped. */
  protocolError: [Error];
  exit: [DriverExit];
}

