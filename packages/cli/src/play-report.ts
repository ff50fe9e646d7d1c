/**
 * What `ptables felix-play` prints: a line per event as it happens (or one JSON object per line
 * with --json), then a table of the endpoints' last reported status and how the driver ended.
 */
import type { CliIo } from "./cli-io";
import type { DriverExit, EndpointStatusReport, FelixStream, PlayedStep } from "./felix-player";

export interface PlaySetup {
  scenario: string;
  node: string;
  driver: string;
  durationMs: number;
  stream: FelixStream;
}

export interface EndpointRow {
  endpoint: string;
  interface: string;
  status: string;
}

export interface PlayOutcome {
  endpoints: EndpointRow[];
  /** Steps sent before the run ended (it ends at --duration even if steps remain). */
  stepsPlayed: number;
  stepsTotal: number;
  exit: DriverExit;
  /** Why the run failed; undefined if it succeeded. */
  failure?: string;
}

/** Receives the events of one run. */
export interface PlayReporter {
  start(setup: PlaySetup): void;
  startOfDaySent(count: number): void;
  step(step: PlayedStep): void;
  endpointStatus(report: EndpointStatusReport): void;
  endpointStatusRemoved(key: string): void;
  processStatus(isoTimestamp: string, uptimeSeconds: number): void;
  driverOutput(stream: "stdout" | "stderr", line: string): void;
  finish(outcome: PlayOutcome): void;
}

/** Formats rows as left-aligned columns under upper-case headings. */
export function formatTable(headings: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headings.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  return [line(headings), ...rows.map(line)];
}

/** "driver ended by SIGTERM", "driver exited with code 3 by itself", ... */
export function describeExit(exit: DriverExit): string {
  if (exit.killed) return "driver ignored SIGTERM and was killed with SIGKILL";
  if (exit.signal) return `driver ended by ${exit.signal}`;
  return `driver exited with code ${exit.code} ${exit.stopRequested ? "after being asked to stop" : "by itself"}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

/** Human-readable lines. Driver output goes to stderr, prefixed, so stdout stays the report. */
export class TextReporter implements PlayReporter {
  private readonly startedAt = Date.now();

  constructor(private readonly io: CliIo) {}

  private at(text: string): void {
    this.io.out(`+${seconds(Date.now() - this.startedAt)}  ${text}`);
  }

  start(setup: PlaySetup): void {
    const { stream } = setup;
    this.io.out(`Playing ${setup.scenario} as node ${setup.node} to ${setup.driver}`);
    this.io.out(`  ${stream.startOfDay.length} messages at start of day, ${stream.steps.length} step(s), running for ${seconds(setup.durationMs)}`);
  }

  startOfDaySent(count: number): void {
    this.at(`sent start of day: ${count} messages, ConfigUpdate to InSync`);
  }

  step(step: PlayedStep): void {
    this.at(`step ${step.index + 1} (after ${seconds(step.afterMs)}): ${step.description}, ${step.messages.length} message(s)`);
  }

  endpointStatus(report: EndpointStatusReport): void {
    this.at(`endpoint ${report.key} ${report.status}`);
  }

  endpointStatusRemoved(key: string): void {
    this.at(`endpoint ${key} status removed`);
  }

  processStatus(isoTimestamp: string, uptimeSeconds: number): void {
    this.at(`process status: up ${uptimeSeconds.toFixed(1)}s at ${isoTimestamp}`);
  }

  driverOutput(_stream: "stdout" | "stderr", line: string): void {
    this.io.err(`driver: ${line}`);
  }

  finish(outcome: PlayOutcome): void {
    this.io.out("");
    if (outcome.endpoints.length === 0) this.io.out("No local endpoints.");
    else for (const line of formatTable(["ENDPOINT", "INTERFACE", "STATUS"], outcome.endpoints.map((e) => [e.endpoint, e.interface, e.status]))) this.io.out(line);
    this.io.out("");
    if (outcome.stepsPlayed < outcome.stepsTotal) this.io.out(`Played ${outcome.stepsPlayed} of ${outcome.stepsTotal} steps before the run ended.`);
    this.io.out(`${describeExit(outcome.exit)}.`);
    if (outcome.failure) this.io.err(`ptables felix-play: ${outcome.failure}`);
  }
}

/** One JSON object per line on stdout, each with `t` (ms since start) and `event`. */
export class JsonReporter implements PlayReporter {
  private readonly startedAt = Date.now();

  constructor(private readonly io: CliIo) {}

  private emit(event: string, fields: Record<string, unknown>): void {
    this.io.out(JSON.stringify({ t: Date.now() - this.startedAt, event, ...fields }));
  }

  start(setup: PlaySetup): void {
    this.emit("start", {
      scenario: setup.scenario,
      node: setup.node,
      driver: setup.driver,
      durationMs: setup.durationMs,
      startOfDayMessages: setup.stream.startOfDay.length,
      steps: setup.stream.steps.length,
    });
  }

  startOfDaySent(count: number): void {
    this.emit("startOfDaySent", { messages: count });
  }

  step(step: PlayedStep): void {
    this.emit("step", { index: step.index, afterMs: step.afterMs, description: step.description, messages: step.messages.length });
  }

  endpointStatus(report: EndpointStatusReport): void {
    this.emit("endpointStatus", { endpoint: report.key, status: report.status });
  }

  endpointStatusRemoved(key: string): void {
    this.emit("endpointStatusRemove", { endpoint: key });
  }

  processStatus(isoTimestamp: string, uptimeSeconds: number): void {
    this.emit("processStatus", { isoTimestamp, uptime: uptimeSeconds });
  }

  driverOutput(stream: "stdout" | "stderr", line: string): void {
    this.io.err(`driver ${stream}: ${line}`);
  }

  finish(outcome: PlayOutcome): void {
    this.emit("summary", {
      ok: outcome.failure === undefined,
      ...(outcome.failure === undefined ? {} : { failure: outcome.failure }),
      endpoints: outcome.endpoints,
      stepsPlayed: outcome.stepsPlayed,
      stepsTotal: outcome.stepsTotal,
      driverExit: outcome.exit,
    });
  }
}
