/**
 * privileged: the ARP responder against a real eBPF datapath: it waits for the owner to pin
 * the maps, then owns the gateway ARP settings in pt_config and puts them back when changed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { EbpfBackend } from "@ptables/backend-ebpf";
import { createLogger, defaultConfig } from "@ptables/runtime";
import { ensureBpfObject } from "../../backend-ebpf/src/testing/bpf-object-build";
import { uniqueBpfDir } from "../../backend-ebpf/src/testing/test-bpf-dir";
import { ArpResponder, GATEWAY_ARP } from "./arp-responder";

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("privileged: ARP responder over pinned maps", () => {
  let dir: string;
  let bpfDir: string;
  let owner: EbpfBackend | undefined;
  let responder: ArpResponder | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-arpp-"));
    bpfDir = uniqueBpfDir();
  });
  afterEach(async () => {
    await responder?.stop();
    await owner?.close();
    if (bpfDir) fs.rmSync(bpfDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    responder = undefined;
    owner = undefined;
  });

  test("waits for the maps, programs the gateway answer, and restores it", async () => {
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), bpfDir, arpRefreshSecs: 1 };
    responder = new ArpResponder({ config, logger: createLogger({ component: "t", stream: new PassThrough().resume() }) });
    await responder.start();
    expect(responder.info()).toMatchObject({ arp: "waiting for the datapath" });

    owner = new EbpfBackend({ bpfDir, objectPath: ensureBpfObject(), mapSizes: { members: 1024, portSets: 256, rules: 1024, endpoints: 16, conntrack: 256, counters: 1024, frags: 16 } });
    await owner.open();
    owner.arpConfig.set({ enabled: false, gatewayMac: "02:00:00:00:00:01" });

    await waitFor(() => owner!.arpConfig.get().enabled, "the responder programmed the datapath");
    expect(owner.arpConfig.get()).toEqual(GATEWAY_ARP);
    expect(responder.info()).toMatchObject({ arp: "programmed", programmed: GATEWAY_ARP });

    owner.arpConfig.set({ enabled: false });
    await waitFor(() => owner!.arpConfig.get().enabled, "the responder restored the answer");
    expect(responder.corrections).toBeGreaterThanOrEqual(1);
  });
});
