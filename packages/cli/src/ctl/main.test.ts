import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { cleanupCommand } from "../cleanup";
import type { CliIo } from "../cli-io";
import { main } from "../main";
import { CTL_COMMANDS, ctlMain, splitCommandLine } from "./main";
import { inferDirection } from "./trace";
import { parsePacket } from "./packet";

interface Run {
  code: number;
  out: string[];
  err: string[];
}

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptablesctl-"))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function io(env: NodeJS.ProcessEnv = {}): CliIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out: (l) => out_.push(l), err: (l) => err_.push(l), env: { PTABLES_RUN_DIR: dir, ...env }, out_, err_ };
}

async function ctl(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const i = io(env);
  const code = await ctlMain(argv, i);
  return { code, out: i.out_, err: i.err_ };
}

describe("ptablesctl command line", () => {
  test("help lists every command; no command is a usage error", async () => {
    const help = await ctl(["help"]);
    expect(help.code).toBe(0);
    for (const c of CTL_COMMANDS) expect(help.out.some((l) => l.startsWith(`  ${c.name} `))).toBe(true);
    expect(help.out.join("\n")).toContain("3 agent not reachable");
    const bare = await ctl([]);
    expect(bare.code).toBe(2);
    expect(bare.err).toEqual(help.out);
  });

  test("--json and --run-dir may come before the command", () => {
    expect(splitCommandLine(["--json", "--run-dir", "/x", "status"])).toEqual({ name: "status", args: ["--json", "--run-dir", "/x"] });
    expect(splitCommandLine(["--run-dir=/x", "trace", "cali1", "tcp 1.1.1.1:1 -> 2.2.2.2:2"])).toEqual({ name: "trace", args: ["--run-dir=/x", "cali1", "tcp 1.1.1.1:1 -> 2.2.2.2:2"] });
  });

  const usageErrors: Array<[string[], string]> = [
    [["frobnicate"], "ptablesctl: frobnicate: unknown command (expected one of: status, endpoints, policy, ipsets, routes, flows, trace, cleanup, help)"],
    [["status", "extra"], "ptablesctl status: extra: unexpected argument"],
    [["status", "--verbose"], "ptablesctl status: --verbose: unknown option (expected --json, --run-dir)"],
    [["policy"], "ptablesctl policy: endpoint: missing (give a workload endpoint key, an interface name or a host endpoint key)"],
    [["flows", "--limit", "0"], "ptablesctl flows: --limit: '0' is not a number 1..100000"],
    [["flows", "--limit", "many"], "ptablesctl flows: --limit: 'many' is not a number 1..100000"],
    [["trace"], "ptablesctl trace: endpoint: missing"],
    [["trace", "cali1"], "ptablesctl trace: packet: missing (expected '<tcp|udp|sctp>"],
    [["trace", "cali1", "tcp 10.0.0.300:1 -> 10.0.0.1:80"], "ptablesctl trace: packet: '10.0.0.300' is not an IP address"],
    [["trace", "cali1", "tcp", "10.0.0.1:1", "->", "10.0.0.2:80", "--direction", "up"], "ptablesctl trace: --direction: 'up' is not ingress or egress"],
    [["endpoints", "--run-dir", ""], "ptablesctl endpoints: --run-dir: needs a directory"],
    [["cleanup", "--bpf-dir", "relative/dir"], "ptablesctl cleanup: --bpf-dir: 'relative/dir' is not an absolute path"],
  ];
  test.each(usageErrors)("%j is a usage error naming the argument (exit 2)", async (argv, message) => {
    // The trace --direction check needs an answering programmer only after the packet parsed.
    const listening = argv.includes("--direction") ? await fakeSocket(path.join(dir, "policy-programmer.sock")) : undefined;
    try {
      const r = await ctl(argv);
      expect(r.err[0]).toContain(message);
      expect(r.code).toBe(2);
      expect(r.out).toEqual([]);
    } finally {
      listening?.close();
    }
  });

  test("a bad PTABLES_ variable is a usage error naming it", async () => {
    const r = await ctl(["endpoints"], { PTABLES_RUN_DIR: "relative" });
    expect(r.code).toBe(2);
    expect(r.err[0]).toBe('ptablesctl endpoints: configuration: environment: PTABLES_RUN_DIR: "relative" is not an absolute path');
  });

  test("an agent that is not running: exit 3, naming the agent and its socket", async () => {
    for (const [argv, agent] of [
      [["endpoints"], "policy-programmer"],
      [["policy", "cali1"], "policy-programmer"],
      [["trace", "cali1", "tcp 10.0.0.1:1 -> 10.0.0.2:80", "--direction", "ingress"], "policy-programmer"],
      [["flows"], "offload-daemon"],
    ] as const) {
      const r = await ctl([...argv]);
      expect(r.code).toBe(3);
      expect(r.err).toEqual([`ptablesctl ${argv[0]}: ${agent} is not reachable at ${path.join(dir, `${agent}.sock`)}: no socket there (is ptables running, and is --run-dir right?)`]);
    }
  });

  test("a stale socket nobody listens on is told apart from a missing one", async () => {
    const sock = path.join(dir, "policy-programmer.sock");
    const server = await fakeSocket(sock);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.writeFileSync(sock, ""); // what a killed agent leaves behind is a file nobody accepts on
    const r = await ctl(["ipsets", "--run-dir", dir]);
    expect(r.code).toBe(3);
    expect(r.err[0]).toContain("policy-programmer is not reachable at");
    expect(r.err[0]).toContain("nothing listens on the socket");
  });

  test("status with no agents: every one is listed as unreachable, exit 3", async () => {
    const r = await ctl(["status", "--json"]);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.out.join("\n"));
    expect(doc.agents.map((a: { agent: string; reachable: boolean }) => [a.agent, a.reachable])).toEqual([
      ["felix-proxy", false],
      ["policy-programmer", false],
      ["arp-responder", false],
      ["offload-daemon", false],
    ]);
    expect(r.err).toHaveLength(4);
    expect(r.err[0]).toBe(`ptablesctl status: felix-proxy is not reachable at ${path.join(dir, "felix-proxy.sock")}: no socket there (is ptables running, and is --run-dir right?)`);
  });

  test("trace infers the direction from the endpoint's addresses", () => {
    const p = parsePacket("tcp 10.65.0.9:1 -> 10.65.0.2:80");
    expect(inferDirection(p, ["10.65.0.2/32"])).toBe("ingress");
    expect(inferDirection(p, ["10.65.0.0/24"])).toBe("ingress");
    expect(inferDirection(p, ["10.65.0.9/32", "fd00::9/128"])).toBe("egress");
    expect(() => inferDirection(p, ["10.66.0.1/32"])).toThrow("--direction: the endpoint's addresses (10.66.0.1/32) are neither the source nor the destination; give --direction ingress|egress");
  });
});

