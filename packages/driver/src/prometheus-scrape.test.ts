/**
 * The whole metrics path with a real Prometheus: the standalone driver (reference backend),
 * fed the demo scenario by the Felix player, serves health and metrics on four ports (its
 * in-process felix proxy and the three agents it supervises); Debian's prometheus scrapes them
 * on loopback and the metrics are read back through Prometheus' query API, the way a
 * dashboard reads them.
 *
 * Prometheus is a test dependency installed by scripts/setup.sh; without it this test fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FelixPlayer, buildFelixStream, demoScenarioPath, loadScenario } from "@ptables/felix";
import { freeTcpPort, httpGet } from "@ptables/runtime";
import { DRIVER_BIN } from "./testing/felix-pipes";

const PROMETHEUS = "/usr/bin/prometheus";
const AGENT_PORTS = ["FELIX_PROXY", "POLICY_PROGRAMMER", "ARP_RESPONDER", "OFFLOAD_DAEMON"] as const;

interface QueryResult {
  metric: Record<string, string>;
  value: [number, string];
}

/** Polls `probe` until it has a value: at most `attempts` times (40 s by default, well inside the test's timeout). */
async function waitFor<T>(probe: () => Promise<T | undefined>, what: () => string, attempts = 80, delayMs = 500): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`gave up waiting for ${what()}${last ? `: ${String(last)}` : ""}`);
}

