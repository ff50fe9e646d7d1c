import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { agent } from "@ptables/proto";
import { countOpenSockets, createLogger, createPeerClient, defaultConfig, socketPaths, type Logger } from "@ptables/runtime";
import { FelixListener } from "./felix-listener";
import { FelixProxy } from "./felix-proxy";
import { FakeProgrammer } from "./testing/fake-programmer";
import {
  FromDataplaneCollector,
  POD1_ID,
  POD1_KEY,
  configUpdate,
  frameOf,
  inSync,
  startOfDay,
  workloadEndpointRemove,
  workloadEndpointUpdate,
} from "./testing/felix-messages";

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Felix's side of a felix.sock connection. */
class FelixPeer {
  readonly replies = new FromDataplaneCollector();
  closed = false;
  constructor(readonly socket: net.Socket) {
    socket.on("data", (c: Buffer) => this.replies.push(c));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => undefined);
  }
  static async connect(socketPath: string): Promise<FelixPeer> {
    const socket = net.connect(socketPath);
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    return new FelixPeer(socket);
  }
  send(...msgs: Parameters<typeof frameOf>[0][]): void {
    for (const m of msgs) this.socket.write(frameOf(m));
  }
  statuses(): Array<[string, string]> {
    return this.replies.messages.flatMap((m) => {
      const p = m.payload;
      if (p?.$case === "workloadEndpointStatusUpdate") return [[`${p.value.id!.workloadId}/${p.value.id!.endpointId}`, p.value.status!.status] as [string, string]];
      if (p?.$case === "workloadEndpointStatusRemove") return [[`${p.value.id!.workloadId}/${p.value.id!.endpointId}`, "removed"] as [string, string]];
      return [];
    });
  }
}

