/**
 * One emulated Calico node running the REAL ptables driver, for the e2e suites and the demo.
 *
 * `startPtablesNode` builds the scenario's pods that live on the node as network namespaces
 * (interfaces, addresses and MACs from the scenario; routes on the node as Calico programs them;
 * no static gateway neighbour, so IPv4 only works if ptables' ARP responder answers), mounts a
 * private bpffs in the root mount namespace, and launches `bin/ptables-felix-driver` exactly as
 * Felix does (FelixPlayer: fd 3 / fd 4, no arguments), wrapped in `ip netns exec <node>`. It
 * plays the start-of-day stream and waits until every local endpoint reports the status Felix
 * should see ("up", or "down" for admin-down pods).
 *
 * Everything it creates (namespaces, processes, the bpffs mount and its pins, temp dirs) is
 * removed by `cleanup()`, which also runs when the start itself fails.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { workloadEndpointKey } from "@ptables/api";
import {
  ClusterState,
  FelixPlayer,
  buildFelixStream,
  computeNodeView,
  emptyView,
  flushPayloads,
  type DriverExit,
  type FelixStream,
  type PodSpec,
  type Scenario,
} from "@ptables/felix";
import { felix } from "@ptables/proto";
import type { NodeNs, PodNs, Topology } from "@ptables/testkit";
import { agentInfo, programmerState, type AgentName } from "./agent-info";
import { mountBpffs, unmountBpffs, type BpffsMount } from "./bpffs";
import { NodeOracle } from "./oracle";
import { PodAgent, type ProbeReply, type ProbeRequest } from "./pod-agent";
import { runCommand, sleep } from "./run";

export type EndpointStatus = "up" | "down" | "error";

export interface PtablesNodeOptions {
  /** Driver log level; default "debug" when E2E_DEBUG=1, else "info". */
  logLevel?: "error" | "warn" | "info" | "debug";
  /** Echo ports every pod serves (TCP and UDP, dual-stack). */
  tcpPorts?: readonly number[];
  udpPorts?: readonly number[];
  /** How long endpoints may take to report their status (default 30 s). */
  upTimeoutMs?: number;
  /**
   * The status each local endpoint must report once programmed, by pod ("namespace/name");
   * default "up" for active pods and "down" for admin-down ones.
   */
  expectStatus?: Record<string, EndpointStatus>;
  /** Extra environment for the driver (e.g. PTABLES_* tuning). */
  env?: Record<string, string>;
  /** Print driver output as it comes (default: E2E_DEBUG=1). */
  echoDriverOutput?: boolean;
  /** Leave the topology alone in cleanup() (default false: cleanup destroys it). */
  keepTopology?: boolean;
  /** Timed playback of steps, as Felix would send them (default false: one after the other, each settled). */
  timedSteps?: boolean;
  /**
   * Whether the harness adds each pod's routes on the node (default true). With false, only
   * ptables' own routes (proto 0x50) make pods reachable from their node.
   */
  withHostRoutes?: boolean;
  /**
   * An existing node namespace of `topology` to run in (e.g. already joined to a fabric, so the
   * node's address exists before the driver starts); default: a new one named after the node.
   */
  node?: NodeNs;
}

