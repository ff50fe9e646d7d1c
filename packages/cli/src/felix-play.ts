/**
 * `ptables felix-play`: plays a scenario to a dataplane driver exactly as Felix would for one
 * node (fd 3 in, fd 4 out, no arguments, Felix's environment) and shows what the driver reports
 * back. The run fails if the scenario is bad, the driver cannot start, exits by itself (Felix
 * would shut down), breaks the protocol, or does not stop cleanly on SIGTERM.
 */
import { accessSync, constants } from "node:fs";
import * as path from "node:path";
import type { CliIo } from "./cli-io";
import { EXIT_FAILURE, EXIT_OK } from "./cli-io";
import type { Command } from "./command";
import { UsageError } from "./command";
import { parseArgs } from "./args";
import type { EndpointRow, PlayReporter } from "./play-report";
import { JsonReporter, TextReporter } from "./play-report";
import type { FelixStream, Scenario } from "./felix-player";
import { FelixPlayer, ScenarioError, buildFelixStream, demoScenarioPath, loadScenario } from "./felix-player";

/** Time to keep listening after the last step, when --duration is not given. */
const DEFAULT_TAIL_MS = 2000;

/** The repository's driver: <repo>/bin/ptables-felix-driver (this file is <repo>/packages/cli/{src,dist}/). */
export function defaultDriverPath(): string {
  return path.resolve(__dirname, "..", "..", "..", "bin", "ptables-felix-driver");
}

const HELP = `Usage: ptables felix-play [<scenario.yaml>] [--driver <path>] [--node <name>] [--duration <ms>] [--json]

Plays a scenario to a Felix dataplane driver the way Felix does for one node: the driver is
started with no arguments, reads ToDataplane frames on fd 3 and writes FromDataplane frames on
fd 4. Prints the endpoint and process statuses the driver reports, then a table of endpoints.

Arguments:
  <scenario.yaml>    The scenario to play (default: the built-in demo scenario)

Options:
  --driver <path>    Driver executable (default: ${defaultDriverPath()})
  --node <name>      Play this node's view (default: the scenario's node)
  --duration <ms>    How long to run, from start (default: last step + ${DEFAULT_TAIL_MS} ms)
  --json             One JSON object per line instead of text

Exit status: 0 if the driver ran until stopped and stopped on SIGTERM; 1 if the scenario is
invalid or the driver failed; 2 for a bad command line.`;

