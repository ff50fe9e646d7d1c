import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { sync } from "@ptables/proto";
import { countOpenSockets } from "./fd-stats";
import { Backoff, ResilientStream, createPeerClient } from "./grpc-client";
import { startAgentServer, type AgentServer } from "./grpc-server";

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A policy programmer that records what arrives and acknowledges every version. */
class RecordingProgrammer {
  received: sync.SyncRequest[] = [];
  streams = 0;
  open = new Set<grpc.ServerDuplexStream<sync.SyncRequest, sync.SyncResponse>>();
  implementation(): sync.PolicyProgrammerServer {
    return {
      sync: (call) => {
        this.streams++;
        this.open.add(call);
        call.on("data", (req: sync.SyncRequest) => {
          this.received.push(req);
          const v = req.msg?.value.version ?? 0n;
          call.write({ appliedVersion: v, statuses: [] });
        });
        call.on("end", () => call.end());
        call.on("close", () => this.open.delete(call));
        call.on("error", () => this.open.delete(call));
      },
      trace: (_c, cb) => cb(null, { verdict: "", tier: "", policy: "", ruleIndex: 0, reason: "", steps: [] }),
      state: (_c, cb) => cb(null, { appliedVersion: 0n, inSync: false, statuses: [], backend: "", tablesJson: "" }),
    };
  }
}

describe("Backoff", () => {
  test("doubles up to the cap and resets", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 500 });
    expect([b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs()]).toEqual([100, 200, 400, 500, 500]);
    b.reset();
    expect(b.nextDelayMs()).toBe(100);
  });
});

describe("ResilientStream", () => {
  let dir: string;
  let socketPath: string;
  let server: AgentServer | undefined;
  let programmer: RecordingProgrammer;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-rs-"));
    socketPath = path.join(dir, "policy-programmer.sock");
    programmer = new RecordingProgrammer();
  });
  afterEach(async () => {
    await server?.stop(100);
    server = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startProgrammer(): Promise<void> {
    programmer = new RecordingProgrammer();
    server = await startAgentServer({
      socketPath,
      agentName: "fake-programmer",
      version: "0",
      services: [{ name: "ptables.policy.v1.PolicyProgrammer", definition: sync.PolicyProgrammerService, implementation: programmer.implementation() }],
    });
  }

  test("connects when the server appears, re-opens after a restart, resends on every connect, and leaks nothing", async () => {
    const baseline = countOpenSockets();
    const client = createPeerClient(sync.PolicyProgrammerClient, socketPath, { initialMs: 20, maxMs: 200 });
    let version = 0n;
    const acks: bigint[] = [];
    const disconnects: string[] = [];
    const rs = new ResilientStream<sync.SyncRequest, sync.SyncResponse>({
      name: "sync",
      client,
      open: () => client.sync(),
      onConnect: (stream) => {
        version++;
        stream.write({ msg: { $case: "snapshot", value: { version, state: undefined, inSync: false } } });
      },
      onMessage: (res) => acks.push(res.appliedVersion),
      onDisconnect: (reason) => disconnects.push(reason),
      backoff: { initialMs: 20, maxMs: 200 },
    });
    rs.start();
    // Nobody listens yet: writes are dropped, not queued.
    expect(rs.write({ msg: { $case: "delta", value: { version: 99n, changes: [], inSync: false } } })).toBe(false);

    await startProgrammer();
    await waitFor(() => acks.includes(1n), "first snapshot acknowledged");
    expect(rs.connected).toBe(true);
    expect(programmer.received.map((r) => r.msg?.$case)).toEqual(["snapshot"]);
    expect(rs.write({ msg: { $case: "delta", value: { version: 2n, changes: [], inSync: true } } })).toBe(true);
    await waitFor(() => acks.includes(2n), "delta acknowledged");

    await server!.stop(100);
    await waitFor(() => !rs.connected, "disconnect noticed");
    expect(disconnects).toHaveLength(1);

    await startProgrammer(); // a fresh server on the same socket
    await waitFor(() => programmer.received.length === 1, "snapshot after restart");
    expect(programmer.received[0]!.msg).toMatchObject({ $case: "snapshot", value: { version: 2n } });
    expect(rs.connects).toBe(2);

    rs.close();
    client.close();
    await waitFor(() => programmer.open.size === 0, "server saw the stream end");
    await server!.stop(100);
    server = undefined;
    await waitFor(() => countOpenSockets() === baseline, "no sockets left open");
  });

  test("close while the peer is absent cancels the pending attempt", async () => {
    const baseline = countOpenSockets();
    const client = createPeerClient(sync.PolicyProgrammerClient, socketPath, { initialMs: 20, maxMs: 100 });
    let connects = 0;
    const rs = new ResilientStream<sync.SyncRequest, sync.SyncResponse>({
      name: "sync",
      client,
      open: () => client.sync(),
      onConnect: () => connects++,
      onMessage: () => undefined,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    rs.start();
    await new Promise((r) => setTimeout(r, 150));
    rs.close();
    client.close();
    await startProgrammer();
    await new Promise((r) => setTimeout(r, 150));
    expect(connects).toBe(0);
    expect(programmer.streams).toBe(0);
    await server!.stop(100);
    server = undefined;
    await waitFor(() => countOpenSockets() === baseline, "no sockets left open");
  });
});