/** Something accepting connections on a Unix socket (not gRPC: enough for the reachability check). */
async function fakeSocket(socketPath: string): Promise<net.Server> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}

describe("cleanup (ptables and ptablesctl)", () => {
  function fakeBackend(fail?: string) {
    const calls: string[] = [];
    const factory = async (bpfDir: string) => ({
      cleanup: async () => {
        calls.push(bpfDir);
        if (fail) throw new Error(fail);
      },
    });
    return { calls, factory };
  }

  test("removes through the backend's cleanup, for the configured or given BPF dir", async () => {
    const b = fakeBackend();
    const i = io({ PTABLES_BPF_DIR: "/sys/fs/bpf/pt-test" });
    expect(await cleanupCommand("ptablesctl", b.factory).run([], i)).toBe(0);
    expect(await cleanupCommand("ptablesctl", b.factory).run(["--bpf-dir", "/sys/fs/bpf/other", "--json"], i)).toBe(0);
    expect(b.calls).toEqual(["/sys/fs/bpf/pt-test", "/sys/fs/bpf/other"]);
    expect(i.out_[0]).toBe("Removed ptables' tc filters, owned routes and neighbours, and the pins in /sys/fs/bpf/pt-test.");
    expect(JSON.parse(i.out_[1]!)).toEqual({ bpfDir: "/sys/fs/bpf/other", cleaned: true });
  });

  test("is refused while an agent answers, unless --force", async () => {
    const server = await fakeSocket(path.join(dir, "policy-programmer.sock"));
    try {
      const b = fakeBackend();
      const i = io();
      expect(await cleanupCommand("ptables", b.factory).run([], i)).toBe(1);
      expect(b.calls).toEqual([]);
      expect(i.err_[0]).toBe(`ptables cleanup: refused: ptables is running here (policy-programmer (${path.join(dir, "policy-programmer.sock")}) answer); stop it first, or pass --force`);
      expect(await cleanupCommand("ptables", b.factory).run(["--force"], i)).toBe(0);
      expect(b.calls).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  test("a failure is exit 1 with the reason, and a hint when it is about permissions", async () => {
    const i = io();
    expect(await cleanupCommand("ptablesctl", fakeBackend("detach ingress filter from eth0: Operation not permitted").factory).run([], i)).toBe(1);
    expect(i.err_).toEqual(["ptablesctl cleanup: detach ingress filter from eth0: Operation not permitted (run as root)"]);
  });

  test("`ptables cleanup` is registered in the ptables command", async () => {
    const i = io();
    expect(await main(["help", "cleanup"], i)).toBe(0);
    expect(i.out_[0]).toMatch(/^Usage: ptables cleanup \[--bpf-dir <dir>\]/);
  });
});
