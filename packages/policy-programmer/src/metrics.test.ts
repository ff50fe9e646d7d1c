/**
 * The programmer's health and metrics: the daemon over the reference DPU (whose packet path
 * fills the rule and drop counters) and over the recording backend (to break the backend).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { ReferenceDpuBackend } from "@ptables/backend-ref";
import { sync } from "@ptables/proto";
import { createAgentRegistry, createLogger, createPeerClient, socketPaths, type Registry } from "@ptables/runtime";
import { startPolicyProgrammer, type RunningPolicyProgrammer } from "./daemon";
import { registerPolicyProgrammerMetrics, ruleCounterSamples } from "./metrics";
import { snapshotOf } from "./testing/fixtures";
import { RecordingBackend } from "./testing/recording-backend";
import { STATES } from "./testing/states";

const logger = createLogger({ component: "policy-programmer", level: "error", stream: new PassThrough() });

async function syncOnce(socketPath: string, snapshot: sync.Snapshot): Promise<void> {
  const client = createPeerClient(sync.PolicyProgrammerClient, socketPath);
  try {
    const stream = client.sync();
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (r: sync.SyncResponse) => r.appliedVersion >= snapshot.version && resolve());
      stream.on("error", reject);
      stream.write({ msg: { $case: "snapshot", value: snapshot } });
    });
    stream.end();
    await new Promise<void>((resolve) => stream.on("status", () => resolve()));
  } finally {
    client.close();
  }
}

async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("policy programmer metrics and health", () => {
  let dir: string;
  const running: RunningPolicyProgrammer[] = [];
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-ppm-"))));
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(backend: ReferenceDpuBackend | RecordingBackend): Promise<{ r: RunningPolicyProgrammer; registry: Registry; socket: string }> {
    const config = { runDir: path.join(dir, "run") };
    const r = await startPolicyProgrammer({ config, logger, backend });
    running.push(r);
    const registry = createAgentRegistry("policy-programmer");
    registerPolicyProgrammerMetrics(registry, r);
    return { r, registry, socket: socketPaths(config.runDir).policyProgrammer };
  }

  test("rule and drop counters from the datapath, apply and object metrics from the programmer", async () => {
    const dpu = new ReferenceDpuBackend();
    const { r, registry, socket } = await start(dpu);
    await syncOnce(socket, snapshotOf(STATES.web!.state, 1n));
    // Felix's IP set s-web holds 10.0.1.1: port 80 from it is allowed by web's rule 0; from elsewhere the tier ends in deny.
    const allowed = { family: 4 as const, srcIp: "10.0.1.1", dstIp: "10.65.0.1", proto: 6, srcPort: 40000, dstPort: 80 };
    expect(dpu.processPacket("cali1", "ingress", allowed, 60).verdict).toBe("allow");
    expect(dpu.processPacket("cali1", "ingress", allowed, 40).verdict).toBe("allow");
    expect(dpu.processPacket("cali1", "ingress", { ...allowed, srcIp: "10.9.9.9" }, 50).verdict).toBe("deny");

    const a = 'agent="policy-programmer"';
    const rule = `tier="default",policy="GlobalNetworkPolicy//web",rule="0",direction="ingress",${a}`;
    expect(await sample(registry, `ptables_datapath_rule_packets_total{${rule}}`)).toBe(2);
    expect(await sample(registry, `ptables_datapath_rule_bytes_total{${rule}}`)).toBe(100);
    // Rules that matched nothing are not exported.
    expect(await registry.getSingleMetricAsString("ptables_datapath_rule_packets_total")).not.toContain('direction="egress"');
    expect(await sample(registry, `ptables_datapath_dropped_packets_total{reason="end-of-tier",${a}}`)).toBe(1);
    expect(await sample(registry, `ptables_datapath_dropped_bytes_total{reason="end-of-tier",${a}}`)).toBe(50);

    const P = "ptables_policy_programmer_";
    expect(await sample(registry, `${P}apply_duration_seconds_count{${a}}`)).toBe(r.programmer.applies);
    expect(await sample(registry, `${P}applies_total{result="ok",${a}}`)).toBe(r.programmer.applies);
    expect(await sample(registry, `${P}table_writes_total{table="rules",${a}}`)).toBeGreaterThan(0);
    expect(await sample(registry, `${P}objects{kind="workload_endpoint",state="programmed",${a}}`)).toBe(2);
    expect(await sample(registry, `${P}in_sync{${a}}`)).toBe(1);
    expect(await sample(registry, `${P}errors_total{kind="backend",${a}}`)).toBe(0);
    expect(r.readiness()).toMatchObject({ ok: true, detail: { backendOpen: true, lastApply: { version: "1", ok: true } } });
    expect(r.liveness()).toEqual({ ok: true, detail: { grpc: `serving on ${socket}` } });
  });

  test("resync writes: everything on a fresh datapath, nothing after a restart over the same one", async () => {
    const backend = new RecordingBackend();
    const first = await start(backend);
    await syncOnce(first.socket, snapshotOf(STATES.web!.state, 1n));
    expect(await sample(first.registry, 'ptables_policy_programmer_resync_writes_total{table="rules",agent="policy-programmer"}')).toBeGreaterThan(0);
    await first.r.stop();

    const second = await start(backend);
    await syncOnce(second.socket, snapshotOf(STATES.web!.state, 1n));
    for (const table of ["set_members", "port_sets", "rules", "endpoints"]) {
      expect(await sample(second.registry, `ptables_policy_programmer_resync_writes_total{table="${table}",agent="policy-programmer"}`)).toBe(0);
    }
  });

  test("a failing backend makes the programmer unready and is counted; it is ready again once an apply succeeds", async () => {
    const backend = new RecordingBackend();
    const { r, registry, socket } = await start(backend);
    backend.tables.rules.broken = "device gone";
    const client = createPeerClient(sync.PolicyProgrammerClient, socket);
    const stream = client.sync();
    stream.on("error", () => undefined);
    try {
      stream.write({ msg: { $case: "snapshot", value: snapshotOf(STATES.web!.state, 1n) } });
      await waitFor(() => r.programmer.failedApplies > 0 && !r.programmer.isApplying, "a failed apply");
      expect(r.readiness()).toMatchObject({ ok: false, detail: { lastApply: { ok: false, error: expect.stringContaining("device gone") } } });
      expect(await sample(registry, 'ptables_policy_programmer_errors_total{kind="backend",agent="policy-programmer"}')).toBeGreaterThan(0);
      expect(await sample(registry, 'ptables_policy_programmer_applies_total{result="error",agent="policy-programmer"}')).toBeGreaterThan(0);
      backend.tables.rules.broken = undefined;
      await waitFor(() => r.readiness().ok, "readiness after the retry");
    } finally {
      stream.cancel();
      client.close();
    }
  });

  test("per-rule series: only non-zero counters of known rules, busiest first, capped", () => {
    const owner = (ruleIndex: number) => ({ policy: "GlobalNetworkPolicy//p", tier: "default", ruleIndex, ruleId: "", direction: "ingress" as const });
    const owners = new Map([1n, 2n, 3n, 4n].map((id) => [id, owner(Number(id))]));
    const counters = new Map([
      [1n, { packets: 5n, bytes: 500n }],
      [2n, { packets: 0n, bytes: 0n }],
      [3n, { packets: 9n, bytes: 900n }],
      [4n, { packets: 1n, bytes: 100n }],
      [99n, { packets: 7n, bytes: 700n }],
    ]);
    const { samples, omitted } = ruleCounterSamples(counters, owners, 2);
    expect(samples.map((s) => s.labels.rule)).toEqual(["3", "1"]);
    expect(omitted).toBe(1);
    const profile = ruleCounterSamples(new Map([[7n, { packets: 1n, bytes: 1n }]]), new Map([[7n, { profile: "kns.default", ruleIndex: 0, ruleId: "", direction: "egress" as const }]]));
    expect(profile.samples[0]!.labels).toEqual({ tier: "", policy: "profile:kns.default", rule: "0", direction: "egress" });
  });
});