function parseDuration(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 24 * 3600 * 1000) {
    throw new UsageError("--duration", `expected a number of milliseconds, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function checkExecutable(file: string): string | undefined {
  try {
    accessSync(file, constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `driver ${file} does not exist (use --driver)` : `driver ${file} is not executable (${code})`;
  }
}

/** The endpoints to list at the end: the local ones that exist, plus any that reported. */
function endpointRows(stream: FelixStream, player: FelixPlayer): EndpointRow[] {
  const interfaces = new Map<string, string>();
  for (const message of [...stream.startOfDay, ...stream.steps.flatMap((s) => s.messages)]) {
    if (message.payload?.$case !== "workloadEndpointUpdate") continue;
    const { id, endpoint } = message.payload.value;
    if (id && endpoint) interfaces.set(`${id.orchestratorId}/${id.workloadId}/${id.endpointId}`, endpoint.name);
  }
  const present = stream.steps.length > 0 ? stream.steps[stream.steps.length - 1].endpointsAfter : stream.endpointsAtStart;
  const keys = [...new Set([...present, ...player.endpointStatuses.keys()])].sort();
  return keys.map((key) => ({ endpoint: key, interface: interfaces.get(key) ?? "-", status: player.endpointStatuses.get(key)?.status ?? "(none)" }));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

async function play(io: CliIo, scenarioFile: string, scenario: Scenario, options: { node: string; driver: string; durationMs?: number; json: boolean }): Promise<number> {
  const stream = buildFelixStream(scenario, { node: options.node });
  const lastStepMs = stream.steps.length > 0 ? stream.steps[stream.steps.length - 1].afterMs : 0;
  const durationMs = options.durationMs ?? lastStepMs + DEFAULT_TAIL_MS;
  const reporter: PlayReporter = options.json ? new JsonReporter(io) : new TextReporter(io);
  reporter.start({ scenario: scenarioFile, node: options.node, driver: options.driver, durationMs, stream });

  const startedAt = Date.now();
  // Felix passes its whole environment; calico-node sets the node name there.
  const env = { ...io.env, NODENAME: options.node, FELIX_FELIXHOSTNAME: options.node };
  const player = new FelixPlayer({ driver: options.driver, env, output: "pipe" });
  const stopEarly = new AbortController();
  let failure: string | undefined;
  let sent = 0;
  let stepsPlayed = 0;
  player.on("sent", (message) => {
    sent++;
    if (message.payload?.$case === "inSync") reporter.startOfDaySent(sent);
  });
  player.on("step", (step) => {
    stepsPlayed++;
    reporter.step(step);
  });
  player.on("endpointStatus", (report) => reporter.endpointStatus(report));
  player.on("endpointStatusRemove", (key) => reporter.endpointStatusRemoved(key));
  player.on("processStatus", (status) => reporter.processStatus(status.isoTimestamp, status.uptime));
  player.on("output", (streamName, line) => reporter.driverOutput(streamName, line));
  player.on("protocolError", (err) => {
    failure ??= err.message;
    stopEarly.abort();
  });
  player.on("exit", (exit) => {
    if (!exit.stopRequested) failure ??= player.error?.message ?? `the driver exited by itself (${exit.signal ?? `code ${exit.code}`}); Felix would shut down`;
    stopEarly.abort();
  });
  const onInterrupt = () => {
    failure ??= "interrupted";
    stopEarly.abort();
  };
  io.signal?.addEventListener("abort", onInterrupt);
  // The duration bounds the whole run: steps due later are not played.
  const deadline = setTimeout(() => stopEarly.abort(), durationMs);
  try {
    await player.play(stream, { signal: stopEarly.signal });
    await sleep(startedAt + durationMs - Date.now(), stopEarly.signal);
  } catch (err) {
    failure ??= (err as Error).message;
  } finally {
    clearTimeout(deadline);
    io.signal?.removeEventListener("abort", onInterrupt);
  }
  const exit = await player.stop();
  if (!failure && exit.killed) failure = "the driver ignored SIGTERM and had to be killed";
  if (!failure && exit.code !== null && exit.code !== 0) failure = `the driver exited with code ${exit.code} after SIGTERM`;
  reporter.finish({ endpoints: endpointRows(stream, player), stepsPlayed, stepsTotal: stream.steps.length, exit, failure });
  return failure ? EXIT_FAILURE : EXIT_OK;
}

export const felixPlayCommand: Command = {
  name: "felix-play",
  summary: "Play a Felix scenario to a dataplane driver and show what it reports",
  help: HELP,
  async run(args, io) {
    const { positionals, options } = parseArgs(args, { driver: "string", node: "string", duration: "string", json: "boolean" }, ["scenario"]);
    const durationMs = options.duration === undefined ? undefined : parseDuration(options.duration as string);
    const scenarioFile = positionals[0] ?? demoScenarioPath();
    let scenario: Scenario;
    try {
      scenario = loadScenario(scenarioFile);
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      io.err(`ptables felix-play: ${err.message}`);
      return EXIT_FAILURE;
    }
    const node = (options.node as string | undefined) ?? scenario.node;
    if (!scenario.nodes.some((n) => n.name === node)) {
      throw new UsageError("--node", `node ${JSON.stringify(node)} is not in the scenario (nodes: ${scenario.nodes.map((n) => n.name).join(", ")})`);
    }
    const driver = path.resolve((options.driver as string | undefined) ?? defaultDriverPath());
    const driverProblem = checkExecutable(driver);
    if (driverProblem) {
      io.err(`ptables felix-play: ${driverProblem}`);
      return EXIT_FAILURE;
    }
    return play(io, scenarioFile, scenario, { node, driver, durationMs, json: options.json === true });
  },
};
