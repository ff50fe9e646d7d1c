/**
 * ptablesctl against real agents: the policy-programmer, arp-responder and offload-daemon
 * daemons (built dist, reference backend) in a temporary run dir, the programmer fed a
 * snapshot over its Sync RPC the way the felix proxy would. No felix-proxy runs, so status
 * also shows how an unreachable agent is reported.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { emptyDesiredState, type DesiredState } from "@ptables/api";
import { testing } from "@ptables/policy-core";
import { model, sync } from "@ptables/proto";
import { createPeerClient, socketPaths } from "@ptables/runtime";
import type { CliIo } from "../cli-io";
import { ctlMain } from "./main";

const { allow, ipSet, policy, profile, tier, workload } = testing;
const PACKAGES = path.resolve(__dirname, "../../..");
const DAEMONS = ["policy-programmer", "arp-responder", "offload-daemon"];

const web = policy("web", { inbound: [allow({ protocol: 6, srcIpSetIds: ["s:web"], dstPorts: [{ first: 80, last: 80 }] })], outbound: [allow()] });
const STATE: DesiredState = {
  ...emptyDesiredState(),
  ipSets: [ipSet("s:web", "net", ["10.65.1.0/24"])],
  policies: [web],
  profiles: [profile("kns.default", [], [allow()])],
  workloadEndpoints: [
    workload({ key: "k8s/default/web/eth0", workloadId: "default/web", ifname: "cali1", ipv4Nets: ["10.65.0.2/32"], tiers: [tier("default", { ingress: [web], egress: [web] })], profileIds: ["kns.default"] }),
    workload({ key: "k8s/default/db/eth0", workloadId: "default/db", ifname: "cali2", ipv4Nets: ["10.65.0.3/32"], profileIds: ["kns.default"] }),
  ],
  // A remote workload block behind a VXLAN pool (Felix's RouteType REMOTE_WORKLOAD, IPPoolType VXLAN).
  routes: [model.Route.fromPartial({ dst: "10.65.2.0/26", types: 1, ipPoolType: 2, dstNodeName: "node-b", dstNodeIp: "192.168.0.12", tunnelVxlan: true })],
};

interface Run {
  code: number;
  out: string[];
  err: string[];
  text: string;
}

let dir: string;
let runDir: string;
const children: ChildProcess[] = [];
let syncClient: sync.PolicyProgrammerClient;
let syncStream: ReturnType<sync.PolicyProgrammerClient["sync"]>;

async function ctl(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env: { PTABLES_RUN_DIR: runDir } };
  const code = await ctlMain(argv, io);
  return { code, out, err, text: out.join("\n") };
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  for (const d of DAEMONS) {
    const main = path.join(PACKAGES, d, "dist", "main.js");
    if (!fs.existsSync(main)) throw new Error(`${main} is missing: run "npx tsc -b" first`);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ptablesctl-it-"));
  runDir = path.join(dir, "run");
  const env = {
    ...process.env,
    PTABLES_RUN_DIR: runDir,
    PTABLES_STATE_DIR: path.join(dir, "state"),
    PTABLES_BPF_DIR: path.join(dir, "bpf"),
    PTABLES_BACKEND: "reference",
    PTABLES_LOG_LEVEL: "warn",
    PTABLES_FELIX_PROXY_HTTP_PORT: "0",
    PTABLES_POLICY_PROGRAMMER_HTTP_PORT: "0",
    PTABLES_ARP_RESPONDER_HTTP_PORT: "0",
    PTABLES_OFFLOAD_DAEMON_HTTP_PORT: "0",
  };
  for (const d of DAEMONS) children.push(spawn(process.execPath, [path.join(PACKAGES, d, "dist", "main.js")], { env, stdio: ["ignore", "ignore", "inherit"] }));
  const socks = socketPaths(runDir);
  await waitFor(() => [socks.policyProgrammer, socks.arpResponder, socks.offloadDaemon].every((s) => fs.existsSync(s)), "the agents' sockets");

  // Feed the programmer as the felix proxy would, and keep the stream open (closing it is fine
  // too; an open one shows up as "sync stream open").
  syncClient = createPeerClient(sync.PolicyProgrammerClient, socks.policyProgrammer);
  syncStream = syncClient.sync();
  await new Promise<void>((resolve, reject) => {
    syncStream.on("data", (r: sync.SyncResponse) => r.appliedVersion >= 1n && resolve());
    syncStream.on("error", reject);
    syncStream.write({ msg: { $case: "snapshot", value: { version: 1n, state: STATE, inSync: true } } });
  });
});

afterAll(async () => {
  syncStream?.cancel();
  syncClient?.close();
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
        }),
    ),
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("ptablesctl against running agents", () => {
  test("status: the three agents serve; the missing felix-proxy is named with its socket (exit 3)", async () => {
    const r = await ctl("status");
    expect(r.code).toBe(3);
    expect(r.out[0]).toMatch(/^AGENT +REACHABLE +HEALTH +VERSION +UPTIME +STATE$/);
    expect(r.text).toMatch(/^felix-proxy +no +- +- +- +no socket there/m);
    expect(r.text).toMatch(/^policy-programmer +yes +serving +\S+ +\S+ +backend reference-dpu, sync stream open, in sync, applied 1$/m);
    expect(r.text).toMatch(/^arp-responder +yes +serving .* gateway ARP not applicable$/m);
    expect(r.text).toMatch(/^offload-daemon +yes +serving .* flow ageing not applicable$/m);
    expect(r.err).toEqual([`ptablesctl status: felix-proxy is not reachable at ${socketPaths(runDir).felixProxy}: no socket there (is ptables running, and is --run-dir right?)`]);

    const j = await ctl("--json", "status");
    const byAgent = Object.fromEntries(JSON.parse(j.text).agents.map((a: { agent: string }) => [a.agent, a]));
    expect(byAgent["policy-programmer"]).toMatchObject({ reachable: true, serving: true, health: "serving", detail: { backend: "reference-dpu", inSync: true, appliedVersion: "1" } });
    expect(byAgent["policy-programmer"].uptimeSeconds).toBeGreaterThan(0);
    expect(byAgent["felix-proxy"]).toMatchObject({ reachable: false, socket: socketPaths(runDir).felixProxy });
  });

  test("endpoints: both endpoints, programmed, with their program sizes", async () => {
    const r = await ctl("endpoints");
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^ENDPOINT +KIND +INTERFACE +ADDRESSES +STATE +INGRESS RULES +EGRESS RULES$/);
    expect(r.text).toMatch(/^k8s\/default\/db\/eth0 +workload +cali2 +10\.65\.0\.3\/32 +programmed +\d+ +\d+$/m);
    expect(r.text).toMatch(/^k8s\/default\/web\/eth0 +workload +cali1 +10\.65\.0\.2\/32 +programmed +\d+ +\d+$/m);
    const j = JSON.parse((await ctl("endpoints", "--json")).text);
    expect(j.endpoints.map((e: { key: string }) => e.key)).toEqual(["k8s/default/db/eth0", "k8s/default/web/eth0"]);
    expect(j.endpoints[1]).toMatchObject({ ifname: "cali1", state: "programmed", tiers: ["default"], profiles: ["kns.default"], ingressRules: expect.any(Number) });
  });

  test("policy: tiers, policies and profiles in order, each rule with its match and counters", async () => {
    for (const name of ["cali1", "k8s/default/web/eth0"]) {
      const r = await ctl("policy", name);
      expect(r.code).toBe(0);
      expect(r.out[0]).toBe("Endpoint k8s/default/web/eth0 (workload, on cali1, 10.65.0.2/32): programmed");
      expect(r.text).toMatch(/^Ingress \(program \d+, \d+ rules in the datapath\):$/m);
      expect(r.text).toMatch(/^ {2}TIER +POLICY +# +ACTION +MATCH +PACKETS +BYTES$/m);
      expect(r.text).toMatch(/^ {2}default +GlobalNetworkPolicy\/\/web +0 +allow +tcp from set s:web to port 80 +0 +0$/m);
      expect(r.text).toMatch(/^ {2}default +\(end of tier: deny\)/m);
      expect(r.text).toMatch(/^ {2}profile +kns\.default +- +- +\(no rules\)/m);
    }
    const j = JSON.parse((await ctl("policy", "cali1", "--json")).text);
    expect(j.egress.profiles).toEqual([{ id: "kns.default", missing: false, rules: [{ index: 0, action: "allow", match: "any", ruleId: "", packets: "0", bytes: "0" }] }]);
    expect(j.ingress.tiers[0].policies[0].rules[0]).toMatchObject({ action: "allow", match: "tcp from set s:web to port 80", packets: "0" });
  });

  test("policy of an unknown endpoint is a usage error naming it (exit 2)", async () => {
    const r = await ctl("policy", "cali-nope");
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['ptablesctl policy: endpoint: unknown endpoint "cali-nope" (give a workload endpoint key, an interface name or a host endpoint key)']);
  });

  test("trace: the verdict and the deciding rule; exit 0 allowed, 4 denied", async () => {
    const allowed = await ctl("trace", "cali1", "tcp 10.65.1.7:40000 -> 10.65.0.2:80");
    expect(allowed.code).toBe(0);
    expect(allowed.out.slice(0, 4)).toEqual([
      "ingress to cali1: tcp 10.65.1.7:40000 -> 10.65.0.2:80",
      "verdict: allow",
      "decided by: tier default, policy GlobalNetworkPolicy//web, rule 0",
      "reason: allow",
    ]);
    // Unquoted, the way a user types it in a shell with the arrow escaped.
    const denied = await ctl("trace", "k8s/default/web/eth0", "tcp", "10.99.0.1:40000", "->", "10.65.0.2:80");
    expect(denied.code).toBe(4);
    expect(denied.out[1]).toBe("verdict: deny");
    expect(denied.out[2]).toBe("decided by: tier default");

    const egress = await ctl("trace", "cali1", "udp 10.65.0.2:5353 -> 10.1.1.1:53", "--json");
    expect(egress.code).toBe(0);
    expect(JSON.parse(egress.text)).toMatchObject({ endpoint: "cali1", direction: "egress", packet: "udp 10.65.0.2:5353 -> 10.1.1.1:53", verdict: "allow", tier: "default", policy: "GlobalNetworkPolicy//web", ruleIndex: 0 });

    const icmp = await ctl("trace", "cali2", "icmp 10.65.0.3 -> 10.65.0.9 type 8 code 0", "--direction", "egress");
    expect(icmp.code).toBe(0);
    expect(icmp.out[2]).toBe("decided by: profile kns.default, rule 0");
  });

  test("trace refuses an unknown endpoint and a packet the endpoint has no part in", async () => {
    const unknown = await ctl("trace", "cali9", "tcp 10.65.1.7:1 -> 10.65.0.2:80", "--direction", "ingress");
    expect(unknown.code).toBe(2);
    expect(unknown.err[0]).toBe('ptablesctl trace: endpoint: unknown endpoint "cali9" (give a workload endpoint key, an interface name or a host endpoint key)');
    const unrelated = await ctl("trace", "cali1", "tcp 10.1.1.1:1 -> 10.1.1.2:80");
    expect(unrelated.code).toBe(2);
    expect(unrelated.err[0]).toContain("ptablesctl trace: --direction: the endpoint's addresses (10.65.0.2/32) are neither the source nor the destination");
  });

  test("ipsets, routes and flows", async () => {
    const sets = await ctl("ipsets");
    expect(sets.code).toBe(0);
    expect(sets.text).toMatch(/^s:web +\d+ +1 +yes$/m);
    expect(JSON.parse((await ctl("ipsets", "--json")).text).ipSets).toEqual([{ id: "s:web", setId: expect.any(Number), members: 1, inModel: true }]);

    const routes = await ctl("routes");
    expect(routes.code).toBe(0);
    expect(routes.text).toMatch(/^ {2}10\.65\.2\.0\/26 +remote-workload +vxlan +node-b +192\.168\.0\.12 +vxlan$/m);
    expect(routes.text).toContain("Routes ptables holds in the datapath:\n  none");

    const flows = await ctl("flows");
    expect(flows.code).toBe(0);
    expect(flows.out[0]).toMatch(/^No flows: the reference DPU keeps no conntrack/);
    expect(JSON.parse((await ctl("flows", "--json", "--limit", "5")).text)).toMatchObject({ flows: [], truncated: false });
  });

  test("cleanup refuses while the agents run", async () => {
    const r = await ctl("cleanup", "--bpf-dir", path.join(dir, "bpf"));
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/^ptablesctl cleanup: refused: ptables is running here \(policy-programmer \(/);
  });
});
