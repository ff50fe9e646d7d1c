import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { felix } from "@ptables/proto";
import { DriverExitedError, FelixPlayer, PlayerTimeoutError } from "./driver-process";
import { demoScenarioPath, loadScenario, parseScenario } from "./scenario";
import { buildFelixStream } from "./stream";
import type { FakeDriverOptions } from "./testing/fake-driver";
import { fakeDriverEnv, writeFakeDriver } from "./testing/fake-driver";

let dir: string;
let driver: string;
const players: FelixPlayer[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "felix-player-"));
  driver = writeFakeDriver(dir);
});

afterEach(async () => {
  await Promise.all(players.splice(0).map((p) => p.stop()));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(options: FakeDriverOptions = {}, extra: Partial<ConstructorParameters<typeof FelixPlayer>[0]> = {}): FelixPlayer {
  const player = new FelixPlayer({ driver, env: fakeDriverEnv(options), ...extra });
  players.push(player);
  return player;
}

/** The "recv <seq> <field>" lines the fake driver logs for each frame it decodes. */
function received(player: FelixPlayer): string[] {
  return player.lastOutput.filter((l) => l.startsWith("recv "));
}

describe("FelixPlayer with a driver on fd 3/4", () => {
  test("plays the demo start of day; the driver reports every endpoint up and a process status", async () => {
    const stream = buildFelixStream(loadScenario(demoScenarioPath()));
    const player = start();
    const statuses: string[] = [];
    player.on("endpointStatus", (report) => statuses.push(`${report.key}=${report.status}`));
    await player.send(stream.startOfDay);
    await player.waitForEndpointStatus(stream.endpointsAtStart, "up", 20_000);
    expect(statuses.sort()).toEqual(stream.endpointsAtStart.map((k) => `${k}=up`));
    expect([...player.endpointStatuses.keys()].sort()).toEqual(stream.endpointsAtStart);
    // The frames arrived whole and in order: the driver decoded seq 0..n with the right payloads.
    const fieldOf: Record<string, number> = { configUpdate: 13, ipsetUpdate: 2, activePolicyUpdate: 7, activeProfileUpdate: 5, workloadEndpointUpdate: 11, serviceAccountUpdate: 19, namespaceUpdate: 21, hostMetadataUpdate: 14, inSync: 1 };
    const expected = stream.startOfDay.map((m) => `recv ${m.sequenceNumber} ${fieldOf[m.payload!.$case]}`);
    await waitUntil(() => received(player).length >= expected.length);
    expect(received(player)).toEqual(expected);
    await waitUntil(() => player.processStatusUpdates.length > 0);
    expect(player.processStatusUpdates[0].isoTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test("play() sends the steps after InSync; removes come back as status removes", async () => {
    const stream = buildFelixStream(
      parseScenario(`
nodes: [{name: a}]
namespaces: [{name: ns}]
pods: [{name: p1, namespace: ns, ips: [10.0.0.1]}, {name: p2, namespace: ns, ips: [10.0.0.2], state: down}]
steps:
  - {after: 10ms, removePod: {namespace: ns, name: p1}}
  - {after: 20ms, updatePod: {namespace: ns, name: p2, state: active}}
`),
    );
    const player = start();
    const removed: string[] = [];
    const steps: number[] = [];
    player.on("endpointStatusRemove", (key) => removed.push(key));
    player.on("step", (step) => steps.push(step.index));
    await player.play(stream);
    expect(steps).toEqual([0, 1]);
    await player.waitForEndpointStatus(["k8s/ns/p2/eth0"], "up", 20_000);
    await waitUntil(() => removed.length > 0);
    expect(removed).toEqual(["k8s/ns/p1/eth0"]);
    expect(player.endpointStatuses.has("k8s/ns/p1/eth0")).toBe(false);
  });

  test("play() stops sending steps once its signal aborts", async () => {
    const stream = buildFelixStream(parseScenario(`${"nodes: [{name: a}]\nnamespaces: [{name: n}]\npods: [{name: p, namespace: n}]"}
steps: [{after: 0, removePod: {namespace: n, name: p}}]`));
    const player = start();
    const abort = new AbortController();
    const steps: number[] = [];
    player.on("sent", (m) => m.payload?.$case === "inSync" && abort.abort());
    player.on("step", (s) => steps.push(s.index));
    await player.play(stream, { signal: abort.signal });
    expect(steps).toEqual([]);
  });

  test("a burst far larger than the pipe buffer arrives whole and in order", async () => {
    const members = Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const messages = Array.from({ length: 200 }, (_, i) =>
      felix.ToDataplane.fromPartial({ sequenceNumber: BigInt(i), payload: { $case: "ipsetUpdate", value: { id: `s:${i}`, members, type: felix.IPSetUpdate_IPSetType.NET } } }),
    );
    const player = start();
    await player.send(messages);
    // lastOutput keeps the last 50 lines: the last frames must be the last ones sent.
    await waitUntil(() => received(player).at(-1) === "recv 199 2");
    expect(received(player).slice(-3)).toEqual(["recv 197 2", "recv 198 2", "recv 199 2"]);
  });

  test("EOF on fd 3 (Felix gone) lets the driver exit by itself", async () => {
    const player = start();
    player.closeInput();
    const exit = await player.waitForExit();
    expect(exit).toMatchObject({ code: 0, signal: null, stopRequested: false, killed: false });
    expect(player.lastOutput).toContain("fake driver: EOF on fd 3");
  });

  test("a driver that exits on its own is detected with its exit code", async () => {
    const stream = buildFelixStream(parseScenario("nodes: [{name: a}]\nsteps: []"));
    const player = start({ exitOnInSync: 7 });
    const exits: number[] = [];
    player.on("exit", (exit) => exits.push(exit.code ?? -1));
    await player.send(stream.startOfDay);
    const exit = await player.waitForExit();
    expect(exit).toMatchObject({ code: 7, stopRequested: false });
    expect(exits).toEqual([7]);
    await expect(player.waitForEndpointStatus(["k8s/x/y/eth0"], "up", 1000)).rejects.toThrow(DriverExitedError);
    await expect(player.send(stream.startOfDay)).rejects.toThrow("driver exited with code 7");
  });

  test("a frame that does not decode is a protocol error and the driver is stopped", async () => {
    const stream = buildFelixStream(parseScenario("nodes: [{name: a}]"));
    const player = start({ sendGarbageOnInSync: true });
    const errors: string[] = [];
    player.on("protocolError", (err) => errors.push(err.message));
    await player.send(stream.startOfDay);
    const exit = await player.waitForExit();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^bad frame from driver on fd 4: /);
    expect(player.error?.message).toBe(errors[0]);
    expect(exit).toMatchObject({ stopRequested: true, signal: "SIGTERM", killed: false });
  });

  test("a frame cut short by the driver exiting is a protocol error too", async () => {
    const player = start({ sendTruncatedOnInSync: true });
    await player.send(buildFelixStream(parseScenario("nodes: [{name: a}]")).startOfDay);
    await player.waitForExit();
    expect(player.error?.message).toMatch(/^bad frame from driver on fd 4: frame at offset 0 is truncated/);
  });

  test("stop() sends SIGTERM, then SIGKILL when the driver ignores it", async () => {
    const player = start({ ignoreSigterm: true }, { stopTimeoutMs: 300 });
    await waitUntil(() => player.pid !== undefined);
    // Give the script time to install its handler before asking it to stop.
    await player.send(buildFelixStream(parseScenario("nodes: [{name: a}]")).startOfDay);
    await waitUntil(() => received(player).length > 0);
    const exit = await player.stop();
    expect(exit).toMatchObject({ signal: "SIGKILL", stopRequested: true, killed: true });
    expect(player.lastOutput).toContain("fake driver: ignoring SIGTERM");
  });

  test("runs the driver behind a wrapper argv, still with no arguments of its own", async () => {
    const player = start({}, { wrapper: ["env", "WRAPPED=1"] });
    const stream = buildFelixStream(parseScenario("nodes: [{name: a}]\nnamespaces: [{name: n}]\npods: [{name: p, namespace: n}]"));
    await player.send(stream.startOfDay);
    await player.waitForEndpointStatus(["k8s/n/p/eth0"], "up", 20_000);
  });

  test("a driver that cannot be started is reported, not thrown", async () => {
    const player = new FelixPlayer({ driver: path.join(dir, "missing-driver") });
    players.push(player);
    const exit = await player.waitForExit();
    expect(exit.code).toBe(127);
    expect(player.error?.message).toMatch(/^cannot start driver .*missing-driver: spawn .* ENOENT$/);
  });

  test("waiting for a status that never comes times out naming the endpoint", async () => {
    const player = start();
    await expect(player.waitForEndpointStatus(["k8s/ns/ghost/eth0"], "up", 100)).rejects.toThrow(
      new PlayerTimeoutError("timed out after 100ms waiting for up: k8s/ns/ghost/eth0 (no status)"),
    );
  });
});

/** Polls until `condition` holds; the test's own timeout bounds it. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
