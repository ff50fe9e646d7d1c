/**
 * Prometheus metrics for agents (prom-client). Every agent gets its own Registry, so a process
 * that hosts several components (tests do) never mixes their series, plus the default process
 * and Node.js metrics with the `ptables_` prefix and an `agent` label on every series.
 *
 * Most agent metrics are totals the agent keeps anyway (for Info): rather than threading
 * prom-client through the agents, they are read when Prometheus scrapes (`sampledCounter`,
 * `sampledGauge`). Only distributions (durations) are observed as they happen.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { ptablesVersion } from "./version";

/** Prefix of every ptables metric. */
export const METRIC_PREFIX = "ptables_";

/** Label values of one series (label name -> value). */
export type MetricLabels<L extends string> = Partial<Record<L, string | number>>;

/** One sample: its labels and value. */
export type Sample<L extends string> = readonly [MetricLabels<L>, number];

/**
 * A fresh registry for one agent: default process/nodejs metrics (`ptables_process_*`,
 * `ptables_nodejs_*`), `ptables_build_info`, and the label agent=<name> on every series.
 */
export function createAgentRegistry(agent: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ agent });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const info = new Gauge({ name: `${METRIC_PREFIX}build_info`, help: "Always 1; the version of ptables this agent runs", labelNames: ["version"], registers: [registry] });
  info.set({ version: ptablesVersion() }, 1);
  return registry;
}

/** What sampledCounter and sampledGauge need: where, what, and how to read the values. */
export interface SampledMetricOptions<L extends string> {
  registry: Registry;
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** Reads the current values; called on every scrape. */
  read: () => Iterable<Sample<L>> | Promise<Iterable<Sample<L>>>;
}

/**
 * A counter whose totals the agent keeps itself (they only grow while the process lives);
 * they are copied into the metric on every scrape.
 */
export function sampledCounter<L extends string>(opts: SampledMetricOptions<L>): Counter<L> {
  return new Counter<L>({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames ?? [],
    registers: [opts.registry],
    async collect() {
      const samples = await opts.read();
      this.reset();
      for (const [labels, value] of samples) this.inc(labels, value);
    },
  });
}

/**
 * A gauge read from the agent on every scrape. Label sets that are no longer reported disappear
 * (a protocol with no flows left is not shown as a stale value).
 */
export function sampledGauge<L extends string>(opts: SampledMetricOptions<L>): Gauge<L> {
  return new Gauge<L>({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames ?? [],
    registers: [opts.registry],
    async collect() {
      const samples = await opts.read();
      this.reset();
      for (const [labels, value] of samples) this.set(labels, value);
    },
  });
}

/** Samples from a record of counts keyed by one label's value ({tcp: 3} -> [{protocol: "tcp"}, 3]). */
export function samplesByLabel<L extends string>(label: L, counts: Readonly<Record<string, number>>): Array<Sample<L>> {
  return Object.entries(counts).map(([value, n]) => [{ [label]: value } as MetricLabels<L>, n] as const);
}

/** A single unlabelled sample. */
export function single(value: number): Array<Sample<never>> {
  return [[{}, value]];
}

/** "workloadEndpointUpdate" -> "workload_endpoint_update": label values in Prometheus' style. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Histogram buckets (seconds) for work that usually takes milliseconds and sometimes seconds. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
