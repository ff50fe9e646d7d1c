import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import type { Flow } from "@ptables/api";
import { agent } from "@ptables/proto";
import { createLogger, createPeerClient, defaultConfig, socketPaths } from "@ptables/runtime";
import { OffloadDaemon } from "./offload-daemon";

/** A logger whose lines go nowhere (the assertions look at state, not at logs). */
function quietLogger() {
  return createLogger({ component: "t", stream: new PassThrough().resume() });
}

async function info(socketPath: string): Promise<Record<string, any>> {
  const client = createPeerClient(agent.AgentClient, socketPath);
  try {
    const res = await new Promise<agent.InfoResponse>((resolve, reject) => client.info({}, (e, r) => (e ? reject(e) : resolve(r))));
    expect(res.agent).toBe("offload-daemon");
    return JSON.parse(res.detailJson);
  } finally {
    client.close();
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("OffloadDaemon", () => {
  let dir: string;
  let daemon: OffloadDaemon | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-od-"));
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("with the reference backend there is nothing to age, and Info says why", async () => {
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "reference" as const };
    daemon = new OffloadDaemon({ config, logger: quietLogger() });
    await daemon.start();
    const detail = await info(socketPaths(config.runDir).offloadDaemon);
    expect(detail).toMatchObject({ backend: "reference", flowAgeing: "not applicable", fastPath: "none" });
    expect(detail.reason).toContain("no conntrack");
  });

  test("scans the table it is given and reports counts in Info", async () => {
    const flows: Flow[] = [
      { ifname: "cali1", family: 4, proto: 6, srcIp: "10.0.0.1", dstIp: "10.0.0.2", srcPort: 1, dstPort: 80, state: "established", createdNs: 0n, lastSeenNs: process.hrtime.bigint(), packets: 3n, bytes: 180n },
      { ifname: "cali1", family: 4, proto: 17, srcIp: "10.0.0.1", dstIp: "10.0.0.3", srcPort: 2, dstPort: 53, state: "udp", createdNs: 0n, lastSeenNs: 0n, packets: 1n, bytes: 60n },
    ];
    let deleted = 0;
    const table = {
      listFlows: async () => flows.slice(),
      deleteFlows: async (gone: Flow[]) => {
        for (const g of gone) flows.splice(flows.indexOf(g), 1);
        deleted += gone.length;
        return gone.length;
      },
    };
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "ebpf" as const, flowScanSecs: 1 };
    daemon = new OffloadDaemon({ config, logger: quietLogger(), table, flowLogger: quietLogger() });
    await daemon.start();
    const sock = socketPaths(config.runDir).offloadDaemon;
    await waitFor(async () => (await info(sock)).flowAgeing === "running" && deleted === 1, "first scan");
    const detail = await info(sock);
    // The UDP flow was idle since boot: expired. The TCP one was just seen: kept.
    expect(detail.flows).toMatchObject({ active: 1, adopted: 2, expired: 1, byProtocol: { tcp: 1 } });
    expect(detail.timeoutsSecs).toEqual({ tcpEstablished: 3600, tcpTransient: 30, udp: 60, icmp: 10, other: 60 });
  });
});