/** The repository root: the directory holding bin/ptables-felix-driver (from e2e/lib or e2e/dist/lib). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "bin", "ptables-felix-driver")) && existsSync(join(dir, "packages"))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot find the repository root (bin/ptables-felix-driver) above ${__dirname}`);
}

export function driverPath(): string {
  return join(repoRoot(), "bin", "ptables-felix-driver");
}

const AGENT_PACKAGES = ["driver", "felix-proxy", "policy-programmer", "arp-responder", "offload-daemon", "backend-ebpf"];

/** Newest modification time of the files under `dir` (that `accept` takes); 0 if none. */
function newestMtime(dir: string, accept: (name: string) => boolean = () => true): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path, accept));
    else if (accept(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

let preflightDone = false;

/**
 * The driver runs compiled code (packages/<agent>/dist) and loads the compiled datapath
 * (packages/backend-ebpf/build/ptables.bpf.o). Fails clearly if the build is missing; builds the
 * BPF object (packages/backend-ebpf/bpf/build.sh) if it is missing or older than its sources.
 */
export async function preflight(): Promise<void> {
  if (preflightDone) return;
  const root = repoRoot();
  const missing = AGENT_PACKAGES.filter((pkg) => !existsSync(join(root, "packages", pkg, "dist", "index.js")));
  if (missing.length > 0) throw new Error(`not built: ${missing.map((pkg) => `packages/${pkg}/dist`).join(", ")}; run \`npx tsc -b\` (or bash scripts/setup.sh) first`);
  // The suites run from sources but the driver runs the build: say so when the build is older.
  const stale = [...AGENT_PACKAGES, "felix", "policy-core", "api", "runtime"].filter((pkg) => {
    const dir = join(root, "packages", pkg);
    return newestMtime(join(dir, "src"), (name) => name.endsWith(".ts") && !name.endsWith(".test.ts")) > newestMtime(join(dir, "dist"));
  });
  if (stale.length > 0) {
    process.stderr.write(`e2e: warning: packages/{${stale.join(",")}}/dist is older than its src; the driver runs dist (run \`npx tsc -b\`)\n`);
  }
  const bpfSources = join(root, "packages", "backend-ebpf", "bpf");
  const object = join(root, "packages", "backend-ebpf", "build", "ptables.bpf.o");
  if (!existsSync(object) || statSync(object).mtimeMs < newestMtime(bpfSources)) {
    await runCommand(["bash", join(bpfSources, "build.sh")], { timeoutMs: 120_000 });
  }
  preflightDone = true;
}

/** "ns/name" of a pod. */
export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

/** Felix's workload endpoint key of a pod ("k8s/<ns>/<name>/eth0"), as the player sends it. */
export function endpointKey(pod: { namespace: string; name: string }): string {
  return workloadEndpointKey({ orchestratorId: "k8s", workloadId: `${pod.namespace}/${pod.name}`, endpointId: "eth0" });
}

/** A pod of the scenario with its namespace and its helper process. */
export interface ScenarioPod {
  spec: PodSpec;
  ns: PodNs;
  agent: PodAgent;
}

/** A topology member name (letters, digits, "_" and "."; at most 20) unique within the topology. */
function memberName(wanted: string, used: Set<string>): string {
  const base = wanted.replace(/[^A-Za-z0-9_.]/g, "_").replace(/^[^A-Za-z0-9]+/, "").slice(0, 16) || "x";
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${base.slice(0, 16)}.${i}`;
  used.add(name);
  return name;
}

const usedMemberNames = new WeakMap<Topology, Set<string>>();

export class PtablesNode {
  readonly pods = new Map<string, ScenarioPod>();
  readonly oracle = new NodeOracle();
  /**
   * Statuses expected of some pods ("namespace/name" -> status), overriding the default ("up",
   * or "down" when admin down); change it before playing a step that changes what to expect.
   */
  readonly expectStatus: Record<string, EndpointStatus>;
  /** Steps of the stream played so far. */
  stepsPlayed = 0;
  /** Sequence number of the next message sent by sendMessages. */
  private extraSeq: bigint | undefined;
  private player: FelixPlayer | undefined;
  private readonly output: string[] = [];
  private readonly endpointBodies = new Map<string, felix.WorkloadEndpoint>();
  private framesSent = 0;
  private inSyncAt = 0;
  private cleaning: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private aborted = false;
  readonly stream: FelixStream;
  readonly runDir: string;
  readonly stateDir: string;
  private readonly tempDir: string;
  bpffs: BpffsMount | undefined;
  node: NodeNs | undefined;

  /** @internal use createPtablesNode or startPtablesNode */
  constructor(
    readonly topology: Topology,
    readonly nodeName: string,
    readonly scenario: Scenario,
    readonly options: PtablesNodeOptions,
  ) {
    this.stream = buildFelixStream(scenario, { node: nodeName });
    this.expectStatus = { ...options.expectStatus };
    this.tempDir = mkdtempSync(join(tmpdir(), "ptables-e2e-"));
    this.runDir = join(this.tempDir, "run");
    this.stateDir = join(this.tempDir, "state");
  }

  get bpfDir(): string {
    if (!this.bpffs) throw new Error("bpffs not mounted");
    return this.bpffs.bpfDir;
  }

  /** The running driver (throws if none). */
  get driver(): FelixPlayer {
    if (!this.player) throw new Error(`node ${this.nodeName}: no driver running`);
    return this.player;
  }

  /** A pod by "namespace/name" or, when unambiguous, by name. */
  pod(name: string): ScenarioPod {
    const exact = this.pods.get(name);
    if (exact) return exact;
    const matches = [...this.pods.values()].filter((p) => p.spec.name === name);
    if (matches.length === 1) return matches[0]!;
    throw new Error(`node ${this.nodeName}: ${matches.length === 0 ? "no" : "more than one"} pod named ${name} (have ${[...this.pods.keys()].join(", ")})`);
  }

  /** Whether `ip` belongs to a pod of this node (in the scenario, present or not). */
  ownsIp(ip: string): boolean {
    return this.scenarioPods().some((p) => p.ipv4.includes(ip) || p.ipv6.includes(ip));
  }

  /** Runs one probe from a pod. */
  probe(from: string, request: ProbeRequest): Promise<ProbeReply> {
    return this.pod(from).agent.probe(request);
  }

  /** The last lines the driver and its agents printed. */
  outputTail(lines = 40): string {
    return this.output.slice(-lines).join("\n");
  }

  /** An agent's Info detail. */
  info(name: AgentName): Promise<Record<string, unknown>> {
    return agentInfo(this.runDir, name);
  }

  /**
   * What the programmer says is in the datapath, one line per interface (entry owner, program
   * ids and lengths, pending/removing/blocked), plus its last apply: for failure reports.
   */
  async describeDatapath(): Promise<string> {
    try {
      const state = await programmerState(this.runDir);
      const tables = JSON.parse(state.tablesJson || "{}") as {
        lastApply?: unknown;
        interfaces?: Array<Record<string, unknown> & { ifname: string; ingress?: { programId: number; rules: number } | null; egress?: { programId: number; rules: number } | null }>;
      };
      const prog = (p: { programId: number; rules: number } | null | undefined) => (p ? `#${p.programId}(${p.rules})` : "-");
      const lines = (tables.interfaces ?? []).map(
        (i) =>
          `  ${i.ifname}: endpoint=${String(i.endpoint)} in=${prog(i.ingress)} out=${prog(i.egress)}` +
          `${i.pending ? " pending" : ""}${i.removing ? " removing" : ""}${i.blocked ? ` blocked=${String(i.blocked)}` : ""}`,
      );
      const statuses = state.statuses.filter((st) => st.reason).map((st) => `  ${st.id}: ${st.reason}`);
      return [`programmer (applied version ${state.appliedVersion}, last apply ${JSON.stringify(tables.lastApply)}):`, ...lines, ...statuses].join("\n");
    } catch (err) {
      return `programmer state unavailable: ${(err as Error).message}`;
    }
  }

  // --- start -------------------------------------------------------------------------------

  /**
   * Builds the pods, mounts the bpffs, starts the driver and plays start of day (see
   * startPtablesNode). A cleanup() that starts meanwhile (Ctrl-C in the demo) aborts it at the
   * next step and waits for it, so nothing created by the start escapes the cleanup.
   */
  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    await preflight();
    this.checkAborted();
    this.bpffs = await mountBpffs();
    this.checkAborted();
    const used = usedMemberNames.get(this.topology) ?? new Set<string>();
    usedMemberNames.set(this.topology, used);
    this.node = this.options.node ?? (await this.topology.addNode(memberName(this.nodeName, used)));
    this.checkAborted();
    await Promise.all(this.scenario.pods.filter((p) => p.node === this.nodeName).map((p) => this.addPod(p, used)));
    this.checkAborted();
    await this.startDriver(this.stream.startOfDay);
    this.inSyncAt = Date.now();
  }

  private checkAborted(): void {
    if (this.aborted) throw new Error(`node ${this.nodeName}: cleanup started; start aborted`);
  }

  private scenarioPods(): PodSpec[] {
    const all = [...this.scenario.pods, ...this.scenario.steps.flatMap((s) => (s.action.kind === "addPod" ? [s.action.pod] : []))];
    return all.filter((p) => p.node === this.nodeName);
  }

  private async addPod(spec: PodSpec, used = usedMemberNames.get(this.topology)!): Promise<void> {
    if (spec.ipv4.length > 1 || spec.ipv6.length > 1) throw new Error(`pod ${podKey(spec)}: the netns harness gives a pod at most one IPv4 and one IPv6 address`);
    const ns = await this.topology.addPod(this.node!, {
      name: memberName(spec.name, used),
      ifname: spec.ifname,
      ipv4: spec.ipv4[0],
      ipv6: spec.ipv6[0],
      mac: spec.mac || undefined,
      withHostRoutes: this.options.withHostRoutes ?? true,
      staticGatewayNeigh: false,
    });
    const agent = await PodAgent.start(ns, { tcp: this.options.tcpPorts ?? [], udp: this.options.udpPorts ?? [] });
    this.pods.set(podKey(spec), { spec, ns, agent });
  }

  private driverEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_OPTIONS;
    return {
      ...env,
      NODENAME: this.nodeName,
      FELIX_FELIXHOSTNAME: this.nodeName,
      PTABLES_RUN_DIR: this.runDir,
      PTABLES_STATE_DIR: this.stateDir,
      PTABLES_BPF_DIR: this.bpfDir,
      PTABLES_BACKEND: "ebpf",
      PTABLES_LOG_LEVEL: this.options.logLevel ?? (process.env.E2E_DEBUG === "1" ? "debug" : "info"),
      ...this.options.env,
    };
  }

  /** Starts a driver, sends `startOfDay`, and waits for every local endpoint's status. */
  private async startDriver(startOfDay: readonly felix.ToDataplane[]): Promise<void> {
    const echo = this.options.echoDriverOutput ?? process.env.E2E_DEBUG === "1";
    const player = new FelixPlayer({ driver: driverPath(), env: this.driverEnv(), wrapper: ["ip", "netns", "exec", this.node!.ns], output: "pipe" });
    this.player = player;
    player.on("output", (stream, line) => {
      if (echo) process.stderr.write(`[${this.nodeName} driver ${stream}] ${line}\n`);
      // Flow logs (one per flow, at info) would push everything else out of the tail.
      if (line.includes('"component":"flow-log"')) return;
      this.output.push(`[${this.nodeName} ${stream}] ${line}`);
      if (this.output.length > 400) this.output.shift();
    });
    this.framesSent = 0;
    this.endpointBodies.clear();
    this.oracle.reset();
    await this.send(startOfDay);
    await this.waitForEndpoints("start of day");
  }

  /**
   * Sends messages to the driver and to the oracle (which remembers the endpoints announced),
   * then waits until the driver has applied them (see waitSettled).
   */
  private async send(messages: readonly felix.ToDataplane[]): Promise<void> {
    for (const m of messages) {
      if (m.payload?.$case === "workloadEndpointUpdate" && m.payload.value.id && m.payload.value.endpoint) {
        this.endpointBodies.set(workloadEndpointKey(m.payload.value.id), m.payload.value.endpoint);
      }
      if (m.payload?.$case === "workloadEndpointRemove" && m.payload.value.id) this.endpointBodies.delete(workloadEndpointKey(m.payload.value.id));
    }
    // The proxy's last sent version before these messages: a fresh driver has sent nothing.
    const before = this.framesSent === 0 ? 0n : BigInt(String((await this.info("felixProxy")).sentVersion));
    const changes = this.oracle.apply(messages);
    await this.driver.send(messages);
    this.framesSent += messages.length;
    await this.waitSettled(changes > 0 ? before : undefined);
  }

  /** What each announced endpoint must report. */
  private expectedStatuses(): Map<string, EndpointStatus> {
    const out = new Map<string, EndpointStatus>();
    for (const [key, ep] of this.endpointBodies) {
      const pod = this.scenarioPods().find((p) => endpointKey(p) === key);
      const override = pod ? this.expectStatus[podKey(pod)] : undefined;
      out.set(key, override ?? (ep.state === "active" ? "up" : "down"));
    }
    return out;
  }

  /**
   * Waits until every announced endpoint reports its expected status and removed ones are
   * gone. On timeout or driver exit, throws with the statuses and the driver's output tail.
   */
  async waitForEndpoints(what: string, timeoutMs = this.options.upTimeoutMs ?? 30_000): Promise<void> {
    const player = this.driver;
    const expected = this.expectedStatuses();
    const pending = (): string[] => {
      const problems: string[] = [];
      for (const [key, status] of expected) {
        const got = player.endpointStatuses.get(key)?.status;
        if (got !== status) problems.push(`${key}: want ${status}, have ${got ?? "no status"}`);
      }
      for (const key of player.endpointStatuses.keys()) if (!expected.has(key)) problems.push(`${key}: want removed, still reported`);
      return problems;
    };
    const deadline = Date.now() + timeoutMs;
    while (pending().length > 0) {
      this.checkAborted();
      if (player.exit || player.error || Date.now() > deadline) {
        const why = player.exit ? `the driver exited (${player.exit.signal ?? `code ${player.exit.code}`})` : player.error ? `protocol error: ${player.error.message}` : `timed out after ${timeoutMs} ms`;
        throw new Error(`node ${this.nodeName}, ${what}: endpoints not as expected: ${why}\n  ${pending().join("\n  ")}\n--- driver output (tail) ---\n${this.outputTail()}`);
      }
      await sleep(50);
    }
  }

  /**
   * Waits until the driver has consumed every frame sent and the programmer has applied every
   * change the proxy sent it (felix-proxy Info). When the last messages changed the model (the
   * oracle runs the same store code as the proxy, so it knows), the proxy must also have sent a
   * newer version than `sentBefore`: its deltas are coalesced for a few ms, so "applied == sent"
   * alone could still be the old version. After this, a probe sees the datapath as of the last
   * message.
   */
  async waitSettled(sentBefore?: bigint, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, unknown> = {};
    for (;;) {
      this.checkAborted();
      try {
        last = await this.info("felixProxy");
        const sent = BigInt(String(last.sentVersion));
        const applied = BigInt(String(last.appliedVersion));
        const settled =
          Number(last.framesReceived) >= this.framesSent &&
          last.programmerConnected === true &&
          applied >= sent &&
          (sentBefore === undefined || sent > sentBefore);
        if (settled) return;
      } catch (err) {
        last = { error: (err as Error).message };
      }
      if (Date.now() > deadline) {
        throw new Error(
          `node ${this.nodeName}: not settled after ${timeoutMs} ms (sent ${this.framesSent} frames${sentBefore === undefined ? "" : `, expecting a delta after version ${sentBefore}`}; felix-proxy Info: ${JSON.stringify(last)})\n${this.outputTail()}`,
        );
      }
      await sleep(25);
    }
  }

  // --- steps -------------------------------------------------------------------------------

  /**
   * Plays the next step: creates the namespace of a pod the step adds (before Felix announces
   * it, as the CNI plugin runs first), sends the step's flush, and waits until it is applied
   * and every endpoint reports its expected status. With `timedSteps`, first waits until the
   * step's time after InSync.
   */
  async playStep(): Promise<string> {
    const step = this.stream.steps[this.stepsPlayed];
    if (!step) throw new Error(`node ${this.nodeName}: no step left to play (${this.stepsPlayed} played)`);
    const action = this.scenario.steps[step.index]!.action;
    if (action.kind === "addPod" && action.pod.node === this.nodeName && !this.pods.has(podKey(action.pod))) await this.addPod(action.pod);
    if (this.options.timedSteps) await sleep(this.inSyncAt + step.afterMs - Date.now());
    await this.send(step.messages);
    this.stepsPlayed += 1;
    await this.waitForEndpoints(`step ${step.index} (${step.description})`);
    return step.description;
  }

  /** Plays every remaining step in order. */
  async playSteps(onStep?: (description: string) => void): Promise<void> {
    while (this.stepsPlayed < this.stream.steps.length) {
      const description = await this.playStep();
      onStep?.(description);
    }
  }

  /**
   * Sends Felix messages that are not a scenario step (e.g. the flush that removes everything),
   * numbered after the last message sent, then waits as playStep does.
   */
  async sendMessages(payloads: ReadonlyArray<NonNullable<felix.ToDataplane["payload"]>>, what: string): Promise<void> {
    this.extraSeq ??= BigInt(this.stream.startOfDay.length + this.stream.steps.reduce((n, s) => n + s.messages.length, 0));
    const messages = payloads.map((payload) => felix.ToDataplane.fromPartial({ sequenceNumber: this.extraSeq!++, payload }));
    await this.send(messages);
    await this.waitForEndpoints(what);
  }

  // --- restart and stop ----------------------------------------------------------------------

  /** The whole current state as a fresh Felix would send it: ConfigUpdate, one flush, InSync. */
  currentStartOfDay(): felix.ToDataplane[] {
    const state = ClusterState.fromScenario({ ...this.scenario, node: this.nodeName });
    this.scenario.steps.slice(0, this.stepsPlayed).forEach((s, i) => state.apply(s.action, `steps[${i}]`));
    const view = computeNodeView(state, this.nodeName);
    const config = this.stream.startOfDay[0]!;
    let seq = 1;
    const body = flushPayloads(emptyView(), view).map((payload) => felix.ToDataplane.fromPartial({ sequenceNumber: BigInt(seq++), payload }));
    return [config, ...body, felix.ToDataplane.fromPartial({ sequenceNumber: BigInt(seq), payload: { $case: "inSync", value: {} } })];
  }

  /**
   * Felix's restart of its driver: SIGTERM (SIGKILL after 4 s), then a new driver with the same
   * directories, sent the current state from scratch; resolves once every endpoint is back in
   * its expected status. Returns how the old driver exited.
   */
  async restartDriver(): Promise<DriverExit> {
    const exit = await this.stopDriver();
    await this.resumeDriver();
    return exit;
  }

  /** Starts a new driver (after stopDriver) and sends it the current state, as a restarted Felix would. */
  async resumeDriver(): Promise<void> {
    if (this.player) throw new Error(`node ${this.nodeName}: a driver is already running`);
    await this.startDriver(this.currentStartOfDay());
  }

  /** Stops the driver as Felix does (SIGTERM, SIGKILL after 4 s); the datapath stays. */
  stop(): Promise<DriverExit> {
    return this.stopDriver();
  }

  /** Stops the driver as Felix does (SIGTERM, SIGKILL after 4 s); the datapath stays. */
  async stopDriver(): Promise<DriverExit> {
    const player = this.driver;
    const exit = await player.stop();
    this.player = undefined;
    return exit;
  }

  /**
   * Pid of one of the driver's agent children (e.g. "policy-programmer"), found through /proc:
   * a child of the driver process whose command line runs packages/<agent>/dist/main.js.
   */
  agentPid(agent: string): number | undefined {
    const driverPid = this.driver.pid;
    if (driverPid === undefined) return undefined;
    const script = join("packages", agent, "dist", "main.js");
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid !== driverPid) continue;
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        if (cmdline.some((arg) => resolve(arg).endsWith(script))) return Number(entry);
      } catch {
        // The process went away while we looked.
      }
    }
    return undefined;
  }

  // --- cleanup -------------------------------------------------------------------------------

  /**
   * Stops the driver, removes the datapath with the backend's own cleanup inside the node
   * namespace, unmounts the bpffs, stops the pod agents, destroys the topology (unless
   * keepTopology) and removes the temp dirs. Runs every step even if one fails; throws at the
   * end listing the failures. Idempotent.
   */
  cleanup(): Promise<void> {
    this.aborted = true;
    this.cleaning ??= (async () => {
      // Let a start in progress stop at its next step, so everything it made is known here.
      await this.starting?.catch(() => undefined);
      await this.cleanupOnce();
    })();
    return this.cleaning;
  }

  private async cleanupOnce(): Promise<void> {
    const failures: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    };
    if (this.player) {
      const player = this.player;
      await attempt("stop driver", async () => {
        const exit = await player.stop();
        if (exit.killed) throw new Error("the driver ignored SIGTERM and was killed");
      });
      this.player = undefined;
    }
    if (this.node && this.bpffs && existsSync(this.bpffs.bpfDir)) {
      await attempt("backend cleanup", () => backendCleanup(this.node!.ns, this.bpffs!.bpfDir));
    }
    if (this.bpffs) await attempt("unmount bpffs", () => unmountBpffs(this.bpffs!));
    await Promise.all([...this.pods.values()].map((p) => attempt(`stop agent ${p.ns.name}`, () => p.agent.close())));
    if (!this.options.keepTopology) await attempt("destroy topology", () => this.topology.destroy());
    await attempt("remove temp dir", async () => rmSync(this.tempDir, { recursive: true, force: true }));
    if (failures.length > 0) throw new Error(`cleanup of node ${this.nodeName}: ${failures.join("; ")}`);
  }
}

