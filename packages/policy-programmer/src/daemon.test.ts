/**
 * The agent as a whole: serve, program, stop (the datapath stays), restart over the same backend
 * (the resync writes nothing).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { agent, sync } from "@ptables/proto";
import { createLogger, createPeerClient, socketPaths } from "@ptables/runtime";
import { PassThrough } from "node:stream";
import { startPolicyProgrammer } from "./daemon";
import { snapshotOf } from "./testing/fixtures";
import { RecordingBackend } from "./testing/recording-backend";
import { STATES } from "./testing/states";

async function syncOnce(socketPath: string, snapshot: sync.Snapshot): Promise<sync.SyncResponse> {
  const client = createPeerClient(sync.PolicyProgrammerClient, socketPath);
  try {
    const stream = client.sync();
    const res = await new Promise<sync.SyncResponse>((resolve, reject) => {
      stream.on("data", (r: sync.SyncResponse) => r.appliedVersion >= snapshot.version && resolve(r));
      stream.on("error", reject);
      stream.write({ msg: { $case: "snapshot", value: snapshot } });
    });
    stream.end();
    await new Promise<void>((resolve) => stream.on("status", () => resolve()));
    return res;
  } finally {
    client.close();
  }
}

describe("policy programmer daemon", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-ppd-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("stops without touching the datapath; a restart resyncs with zero writes", async () => {
    const backend = new RecordingBackend();
    const logger = createLogger({ component: "policy-programmer", stream: new PassThrough() });
    const config = { runDir: path.join(dir, "run") };
    const socket = socketPaths(config.runDir).policyProgrammer;
    const snapshot = snapshotOf(STATES.web!.state, 1n);

    const first = await startPolicyProgrammer({ config, logger, backend });
    const res = await syncOnce(socket, snapshot);
    expect(res.statuses.filter((s) => s.state === sync.ObjectState.OBJECT_STATE_PROGRAMMED).length).toBeGreaterThan(0);
    const info = await new Promise<agent.InfoResponse>((resolve, reject) => {
      const c = createPeerClient(agent.AgentClient, socket);
      c.info({}, (err, r) => (c.close(), err ? reject(err) : resolve(r)));
    });
    expect(info.agent).toBe("policy-programmer");
    expect(JSON.parse(info.detailJson)).toMatchObject({ backend: "recording", appliedVersion: "1", inSync: true });
    const programmedRules = backend.tables.rules.entries.size;
    await first.stop();
    expect(fs.existsSync(socket)).toBe(false);
    expect(backend.tables.rules.entries.size).toBe(programmedRules);
    expect(backend.tables.endpoints.entries.size).toBe(2);

    backend.clearLog();
    const second = await startPolicyProgrammer({ config, logger, backend });
    await syncOnce(socket, snapshot);
    expect(second.programmer.lastApply!.writes).toBe(0);
    expect(backend.log).toEqual([]);
    await second.stop();
  });
});
