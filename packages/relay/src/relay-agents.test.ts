/**
 * The relay between a Felix stand-in and the real agents, as on a Kubernetes node: felix-proxy and
 * policy-programmer (reference backend) run as daemons from their built dist/, and the static
 * relay carries Felix's start of day to them and the endpoint status back.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FrameReader, encodeFrame } from "@ptables/felix";
import { felix } from "@ptables/proto";
import { relayTargets, startRelay, waitFor, type RelayProcess } from "./testing/relay-harness";

const PACKAGES = path.resolve(__dirname, "../..");
const AGENTS = ["felix-proxy", "policy-programmer"].map((a) => path.join(PACKAGES, a, "dist", "main.js"));
const POD: felix.WorkloadEndpointID = { orchestratorId: "k8s", workloadId: "default/pod1", endpointId: "eth0" };

function frames(payloads: Array<Parameters<typeof felix.ToDataplane.fromPartial>[0]["payload"]>): Buffer {
  return Buffer.concat(payloads.map((payload, i) => encodeFrame(felix.ToDataplane.encode(felix.ToDataplane.fromPartial({ sequenceNumber: BigInt(i), payload })).finish())));
}

function startOfDay(): Buffer {
  return frames([
    { $case: "configUpdate", value: { config: { InterfacePrefix: "cali", ReportingIntervalSecs: "30" } } },
    { $case: "activeProfileUpdate", value: { id: { name: "kns.default" }, profile: { inboundRules: [{ action: "allow" }], outboundRules: [{ action: "allow" }] } } },
    {
      $case: "workloadEndpointUpdate",
      value: {
        id: POD,
        endpoint: { state: "active", name: "cali12345", mac: "ee:ee:ee:ee:ee:ee", ipv4Nets: ["10.65.0.2/32"], profileIds: ["kns.default"], tiers: [] },
      },
    },
    { $case: "inSync", value: {} },
  ]);
}

describe("ptables-felix-relay with the real felix-proxy and policy-programmer", () => {
  let dir: string;
  let agents: ChildProcess[] = [];
  let log = "";
  let relay: RelayProcess | undefined;

  beforeAll(() => {
    for (const f of AGENTS) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run "npx turbo run build" first`);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptables-relay-agents-"));
  });
  afterEach(async () => {
    if (relay && relay.child.exitCode === null) {
      relay.child.kill("SIGKILL");
      await relay.exit;
    }
    relay?.toRelay.destroy();
    relay?.fromRelay.destroy();
    relay = undefined;
    await Promise.all(
      agents.map(
        (a) =>
          new Promise<void>((resolve) => {
            if (a.exitCode !== null || a.signalCode !== null) return resolve();
            a.once("exit", () => resolve());
            a.kill("SIGTERM");
          }),
      ),
    );
    agents = [];
    log = "";
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("Felix's start of day goes through and the endpoint comes back up through fd 4", async () => {
    const env = { ...process.env, PTABLES_RUN_DIR: path.join(dir, "run"), PTABLES_STATE_DIR: path.join(dir, "state"), PTABLES_BACKEND: "reference" };
    for (const main of AGENTS) {
      const a = spawn(process.execPath, [main], { env, stdio: ["ignore", "ignore", "pipe"] });
      a.stderr!.on("data", (c: Buffer) => (log += c.toString()));
      agents.push(a);
    }
    await waitFor(() => fs.existsSync(path.join(dir, "run", "felix.sock")), `felix.sock\n${log}`);

    // Felix's environment in calico-node has no Node.js: the relay gets an empty PATH.
    relay = startRelay(relayTargets()[0]!, dir, { PATH: path.join(dir, "no-bin"), PTABLES_RUN_DIR: path.join(dir, "run") }, "fifo");
    const reader = new FrameReader();
    const replies: felix.FromDataplane[] = [];
    relay.fromRelay.on("data", (c: Buffer) => {
      for (const f of reader.push(c)) replies.push(felix.FromDataplane.decode(f.bytes));
    });
    relay.toRelay.write(startOfDay());
    const up = () => replies.find((m) => m.payload?.$case === "workloadEndpointStatusUpdate");
    await waitFor(() => up() !== undefined, `the endpoint status\n${log}`);
    expect(up()!.payload).toEqual({ $case: "workloadEndpointStatusUpdate", value: expect.objectContaining({ id: POD, status: { status: "up" } }) });

    relay.toRelay.end();
    expect(await relay.exit).toEqual({ code: 0, signal: null });
    // The daemons outlive the relay and wait for the next Felix.
    await waitFor(() => log.includes("Felix connection ended"), `felix-proxy saw Felix go\n${log}`);
    expect(agents.map((a) => a.exitCode)).toEqual([null, null]);
  });
});