/**
 * EbpfBackend.cleanup() run inside the node namespace (tc filters on every link there, routes,
 * neighbours, pins). Uses the compiled backend, like the driver's agents.
 */
export async function backendCleanup(nodeNs: string, bpfDir: string): Promise<void> {
  const backend = join(repoRoot(), "packages", "backend-ebpf", "dist", "index.js");
  const script = `
    const { EbpfBackend } = require(${JSON.stringify(backend)});
    new EbpfBackend({ bpfDir: process.argv[1], role: "owner" }).cleanup().then(
      () => process.exit(0),
      (err) => { process.stderr.write(String(err && err.stack || err) + "\\n"); process.exit(1); });
  `;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  await runCommand(["ip", "netns", "exec", nodeNs, process.execPath, "-e", script, bpfDir], { env, timeoutMs: 30_000 });
}

/**
 * A node that is not started yet: call start(), and cleanup() in any case (also while start()
 * is still running). startPtablesNode does both for the common case.
 */
export function createPtablesNode(topology: Topology, nodeName: string, scenario: Scenario, options: PtablesNodeOptions = {}): PtablesNode {
  return new PtablesNode(topology, nodeName, scenario, options);
}

/**
 * Builds the node's pods, mounts its bpffs, starts the real driver through the Felix player,
 * plays start of day and waits for every local endpoint's status. On failure everything created
 * so far is removed and the error names what was pending, with the driver's output.
 */
export async function startPtablesNode(topology: Topology, nodeName: string, scenario: Scenario, options: PtablesNodeOptions = {}): Promise<PtablesNode> {
  const node = createPtablesNode(topology, nodeName, scenario, options);
  try {
    await node.start();
    return node;
  } catch (err) {
    await node.cleanup().catch((cleanupErr: unknown) => {
      (err as Error).message += `\n(and cleanup failed: ${(cleanupErr as Error).message})`;
    });
    throw err;
  }
}
