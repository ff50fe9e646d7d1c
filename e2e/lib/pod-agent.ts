/**
 * One long-lived helper process per pod namespace that both serves (TCP and UDP echo on a list
 * of ports, dual-stack) and probes (TCP connect + echo, UDP exchange, ping), driven by JSON
 * lines on stdin. Starting a Node process per probe costs ~100 ms of CPU; with one agent per pod
 * a whole matrix of probes runs concurrently for the price of a few sockets, which keeps the
 * e2e suites fast on small machines.
 *
 * A probe's outcome says what the network did, not what the test wanted:
 *   "echo"    the payload came back (the flow passed both ways);
 *   "refused" the peer's kernel answered with a TCP RST or an ICMP port unreachable, so the
 *             first packet reached it (policy allowed it; the reply passed as conntrack
 *             reply/related traffic);
 *   "timeout" nothing came back: the datapath dropped it;
 *   "error"   anything else (EHOSTUNREACH, ENETUNREACH, ...), with the code in `detail`.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { InNamespace } from "@ptables/testkit";

export type ProbeProto = "tcp" | "udp" | "icmp";
export type ProbeOutcome = "echo" | "refused" | "timeout" | "error";

export interface ProbeRequest {
  proto: ProbeProto;
  host: string;
  /** tcp and udp only. */
  port?: number;
  timeoutMs: number;
}

export interface ProbeReply {
  outcome: ProbeOutcome;
  detail?: string;
}

/** Did the first packet get through? "refused" counts: the peer's kernel saw it. */
export function outcomeAllowed(outcome: ProbeOutcome): boolean {
  return outcome === "echo" || outcome === "refused";
}

const AGENT_SCRIPT = String.raw`
const net = require('net');
const dgram = require('dgram');
const { execFile } = require('child_process');
const cfg = JSON.parse(process.argv[1]);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));

const servers = [];
const listen = (proto, port) => new Promise((resolve, reject) => {
  if (proto === 'tcp') {
    const server = net.createServer((sock) => { sock.on('error', () => {}); sock.pipe(sock); });
    server.on('error', reject);
    server.listen({ port, host: '::', ipv6Only: false }, () => resolve());
    servers.push(server);
  } else {
    const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('error', reject);
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.bind(port, '::', () => resolve());
    servers.push(sock);
  }
});

function tcp(req, done) {
  const line = 'probe-' + req.id + '\n';
  let buffer = '';
  const sock = net.connect({ host: req.host, port: req.port });
  let finished = false;
  const finish = (outcome, detail) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sock.destroy();
    done(outcome, detail);
  };
  const timer = setTimeout(() => finish('timeout'), req.timeoutMs);
  sock.on('connect', () => sock.write(line));
  sock.on('data', (d) => {
    buffer += d;
    if (buffer.includes('\n')) (buffer === line ? finish('echo') : finish('error', 'bad echo'));
  });
  sock.on('error', (err) => finish(err.code === 'ECONNREFUSED' ? 'refused' : 'error', err.code || err.message));
  sock.on('close', () => finish('error', 'closed before the echo'));
}

function udp(req, done) {
  const line = 'probe-' + req.id + '\n';
  const sock = dgram.createSocket(req.host.includes(':') ? 'udp6' : 'udp4');
  let finished = false;
  const finish = (outcome, detail) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    try { sock.close(); } catch (e) {}
    done(outcome, detail);
  };
  const timer = setTimeout(() => finish('timeout'), req.timeoutMs);
  sock.on('message', (msg) => (msg.toString() === line ? finish('echo') : finish('error', 'bad echo')));
  sock.on('error', (err) => finish(err.code === 'ECONNREFUSED' ? 'refused' : 'error', err.code || err.message));
  // Connected, so an ICMP port unreachable surfaces as ECONNREFUSED.
  sock.connect(req.port, req.host, () => sock.send(line));
}

function ping(req, done) {
  const argv = ['-n', '-q', '-c', '1', '-W', (req.timeoutMs / 1000).toFixed(3), req.host];
  execFile('ping', argv, { timeout: req.timeoutMs + 5000 }, (err, stdout, stderr) => {
    const received = Number((/(\d+) received/.exec(String(stdout)) || [])[1] || 0);
    if (received > 0) return done('echo');
    if (err && (err.code === 1 || err.code === 2) && received === 0 && /0 received/.test(String(stdout))) return done('timeout');
    done('error', String(stderr || (err && err.message) || 'ping failed').trim());
  });
}

Promise.all([
  ...cfg.tcpPorts.map((p) => listen('tcp', p)),
  ...cfg.udpPorts.map((p) => listen('udp', p)),
]).then(() => out({ ready: true }), (err) => { process.stderr.write('listen: ' + err.message + '\n'); process.exit(1); });

require('readline').createInterface({ input: process.stdin }).on('line', (text) => {
  let req;
  try { req = JSON.parse(text); } catch (e) { return; }
  const done = (outcome, detail) => out(detail === undefined ? { id: req.id, outcome } : { id: req.id, outcome, detail });
  try {
    if (req.proto === 'tcp') tcp(req, done);
    else if (req.proto === 'udp') udp(req, done);
    else ping(req, done);
  } catch (err) { done('error', err.message); }
});
`;

const READY_TIMEOUT_MS = 15_000;

/** The helper process of one pod. */
export class PodAgent {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: ProbeReply) => void>();
  private stderr = "";
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly where: string,
  ) {
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-2000);
    });
    child.once("exit", () => {
      this.exited = true;
      for (const resolve of this.waiting.values()) resolve({ outcome: "error", detail: `pod agent in ${where} exited: ${this.stderr.trim()}` });
      this.waiting.clear();
    });
  }

  /** Starts the agent in `where`'s namespace; resolves once every echo port listens. */
  static async start(where: InNamespace, ports: { tcp: readonly number[]; udp: readonly number[] }): Promise<PodAgent> {
    const env = { ...process.env };
    // ts-jest or other hooks in NODE_OPTIONS would slow the agent's start for nothing.
    delete env.NODE_OPTIONS;
    const config = { tcpPorts: [...new Set(ports.tcp)], udpPorts: [...new Set(ports.udp)] };
    const child = where.topology.spawnIn(where.ns, [process.execPath, "-e", AGENT_SCRIPT, JSON.stringify(config)], { env });
    const agent = new PodAgent(child, where.ns);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`pod agent in ${where.ns}: not ready after ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      lines.on("line", (line) => {
        let msg: { ready?: boolean; id?: number; outcome?: ProbeOutcome; detail?: string };
        try {
          msg = JSON.parse(line);
        } catch {
          return;
        }
        if (msg.ready) {
          clearTimeout(timer);
          resolve();
        } else if (msg.id !== undefined && msg.outcome !== undefined) {
          const done = agent.waiting.get(msg.id);
          agent.waiting.delete(msg.id);
          done?.({ outcome: msg.outcome, detail: msg.detail });
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`pod agent in ${where.ns} exited (${signal ?? code}): ${agent.stderr.trim()}`));
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return agent;
  }

  /** Runs one probe from this pod. Never rejects: a dead agent gives an "error" outcome. */
  probe(request: ProbeRequest): Promise<ProbeReply> {
    if (this.exited) return Promise.resolve({ outcome: "error", detail: `pod agent in ${this.where} has exited` });
    if (request.proto !== "icmp" && request.port === undefined) throw new Error(`${request.proto} probe to ${request.host}: port is required`);
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  }

  /** Ends the agent (it exits when its stdin closes). */
  async close(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => this.child.kill("SIGKILL"), 2000);
      this.child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      this.child.stdin?.end();
    });
  }
}
