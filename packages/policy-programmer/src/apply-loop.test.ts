/** The apply loop: one apply at a time, coalescing what arrives meanwhile, and coming back for retries. */
import { sync } from "@ptables/proto";
import { ApplyLoop } from "./apply-loop";
import { Programmer } from "./programmer";
import { deltaOf, snapshotOf, statusOf, WEP } from "./testing/fixtures";
import type { HostInterface } from "@ptables/api";
import { DEFAULT_TEST_CAPS, RecordingBackend } from "./testing/recording-backend";
import { STATES } from "./testing/states";

const web = STATES.web!.state;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`never happened: ${what}`);
}

describe("ApplyLoop", () => {
  test("changes arriving during an apply are programmed together by the next one", async () => {
    const backend = new RecordingBackend();
    // Hold the first apply inside its readback until released.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const loadAll = backend.tables.setMembers.loadAll.bind(backend.tables.setMembers);
    backend.tables.setMembers.loadAll = async () => (await held, loadAll());
    const programmer = new Programmer(backend);
    const responses: sync.SyncResponse[] = [];
    const errors: unknown[] = [];
    const loop = new ApplyLoop(programmer, (r) => responses.push(r), { debug() {}, info() {}, warn() {}, error: (_m, meta) => errors.push(meta) });

    programmer.applySnapshot(snapshotOf(web, 1n));
    loop.kick();
    for (let v = 2n; v <= 6n; v++) {
      programmer.applyDelta(deltaOf(v, [{ $case: "ipSetDelta", value: { id: "s-web", added: [`10.0.7.${v}/32`], removed: [] } }]));
      loop.kick();
    }
    release();
    await loop.idle();
    expect(errors).toEqual([]);
    expect(programmer.applies).toBe(2);
    expect(responses.map((r) => r.appliedVersion)).toEqual([1n, 6n]);
    expect([...backend.tables.setMembers.entries.keys()].filter((k) => k.includes("10.0.7.")).length).toBe(5);
    await loop.stop();
  });

  test("a failed write is retried on its own once its backoff is due", async () => {
    const backend = new RecordingBackend();
    backend.fault = (table, op, key) => (table === "endpoints" && key === "cali2" ? "port not ready" : undefined);
    const programmer = new Programmer(backend, { retry: { minMs: 5, maxMs: 20 } });
    const loop = new ApplyLoop(programmer, () => undefined, { debug() {}, info() {}, warn() {}, error() {} });
    programmer.applySnapshot(snapshotOf(web, 1n));
    loop.kick();
    await loop.idle();
    expect(statusOf(programmer, WEP, "k8s/default/pod2/eth0")).toEqual({ state: "ERROR", reason: "not programmed yet, retrying: endpoint entry: port not ready" });
    backend.fault = undefined;
    // Nothing kicks the loop from outside: the retry timer has to.
    await until(() => statusOf(programmer, WEP, "k8s/default/pod2/eth0")?.state === "PROGRAMMED", "the retry programs the endpoint");
    expect(backend.tables.endpoints.entries.has("cali2")).toBe(true);
    await loop.stop();
  });

  test("a host interface rescan that finds nothing new does not request an apply; one that finds a change does", async () => {
    class ScannedBackend extends RecordingBackend {
      interfaces: HostInterface[] = [{ ifname: "eth0", ethernet: true, up: true, addrs: ["10.0.0.1/24"] }];
      scans = 0;
      constructor() {
        super({ ...DEFAULT_TEST_CAPS, hostEndpoints: true });
      }
      hostInterfaces(): Promise<HostInterface[]> {
        this.scans++;
        return Promise.resolve(structuredClone(this.interfaces));
      }
    }
    const backend = new ScannedBackend();
    const programmer = new Programmer(backend, { hostInterfaceScanMs: 10 });
    const loop = new ApplyLoop(programmer, () => undefined, { debug() {}, info() {}, warn() {}, error() {} });
    programmer.applySnapshot(snapshotOf(web, 1n));
    loop.kick();
    await loop.idle();
    const applies = programmer.applies;
    const scans = backend.scans;
    await until(() => backend.scans >= scans + 3, "three more rescans");
    expect(programmer.applies).toBe(applies);
    // An address appears: the rescan requests an apply.
    backend.interfaces = [{ ifname: "eth0", ethernet: true, up: true, addrs: ["10.0.0.1/24", "fe80::1/64"] }];
    await until(() => programmer.applies > applies, "an apply after the changed rescan");
    const applies2 = programmer.applies;
    // The same addresses listed in another order: no change, no apply.
    backend.interfaces = [{ ifname: "eth0", ethernet: true, up: true, addrs: ["fe80::1/64", "10.0.0.1/24"] }];
    const more = backend.scans;
    await until(() => backend.scans >= more + 2, "two more rescans");
    expect(programmer.applies).toBe(applies2);
    // Another new address: an apply again.
    backend.interfaces = [{ ifname: "eth0", ethernet: true, up: true, addrs: ["10.0.0.1/24", "10.0.0.2/24"] }];
    await until(() => programmer.applies > applies2, "an apply after the changed rescan");
    await loop.stop();
  });
});