describe("FelixProxy over felix.sock with a fake policy programmer", () => {
  let dir: string;
  let runDir: string;
  let logLines: string[];
  let logger: Logger;
  let proxy: FelixProxy | undefined;
  let listener: FelixListener | undefined;
  let programmer: FakeProgrammer | undefined;
  const peers: FelixPeer[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-fp-"));
    runDir = path.join(dir, "run");
    logLines = [];
    const stream = new PassThrough();
    stream.on("data", (c: Buffer) => logLines.push(...c.toString().split("\n").filter(Boolean)));
    logger = createLogger({ component: "felix-proxy", level: "debug", format: "json", stream });
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) p.socket.destroy();
    await listener?.close();
    await proxy?.stop();
    await programmer?.stop();
    listener = undefined;
    proxy = undefined;
    programmer = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startAll(overrides: Partial<ReturnType<typeof defaultConfig>> = {}): Promise<void> {
    const config = { ...defaultConfig(), runDir, ...overrides };
    programmer = new FakeProgrammer(socketPaths(runDir).policyProgrammer);
    await programmer.start();
    proxy = new FelixProxy({ config, logger, coalesceMs: 5, firstProcessStatusDelayMs: 50, backoff: { initialMs: 20, maxMs: 200 } });
    await proxy.start();
    listener = new FelixListener(proxy, socketPaths(runDir).felix, logger);
    await listener.listen();
  }

  async function connectFelix(): Promise<FelixPeer> {
    const peer = await FelixPeer.connect(socketPaths(runDir).felix);
    peers.push(peer);
    return peer;
  }

  test("start of day reaches the programmer, statuses and heartbeats reach Felix", async () => {
    await startAll();
    expect(fs.lstatSync(socketPaths(runDir).felix).mode & 0o777).toBe(0o600);
    const felixPeer = await connectFelix();
    felixPeer.send(...startOfDay());

    await waitFor(() => programmer!.inSync && programmer!.endpoints.has(POD1_KEY), "programmer in sync with the endpoint");
    expect(programmer!.snapshots.length).toBeGreaterThanOrEqual(1);
    expect(programmer!.policies).toContain("GlobalNetworkPolicy//allow-web");
    expect([...programmer!.ipSets.get("s:web")!]).toEqual(["10.65.0.0/24"]);
    // Versions only increase across snapshots and deltas.
    const versions = programmer!.requests.map((r) => r.msg!.value.version);
    expect(versions).toEqual([...versions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(versions).size).toBe(versions.length);

    await waitFor(() => felixPeer.replies.of("workloadEndpointStatusUpdate").length === 1, "endpoint status");
    const st = felixPeer.replies.of("workloadEndpointStatusUpdate")[0]!;
    expect(st.id).toEqual(POD1_ID);
    expect(st.status).toEqual({ status: "up" });
    expect(st.endpoint?.name).toBe("cali12345");

    await waitFor(() => felixPeer.replies.of("processStatusUpdate").length >= 1, "process status");
    const ps = felixPeer.replies.of("processStatusUpdate")[0]!;
    expect(ps.isoTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ps.uptime).toBeGreaterThanOrEqual(0);
    // FromDataplane sequence numbers count up from 0.
    expect(felixPeer.replies.messages.map((m) => m.sequenceNumber)).toEqual(felixPeer.replies.messages.map((_m, i) => BigInt(i)));

    const info = proxy!.info();
    expect(info).toMatchObject({ felixConnected: true, programmerConnected: true, inSync: true });
    expect(info.objects).toMatchObject({ ipSets: 1, policies: 1, profiles: 1, workloadEndpoints: 1 });

    // Info over the real felix-proxy.sock.
    const client = createPeerClient(agent.AgentClient, socketPaths(runDir).felixProxy);
    try {
      const res = await new Promise<agent.InfoResponse>((resolve, reject) => client.info({}, (e, r) => (e ? reject(e) : resolve(r))));
      expect(res.agent).toBe("felix-proxy");
      expect(JSON.parse(res.detailJson)).toMatchObject({ felixConnected: true, programmerConnected: true, inSync: true });
    } finally {
      client.close();
    }
  });

  test("a restarted programmer gets a new snapshot and reports the same statuses; status changes still flow", async () => {
    await startAll();
    const felixPeer = await connectFelix();
    felixPeer.send(...startOfDay());
    await waitFor(() => felixPeer.statuses().length === 1, "first status");

    await programmer!.stop();
    await waitFor(() => !proxy!.info().programmerConnected, "proxy noticed the programmer is gone");
    const snapshotsBefore = programmer!.snapshots.length;
    programmer = new FakeProgrammer(socketPaths(runDir).policyProgrammer);
    await programmer.start();

    await waitFor(() => programmer!.snapshots.length === 1, "snapshot after restart");
    const snap = programmer!.snapshots[0]!;
    expect(snapshotsBefore).toBeGreaterThanOrEqual(1);
    expect(snap.inSync).toBe(true);
    expect(snap.state!.workloadEndpoints.map((e) => e.key)).toEqual([POD1_KEY]);
    expect(snap.version).toBeGreaterThan(1n);
    await waitFor(() => programmer!.responses.length === 1, "statuses from the new programmer");
    expect(programmer!.responses[0]!.statuses).toEqual([expect.objectContaining({ id: POD1_KEY, state: 1 })]);

    // The same status again: Felix hears nothing new.
    await waitFor(() => proxy!.info().appliedVersion === snap.version.toString(), "applied version");
    expect(felixPeer.statuses()).toEqual([["default/pod1/eth0", "up"]]);

    // Changes after the restart still turn into statuses: admin down, then removal.
    felixPeer.send(workloadEndpointUpdate({ policy: "allow-web", profile: "kns.default", state: "inactive" }));
    await waitFor(() => felixPeer.statuses().length === 2, "down status");
    felixPeer.send(workloadEndpointRemove());
    await waitFor(() => felixPeer.statuses().length === 3, "status remove");
    expect(felixPeer.statuses()).toEqual([
      ["default/pod1/eth0", "up"],
      ["default/pod1/eth0", "down"],
      ["default/pod1/eth0", "removed"],
    ]);
    await waitFor(() => !programmer!.endpoints.has(POD1_KEY), "programmer removed the endpoint");
  });

  test("an invalid endpoint is reported down at once", async () => {
    await startAll();
    const felixPeer = await connectFelix();
    const bad = { orchestratorId: "k8s", workloadId: "default/bad", endpointId: "eth0" };
    felixPeer.send(configUpdate(), workloadEndpointUpdate({ id: bad, policy: "p", profile: "x", mac: "not-a-mac" }));
    await waitFor(() => felixPeer.statuses().length === 1, "down status");
    expect(felixPeer.statuses()).toEqual([["default/bad/eth0", "down"]]);
    expect(logLines.some((l) => l.includes("not-a-mac") && l.includes("k8s/default/bad/eth0"))).toBe(true);
  });

  test("a frame longer than the limit closes the connection with a logged offset and reason", async () => {
    await startAll({ maxFrameBytes: 1024 });
    const felixPeer = await connectFelix();
    const first = frameOf(configUpdate());
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(4096n);
    felixPeer.socket.write(Buffer.concat([first, header, Buffer.alloc(16)]));
    await waitFor(() => felixPeer.closed, "connection closed");
    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.message.startsWith("protocol error"));
    expect(line).toMatchObject({ offset: first.length, reason: "declares 4096 bytes, limit 1024" });
    expect(proxy!.info()).toMatchObject({ felixConnected: false, protocolErrors: 1, lastSessionEnd: { clean: false, offset: first.length } });
  });

  test("a frame that does not decode closes the connection", async () => {
    await startAll();
    const felixPeer = await connectFelix();
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(BigInt(garbage.length));
    felixPeer.socket.write(Buffer.concat([header, garbage]));
    await waitFor(() => felixPeer.closed, "connection closed");
    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.message.startsWith("protocol error"));
    expect(line).toMatchObject({ offset: 0 });
    expect(line.reason).toContain("does not decode as felix.ToDataplane");
  });

  test("a new Felix connection replaces the old one; the programmer keeps the old state until the new one is in sync", async () => {
    await startAll();
    const first = await connectFelix();
    first.send(...startOfDay());
    await waitFor(() => first.statuses().length === 1, "first status");

    // A connection that sends nothing (a liveness probe) changes nothing.
    const probe = net.connect(socketPaths(runDir).felix);
    await new Promise((r) => probe.once("connect", r));
    probe.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(first.closed).toBe(false);

    const second = await connectFelix();
    const replay = startOfDay();
    second.send(...replay.slice(0, 2)); // config and the IP set

    await waitFor(() => first.closed, "old connection closed");
    await new Promise((r) => setTimeout(r, 50));
    const requestsWhileReplaying = programmer!.requests.length;
    expect(programmer!.endpoints.has(POD1_KEY)).toBe(true); // old state kept
    second.send(...replay.slice(2)); // the rest, then InSync
    await waitFor(() => programmer!.requests.length > requestsWhileReplaying, "snapshot after InSync");
    const last = programmer!.requests.at(-1)!.msg!;
    expect(last.$case).toBe("snapshot");
    expect(last.value).toMatchObject({ inSync: true });
    await waitFor(() => second.statuses().length === 1, "status on the new connection");
    expect(second.statuses()).toEqual([["default/pod1/eth0", "up"]]);
    expect(proxy!.info().felixConnections).toBe(2);
  });

  test("stop leaves no connections behind", async () => {
    const baseline = countOpenSockets();
    await startAll();
    const felixPeer = await connectFelix();
    felixPeer.send(...startOfDay());
    await waitFor(() => felixPeer.statuses().length === 1, "status");
    peers.splice(0);
    felixPeer.socket.destroy();
    await listener!.close();
    await proxy!.stop();
    await programmer!.stop();
    listener = undefined;
    proxy = undefined;
    programmer = undefined;
    await waitFor(() => countOpenSockets() === baseline, "sockets back to baseline");
  });
});

