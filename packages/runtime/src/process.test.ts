import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// runAgent owns process-wide state (signals, exit), so it is exercised in child processes
// running the built package (the test pipeline builds before testing).
const RUNTIME_DIST = path.resolve(__dirname, "../dist/index.js");

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runScript(script: string, env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Outcome>; stderr: () => string } {
  const child = spawn(process.execPath, ["-e", script], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Outcome>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })));
  return { child, done, stderr: () => stderr };
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("runAgent", () => {
  let dir: string;
  beforeAll(() => {
    if (!fs.existsSync(RUNTIME_DIST)) throw new Error(`${RUNTIME_DIST} is missing: run "npx tsc -b" first`);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-proc-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const serverScript = `
    const rt = require(${JSON.stringify(RUNTIME_DIST)});
    rt.runAgent("demo", async ({ config, logger }) => {
      const server = await rt.startAgentServer({ socketPath: config.runDir + "/demo.sock", agentName: "demo", version: "0", logger });
      return { stop: () => server.stop(500) };
    });`;

  test("SIGTERM stops the agent gracefully: exit 0, socket removed", async () => {
    const runDir = path.join(dir, "run");
    const sock = path.join(runDir, "demo.sock");
    const p = runScript(serverScript, { ...process.env, PTABLES_RUN_DIR: runDir });
    await waitFor(() => fs.existsSync(sock), "agent socket");
    p.child.kill("SIGTERM");
    const out = await p.done;
    expect(out.code).toBe(0);
    expect(fs.existsSync(sock)).toBe(false);
    expect(out.stderr).toContain("stopping reason=SIGTERM");
  });

  test("a bad configuration exits 2 with one clear line on stderr", async () => {
    const p = runScript(serverScript, { ...process.env, PTABLES_LOG_LEVEL: "loud" });
    const out = await p.done;
    expect(out.code).toBe(2);
    expect(out.stderr).toBe('demo: invalid configuration: environment: PTABLES_LOG_LEVEL: "loud" is not one of error|warn|info|debug\n');
  });

  test("an uncaught error is logged and exits non-zero", async () => {
    const script = `
      const rt = require(${JSON.stringify(RUNTIME_DIST)});
      rt.runAgent("demo", async () => {
        setTimeout(() => { throw new Error("boom in a timer"); }, 10);
        setInterval(() => undefined, 1000);
        return { stop: async () => undefined };
      });`;
    const out = await runScript(script, { ...process.env, PTABLES_RUN_DIR: dir }).done;
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("uncaught exception");
    expect(out.stderr).toContain("boom in a timer");
  });

  test("a stop that hangs is cut off and exits non-zero", async () => {
    const script = `
      const rt = require(${JSON.stringify(RUNTIME_DIST)});
      rt.runAgent("demo", async () => {
        setInterval(() => undefined, 1000);
        process.stderr.write("ready\\n");
        return { stop: () => new Promise(() => undefined) };
      }, { stopTimeoutMs: 300 });`;
    const p = runScript(script, { ...process.env, PTABLES_RUN_DIR: dir });
    await waitFor(() => p.stderr().includes("ready"), "agent start");
    p.child.kill("SIGTERM");
    const out = await p.done;
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("graceful stop did not finish in time");
  });

  test("shutdown(code) stops and exits with that code", async () => {
    const script = `
      const rt = require(${JSON.stringify(RUNTIME_DIST)});
      rt.runAgent("demo", async ({ shutdown }) => {
        setInterval(() => undefined, 1000);
        setTimeout(() => shutdown(3, "peer closed"), 20);
        return { stop: async () => process.stderr.write("stop called\\n") };
      });`;
    const out = await runScript(script, { ...process.env, PTABLES_RUN_DIR: dir }).done;
    expect(out.code).toBe(3);
    expect(out.stderr).toContain("stop called");
  });

  test("a supervised agent stops when its parent's IPC channel closes", async () => {
    const runDir = path.join(dir, "run");
    const sock = path.join(runDir, "demo.sock");
    const child = spawn(process.execPath, ["-e", serverScript], {
      env: { ...process.env, PTABLES_RUN_DIR: runDir },
      stdio: ["ignore", "ignore", "ignore", "ipc"],
    });
    const done = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitFor(() => fs.existsSync(sock), "agent socket");
    child.disconnect();
    expect(await done).toBe(0);
    expect(fs.existsSync(sock)).toBe(false);
  });
});
