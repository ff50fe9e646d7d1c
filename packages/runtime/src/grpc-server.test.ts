import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { agent, health } from "@ptables/proto";
import { countOpenSockets } from "./fd-stats";
import { createPeerClient } from "./grpc-client";
import { startAgentServer, type AgentServer } from "./grpc-server";
import { ServingStatus } from "./health";
import { SocketInUseError } from "./unix-socket";

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function check(client: health.HealthClient, service: string): Promise<ServingStatus> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
  );
}

describe("startAgentServer", () => {
  let dir: string;
  let runDir: string;
  const servers: AgentServer[] = [];
  const clients: grpc.Client[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-srv-"));
    runDir = path.join(dir, "run");
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.stop(100)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(name = "test-agent", socketPath = path.join(runDir, `${name}.sock`)): Promise<AgentServer> {
    const s = await startAgentServer({ socketPath, agentName: name, version: "1.2.3", info: () => ({ flows: 3n, ok: true }) });
    servers.push(s);
    return s;
  }

  test("creates the run dir 0700 and the socket 0600", async () => {
    const s = await start();
    expect(fs.statSync(runDir).mode & 0o777).toBe(0o700);
    const st = fs.lstatSync(s.socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  test("serves health Check and Agent Info", async () => {
    const s = await start();
    const hc = createPeerClient(health.HealthClient, s.socketPath);
    const ac = createPeerClient(agent.AgentClient, s.socketPath);
    clients.push(hc, ac);
    expect(await check(hc, "")).toBe(ServingStatus.SERVING);
    expect(await check(hc, "ptables.agent.v1.Agent")).toBe(ServingStatus.SERVING);
    await expect(check(hc, "no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    s.health.setStatus("", ServingStatus.NOT_SERVING);
    expect(await check(hc, "")).toBe(ServingStatus.NOT_SERVING);

    const info = await new Promise<agent.InfoResponse>((resolve, reject) => ac.info({}, (e, r) => (e ? reject(e) : resolve(r))));
    expect(info.agent).toBe("test-agent");
    expect(info.version).toBe("1.2.3");
    expect(info.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(info.detailJson)).toEqual({ flows: "3", ok: true });
  });

  test("Watch reports the current status and every change, and ends on stop", async () => {
    const s = await start();
    const hc = createPeerClient(health.HealthClient, s.socketPath);
    clients.push(hc);
    const seen: ServingStatus[] = [];
    const call = hc.watch({ service: "custom" });
    call.on("data", (r: health.HealthCheckResponse) => seen.push(r.status));
    const ended = new Promise<void>((resolve) => call.on("status", () => resolve()));
    call.on("error", () => undefined);
    await waitFor(() => seen.length === 1, "first watch status");
    expect(seen).toEqual([ServingStatus.SERVICE_UNKNOWN]);
    s.health.setStatus("custom", ServingStatus.SERVING);
    s.health.setStatus("custom", ServingStatus.SERVING); // unchanged: not sent again
    s.health.setStatus("custom", ServingStatus.NOT_SERVING);
    await waitFor(() => seen.length === 3, "watch updates");
    expect(seen).toEqual([ServingStatus.SERVICE_UNKNOWN, ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    await s.stop(1000);
    await ended;
  });

  test("check() is ok while serving, and not once the socket file is gone or the server stops", async () => {
    const s = await start();
    expect(s.check()).toEqual({ ok: true, reason: `serving on ${s.socketPath}` });
    fs.unlinkSync(s.socketPath);
    expect(s.check()).toEqual({ ok: false, reason: `${s.socketPath}: ENOENT` });
    const t = await start("other");
    await t.stop(100);
    expect(t.check()).toEqual({ ok: false, reason: "stopping" });
  });

  test("refuses a socket a live process serves", async () => {
    const first = await start("a");
    await expect(start("b", first.socketPath)).rejects.toBeInstanceOf(SocketInUseError);
    // The first server is untouched.
    const hc = createPeerClient(health.HealthClient, first.socketPath);
    clients.push(hc);
    expect(await check(hc, "")).toBe(ServingStatus.SERVING);

    const plain = net.createServer();
    const other = path.join(runDir, "plain.sock");
    await new Promise<void>((r) => plain.listen(other, r));
    try {
      await expect(start("c", other)).rejects.toThrow(/live process is already serving/);
    } finally {
      await new Promise((r) => plain.close(r));
    }
  });

  test("removes a stale socket left by a killed process", async () => {
    fs.mkdirSync(runDir, { mode: 0o700 });
    const stale = path.join(runDir, "stale.sock");
    const script = `require("net").createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, "SIGKILL"))`;
    const r = spawnSync(process.execPath, ["-e", script]);
    expect(r.signal).toBe("SIGKILL");
    expect(fs.lstatSync(stale).isSocket()).toBe(true);
    const s = await start("stale", stale);
    const hc = createPeerClient(health.HealthClient, s.socketPath);
    clients.push(hc);
    expect(await check(hc, "")).toBe(ServingStatus.SERVING);
  });

  test("refuses to remove something that is not a socket", async () => {
    fs.mkdirSync(runDir, { mode: 0o700 });
    const file = path.join(runDir, "file.sock");
    fs.writeFileSync(file, "data");
    await expect(start("f", file)).rejects.toThrow(/not a socket; refusing/);
    expect(fs.readFileSync(file, "utf8")).toBe("data");
  });

  test("stop removes the socket and leaves no connections behind", async () => {
    const baseline = countOpenSockets();
    const s = await start();
    const hc = createPeerClient(health.HealthClient, s.socketPath);
    expect(await check(hc, "")).toBe(ServingStatus.SERVING);
    const call = hc.watch({ service: "" }); // an open stream must not block the stop
    call.on("error", () => undefined);
    call.on("data", () => undefined);
    expect(countOpenSockets()).toBeGreaterThan(baseline);
    await s.stop(500);
    hc.close();
    expect(fs.existsSync(s.socketPath)).toBe(false);
    await waitFor(() => countOpenSockets() === baseline, "all sockets closed");
  });
});
