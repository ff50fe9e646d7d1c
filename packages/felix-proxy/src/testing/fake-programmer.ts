/**
 * Test support (not built into dist): a policy programmer stand-in on a real Unix socket. It
 * records every snapshot and delta, keeps the desired endpoints they describe, and answers
 * each request with per-endpoint statuses the way the real programmer does: PROGRAMMED for an
 * admin-up endpoint, DOWN for an admin-down one, REMOVED once it is gone.
 */
import type * as grpc from "@grpc/grpc-js";
import { sync, type model } from "@ptables/proto";
import { startAgentServer, type AgentServer } from "@ptables/runtime";

export class FakeProgrammer {
  readonly requests: sync.SyncRequest[] = [];
  readonly responses: sync.SyncResponse[] = [];
  /** Desired workload endpoints as the stream describes them. */
  readonly endpoints = new Map<string, model.WorkloadEndpoint>();
  readonly policies = new Set<string>();
  readonly ipSets = new Map<string, Set<string>>();
  inSync = false;
  private server: AgentServer | undefined;
  private readonly calls = new Set<grpc.ServerDuplexStream<sync.SyncRequest, sync.SyncResponse>>();

  constructor(readonly socketPath: string) {}

  get snapshots(): sync.Snapshot[] {
    return this.requests.flatMap((r) => (r.msg?.$case === "snapshot" ? [r.msg.value] : []));
  }

  get deltas(): sync.Delta[] {
    return this.requests.flatMap((r) => (r.msg?.$case === "delta" ? [r.msg.value] : []));
  }

  get openStreams(): number {
    return this.calls.size;
  }

  async start(): Promise<void> {
    this.server = await startAgentServer({
      socketPath: this.socketPath,
      agentName: "fake-policy-programmer",
      version: "test",
      services: [{ name: "ptables.policy.v1.PolicyProgrammer", definition: sync.PolicyProgrammerService, implementation: this.implementation() }],
    });
  }

  /** Stops like a killed process would: every stream is cut. */
  async stop(): Promise<void> {
    await this.server?.stop(0);
    this.server = undefined;
  }

  private implementation(): sync.PolicyProgrammerServer {
    return {
      sync: (call) => {
        this.calls.add(call);
        const forget = (): void => void this.calls.delete(call);
        call.on("close", forget);
        call.on("error", forget);
        call.on("cancelled", forget);
        call.on("end", () => call.end());
        call.on("data", (req: sync.SyncRequest) => {
          this.requests.push(req);
          const statuses = this.apply(req);
          const res = { appliedVersion: req.msg?.value.version ?? 0n, statuses };
          this.responses.push(res);
          call.write(res);
        });
      },
      trace: (_c, cb) => cb(null, { verdict: "", tier: "", policy: "", ruleIndex: 0, reason: "", steps: [] }),
      state: (_c, cb) => cb(null, { appliedVersion: 0n, inSync: this.inSync, statuses: [], backend: "fake", tablesJson: "{}" }),
    };
  }

  private apply(req: sync.SyncRequest): sync.ObjectStatus[] {
    const removed: string[] = [];
    if (req.msg?.$case === "snapshot") {
      const s = req.msg.value;
      const before = new Set(this.endpoints.keys());
      this.endpoints.clear();
      this.policies.clear();
      this.ipSets.clear();
      for (const ep of s.state?.workloadEndpoints ?? []) this.endpoints.set(ep.key, ep);
      for (const p of s.state?.policies ?? []) this.policies.add(`${p.id?.kind}/${p.id?.namespace}/${p.id?.name}`);
      for (const set of s.state?.ipSets ?? []) this.ipSets.set(set.id, new Set(set.members));
      for (const k of before) if (!this.endpoints.has(k)) removed.push(k);
      this.inSync = s.inSync;
    } else if (req.msg?.$case === "delta") {
      for (const c of req.msg.value.changes) {
        const ch = c.change;
        if (ch?.$case === "workloadEndpoint") this.endpoints.set(ch.value.key, ch.value);
        if (ch?.$case === "removeWorkloadEndpoint" && this.endpoints.delete(ch.value)) removed.push(ch.value);
        if (ch?.$case === "policy") this.policies.add(`${ch.value.id?.kind}/${ch.value.id?.namespace}/${ch.value.id?.name}`);
        if (ch?.$case === "ipSet") this.ipSets.set(ch.value.id, new Set(ch.value.members));
      }
      this.inSync = req.msg.value.inSync;
    }
    const statuses: sync.ObjectStatus[] = [];
    for (const ep of this.endpoints.values()) {
      statuses.push({
        kind: sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT,
        id: ep.key,
        state: ep.adminUp ? sync.ObjectState.OBJECT_STATE_PROGRAMMED : sync.ObjectState.OBJECT_STATE_DOWN,
        reason: ep.adminUp ? "" : "admin down",
      });
    }
    for (const k of removed) statuses.push({ kind: sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT, id: k, state: sync.ObjectState.OBJECT_STATE_REMOVED, reason: "" });
    return statuses;
  }
}
