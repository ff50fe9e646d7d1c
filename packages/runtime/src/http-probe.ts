/**
 * Small HTTP client helpers for probing agents' health and metrics: what tests, tools and
 * scripts need without pulling in an HTTP library.
 */
import * as http from "node:http";
import * as net from "node:net";

/** A complete HTTP response. */
export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request (GET unless told otherwise); rejects on connection errors and after `timeoutMs`. */
export function httpGet(url: string, opts: { method?: string; timeoutMs?: number } = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    // No connection pooling: a probe must see the server as it is now, not a kept-alive socket.
    const req = http.request(url, { method: opts.method ?? "GET", timeout: opts.timeoutMs ?? 5000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: no answer within ${opts.timeoutMs ?? 5000} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * A TCP port that was free a moment ago on `host` (the kernel picks it). Another process may
 * take it before the caller binds it; good enough for tests on loopback.
 */
export function freeTcpPort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
