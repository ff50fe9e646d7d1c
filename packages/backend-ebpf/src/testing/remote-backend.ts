/**
 * A Backend whose EbpfBackend runs in a child process inside a network namespace (nsenter
 * --net, which unlike `ip netns exec` keeps the mount namespace, so the bpffs pins stay
 * visible). Tests use it to program interfaces in namespaces they created, never the
 * machine's own. Key strings and value equality are computed locally (they are pure).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Backend, Capabilities, Counter, EntryError, Flow, HostInterface, TableBackend, Tables } from "@ptables/api";
import type { ArpSettings } from "../arp-config";
import type { ConntrackTimeouts } from "../codec/config-codec";
import type { TestRunOptions } from "../native/prog-test-run";
import { EbpfBackend, type EbpfBackendOptions } from "../ebpf-backend";
import { fromWire, toWire } from "./rpc-json";
import { tsMainArgv } from "./ts-bootstrap";
import { PACKAGE_ROOT } from "../package-root";

export interface RemoteBackendOptions extends EbpfBackendOptions {
  /** Named network namespace (/run/netns/<ns>) the backend runs in. */
  ns: string;
}

const AGENT = join(PACKAGE_ROOT, "src", "testing", "backend-agent.ts");

export class RemoteBackend implements Backend {
  readonly name = "ebpf";
  readonly tables: Tables;
  private readonly local: EbpfBackend;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  private caps: Capabilities;
  private stderr = "";
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    options: RemoteBackendOptions,
  ) {
    this.local = new EbpfBackend(options);
    this.caps = this.local.capabilities();
    const remoteTable = <K, V>(name: keyof Tables): TableBackend<K, V> => {
      const local = this.local.tables[name] as unknown as TableBackend<K, V>;
      return {
        name: local.name,
        keyString: (k) => local.keyString(k),
        valueEquals: (a, b) => local.valueEquals(a, b),
        loadAll: () => this.call(`table.${name}.loadAll`) as Promise<Array<[K, V]>>,
        applyBatch: (ups, dels) => this.call(`table.${name}.applyBatch`, ups, dels) as Promise<EntryError[]>,
      };
    };
    this.tables = {
      setMembers: remoteTable("setMembers"),
      portSets: remoteTable("portSets"),
      rules: remoteTable("rules"),
      endpoints: remoteTable("endpoints"),
      routes: remoteTable("routes"),
      neighbours: remoteTable("neighbours"),
    };
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const msg = fromWire(line) as { id: number; result?: unknown; error?: { name: string; message: string } };
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.error) {
        const err = new Error(msg.error.message);
        err.name = msg.error.name;
        waiter.reject(err);
      } else {
        waiter.resolve(msg.result);
      }
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        for (const waiter of this.pending.values()) waiter.reject(new Error(`backend agent exited (${signal ?? code}): ${this.stderr}`));
        this.pending.clear();
        resolve();
      });
      child.once("error", () => resolve());
    });
  }

  /** Starts the agent in `options.ns` (the backend is not opened yet). */
  static start(options: RemoteBackendOptions): RemoteBackend {
    const { ns, ...backendOptions } = options;
    const child = spawn("nsenter", [`--net=/run/netns/${ns}`, "--", process.execPath, ...tsMainArgv(AGENT, backendOptions)], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: PACKAGE_ROOT,
    });
    return new RemoteBackend(child, options);
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.reject(new Error(`backend agent is not running: ${this.stderr}`));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(`${toWire({ id, method, args })}\n`);
    });
  }

  async open(): Promise<void> {
    await this.call("backend.open");
    this.caps = (await this.call("backend.capabilities")) as Capabilities;
  }

  async close(): Promise<void> {
    await this.call("backend.close");
  }

  capabilities(): Capabilities {
    return this.caps;
  }

  readRuleCounters(): Promise<Map<bigint, Counter>> {
    return this.call("backend.readRuleCounters") as Promise<Map<bigint, Counter>>;
  }

  readDropCounters(): Promise<Map<number, Counter>> {
    return this.call("backend.readDropCounters") as Promise<Map<number, Counter>>;
  }

  listFlows(limit: number): Promise<Flow[]> {
    return this.call("backend.listFlows", limit) as Promise<Flow[]>;
  }

  deleteFlows(flows: Flow[]): Promise<number> {
    return this.call("backend.deleteFlows", flows) as Promise<number>;
  }

  async cleanup(): Promise<void> {
    await this.call("backend.cleanup");
  }

  /**
   * BPF_PROG_TEST_RUN of one program inside the backend's namespace (so `ifindex` can name the
   * namespace's own interfaces): "from"/"to" a workload, "host-in"/"host-out" a host interface.
   */
  async testRun(hook: "from" | "to" | "host-in" | "host-out", packet: Buffer, options: TestRunOptions = {}): Promise<{ retval: number; mark: number; data: Buffer }> {
    const r = (await this.call(`testRun.${hook}`, packet.toString("hex"), options)) as { retval: number; mark: number; data: string };
    return { retval: r.retval, mark: r.mark, data: Buffer.from(r.data, "hex") };
  }

  hostInterfaces(): Promise<HostInterface[]> {
    return this.call("backend.hostInterfaces") as Promise<HostInterface[]>;
  }

  setConntrackTimeouts(timeouts: Partial<ConntrackTimeouts>): Promise<void> {
    return this.call("backend.setConntrackTimeouts", timeouts) as Promise<void>;
  }

  arp(change?: Partial<ArpSettings>): Promise<ArpSettings> {
    return (change ? this.call("arp.set", change) : this.call("arp.get")) as Promise<ArpSettings>;
  }

  /** Program ids of ptables' filters on `ifname` (null where there is none). */
  filters(ifname: string): Promise<{ ingress: number | null; egress: number | null }> {
    return this.call("filters", ifname) as Promise<{ ingress: number | null; egress: number | null }>;
  }

  /** Ends the agent: closes its stdin (it closes the backend and exits). */
  async stop(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }

  /** Kills the agent without letting it close anything (a crash). */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}
