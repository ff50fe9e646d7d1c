/**
 * Every agent's HTTP server: `/liveness` and `/readiness` in Felix's convention (200 when good,
 * 503 when bad, with a small JSON detail) and `/metrics` for Prometheus.
 *
 * Health and metrics may be bound to different addresses (health on loopback like Felix's
 * HealthHost, metrics wherever Prometheus can reach them) but share the agent's one port. When
 * one address is a wildcard that single listener covers both, so each path also checks the
 * address the connection came in on: /liveness reached through the node's address is a 404
 * when health is bound to 127.0.0.1.
 *
 * A port that is taken does not stop the agent (its datapath work matters more than its
 * probes): as Felix does, the error is logged and listening is retried with a backoff.
 */
import * as http from "node:http";
import * as net from "node:net";
import type { Registry } from "prom-client";
import { errorMessage } from "@ptables/api";
import { Backoff, type BackoffOptions } from "./grpc-client";
import type { Logger } from "./logger";

/** The outcome of a liveness or readiness check: `detail` is shown as JSON either way. */
export interface HealthReport {
  ok: boolean;
  detail: Record<string, unknown>;
}

/** A check: cheap, called on every probe. */
export type HealthCheck = () => HealthReport | Promise<HealthReport>;

/** What an AgentHttpServer serves, and where. */
export interface AgentHttpServerOptions {
  agent: string;
  /** TCP port; 0 takes any free port (tests; configuration uses 0 to mean "no server"). */
  port: number;
  healthHost: string;
  metricsHost: string;
  registry: Registry;
  liveness: HealthCheck;
  readiness: HealthCheck;
  logger: Logger;
  /** Delay between listen attempts while the port is taken (default 1 s doubling to 30 s). */
  retry?: BackoffOptions;
}

/** One address to listen on. */
interface Listener {
  host: string;
  server: http.Server;
  backoff: Backoff;
  timer?: NodeJS.Timeout;
  bound?: number;
  failures: number;
}

const WILDCARDS = new Set(["0.0.0.0", "::"]);
const HEALTH_PATHS = new Set(["/liveness", "/readiness"]);

/** Canonical text of an IP address, so "::1" and "0:0:0:0:0:0:0:1" compare equal. */
function canonicalIp(ip: string): string {
  const bare = ip.startsWith("::ffff:") && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (!net.isIPv6(bare)) return bare;
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
}

/** Whether a server meant for `host` answers a connection that arrived at `localAddress`. */
export function hostAccepts(host: string, localAddress: string | undefined): boolean {
  if (host === "::") return true;
  const local = canonicalIp(localAddress ?? "");
  if (host === "0.0.0.0") return net.isIPv4(local);
  return canonicalIp(host) === local;
}

/** The addresses to listen on: one when the hosts are equal or one of them is a wildcard. */
export function listenHosts(healthHost: string, metricsHost: string): string[] {
  if (canonicalIp(healthHost) === canonicalIp(metricsHost)) return [healthHost];
  const hosts = [healthHost, metricsHost];
  // A wildcard covers the other address only in its own family: "::" (dual-stack) covers both.
  if (hosts.some((h) => WILDCARDS.has(h))) return [hosts.some((h) => net.isIPv6(h)) ? "::" : "0.0.0.0"];
  return [healthHost, metricsHost];
}

/** /liveness, /readiness and /metrics of one agent. */
export class AgentHttpServer {
  private readonly listeners: Listener[];
  private stopped = false;

  constructor(private readonly opts: AgentHttpServerOptions) {
    this.listeners = listenHosts(opts.healthHost, opts.metricsHost).map((host) => ({
      host,
      server: http.createServer((req, res) => void this.handle(req, res)),
      backoff: new Backoff(opts.retry ?? { initialMs: 1000, maxMs: 30_000 }),
      failures: 0,
    }));
  }

  /** Makes the first listen attempt on every address; failures are retried in the background. */
  async start(): Promise<void> {
    await Promise.all(this.listeners.map((l) => this.listen(l)));
  }

