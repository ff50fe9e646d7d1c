/**
 * build/ptables-felix-relay, run the way Felix runs its driver: no arguments, fd 3 and fd 4 as its
 * pipes, an environment without Node.js on PATH. Every relay suite runs against the binary for
 * this machine and, under qemu-user, against the cross-built one for the other architecture.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  BUILD_DIR,
  FakeFelixProxy,
  RELAY_BIN,
  checkTargetRunnable,
  commandPath,
  firstDifference,
  childProcessesMentioning,
  randomFrames,
  relayTargets,
  runRelay,
  startRelay,
  waitFor,
  writeInPieces,
  type FdKind,
  type RelayProcess,
  type RelayTarget,
} from "./testing/relay-harness";
import { EM_AARCH64, EM_X86_64, readElf } from "./testing/elf";

const VERSION = (JSON.parse(fs.readFileSync(path.resolve(__dirname, "../package.json"), "utf8")) as { version: string }).version;

describe.each(relayTargets().map((t) => [t.arch, t] as const))("ptables-felix-relay (%s)", (_arch, target: RelayTarget) => {
  let dir: string;
  let runDir: string;
  let emptyPath: string;
  let proxy: FakeFelixProxy | undefined;
  let relay: RelayProcess | undefined;

  beforeAll(() => checkTargetRunnable(target));
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-relay-"));
    runDir = path.join(dir, "run");
    fs.mkdirSync(runDir, { mode: 0o700 });
    // PATH without any directory that has node (or anything else) in it.
    emptyPath = path.join(dir, "empty-bin");
    fs.mkdirSync(emptyPath);
  });
  afterEach(async () => {
    if (relay && relay.child.exitCode === null && relay.child.signalCode === null) {
      relay.child.kill("SIGKILL");
      await relay.exit;
      relay.toRelay.destroy();
      relay.fromRelay.destroy();
      relay = undefined;
      throw new Error("the relay was still running after the test");
    }
    relay?.toRelay.destroy();
    relay?.fromRelay.destroy();
    relay = undefined;
    await proxy?.close();
    proxy = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => {
    expect(childProcessesMentioning(BUILD_DIR)).toEqual([]);
  });

  function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { PATH: emptyPath, PTABLES_RUN_DIR: runDir, ...extra };
  }

  async function listening(): Promise<FakeFelixProxy> {
    proxy = new FakeFelixProxy(path.join(runDir, "felix.sock"));
    await proxy.listen();
    return proxy;
  }

  test.each<FdKind>(["fifo", "socketpair"])("relays random frames byte for byte both ways, incl. a 1 MiB frame, and exits 0 when Felix closes fd 3 (%s fds)", async (fdKind) => {
    const p = await listening();
    relay = startRelay(target, dir, env(), fdKind);
    const toProxy = randomFrames(300);
    const toFelix = randomFrames(300);
    await waitFor(() => p.connections.length === 1, "the relay's connection");
    // Both directions at once: a relay that blocks on one side would stall the other.
    const sock = p.connections[0]!;
    await Promise.all([writeInPieces(relay.toRelay, toProxy), writeInPieces(sock, toFelix)]);
    await waitFor(() => p.received().length >= toProxy.length, "frames at felix.sock");
    await waitFor(() => relay!.received().length >= toFelix.length, "frames at fd 4");
    expect(firstDifference(p.received(), toProxy)).toBeNull();
    expect(firstDifference(relay.received(), toFelix)).toBeNull();

    relay.toRelay.end();
    expect(await relay.exit).toEqual({ code: 0, signal: null });
    await waitFor(() => p.sawEnd(), "end of file at felix.sock");
    expect(p.connections).toHaveLength(1);
    expect(relay.stderr()).toBe(
      `ptables-felix-relay: relaying Felix's stream to ${runDir}/felix.sock (version ${VERSION})\n` +
        `ptables-felix-relay: Felix closed fd 3 (relayed ${toProxy.length} bytes to felix-proxy, ${toFelix.length} bytes to Felix)\n`,
    );
  });

  test("hands over everything Felix wrote before closing fd 3, even when felix-proxy reads slowly", async () => {
    const p = await listening();
    relay = startRelay(target, dir, env(), "fifo");
    await waitFor(() => p.connections.length === 1, "the relay's connection");
    const sock = p.connections[0]!;
    sock.pause();
    const toProxy = randomFrames(200);
    // Felix writes everything and closes fd 3 (Node queues what the pipe cannot take yet).
    relay.toRelay.end(toProxy);
    await new Promise((r) => setTimeout(r, 300));
    // felix-proxy is not reading: the relay must still be flushing, not gone.
    expect(relay.child.exitCode).toBeNull();
    sock.resume();
    expect((await relay.exit).code).toBe(0);
    await waitFor(() => p.sawEnd(), "end of file at felix.sock");
    expect(firstDifference(p.received(), toProxy)).toBeNull();
  });

  test("exits 1 when felix-proxy closes the connection, after passing on what it sent", async () => {
    const p = await listening();
    relay = startRelay(target, dir, env(), "fifo");
    await waitFor(() => p.connections.length === 1, "the relay's connection");
    const last = randomFrames(20);
    p.connections[0]!.end(last);
    expect(await relay.exit).toEqual({ code: 1, signal: null });
    expect(firstDifference(relay.received(), last)).toBeNull();
    expect(relay.stderr()).toContain(`ptables-felix-relay: felix-proxy closed the connection (relayed 0 bytes to felix-proxy, ${last.length} bytes to Felix)\n`);
  });

  test("exits 1 when Felix closes fd 4", async () => {
    const p = await listening();
    relay = startRelay(target, dir, env(), "fifo");
    await waitFor(() => p.connections.length === 1, "the relay's connection");
    relay.fromRelay.destroy();
    expect(await relay.exit).toEqual({ code: 1, signal: null });
    expect(relay.stderr()).toContain("ptables-felix-relay: Felix closed fd 4 (");
  });

  test("exits 0 on SIGTERM, as Felix sends when it stops", async () => {
    const p = await listening();
    relay = startRelay(target, dir, env(), "fifo");
    await waitFor(() => p.connections.length === 1, "the relay's connection");
    relay.toRelay.write(randomFrames(3));
    await waitFor(() => p.received().length > 0, "bytes at felix.sock");
    relay.child.kill("SIGTERM");
    expect(await relay.exit).toEqual({ code: 0, signal: null });
    expect(relay.stderr()).toContain("ptables-felix-relay: stopping on SIGTERM (relayed ");
    await waitFor(() => p.sawEnd(), "the connection closed");
  });

  test("exits 3 naming the socket and the reason when felix.sock is absent", async () => {
    relay = startRelay(target, dir, env({ PTABLES_RELAY_CONNECT_SECS: "0" }), "fifo");
    expect(await relay.exit).toEqual({ code: 3, signal: null });
    expect(relay.stderr()).toBe(
      `ptables-felix-relay: cannot reach felix-proxy: ${runDir}/felix.sock (No such file or directory); is the ptables agent running on this node?\n`,
    );
  });

  test("keeps trying once a second for PTABLES_RELAY_CONNECT_SECS, then gives up", async () => {
    // A socket file nobody listens on: what a crashed felix-proxy leaves behind.
    const sockPath = path.join(runDir, "felix.sock");
    const crashed = spawnSync(process.execPath, ["-e", "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))", sockPath]);
    expect(crashed.signal).toBe("SIGKILL");
    expect(fs.statSync(sockPath).isSocket()).toBe(true);
    const started = Date.now();
    relay = startRelay(target, dir, env({ PTABLES_RELAY_CONNECT_SECS: "2" }), "fifo");
    expect(await relay.exit).toEqual({ code: 3, signal: null });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(6000);
    expect(relay.stderr()).toBe(
      `ptables-felix-relay: cannot reach felix-proxy after 2 s: ${runDir}/felix.sock (Connection refused); is the ptables agent running on this node?\n`,
    );
  });

  test("connects once felix-proxy starts listening within the retry window", async () => {
    relay = startRelay(target, dir, env({ PTABLES_RELAY_CONNECT_SECS: "10" }), "socketpair");
    const early = randomFrames(5);
    relay.toRelay.write(early); // Felix writes at once; the pipe holds it until the relay connects.
    await new Promise((r) => setTimeout(r, 1300));
    expect(relay.child.exitCode).toBeNull();
    const p = await listening();
    await waitFor(() => p.received().length >= early.length, "Felix's first bytes at felix.sock");
    expect(firstDifference(p.received(), early)).toBeNull();
    relay.toRelay.end();
    expect((await relay.exit).code).toBe(0);
  });

  test("exits 0 when Felix closes fd 3 or sends SIGTERM while felix-proxy is not there yet", async () => {
    relay = startRelay(target, dir, env({ PTABLES_RELAY_CONNECT_SECS: "30" }), "fifo");
    await new Promise((r) => setTimeout(r, 300));
    relay.toRelay.destroy();
    expect(await relay.exit).toEqual({ code: 0, signal: null });
    expect(relay.stderr()).toBe("ptables-felix-relay: Felix closed fd 3 before felix-proxy was reached\n");

    relay = startRelay(target, dir, env({ PTABLES_RELAY_CONNECT_SECS: "30" }), "fifo");
    await new Promise((r) => setTimeout(r, 300));
    relay.child.kill("SIGTERM");
    expect(await relay.exit).toEqual({ code: 0, signal: null });
    expect(relay.stderr()).toBe("ptables-felix-relay: stopping on SIGTERM before felix-proxy was reached\n");
  });

  test("refuses to run without Felix's fds, with exit code 2", () => {
    const none = runRelay(target, [], env());
    expect(none.status).toBe(2);
    expect(none.stderr).toBe(
      "ptables-felix-relay: fd 3 is not open: ptables-felix-relay must be started by Felix, which passes its pipes as fd 3 (to the driver) and fd 4 (from the driver)\n",
    );
    const ro = fs.openSync("/dev/null", "r");
    try {
      // fd 3 fine, fd 4 read-only: not the pipe Felix reads from.
      const r = runRelay(target, [], env(), [ro, ro]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^ptables-felix-relay: fd 4 is not writable: /);
    } finally {
      fs.closeSync(ro);
    }
  });

  test("refuses bad settings and arguments with exit code 2 and one line naming them", () => {
    const cases: Array<[string[], Record<string, string>, string]> = [
      [[], { PTABLES_RUN_DIR: "run/ptables" }, 'invalid configuration: environment: PTABLES_RUN_DIR: "run/ptables" is not an absolute path'],
      [[], { PTABLES_RELAY_CONNECT_SECS: "ten" }, 'invalid configuration: environment: PTABLES_RELAY_CONNECT_SECS: "ten" is not a whole number in 0..3600'],
      [[], { PTABLES_RELAY_CONNECT_SECS: "3601" }, 'invalid configuration: environment: PTABLES_RELAY_CONNECT_SECS: "3601" is not a whole number in 0..3600'],
      [[], { PTABLES_RELAY_CONNECT_SECS: "-1" }, 'invalid configuration: environment: PTABLES_RELAY_CONNECT_SECS: "-1" is not a whole number in 0..3600'],
      [[], { PTABLES_RUN_DIR: `/${"x".repeat(100)}` }, `invalid configuration: environment: PTABLES_RUN_DIR: "/${"x".repeat(100)}" is too long for a Unix socket path (96 bytes at most)`],
      [["--relay"], {}, 'unexpected argument "--relay" (Felix starts the driver without arguments; see --help)'],
    ];
    const null3 = fs.openSync("/dev/null", "r");
    const null4 = fs.openSync("/dev/null", "w");
    try {
      for (const [args, extra, message] of cases) {
        const r = runRelay(target, args, env(extra), [null3, null4]);
        expect({ args, extra, status: r.status, stderr: r.stderr }).toEqual({ args, extra, status: 2, stderr: `ptables-felix-relay: ${message}\n` });
      }
    } finally {
      fs.closeSync(null3);
      fs.closeSync(null4);
    }
  });

  test("--check reports whether felix-proxy listens, without starting a Felix session", async () => {
    const absent = runRelay(target, ["--check"], env());
    expect(absent.status).toBe(3);
    expect(absent.stderr).toContain(`${runDir}/felix.sock (No such file or directory)`);

    const p = await listening();
    // Asynchronous: the fake proxy lives in this process and must accept meanwhile.
    const probe = startRelay(target, dir, env(), "socketpair", ["--check"]);
    const r = { status: (await probe.exit).code, stdout: probe.stdout() };
    probe.toRelay.destroy();
    probe.fromRelay.destroy();
    expect(r).toEqual({ status: 0, stdout: `felix-proxy is listening at ${runDir}/felix.sock\n` });
    await waitFor(() => p.sawEnd(), "the probe connection closed");
    // A probe sends nothing: felix-proxy's listener tells it apart from Felix by that.
    expect(p.received()).toHaveLength(0);
  });

  test("without PTABLES_RUN_DIR it tries /var/run/ptables, then /var/run/calico/ptables", () => {
    const r = runRelay(target, ["--check"], { PATH: emptyPath });
    if (r.status === 0) {
      // Something on this machine listens there: it must be one of the two, in order.
      expect(r.stdout).toMatch(/^felix-proxy is listening at \/var\/run\/(calico\/)?ptables\/felix\.sock\n$/);
    } else {
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(
        /^ptables-felix-relay: cannot reach felix-proxy: \/var\/run\/ptables\/felix\.sock \([^)]+\), \/var\/run\/calico\/ptables\/felix\.sock \([^)]+\); /,
      );
    }
  });

  test("--version and --help answer on stdout with exit code 0", () => {
    expect(runRelay(target, ["--version"], env())).toEqual({ status: 0, stdout: `ptables-felix-relay ${VERSION}\n`, stderr: "" });
    const help = runRelay(target, ["--help"], env());
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Exit codes: 0 Felix closed fd 3 or a stop signal; 1 the connection ended otherwise;");
  });

  test("--install copies itself atomically, also over a copy that is running", async () => {
    const plugins = path.join(dir, "felix-plugins");
    fs.mkdirSync(plugins);
    const r = runRelay(target, ["--install", plugins], env());
    expect(r).toEqual({ status: 0, stdout: "", stderr: `ptables-felix-relay: installed ${plugins}/ptables-felix-relay (version ${VERSION})\n` });
    const installed = path.join(plugins, "ptables-felix-relay");
    expect(fs.readFileSync(installed).equals(fs.readFileSync(target.binary))).toBe(true);
    expect(fs.statSync(installed).mode & 0o777).toBe(0o755);

    // Felix is running the installed copy (waiting for felix-proxy) while an upgrade installs again:
    // writing into a running executable fails with ETXTBSY; a rename does not.
    const running = startRelay({ ...target, binary: installed }, dir, env({ PTABLES_RELAY_CONNECT_SECS: "30" }), "fifo");
    relay = running;
    await new Promise((res) => setTimeout(res, 200));
    const again = runRelay(target, ["--install", plugins], env());
    expect(again.status).toBe(0);
    expect(fs.readdirSync(plugins)).toEqual(["ptables-felix-relay"]); // no temporary file left
    expect(running.child.exitCode).toBeNull();
    const p = await listening();
    await waitFor(() => p.connections.length === 1, "the running copy connects");
    running.toRelay.end();
    expect((await running.exit).code).toBe(0);

    const missing = runRelay(target, ["--install", path.join(dir, "nope")], env());
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`ptables-felix-relay: install: cannot create a file in ${path.join(dir, "nope")}: No such file or directory\n`);
  });
});

describe("relay binaries", () => {
  test("build/ptables-felix-relay is this machine's build", () => {
    const native = relayTargets()[0]!;
    expect(fs.readFileSync(path.join(BUILD_DIR, "ptables-felix-relay")).equals(fs.readFileSync(native.binary))).toBe(true);
  });

  test.each(relayTargets().map((t) => [t.arch, t] as const))("the %s build is static: no interpreter, no shared libraries", (arch, target) => {
    checkTargetRunnable(target);
    expect(readElf(fs.readFileSync(target.binary))).toEqual({
      machine: arch === "amd64" ? EM_X86_64 : EM_AARCH64,
      type: 3, // ET_DYN: static-pie
      hasInterpreter: false,
      neededLibraries: 0,
    });
  });

  test("the ELF check tells a dynamically linked program apart", () => {
    const sh = readElf(fs.readFileSync(fs.realpathSync("/bin/sh")));
    expect(sh.hasInterpreter).toBe(true);
    expect(sh.neededLibraries).toBeGreaterThan(0);
  });

  const describeIfRoot = process.getuid?.() === 0 ? describe : describe.skip;
  describeIfRoot("as root", () => {
    test("runs in an empty root directory: nothing from the image is needed", () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-relay-chroot-"));
      try {
        fs.copyFileSync(RELAY_BIN, path.join(root, "relay"));
        fs.chmodSync(path.join(root, "relay"), 0o755);
        const r = spawnSync(commandPath("chroot") ?? "/usr/sbin/chroot", [root, "/relay", "--version"], { env: {} });
        expect({ status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() }).toEqual({ status: 0, stdout: `ptables-felix-relay ${VERSION}\n`, stderr: "" });
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  });
});
