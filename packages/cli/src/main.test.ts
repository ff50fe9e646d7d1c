import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { CliIo } from "./cli-io";
import type { FakeDriverOptions } from "./felix-player";
import { fakeDriverEnv, writeFakeDriver } from "./felix-player";
import { COMMANDS, main } from "./main";

interface Run {
  code: number;
  out: string[];
  err: string[];
}

async function run(argv: string[], fake: FakeDriverOptions = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env: fakeDriverEnv(fake) };
  const code = await main(argv, io);
  return { code, out, err };
}

let dir: string;
let driver: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ptables-cli-"));
  driver = writeFakeDriver(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ptables command line", () => {
  test("lists its commands", async () => {
    const help = await run(["help"]);
    expect(help.code).toBe(0);
    expect(help.out[0]).toBe("Usage: ptables <command> [arguments]");
    for (const command of COMMANDS) expect(help.out.some((l) => l.startsWith(`  ${command.name} `))).toBe(true);
    const bare = await run([]);
    expect(bare.code).toBe(2);
    expect(bare.err).toEqual(help.out);
  });

  test("shows a command's help", async () => {
    for (const argv of [["help", "felix-play"], ["felix-play", "--help"]]) {
      const result = await run(argv);
      expect(result.code).toBe(0);
      expect(result.out.join("\n")).toMatch(/^Usage: ptables felix-play \[<scenario.yaml>\] \[--driver <path>\]/);
    }
  });

  const usageErrors: [string[], string][] = [
    [["frobnicate"], "ptables: frobnicate: unknown command (expected one of: felix-play, cleanup, help)"],
    [["help", "nope"], "ptables help: nope: unknown command"],
    [["felix-play", "--bogus"], "ptables felix-play: --bogus: unknown option (expected --driver, --node, --duration, --json)"],
    [["felix-play", "-x"], "ptables felix-play: -x: unknown option"],
    [["felix-play", "--driver"], "ptables felix-play: --driver: needs a value"],
    [["felix-play", "--json=yes"], "ptables felix-play: --json: takes no value"],
    [["felix-play", "--node", "a", "--node", "b"], "ptables felix-play: --node: given more than once"],
    [["felix-play", "--duration", "1s"], 'ptables felix-play: --duration: expected a number of milliseconds, got "1s"'],
    [["felix-play", "a.yaml", "b.yaml"], "ptables felix-play: b.yaml: unexpected argument"],
    [["felix-play", "--node", "node-z"], 'ptables felix-play: --node: node "node-z" is not in the scenario (nodes: node-a)'],
  ];
  test.each(usageErrors)("%j is a usage error naming the argument (exit 2)", async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.err[0]).toContain(message);
    expect(result.out).toEqual([]);
  });
});

describe("ptables felix-play", () => {
  test("a bad scenario fails with the path of the problem before any driver starts", async () => {
    const file = path.join(dir, "bad.yaml");
    writeFileSync(file, 'nodes: [{name: a}]\nnamespaces: [{name: d}]\npods: [{name: x, namespace: d, ips: ["10.0.0.300"]}]\n');
    const result = await run(["felix-play", file, "--driver", driver]);
    expect(result).toEqual({ code: 1, out: [], err: ['ptables felix-play: bad.yaml: pods[0].ips[0]: "10.0.0.300" is not an IP address'] });
  });

  test("a missing driver is reported", async () => {
    const result = await run(["felix-play", "--driver", path.join(dir, "nope")]);
    expect(result.code).toBe(1);
    expect(result.err).toEqual([`ptables felix-play: driver ${path.join(dir, "nope")} does not exist (use --driver)`]);
  });

  test("plays a scenario and prints what the driver reports", async () => {
    const file = path.join(dir, "two-pods.yaml");
    writeFileSync(
      file,
      `nodes: [{name: n1}, {name: n2}]
namespaces: [{name: ns}]
pods:
  - {name: a, namespace: ns, node: n2, ifname: cali-a, ips: [10.0.0.1]}
  - {name: b, namespace: ns, node: n2, ifname: cali-b, ips: [10.0.0.2], labels: {app: b}}
steps:
  - {after: 0, updatePod: {namespace: ns, name: b, labels: {app: c}}}
  - {after: 10m, removePod: {namespace: ns, name: a}}
`,
    );
    // Steps at 0 and 10 minutes: within 3 s exactly the first one is played, however slow the machine.
    const result = await run(["felix-play", file, "--driver", driver, "--node", "n2", "--duration", "3000"]);
    expect(result.err.filter((l) => !l.startsWith("driver: "))).toEqual([]);
    expect(result.code).toBe(0);
    const text = result.out.join("\n");
    expect(text).toContain(`Playing ${file} as node n2 to ${driver}`);
    expect(text).toMatch(/sent start of day: \d+ messages, ConfigUpdate to InSync/);
    expect(text).toMatch(/endpoint k8s\/ns\/a\/eth0 up/);
    expect(text).toMatch(/process status: up/);
    expect(text).toMatch(/step 1 \(after 0\.000s\): updatePod ns\/b, 1 message\(s\)/);
    expect(result.out.slice(-6)).toEqual([
      "ENDPOINT       INTERFACE  STATUS",
      "k8s/ns/a/eth0  cali-a     up",
      "k8s/ns/b/eth0  cali-b     up",
      "",
      "Played 1 of 2 steps before the run ended.",
      "driver ended by SIGTERM.",
    ]);
    // The driver's own output is passed on, prefixed; it saw the ConfigUpdate first.
    expect(result.err).toContain("driver: recv 0 13");
  });

  test("--json prints one JSON object per line, ending with a summary", async () => {
    const result = await run(["felix-play", "--driver", driver, "--duration", "3000", "--json", "--node", "node-a"]);
    expect(result.code).toBe(0);
    const events = result.out.map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });
    expect(events[0]).toMatchObject({ event: "start", node: "node-a", startOfDayMessages: 20, steps: 2 });
    expect(new Set(events.filter((e) => e.event === "endpointStatus").map((e) => e.endpoint))).toEqual(
      new Set(["k8s/demo/backend/eth0", "k8s/demo/db/eth0", "k8s/demo/frontend/eth0"]),
    );
    expect(events[events.length - 1]).toMatchObject({ event: "summary", ok: true, stepsTotal: 2, driverExit: { signal: "SIGTERM" } });
  });

  test("a driver that exits by itself fails the run, as it would stop Felix", async () => {
    const result = await run(["felix-play", "--driver", driver, "--duration", "5000"], { exitOnInSync: 4 });
    expect(result.code).toBe(1);
    expect(result.out).toContain("driver exited with code 4 by itself.");
    expect(result.err).toContain("ptables felix-play: the driver exited by itself (code 4); Felix would shut down");
  });

  test("a driver that breaks the protocol fails the run", async () => {
    const result = await run(["felix-play", "--driver", driver, "--duration", "5000"], { sendGarbageOnInSync: true });
    expect(result.code).toBe(1);
    expect(result.err.at(-1)).toMatch(/^ptables felix-play: bad frame from driver on fd 4: /);
  });
});
