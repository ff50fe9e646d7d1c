import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import type { ArpSettings } from "@ptables/backend-ebpf";
import { agent, health } from "@ptables/proto";
import { ServingStatus, createLogger, createPeerClient, defaultConfig, socketPaths } from "@ptables/runtime";
import { ARP_HEALTH, ArpResponder, GATEWAY_ARP, type ArpSettingsStore } from "./arp-responder";

/** A logger whose lines go nowhere (the assertions look at state, not at logs). */
function quietLogger() {
  return createLogger({ component: "t", stream: new PassThrough().resume() });
}

async function info(socketPath: string): Promise<Record<string, any>> {
  const client = createPeerClient(agent.AgentClient, socketPath);
  try {
    const res = await new Promise<agent.InfoResponse>((resolve, reject) => client.info({}, (e, r) => (e ? reject(e) : resolve(r))));
    return JSON.parse(res.detailJson);
  } finally {
    client.close();
  }
}

async function healthOf(socketPath: string, service: string): Promise<ServingStatus> {
  const client = createPeerClient(health.HealthClient, socketPath);
  try {
    return await new Promise((resolve, reject) => client.check({ service }, (e, r) => (e ? reject(e) : resolve(r.status))));
  } finally {
    client.close();
  }
}

/** pt_config's ARP fields, as the datapath would hold them before anyone set them. */
class MemoryArpStore implements ArpSettingsStore {
  settings: ArpSettings = { gatewayIp: "0.0.0.0", gatewayMac: "00:00:00:00:00:00", enabled: false };
  writes = 0;
  get(): ArpSettings {
    return { ...this.settings };
  }
  set(change: Partial<ArpSettings>): ArpSettings {
    this.writes++;
    this.settings = { ...this.settings, ...change };
    return this.get();
  }
}

describe("ArpResponder", () => {
  let dir: string;
  let responder: ArpResponder | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-arp-"));
  });
  afterEach(async () => {
    await responder?.stop();
    responder = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("programs the gateway answer, re-asserts it only when it differs, and reports it", async () => {
    const store = new MemoryArpStore();
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "ebpf" as const };
    responder = new ArpResponder({ config, logger: quietLogger(), store });
    await responder.start();
    const sock = socketPaths(config.runDir).arpResponder;
    await new Promise<void>((resolve) => {
      const poll = () => (responder!.programmed ? resolve() : setTimeout(poll, 10));
      poll();
    });
    expect(store.settings).toEqual(GATEWAY_ARP);
    expect(store.writes).toBe(1);
    expect(await healthOf(sock, ARP_HEALTH)).toBe(ServingStatus.SERVING);

    responder.assert(); // unchanged: no write
    expect(store.writes).toBe(1);
    store.settings = { ...store.settings, enabled: false }; // someone re-initialised the datapath
    responder.assert();
    expect(store.settings).toEqual(GATEWAY_ARP);
    expect(store.writes).toBe(2);

    const detail = await info(sock);
    expect(detail).toMatchObject({ backend: "ebpf", arp: "programmed", programmed: GATEWAY_ARP, corrections: 1 });
  });

  test("a failing store is reported, not fatal", async () => {
    const store = new MemoryArpStore();
    store.set = () => {
      throw new Error("map write failed");
    };
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "ebpf" as const };
    responder = new ArpResponder({ config, logger: quietLogger(), store });
    await responder.start();
    expect(responder.assert()).toBeUndefined();
    const detail = await info(socketPaths(config.runDir).arpResponder);
    expect(detail).toMatchObject({ arp: "waiting for the datapath", lastError: "map write failed" });
    expect(await healthOf(socketPaths(config.runDir).arpResponder, ARP_HEALTH)).toBe(ServingStatus.NOT_SERVING);
  });

  test("with the reference backend it programs nothing and says why", async () => {
    const config = { ...defaultConfig(), runDir: path.join(dir, "run"), backend: "reference" as const };
    responder = new ArpResponder({ config, logger: quietLogger() });
    await responder.start();
    const detail = await info(socketPaths(config.runDir).arpResponder);
    expect(detail).toMatchObject({ backend: "reference", arp: "not applicable" });
    expect(detail.reason).toContain("reference DPU");
  });
});