describe("FelixProxy in-process (the standalone driver's mode)", () => {
  test("reads frames from one stream and writes statuses to another; a clean EOF ends the session cleanly", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-fpi-"));
    const runDir = path.join(dir, "run");
    const programmer = new FakeProgrammer(socketPaths(runDir).policyProgrammer);
    const proxy = new FelixProxy({
      config: { ...defaultConfig(), runDir },
      logger: createLogger({ component: "t", level: "error" }),
      serveAgentSocket: false,
      firstProcessStatusDelayMs: 20,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    try {
      await programmer.start();
      await proxy.start();
      const fd3 = new PassThrough();
      const fd4 = new PassThrough();
      const replies = new FromDataplaneCollector();
      fd4.on("data", (c: Buffer) => replies.push(c));
      const session = proxy.attach(fd3, fd4, "fd3/fd4");
      await waitFor(() => programmer.snapshots.length === 1, "initial snapshot");
      // One chunk is one event-loop turn: all its changes travel in a single Delta.
      fd3.write(Buffer.concat(startOfDay().map(frameOf)));
      await waitFor(() => programmer.deltas.length === 1, "delta");
      const delta = programmer.deltas[0]!;
      expect(delta.inSync).toBe(true);
      expect(delta.version).toBe(programmer.snapshots[0]!.version + 1n);
      expect(delta.changes.map((c) => c.change!.$case)).toEqual(expect.arrayContaining(["ipSet", "policy", "profile", "workloadEndpoint"]));
      await waitFor(() => replies.of("workloadEndpointStatusUpdate").length === 1 && replies.of("processStatusUpdate").length >= 1, "replies");
      fd3.end(frameOf(inSync()));
      expect(await session.done).toEqual({ clean: true, reason: "Felix closed its stream" });
      expect(fs.existsSync(socketPaths(runDir).felixProxy)).toBe(false);
    } finally {
      await proxy.stop();
      await programmer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
