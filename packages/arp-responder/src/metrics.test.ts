import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import type { ArpSettings } from "@ptables/backend-ebpf";
import { createAgentRegistry, createLogger, defaultConfig, freeTcpPort, httpGet, type Registry } from "@ptables/runtime";
import { ArpResponder, GATEWAY_ARP, type ArpSettingsStore } from "./arp-responder";
import { registerArpResponderMetrics, startArpResponderHttp } from "./metrics";

const logger = createLogger({ component: "t", level: "error", stream: new PassThrough().resume() });

/** pt_config's ARP fields in memory; `broken` makes every access fail like a missing map would. */
class MemoryArpStore implements ArpSettingsStore {
  settings: ArpSettings = { gatewayIp: "0.0.0.0", gatewayMac: "00:00:00:00:00:00", enabled: false };
  broken: string | undefined;
  get(): ArpSettings {
    if (this.broken) throw new Error(this.broken);
    return { ...this.settings };
  }
  set(change: Partial<ArpSettings>): ArpSettings {
    this.settings = { ...this.settings, ...change };
    return this.get();
  }
}

async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("arp-responder health and metrics", () => {
  let dir: string;
  let responder: ArpResponder | undefined;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-arpm-"))));
  afterEach(async () => {
    await responder?.stop();
    responder = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("ready once the answer is programmed; corrections and failures are counted", async () => {
    const store = new MemoryArpStore();
    const port = await freeTcpPort();
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "ebpf" as const, httpPorts: { ...defaultConfig().httpPorts, arpResponder: port } };
    responder = new ArpResponder({ config, logger, store });
    const registry = createAgentRegistry("arp-responder");
    registerArpResponderMetrics(registry, responder);
    await responder.start();
    const http = await startArpResponderHttp(responder, config, logger);
    try {
      // start() asserts at once with an injected store.
      expect(store.settings).toEqual(GATEWAY_ARP);
      const ready = await httpGet(`http://127.0.0.1:${port}/readiness`);
      expect([ready.status, JSON.parse(ready.body).checks.arp]).toEqual([200, "programmed"]);
      expect((await httpGet(`http://127.0.0.1:${port}/liveness`)).status).toBe(200);
      const a = 'agent="arp-responder"';
      expect(await sample(registry, `ptables_arp_responder_gateway_programmed{${a}}`)).toBe(1);
      expect(await sample(registry, `ptables_arp_responder_config_corrections_total{${a}}`)).toBe(0);

      store.settings = { ...store.settings, enabled: false }; // a re-initialised datapath
      responder.assert();
      expect(await sample(registry, `ptables_arp_responder_config_corrections_total{${a}}`)).toBe(1);

      store.broken = "pt_config: no such map";
      responder.assert();
      expect(responder.readiness()).toEqual({ ok: false, detail: { arp: "failing", lastError: "pt_config: no such map", lastAssertAt: expect.any(String) } });
      expect((await httpGet(`http://127.0.0.1:${port}/readiness`)).status).toBe(503);
      expect(await sample(registry, `ptables_arp_responder_assert_failures_total{${a}}`)).toBe(1);
      expect(await sample(registry, `ptables_arp_responder_gateway_programmed{${a}}`)).toBe(0);
    } finally {
      await http?.stop();
    }
  });

  test("with the reference backend there is nothing to program: ready, and the gateway gauge is 0", async () => {
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "reference" as const };
    responder = new ArpResponder({ config, logger });
    const registry = createAgentRegistry("arp-responder");
    registerArpResponderMetrics(registry, responder);
    await responder.start();
    expect(responder.readiness()).toEqual({ ok: true, detail: { arp: "not applicable", reason: expect.stringContaining("reference DPU") } });
    expect(await sample(registry, 'ptables_arp_responder_gateway_programmed{agent="arp-responder"}')).toBe(0);
  });
});