describe("metrics scraped by a real Prometheus", () => {
  let dir: string;
  let player: FelixPlayer | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = "";
  let promPort: number;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    try {
      fs.accessSync(PROMETHEUS, fs.constants.X_OK);
    } catch {
      throw new Error(`${PROMETHEUS} is not installed: run scripts/setup.sh (it installs Debian's prometheus package)`);
    }
    if (!fs.existsSync(path.resolve(__dirname, "../dist/main.js"))) throw new Error('the driver is not built: run "npx tsc -b" first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-prom-"));
    for (const agent of AGENT_PORTS) ports[agent] = await freeTcpPort();
    promPort = await freeTcpPort();

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PTABLES_RUN_DIR: path.join(dir, "run"),
      PTABLES_STATE_DIR: path.join(dir, "state"),
      PTABLES_BPF_DIR: path.join(dir, "bpf"),
      PTABLES_BACKEND: "reference",
      PTABLES_LOG_LEVEL: "warn",
      PTABLES_METRICS_HOST: "127.0.0.1",
      ...Object.fromEntries(AGENT_PORTS.map((a) => [`PTABLES_${a}_HTTP_PORT`, String(ports[a])])),
    };
    const scenario = loadScenario(demoScenarioPath());
    player = new FelixPlayer({ driver: DRIVER_BIN, env: { ...env, NODENAME: scenario.node, FELIX_FELIXHOSTNAME: scenario.node }, output: "pipe" });
    await player.play(buildFelixStream(scenario, { node: scenario.node }));

    const config = [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: ptables",
      "    static_configs:",
      `      - targets: [${AGENT_PORTS.map((a) => `"127.0.0.1:${ports[a]}"`).join(", ")}]`,
      "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "prometheus.yml"), config);
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "prometheus-data")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout!.on("data", (c: Buffer) => (prometheusLog += c.toString()));
    prometheus.stderr!.on("data", (c: Buffer) => (prometheusLog += c.toString()));
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise<void>((resolve) => prometheus!.once("exit", () => resolve()));
      prometheus.kill("SIGTERM");
      const kill = setTimeout(() => prometheus!.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(kill);
    }
    await player?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function query(promql: string): Promise<QueryResult[]> {
    const res = await httpGet(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(promql)}`);
    if (res.status !== 200) throw new Error(`query ${promql}: HTTP ${res.status}: ${res.body}`);
    const doc = JSON.parse(res.body) as { status: string; data: { result: QueryResult[] } };
    if (doc.status !== "success") throw new Error(`query ${promql}: ${res.body}`);
    return doc.data.result;
  }

  /** A query's samples once Prometheus has `series` of them, all passing `ok`. */
  function eventually(promql: string, ok: (v: number) => boolean = () => true, series = 1): Promise<QueryResult[]> {
    return waitFor(async () => {
      const r = await query(promql);
      return r.length === series && r.every((s) => ok(Number(s.value[1]))) ? r : undefined;
    }, () => `${series} series of ${promql} in Prometheus\n${prometheusLog}`);
  }

  test("every agent is scraped, and the demo's state is visible through PromQL", async () => {
    // The demo's local endpoints are up: Felix heard it from the driver.
    const statuses = () => [...player!.endpointStatuses].map(([k, s]) => `${k}: ${s.status}`).join(", ");
    await waitFor(async () => ([...player!.endpointStatuses.values()].filter((s) => s.status === "up").length === 3 ? true : undefined), () => `three endpoints up (${statuses()})\n${player!.lastOutput.join("\n")}`);
    const felixProxy = `http://127.0.0.1:${ports.FELIX_PROXY}`;
    const ready = await waitFor(async () => ((await httpGet(`${felixProxy}/readiness`)).status === 200 ? true : undefined), () => "felix-proxy readiness");
    expect(ready).toBe(true);

    const up = await eventually('up{job="ptables"}', (v) => v === 1, 4);
    expect(up.map((s) => s.metric.instance).sort()).toEqual(AGENT_PORTS.map((a) => `127.0.0.1:${ports[a]}`).sort());
    const agents = await eventually("ptables_build_info", (v) => v === 1, 4);
    expect(agents.map((s) => s.metric.agent).sort()).toEqual(["arp-responder", "felix-proxy", "offload-daemon", "policy-programmer"]);

    const programmed = await eventually('ptables_policy_programmer_objects{kind="workload_endpoint",state="programmed"}', (v) => v === 3);
    expect(Number(programmed[0]!.value[1])).toBe(3);
    const fromFelix = await eventually('ptables_felix_proxy_objects{kind="workload_endpoint"}', (v) => v === 3);
    expect(fromFelix[0]!.metric.agent).toBe("felix-proxy");
    await eventually('ptables_felix_proxy_frames_received_total{payload="in_sync"}', (v) => v === 1);
    await eventually("ptables_felix_proxy_felix_to_programmed_seconds_count", (v) => v > 0);
    await eventually("ptables_policy_programmer_apply_duration_seconds_count", (v) => v > 0);
    await eventually('ptables_nodejs_eventloop_lag_seconds{agent="offload-daemon"}');
  }, 120_000);

  /** Metric names (from # TYPE lines) every agent's /metrics declares. */
  async function declaredMetrics(): Promise<Set<string>> {
    const names = new Set<string>();
    for (const agent of AGENT_PORTS) {
      const url = `http://127.0.0.1:${ports[agent]}/metrics`;
      // The agents may still be starting when this test runs on its own.
      const res = await waitFor(async () => httpGet(url), () => url);
      for (const line of res.body.split("\n")) if (line.startsWith("# TYPE ")) names.add(line.split(" ")[2]!);
    }
    return names;
  }

  test("docs/metrics.md describes every metric the agents serve", async () => {
    const doc = fs.readFileSync(path.resolve(__dirname, "../../../docs/metrics.md"), "utf8");
    const undocumented = [...(await declaredMetrics())].filter((name) => {
      // prom-client's process and Node.js families are documented as families.
      if (name.startsWith("ptables_process_") || name.startsWith("ptables_nodejs_")) return false;
      return !doc.includes(`\`${name}\``);
    });
    expect(undocumented).toEqual([]);
    expect(doc).toContain("`ptables_process_*`");
    expect(doc).toContain("`ptables_nodejs_*`");
  });

  test("every query of the Grafana dashboard is valid PromQL over metrics the agents serve", async () => {
    const dashboard = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../grafana/ptables-dashboard.json"), "utf8")) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const declared = await declaredMetrics();
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(20);
    for (const { panel, expr } of exprs) {
      for (const name of expr.match(/ptables_[a-z0-9_]+/g) ?? []) {
        const base = name.replace(/_bucket$/, "");
        if (!declared.has(base)) throw new Error(`panel "${panel}": ${name} is not a metric any agent serves`);
      }
      // Grafana's variables as "all nodes, all jobs".
      const promql = expr.replaceAll("$__rate_interval", "1m").replaceAll("$node", ".+").replaceAll("$job", ".+");
      await expect(query(promql)).resolves.toEqual(expect.any(Array));
    }
  });
});
