import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { createAgentRegistry, createLogger, defaultConfig, freeTcpPort, httpGet, socketPaths, type AgentHttpServer, type Registry } from "@ptables/runtime";
import { FelixProxy } from "./felix-proxy";
import { registerFelixProxyMetrics, startFelixProxyHttp } from "./metrics";
import { FakeProgrammer } from "./testing/fake-programmer";
import { FromDataplaneCollector, frameOf, startOfDay, toDataplane } from "./testing/felix-messages";

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The value of one series in the registry's text output, or undefined if it is absent. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("felix-proxy health and metrics", () => {
  let dir: string;
  let runDir: string;
  let programmer: FakeProgrammer;
  let proxy: FelixProxy;
  let http: AgentHttpServer | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-fpm-"));
    runDir = path.join(dir, "run");
    programmer = new FakeProgrammer(socketPaths(runDir).policyProgrammer);
    await programmer.start();
    const logger = createLogger({ component: "felix-proxy", level: "error", stream: new PassThrough() });
    const port = await freeTcpPort();
    const config = { ...defaultConfig(), runDir, httpPorts: { ...defaultConfig().httpPorts, felixProxy: port }, metricsHost: "127.0.0.1" };
    proxy = new FelixProxy({ config, logger, coalesceMs: 5, backoff: { initialMs: 20, maxMs: 200 } });
    await proxy.start();
    http = await startFelixProxyHttp(proxy, config, logger);
  });
  afterEach(async () => {
    await http?.stop();
    await proxy.stop();
    await programmer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function attachFelix(): { input: PassThrough; replies: FromDataplaneCollector } {
    const input = new PassThrough();
    const output = new PassThrough();
    const replies = new FromDataplaneCollector();
    output.on("data", (c: Buffer) => replies.push(c));
    proxy.attach(input, output, "test");
    return { input, replies };
  }

  test("ready only once Felix is in sync and the programmer applied it; /readiness says why not", async () => {
    const base = `http://127.0.0.1:${http!.addresses()[0]!.port}`;
    const before = await httpGet(`${base}/readiness`);
    expect(before.status).toBe(503);
    expect(JSON.parse(before.body).checks).toMatchObject({ felixConnected: false, felixInSync: false, programmedInSync: false });
    expect((await httpGet(`${base}/liveness`)).status).toBe(200);

    const felix = attachFelix();
    for (const m of startOfDay()) felix.input.write(frameOf(m));
    await waitFor(() => proxy.readiness().ok, "readiness");
    const ready = await httpGet(`${base}/readiness`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body).checks).toMatchObject({ felixConnected: true, felixInSync: true, programmerConnected: true, programmedInSync: true });

    // The programmer goes away: the datapath no longer follows Felix.
    await programmer.stop();
    await waitFor(() => !proxy.readiness().ok, "not ready without the programmer");
    expect(proxy.readiness().detail).toMatchObject({ programmerConnected: false });
  });

  test("metrics count Felix's frames by payload, the objects, and the time until they are programmed", async () => {
    const registry = createAgentRegistry("felix-proxy");
    registerFelixProxyMetrics(registry, proxy);
    const felix = attachFelix();
    const extra = [toDataplane({ $case: "namespaceUpdate", value: { id: { name: "default" }, labels: {} } })];
    for (const m of [...startOfDay().slice(0, -1), ...extra, ...startOfDay().slice(-1)]) felix.input.write(frameOf(m));
    await waitFor(() => proxy.readiness().ok, "readiness");
    const P = "ptables_felix_proxy_";
    const a = 'agent="felix-proxy"';
    expect(await sample(registry, `${P}frames_received_total{payload="workload_endpoint_update",${a}}`)).toBe(1);
    expect(await sample(registry, `${P}frames_received_total{payload="config_update",${a}}`)).toBe(1);
    expect(await sample(registry, `${P}frames_received_total{payload="in_sync",${a}}`)).toBe(1);
    expect(await sample(registry, `${P}unimplemented_payloads_total{payload="namespace_update",${a}}`)).toBe(1);
    expect(await sample(registry, `${P}objects{kind="workload_endpoint",${a}}`)).toBe(1);
    expect(await sample(registry, `${P}objects{kind="policy",${a}}`)).toBe(1);
    expect(await sample(registry, `${P}felix_connected{${a}}`)).toBe(1);
    expect(await sample(registry, `${P}programmer_connected{${a}}`)).toBe(1);
    expect(await sample(registry, `${P}sync_messages_sent_total{type="snapshot",${a}}`)).toBeGreaterThanOrEqual(1);
    await waitFor(() => felix.replies.of("workloadEndpointStatusUpdate").length > 0, "endpoint status");
    expect(await sample(registry, `${P}endpoint_statuses{status="up",${a}}`)).toBe(1);
    expect(await sample(registry, `${P}felix_to_programmed_seconds_count{${a}}`)).toBeGreaterThanOrEqual(1);
    expect(await sample(registry, `${P}protocol_errors_total{${a}}`)).toBe(0);

    // A frame that does not decode ends the connection and is counted.
    felix.input.write(Buffer.from([4, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
    await waitFor(() => !proxy.counters().felixConnected, "the connection to close");
    expect(await sample(registry, `${P}protocol_errors_total{${a}}`)).toBe(1);
    expect(await sample(registry, `${P}felix_connected{${a}}`)).toBe(0);
  });
});