  /** The addresses actually listened on (host and port), for logs and tests. */
  addresses(): Array<{ host: string; port: number }> {
    return this.listeners.filter((l) => l.bound !== undefined).map((l) => ({ host: l.host, port: l.bound! }));
  }

  /** Stops listening, drops open connections and any pending retry. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      this.listeners.map(async (l) => {
        if (l.timer) clearTimeout(l.timer);
        l.timer = undefined;
        if (!l.server.listening) return;
        l.server.closeAllConnections();
        await new Promise<void>((resolve) => l.server.close(() => resolve()));
        l.bound = undefined;
      }),
    );
  }

  private listen(l: Listener): Promise<void> {
    const { port, logger, agent } = this.opts;
    return new Promise((resolve) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        l.server.off("listening", onListening);
        l.failures++;
        const delayMs = l.backoff.nextDelayMs();
        const fields = { agent, host: l.host, port, error: err.code ?? errorMessage(err), retryInMs: delayMs };
        if (l.failures === 1) logger.error("cannot listen for health and metrics; retrying", fields);
        else logger.debug("still cannot listen for health and metrics", fields);
        if (!this.stopped) {
          l.timer = setTimeout(() => {
            l.timer = undefined;
            void this.listen(l);
          }, delayMs);
          l.timer.unref();
        }
        resolve();
      };
      const onListening = (): void => {
        l.server.off("error", onError);
        l.bound = (l.server.address() as net.AddressInfo).port;
        if (this.stopped) {
          l.server.close();
          return resolve();
        }
        logger.info("serving health and metrics", { host: l.host, port: l.bound, attempts: l.failures + 1 });
        l.failures = 0;
        l.backoff.reset();
        resolve();
      };
      l.server.once("error", onError);
      l.server.once("listening", onListening);
      l.server.listen({ host: l.host, port, exclusive: true });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://agent").pathname;
    const local = req.socket.localAddress;
    const isHealth = HEALTH_PATHS.has(path) && hostAccepts(this.opts.healthHost, local);
    const isMetrics = path === "/metrics" && hostAccepts(this.opts.metricsHost, local);
    if (!isHealth && !isMetrics) return this.send(req, res, 404, "text/plain; charset=utf-8", `not found: ${path} (this address serves ${this.servedHere(local).join(", ")})\n`);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return this.send(req, res, 405, "text/plain; charset=utf-8", `method ${req.method ?? ""} not allowed\n`);
    }
    if (isMetrics) {
      try {
        const text = await this.opts.registry.metrics();
        return this.send(req, res, 200, this.opts.registry.contentType, text);
      } catch (err) {
        this.opts.logger.warn("collecting metrics failed", { error: errorMessage(err) });
        return this.send(req, res, 500, "text/plain; charset=utf-8", `collecting metrics failed: ${errorMessage(err)}\n`);
      }
    }
    const check = path === "/liveness" ? this.opts.liveness : this.opts.readiness;
    let report: HealthReport;
    try {
      report = await check();
    } catch (err) {
      report = { ok: false, detail: { error: errorMessage(err) } };
    }
    const body = JSON.stringify({ agent: this.opts.agent, status: report.ok ? "ok" : "failing", checks: report.detail }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    return this.send(req, res, report.ok ? 200 : 503, "application/json", `${body}\n`);
  }

  private servedHere(local: string | undefined): string[] {
    const paths: string[] = [];
    if (hostAccepts(this.opts.healthHost, local)) paths.push("/liveness", "/readiness");
    if (hostAccepts(this.opts.metricsHost, local)) paths.push("/metrics");
    return paths.length > 0 ? paths : ["nothing"];
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, status: number, contentType: string, body: string): void {
    res.statusCode = status;
    res.setHeader("Content-Type", contentType);
    res.setHeader("Content-Length", Buffer.byteLength(body));
    res.end(req.method === "HEAD" ? undefined : body);
  }
}
