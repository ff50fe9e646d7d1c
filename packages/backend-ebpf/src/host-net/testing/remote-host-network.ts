/**
 * A HostNetwork (plus the routes table) running in a child process inside a named network
 * namespace (`nsenter --net`), for tests that must never touch the machine's own network.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { EntryError, FdbKey, FdbValue, NatOutgoingKey, NatOutgoingValue, RouteKey, RouteValue, Sysctl, TunnelKey, TunnelValue } from "@ptables/api";
import { PACKAGE_ROOT } from "../../package-root";
import { fromWire, toWire } from "../../testing/rpc-json";
import { tsMainArgv } from "../../testing/ts-bootstrap";

const AGENT = join(PACKAGE_ROOT, "src", "host-net", "testing", "host-net-agent.ts");

export interface RemoteTable<K, V> {
  loadAll(): Promise<Array<[K, V]>>;
  applyBatch(upserts: Array<[K, V]>, deletes: K[]): Promise<EntryError[]>;
}

export class RemoteHostNetwork {
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  private stderr = "";
  private readonly exited: Promise<void>;
  readonly tunnels = this.table<TunnelKey, TunnelValue>("tunnels");
  readonly fdb = this.table<FdbKey, FdbValue>("fdb");
  readonly natOutgoing = this.table<NatOutgoingKey, NatOutgoingValue>("natOutgoing");
  readonly routes = this.table<RouteKey, RouteValue>("routes");

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const msg = fromWire(line) as { id: number; result?: unknown; error?: { name: string; message: string } };
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.error) waiter.reject(Object.assign(new Error(msg.error.message), { name: msg.error.name }));
      else waiter.resolve(msg.result);
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        for (const w of this.pending.values()) w.reject(new Error(`host-net agent exited (${signal ?? code}): ${this.stderr}`));
        this.pending.clear();
        resolve();
      });
      child.once("error", () => resolve());
    });
  }

  /** Starts the agent in namespace `ns` (/run/netns/<ns>). */
  static start(ns: string): RemoteHostNetwork {
    const child = spawn("nsenter", [`--net=/run/netns/${ns}`, "--", process.execPath, ...tsMainArgv(AGENT, null)], { stdio: ["pipe", "pipe", "pipe"], cwd: PACKAGE_ROOT });
    return new RemoteHostNetwork(child);
  }

  setSysctls(settings: Sysctl[], optionalPaths: string[] = []): Promise<number> {
    return this.call("setSysctls", settings, optionalPaths) as Promise<number>;
  }

  defaultRpFilter(): Promise<string> {
    return this.call("defaultRpFilter") as Promise<string>;
  }

  cleanup(): Promise<void> {
    return this.call("cleanup") as Promise<void>;
  }

  async stop(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }

  private table<K, V>(name: string): RemoteTable<K, V> {
    return {
      loadAll: () => this.call(`${name}.loadAll`) as Promise<Array<[K, V]>>,
      applyBatch: (ups, dels) => this.call(`${name}.applyBatch`, ups, dels) as Promise<EntryError[]>,
    };
  }

  private call(method: string, ...args: unknown[]): Promise<unknown> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(new Error(`host-net agent is not running: ${this.stderr}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(`${toWire({ id, method, args })}\n`);
    });
  }
}
