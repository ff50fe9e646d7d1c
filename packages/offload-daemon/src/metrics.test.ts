import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import type { Flow } from "@ptables/api";
import { agent } from "@ptables/proto";
import { createAgentRegistry, createLogger, createPeerClient, defaultConfig, socketPaths, type Registry } from "@ptables/runtime";
import { listFlows } from "./flow-list";
import { registerOffloadDaemonMetrics } from "./metrics";
import { OffloadDaemon } from "./offload-daemon";

const quiet = () => createLogger({ component: "t", level: "error", stream: new PassThrough().resume() });

async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function flow(init: Partial<Flow>): Flow {
  return { ifname: "cali1", family: 4, proto: 6, srcIp: "10.0.0.1", dstIp: "10.0.0.2", srcPort: 1, dstPort: 80, state: "established", createdNs: 0n, lastSeenNs: 0n, packets: 1n, bytes: 60n, ...init };
}

/** A flow table in memory that can be made to fail. */
class MemoryFlowTable {
  broken: string | undefined;
  constructor(public flows: Flow[]) {}
  async listFlows(limit: number): Promise<Flow[]> {
    if (this.broken) throw new Error(this.broken);
    return this.flows.slice(0, limit);
  }
  async deleteFlows(gone: Flow[]): Promise<number> {
    this.flows = this.flows.filter((f) => !gone.includes(f));
    return gone.length;
  }
}

describe("offload-daemon health, metrics and the flow list", () => {
  let dir: string;
  let daemon: OffloadDaemon | undefined;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-odm-"))));
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("flows by protocol and state, created and expired totals, scan results; ready while scans work", async () => {
    const now = process.hrtime.bigint();
    const table = new MemoryFlowTable([
      flow({ lastSeenNs: now }),
      flow({ srcPort: 2, lastSeenNs: now }),
      flow({ proto: 17, state: "udp", dstPort: 53, lastSeenNs: 0n }), // idle since boot: expired by the first scan
      flow({ proto: 6, state: "syn-sent", srcPort: 3, lastSeenNs: now }),
    ]);
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "ebpf" as const, flowScanSecs: 1 };
    daemon = new OffloadDaemon({ config, logger: quiet(), table, flowLogger: quiet() });
    const registry = createAgentRegistry("offload-daemon");
    registerOffloadDaemonMetrics(registry, daemon);
    expect(daemon.readiness().ok).toBe(false);
    await daemon.start();
    await waitFor(() => daemon!.readiness().ok, "the first scan");
    expect(daemon.readiness().detail).toMatchObject({ flowAgeing: "running", flows: 4 });

    const P = "ptables_offload_daemon_";
    const a = 'agent="offload-daemon"';
    expect(await sample(registry, `${P}flows{protocol="tcp",state="established",${a}}`)).toBe(2);
    expect(await sample(registry, `${P}flows{protocol="tcp",state="syn-sent",${a}}`)).toBe(1);
    expect(await registry.getSingleMetricAsString(`${P}flows`)).not.toContain('protocol="udp"');
    expect(await sample(registry, `${P}flows_expired_total{${a}}`)).toBe(1);
    expect(await sample(registry, `${P}flows_adopted_total{${a}}`)).toBe(4);
    expect(await sample(registry, `${P}scans_total{result="ok",${a}}`)).toBeGreaterThanOrEqual(1);
    expect(await sample(registry, `${P}scan_duration_seconds_count{${a}}`)).toBeGreaterThanOrEqual(1);

    // A new flow shows up: the next scan counts it as created.
    table.flows.push(flow({ srcPort: 9, lastSeenNs: process.hrtime.bigint() }));
    await waitFor(() => (daemon!.flowCounts()?.created ?? 0) === 1, "the new flow");
    expect(await sample(registry, `${P}flows_created_total{${a}}`)).toBe(1);

    // The table stops answering: the next scan fails and the daemon is not ready.
    table.broken = "pt_conntrack: map gone";
    await waitFor(() => !daemon!.readiness().ok, "a failed scan");
    expect(daemon.readiness().detail).toMatchObject({ flowAgeing: "failing", lastError: "pt_conntrack: map gone" });
    expect(await sample(registry, `${P}scans_total{result="error",${a}}`)).toBeGreaterThanOrEqual(1);
  });

  test("ListFlows over offload-daemon.sock: the flows now, most recently active first", async () => {
    const now = process.hrtime.bigint();
    const table = new MemoryFlowTable([flow({ srcPort: 1, lastSeenNs: now - 5_000_000_000n, createdNs: now - 60_000_000_000n }), flow({ srcPort: 2, lastSeenNs: now, packets: 9n })]);
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "ebpf" as const };
    daemon = new OffloadDaemon({ config, logger: quiet(), table, flowLogger: quiet() });
    await daemon.start();
    await waitFor(() => daemon!.readiness().ok, "the first scan");
    const client = createPeerClient(agent.FlowsClient, socketPaths(config.runDir).offloadDaemon);
    try {
      const res = await new Promise<agent.ListFlowsResponse>((resolve, reject) => client.listFlows({ limit: 0 }, (e, r) => (e ? reject(e) : resolve(r))));
      expect(res.truncated).toBe(false);
      expect(res.flows.map((f) => [f.srcPort, f.packets])).toEqual([
        [2, 9n],
        [1, 1n],
      ]);
      expect(res.flows[1]).toMatchObject({ ifname: "cali1", family: 4, protocol: 6, state: "established", dstIp: "10.0.0.2", dstPort: 80 });
      expect(res.flows[1]!.ageSeconds).toBeGreaterThanOrEqual(60);
      expect(res.flows[1]!.idleSeconds).toBeGreaterThanOrEqual(5);
    } finally {
      client.close();
    }
  });

  test("ListFlows says why there is nothing to list with the reference backend", async () => {
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "reference" as const };
    daemon = new OffloadDaemon({ config, logger: quiet() });
    await daemon.start();
    expect(daemon.readiness()).toMatchObject({ ok: true, detail: { flowAgeing: "not applicable" } });
    const client = createPeerClient(agent.FlowsClient, socketPaths(config.runDir).offloadDaemon);
    try {
      const res = await new Promise<agent.ListFlowsResponse>((resolve, reject) => client.listFlows({ limit: 10 }, (e, r) => (e ? reject(e) : resolve(r))));
      expect(res).toEqual({ flows: [], truncated: false, note: expect.stringContaining("no conntrack") });
    } finally {
      client.close();
    }
  });

  test("listFlows caps the answer and says when there was more", async () => {
    const table = new MemoryFlowTable([1, 2, 3].map((p) => flow({ srcPort: p, lastSeenNs: BigInt(p) })));
    const res = await listFlows(table, 2, () => 10n);
    expect(res.flows.map((f) => f.srcPort)).toEqual([3, 2]);
    expect(res.truncated).toBe(true);
    expect((await listFlows(table, 3, () => 10n)).truncated).toBe(false);
  });
});
