import * as net from "node:net";
import { PassThrough } from "node:stream";
import { Counter } from "prom-client";
import { AgentHttpServer, hostAccepts, listenHosts, type HealthReport } from "./http-server";
import { freeTcpPort, httpGet } from "./http-probe";
import { createLogger } from "./logger";
import { createAgentRegistry } from "./metrics";

function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: () => string[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c.toString()));
  return { logger: createLogger({ component: "test", format: "json", level: "debug", stream }), lines: () => chunks.join("").split("\n").filter(Boolean) };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, attempts = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("listenHosts and hostAccepts", () => {
  test("one listener when the hosts agree or one is a wildcard, two otherwise", () => {
    expect(listenHosts("127.0.0.1", "127.0.0.1")).toEqual(["127.0.0.1"]);
    expect(listenHosts("::1", "0:0:0:0:0:0:0:1")).toEqual(["::1"]);
    expect(listenHosts("127.0.0.1", "0.0.0.0")).toEqual(["0.0.0.0"]);
    expect(listenHosts("0.0.0.0", "::")).toEqual(["::"]);
    expect(listenHosts("::1", "0.0.0.0")).toEqual(["::"]);
    expect(listenHosts("127.0.0.1", "10.0.0.5")).toEqual(["127.0.0.1", "10.0.0.5"]);
  });

  test("a path bound to one address is not served through another", () => {
    expect(hostAccepts("127.0.0.1", "127.0.0.1")).toBe(true);
    expect(hostAccepts("127.0.0.1", "::ffff:127.0.0.1")).toBe(true);
    expect(hostAccepts("127.0.0.1", "10.0.0.5")).toBe(false);
    expect(hostAccepts("0.0.0.0", "10.0.0.5")).toBe(true);
    expect(hostAccepts("0.0.0.0", "fd00::1")).toBe(false);
    expect(hostAccepts("::", "fd00::1")).toBe(true);
    expect(hostAccepts("0:0:0:0:0:0:0:1", "::1")).toBe(true);
  });
});

describe("AgentHttpServer", () => {
  const servers: AgentHttpServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  async function start(opts: { liveness?: () => HealthReport; readiness?: () => HealthReport; healthHost?: string; metricsHost?: string } = {}) {
    const registry = createAgentRegistry("test-agent");
    const log = captureLogger();
    const server = new AgentHttpServer({
      agent: "test-agent",
      port: 0,
      healthHost: opts.healthHost ?? "127.0.0.1",
      metricsHost: opts.metricsHost ?? "127.0.0.1",
      registry,
      liveness: opts.liveness ?? (() => ({ ok: true, detail: { grpc: "serving" } })),
      readiness: opts.readiness ?? (() => ({ ok: false, detail: { inSync: false } })),
      logger: log.logger,
    });
    servers.push(server);
    await server.start();
    const [addr] = server.addresses();
    if (!addr) throw new Error(`not listening:\n${log.lines().join("\n")}`);
    return { server, registry, port: addr.port, base: `http://127.0.0.1:${addr.port}` };
  }

  test("liveness and readiness answer 200 when good and 503 when bad, with a JSON detail", async () => {
    const { base } = await start();
    const live = await httpGet(`${base}/liveness`);
    expect(live.status).toBe(200);
    expect(live.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(live.body)).toEqual({ agent: "test-agent", status: "ok", checks: { grpc: "serving" } });
    const ready = await httpGet(`${base}/readiness`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ agent: "test-agent", status: "failing", checks: { inSync: false } });
  });

  test("a check that throws is a failing probe naming the error", async () => {
    const { base } = await start({
      readiness: () => {
        throw new Error("backend gone");
      },
    });
    const ready = await httpGet(`${base}/readiness`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).checks).toEqual({ error: "backend gone" });
  });

  test("/metrics serves the agent's registry: default metrics with the ptables_ prefix and the agent label", async () => {
    const { base, registry } = await start();
    new Counter({ name: "ptables_test_events_total", help: "test", registers: [registry] }).inc(3);
    const res = await httpGet(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe(registry.contentType);
    expect(res.body).toContain('ptables_test_events_total{agent="test-agent"} 3');
    expect(res.body).toMatch(/^ptables_process_cpu_user_seconds_total\{agent="test-agent"\} /m);
    expect(res.body).toMatch(/^ptables_nodejs_eventloop_lag_seconds\{agent="test-agent"\} /m);
    expect(res.body).toMatch(/^ptables_build_info\{version="[^"]+",agent="test-agent"\} 1$/m);
  });

  test("HEAD has no body, other methods get 405, unknown paths 404", async () => {
    const { base } = await start();
    const head = await httpGet(`${base}/liveness`, { method: "HEAD" });
    expect([head.status, head.body]).toEqual([200, ""]);
    const post = await httpGet(`${base}/metrics`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
    const missing = await httpGet(`${base}/healthz`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain("/liveness, /readiness, /metrics");
  });

  test("health on loopback and metrics on all addresses share one port; health is refused elsewhere", async () => {
    const { port } = await start({ healthHost: "127.0.0.1", metricsHost: "0.0.0.0" });
    // All of 127/8 is loopback on Linux: 127.0.0.2 is a local address that is not the health host.
    const other = `http://127.0.0.2:${port}`;
    expect((await httpGet(`${other}/metrics`)).status).toBe(200);
    const refused = await httpGet(`${other}/liveness`);
    expect(refused.status).toBe(404);
    expect(refused.body).toContain("this address serves /metrics");
    expect((await httpGet(`http://127.0.0.1:${port}/liveness`)).status).toBe(200);
  });

  test("a port in use is logged and retried until it is free; the agent keeps going", async () => {
    const port = await freeTcpPort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: "127.0.0.1", port }, resolve));
    const log = captureLogger();
    const server = new AgentHttpServer({
      agent: "test-agent",
      port,
      healthHost: "127.0.0.1",
      metricsHost: "127.0.0.1",
      registry: createAgentRegistry("test-agent"),
      liveness: () => ({ ok: true, detail: {} }),
      readiness: () => ({ ok: true, detail: {} }),
      logger: log.logger,
      retry: { initialMs: 20, maxMs: 50 },
    });
    servers.push(server);
    await server.start();
    expect(server.addresses()).toEqual([]);
    const errors = log.lines().map((l) => JSON.parse(l)).filter((l) => l.level === "error");
    expect(errors).toEqual([expect.objectContaining({ message: "cannot listen for health and metrics; retrying", host: "127.0.0.1", port, error: "EADDRINUSE" })]);
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    const res = await waitFor(async () => {
      const r = await httpGet(`http://127.0.0.1:${port}/liveness`);
      return r.status === 200 ? r : undefined;
    }, "the server to take the port");
    expect(JSON.parse(res.body).status).toBe("ok");
    expect(server.addresses()).toEqual([{ host: "127.0.0.1", port }]);
  });

  test("stop closes the port", async () => {
    const { server, port } = await start();
    await httpGet(`http://127.0.0.1:${port}/liveness`);
    await server.stop();
    await expect(httpGet(`http://127.0.0.1:${port}/liveness`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
