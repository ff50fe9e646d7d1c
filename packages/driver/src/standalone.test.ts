import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { agent } from "@ptables/proto";
import { createPeerClient, socketPaths } from "@ptables/runtime";
import { FromDataplaneCollector, frameOf, startOfDay } from "../../felix-proxy/src/testing/felix-messages";
import { STANDALONE_AGENTS, agentScript } from "./standalone";
import { childPids, fdTarget, isAlive, scriptOf, startDriver, waitFor, type DriverProcess } from "./testing/felix-pipes";

const DRIVER_DIST = path.resolve(__dirname, "../dist/main.js");

async function info(socketPath: string): Promise<Record<string, any>> {
  const client = createPeerClient(agent.AgentClient, socketPath);
  try {
    const res = await new Promise<agent.InfoResponse>((resolve, reject) => client.info({}, (e, r) => (e ? reject(e) : resolve(r))));
    return JSON.parse(res.detailJson);
  } finally {
    client.close();
  }
}

/** The driver's agent children by name. */
function agentsOf(driverPid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of childPids(driverPid)) {
    const name = STANDALONE_AGENTS.find((a) => scriptOf(pid) === agentScript(a));
    if (name) out.set(name, pid);
  }
  return out;
}

describe("ptables-felix-driver standalone mode (real child processes, reference backend)", () => {
  let dir: string;
  let runDir: string;
  let driver: DriverProcess | undefined;
  let seenPids: number[] = [];

  beforeAll(() => {
    for (const f of [DRIVER_DIST, ...STANDALONE_AGENTS.map(agentScript)]) {
      if (!fs.existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" first`);
    }
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-standalone-"));
    runDir = path.join(dir, "run");
    seenPids = [];
  });
  afterEach(async () => {
    if (driver && driver.child.exitCode === null && driver.child.signalCode === null) {
      driver.child.kill("SIGKILL");
      await driver.exit;
    }
    // Agents notice a SIGKILLed driver through their IPC channel; make sure none is left.
    for (const pid of seenPids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    driver?.toDriver.destroy();
    driver?.fromDriver.destroy();
    driver = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function envFor(base: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PTABLES_RUN_DIR: path.join(base, "run"),
      PTABLES_STATE_DIR: path.join(base, "state"),
      PTABLES_BPF_DIR: path.join(base, "bpf"),
      PTABLES_BACKEND: "reference",
    };
  }

  function start(): DriverProcess {
    driver = startDriver(dir, envFor(dir));
    return driver;
  }

  async function waitForAgents(d: DriverProcess): Promise<Map<string, number>> {
    const socks = socketPaths(runDir);
    await waitFor(() => [socks.felixProxy, socks.policyProgrammer, socks.arpResponder, socks.offloadDaemon].every((s) => fs.existsSync(s)), `all agent sockets\n${d.stderr()}`);
    const agents = agentsOf(d.child.pid!);
    seenPids.push(...agents.values());
    return agents;
  }

  test("statuses flow end to end, killed agents come back and resync, SIGTERM stops everything", async () => {
    const d = start();
    const agents = await waitForAgents(d);
    expect([...agents.keys()].sort()).toEqual([...STANDALONE_AGENTS].sort());
    for (const pid of agents.values()) {
      // Felix's pipes stay with the driver: fd 3 is the IPC channel, fd 4 /dev/null.
      expect(fdTarget(pid, 3)).toMatch(/^socket:/);
      expect(fdTarget(pid, 4)).toBe("/dev/null");
    }

    const replies = new FromDataplaneCollector();
    d.fromDriver.on("data", (c: Buffer) => replies.push(c));
    d.toDriver.write(Buffer.concat(startOfDay().map(frameOf)));
    await waitFor(() => replies.of("workloadEndpointStatusUpdate").some((s) => s.status?.status === "up"), `endpoint up\n${d.stderr()}`);
    await waitFor(() => replies.of("processStatusUpdate").length >= 1, "process status");

    // SIGKILL the programmer: it is restarted and receives a fresh snapshot.
    const socks = socketPaths(runDir);
    const snapshotsBefore = (await info(socks.felixProxy)).snapshotsSent as number;
    process.kill(agents.get("policy-programmer")!, "SIGKILL");
    await waitFor(() => {
      const pid = agentsOf(d.child.pid!).get("policy-programmer");
      return pid !== undefined && pid !== agents.get("policy-programmer");
    }, "programmer restarted");
    seenPids.push(...agentsOf(d.child.pid!).values());
    let proxyInfo: Record<string, any> = {};
    await waitFor(() => {
      void info(socks.felixProxy).then((i) => (proxyInfo = i));
      return proxyInfo.snapshotsSent > snapshotsBefore && proxyInfo.programmerConnected === true;
    }, "snapshot to the restarted programmer");
    // The restarted programmer applies the snapshot and reports the endpoint programmed again:
    // Felix hears no change.
    await waitFor(() => {
      void info(socks.felixProxy).then((i) => (proxyInfo = i));
      return proxyInfo.appliedVersion === proxyInfo.sentVersion && proxyInfo.endpointStatuses?.up === 1;
    }, "the restarted programmer caught up");
    expect(replies.of("workloadEndpointStatusUpdate").map((s) => s.status?.status)).toEqual(["up"]);

    // SIGKILL another agent: it comes back too.
    process.kill(agents.get("arp-responder")!, "SIGKILL");
    await waitFor(() => {
      const pid = agentsOf(d.child.pid!).get("arp-responder");
      return pid !== undefined && pid !== agents.get("arp-responder");
    }, "arp-responder restarted");
    const children = agentsOf(d.child.pid!);
    seenPids.push(...children.values());
    let arpInfo: Record<string, any> = {};
    await waitFor(() => {
      void info(socks.arpResponder).then((i) => (arpInfo = i), () => undefined);
      return arpInfo.arp === "not applicable";
    }, "the restarted arp-responder serving");

    d.child.kill("SIGTERM");
    expect(await d.exit).toEqual({ code: 0, signal: null });
    for (const pid of children.values()) expect(isAlive(pid)).toBe(false);
    expect([socks.felixProxy, socks.policyProgrammer, socks.arpResponder, socks.offloadDaemon].filter((s) => fs.existsSync(s))).toEqual([]);
  });

  test("Felix closing fd 3 stops the agents and exits 0", async () => {
    const d = start();
    const agents = await waitForAgents(d);
    d.toDriver.end();
    expect(await d.exit).toEqual({ code: 0, signal: null });
    for (const pid of agents.values()) expect(isAlive(pid)).toBe(false);
  });

  test("a protocol error exits non-zero so that Felix restarts, and stops the agents", async () => {
    const d = start();
    const agents = await waitForAgents(d);
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(1n << 40n);
    d.toDriver.write(header);
    expect((await d.exit).code).toBe(1);
    expect(d.stderr()).toMatch(/protocol error from Felix.*offset=0/);
    for (const pid of agents.values()) expect(isAlive(pid)).toBe(false);
  });

  test("a SIGKILLed driver leaves no agents behind", async () => {
    const d = start();
    const agents = await waitForAgents(d);
    d.child.kill("SIGKILL");
    await d.exit;
    await waitFor(() => [...agents.values()].every((pid) => !isAlive(pid)), "agents gone after the driver died");
  });

  test("two drivers with different directories run side by side", async () => {
    const first = start();
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-standalone-b-"));
    const second = startDriver(otherDir, envFor(otherDir));
    try {
      const repliesA = new FromDataplaneCollector();
      const repliesB = new FromDataplaneCollector();
      first.fromDriver.on("data", (c: Buffer) => repliesA.push(c));
      second.fromDriver.on("data", (c: Buffer) => repliesB.push(c));
      first.toDriver.write(Buffer.concat(startOfDay().map(frameOf)));
      second.toDriver.write(Buffer.concat(startOfDay().map(frameOf)));
      await waitFor(() => repliesA.of("workloadEndpointStatusUpdate").length === 1, `first driver's status\n${first.stderr()}`);
      await waitFor(() => repliesB.of("workloadEndpointStatusUpdate").length === 1, `second driver's status\n${second.stderr()}`);
      seenPids.push(...agentsOf(first.child.pid!).values(), ...agentsOf(second.child.pid!).values());
      first.toDriver.end();
      second.toDriver.end();
      expect((await first.exit).code).toBe(0);
      expect((await second.exit).code).toBe(0);
    } finally {
      if (second.child.exitCode === null && second.child.signalCode === null) second.child.kill("SIGKILL");
      await second.exit;
      second.toDriver.destroy();
      second.fromDriver.destroy();
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
