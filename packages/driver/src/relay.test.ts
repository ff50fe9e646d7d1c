import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { FakeProgrammer } from "../../felix-proxy/src/testing/fake-programmer";
import { FromDataplaneCollector, POD1_ID, frameOf, startOfDay } from "../../felix-proxy/src/testing/felix-messages";
import { startDriver, waitFor, type DriverProcess } from "./testing/felix-pipes";

const DRIVER_DIST = path.resolve(__dirname, "../dist/main.js");
const FELIX_PROXY_MAIN = path.resolve(__dirname, "../../felix-proxy/dist/main.js");

/** A stand-in felix-proxy daemon on felix.sock that records bytes and can answer. */
class FakeFelixSock {
  readonly server: net.Server;
  received: Buffer[] = [];
  connections: net.Socket[] = [];
  constructor(readonly socketPath: string, private readonly reply: Buffer) {
    this.server = net.createServer((s) => {
      this.connections.push(s);
      s.on("data", (c: Buffer) => this.received.push(c));
      s.on("error", () => undefined);
      s.write(this.reply);
    });
  }
  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(this.socketPath, r));
  }
  close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
  bytes(): Buffer {
    return Buffer.concat(this.received);
  }
}

describe("ptables-felix-driver relay mode", () => {
  let dir: string;
  let runDir: string;
  let sock: FakeFelixSock | undefined;
  let driver: DriverProcess | undefined;

  beforeAll(() => {
    for (const f of [DRIVER_DIST, FELIX_PROXY_MAIN]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" first`);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-relay-"));
    runDir = path.join(dir, "run");
    fs.mkdirSync(runDir, { mode: 0o700 });
  });
  afterEach(async () => {
    if (driver && driver.child.exitCode === null && driver.child.signalCode === null) {
      driver.child.kill("SIGKILL");
      await driver.exit;
    }
    driver?.toDriver.destroy();
    driver?.fromDriver.destroy();
    await sock?.close();
    sock = undefined;
    driver = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function env(): NodeJS.ProcessEnv {
    return { ...process.env, PTABLES_RUN_DIR: runDir, PTABLES_STATE_DIR: path.join(dir, "state"), PTABLES_BPF_DIR: path.join(dir, "bpf") };
  }

  test("copies bytes both ways unchanged and exits 0 when Felix closes fd 3", async () => {
    const reply = randomBytes(300_000);
    sock = new FakeFelixSock(path.join(runDir, "felix.sock"), reply);
    await sock.listen();
    driver = startDriver(dir, env());
    // Not frames at all: the relay must not parse, only copy.
    const sent = randomBytes(2_000_000);
    driver.toDriver.write(sent);
    await waitFor(() => driver!.received().length >= reply.length, "reply relayed to fd 4");
    await waitFor(() => sock!.bytes().length >= sent.length, "bytes relayed to felix.sock");
    expect(sock.bytes().equals(sent)).toBe(true);
    expect(driver.received().equals(reply)).toBe(true);
    driver.toDriver.end();
    const exit = await driver.exit;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(driver.stderr()).toContain("relay mode");
    expect(sock.connections).toHaveLength(1);
  });

  test("exits non-zero when felix-proxy closes the connection", async () => {
    sock = new FakeFelixSock(path.join(runDir, "felix.sock"), Buffer.alloc(0));
    await sock.listen();
    driver = startDriver(dir, env());
    driver.toDriver.write(Buffer.from("hello"));
    await waitFor(() => sock!.bytes().length === 5, "first bytes");
    for (const c of sock.connections) c.end();
    const exit = await driver.exit;
    expect(exit.code).toBe(1);
    expect(driver.stderr()).toContain("felix-proxy closed the connection");
  });

  test("refuses to run without Felix's fds", async () => {
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(process.execPath, [path.resolve(__dirname, "../../../bin/ptables-felix-driver")], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toMatch(/^ptables-felix-driver: fd 3 is not .*must be started by Felix/);

    // Only fd 3 passed: fd 4 is then one of the runtime's own descriptors and is left alone.
    const fs3 = fs.openSync("/dev/null", "r");
    try {
      const r4 = spawnSync(process.execPath, [path.resolve(__dirname, "../../../bin/ptables-felix-driver")], { env: env(), stdio: ["ignore", "pipe", "pipe", fs3] });
      expect(r4.status).toBe(2);
      expect(r4.stderr.toString()).toMatch(/^ptables-felix-driver: fd 4 is not /);
    } finally {
      fs.closeSync(fs3);
    }
  });

  test("refuses a bad configuration with exit code 2", async () => {
    driver = startDriver(dir, { ...env(), PTABLES_BACKEND: "magic" });
    const exit = await driver.exit;
    expect(exit.code).toBe(2);
    expect(driver.stderr()).toBe('ptables-felix-driver: invalid configuration: environment: PTABLES_BACKEND: "magic" is not one of ebpf|reference\n');
  });

  test("relays to a real felix-proxy daemon: statuses come back through fd 4", async () => {
    const programmer = new FakeProgrammer(path.join(runDir, "policy-programmer.sock"));
    await programmer.start();
    let proxy: ChildProcess | undefined;
    let proxyLog = "";
    try {
      proxy = spawn(process.execPath, [FELIX_PROXY_MAIN], { env: env(), stdio: ["ignore", "ignore", "pipe"] });
      proxy.stderr!.on("data", (c: Buffer) => (proxyLog += c.toString()));
      await waitFor(() => fs.existsSync(path.join(runDir, "felix.sock")), "felix.sock");
      driver = startDriver(dir, env());
      const replies = new FromDataplaneCollector();
      driver.fromDriver.on("data", (c: Buffer) => replies.push(c));
      driver.toDriver.write(Buffer.concat(startOfDay().map(frameOf)));
      await waitFor(() => replies.of("workloadEndpointStatusUpdate").length === 1, `endpoint status\n${proxyLog}`);
      expect(replies.of("workloadEndpointStatusUpdate")[0]).toMatchObject({ id: POD1_ID, status: { status: "up" } });
      expect(programmer.inSync).toBe(true);
      driver.toDriver.end();
      expect((await driver.exit).code).toBe(0);
      // The daemon outlives the driver and waits for the next Felix.
      expect(proxy.exitCode).toBeNull();
      await waitFor(() => proxyLog.includes("Felix connection ended"), "the daemon saw Felix go");
    } finally {
      if (proxy && proxy.exitCode === null) {
        const exited = new Promise((r) => proxy!.once("exit", r));
        proxy.kill("SIGTERM");
        await exited;
      }
      await programmer.stop();
    }
  });
});
