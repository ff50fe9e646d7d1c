/**
 * privileged: the offload daemon against a real eBPF datapath. Packets run through the tc
 * program with BPF_PROG_TEST_RUN create conntrack entries; the daemon, a reader of the same
 * pinned maps, lists them as flows and removes them once idle past their class's timeout.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, defaultConfig } from "@ptables/runtime";
import { PROTO_TCP, compiledRule } from "../../backend-ebpf/src/testing/compiled-rule";
import { TCP_SYN, ethPacket } from "../../backend-ebpf/src/testing/packets";
import { TC_ACT_OK, TestRunHarness } from "../../backend-ebpf/src/testing/test-run-harness";
import { OffloadDaemon } from "./offload-daemon";

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("privileged: offload daemon over pinned maps", () => {
  let h: TestRunHarness;
  let dir: string;
  let daemon: OffloadDaemon | undefined;
  beforeAll(async () => {
    h = await TestRunHarness.open();
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-odp-"));
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("lists the datapath's flows, logs them, and expires idle ones", async () => {
    await h.program(900, [compiledRule({ proto: PROTO_TCP, counterId: 901n })]);
    h.endpoint(1, { ingressProgram: 900, egressProgram: 900, flags: 0, ingressLength: 1, egressLength: 1 });
    const flowLines: string[] = [];
    const flowStream = new PassThrough();
    flowStream.on("data", (c: Buffer) => flowLines.push(...c.toString().split("\n").filter(Boolean)));
    const config = {
      ...defaultConfig(),
      runDir: path.join(dir, "run"),
      bpfDir: h.bpfDir,
      flowScanSecs: 1,
      flowTimeouts: { ...defaultConfig().flowTimeouts, tcpTransient: 2 },
    };
    daemon = new OffloadDaemon({
      config,
      logger: createLogger({ component: "t", stream: new PassThrough().resume() }),
      flowLogger: createLogger({ component: "flow-log", format: "json", stream: flowStream }),
    });
    await daemon.start();
    await waitFor(() => daemon!.info().flowAgeing === "running", "daemon opened the maps");

    const syn = ethPacket({ src: "10.65.0.2", dst: "10.65.1.7", proto: "tcp", srcPort: 41000, dstPort: 80, tcpFlags: TCP_SYN });
    expect(h.run("from", syn).retval).toBe(TC_ACT_OK);
    expect((await h.backend.listFlows(100)).some((f) => f.srcPort === 41000)).toBe(true);

    await waitFor(() => flowLines.some((l) => l.includes('"flow-start"') && l.includes("10.65.0.2:41000")), "flow-start line");
    // A SYN-only flow is "opening": gone after 2 s idle.
    await waitFor(() => flowLines.some((l) => l.includes('"flow-end"') && l.includes("10.65.0.2:41000")), "flow-end line");
    expect((await h.backend.listFlows(100)).some((f) => f.srcPort === 41000)).toBe(false);
    const info = daemon.info() as { flows: { created: number; expired: number } };
    expect(info.flows.created).toBeGreaterThanOrEqual(1);
    expect(info.flows.expired).toBeGreaterThanOrEqual(1);
  });
});
