/**
 * ptables.policy.v1.PolicyProgrammer over a Programmer.
 *
 * Sync: one active stream. Each stream must start with a Snapshot; a newer stream replaces the
 * older one (which is ended with ABORTED), since the proxy only opens a new stream when it has
 * lost the old one. Messages are applied to the model as they arrive and programmed by the
 * ApplyLoop (one apply at a time, batches coalesced); after each apply the stream gets a
 * SyncResponse with the applied version and the statuses that changed (all of them after a
 * snapshot). A response computed for an older stream's model is not sent to a newer stream.
 *
 * Trace: the reference evaluator on the current model. State: versions, statuses, the
 * programmed tables with their counters, and the model joined with them (all endpoints in
 * brief, or one endpoint in full), as JSON.
 */
import * as grpc from "@grpc/grpc-js";
import { sync } from "@ptables/proto";
import { errorMessage, NotFoundError, ValidationError } from "@ptables/api";
import { evaluatePolicy, parseIp, type EvaluationTarget } from "@ptables/policy-core";
import { ApplyLoop } from "./apply-loop";
import { findEndpoint, renderModel } from "./endpoint-view";
import type { Programmer, ProgrammerLog } from "./programmer";
import { renderTables } from "./tables-view";

type SyncCall = grpc.ServerDuplexStream<sync.SyncRequest, sync.SyncResponse>;

/** The one mapping from errors to gRPC statuses: bad input is INVALID_ARGUMENT, never a stack trace. */
export function toGrpcError(err: unknown, what: string): Partial<grpc.StatusObject> {
  if (err instanceof ValidationError) return { code: grpc.status.INVALID_ARGUMENT, details: `${what}: ${err.message}` };
  if (err instanceof NotFoundError) return { code: grpc.status.NOT_FOUND, details: `${what}: ${err.message}` };
  return { code: grpc.status.INTERNAL, details: `${what}: ${errorMessage(err)}` };
}

export class PolicyProgrammerService {
  private active: SyncCall | undefined;
  private stopping = false;
  /** Incremented for every stream; an apply is reported only to the stream it worked for. */
  private epoch = 0;
  /** Sync streams ended for breaking the protocol (no snapshot first, an empty or bad message). */
  rejectedStreams = 0;
  readonly loop: ApplyLoop;

  constructor(
    readonly programmer: Programmer,
    private readonly log: ProgrammerLog,
  ) {
    this.loop = new ApplyLoop(programmer, (res, epoch) => this.reply(res, epoch), log, () => this.epoch);
  }

  /** The handlers to register with grpc's server (see startAgentServer). */
  implementation(): sync.PolicyProgrammerServer {
    return {
      sync: (call) => this.openSync(call),
      trace: (call, callback) => {
        try {
          callback(null, this.trace(call.request));
        } catch (err) {
          callback(toGrpcError(err, "trace"));
        }
      },
      state: (call, callback) => {
        this.state(call.request).then(
          (res) => callback(null, res),
          (err: unknown) => callback(toGrpcError(err, "state")),
        );
      },
    };
  }

  /** Whether a Sync stream is connected. */
  get syncConnected(): boolean {
    return this.active !== undefined;
  }

  /** Ends the active stream, refuses new ones, and waits for a running apply to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    const call = this.active;
    this.active = undefined;
    if (call) call.end();
    await this.loop.stop();
  }

  private openSync(call: SyncCall): void {
    if (this.stopping) {
      call.emit("error", { code: grpc.status.UNAVAILABLE, details: "the policy programmer is stopping" });
      return;
    }
    const previous = this.active;
    this.active = call;
    this.epoch++;
    if (previous) {
      this.log.info("sync stream replaced by a newer one");
      previous.emit("error", { code: grpc.status.ABORTED, details: "replaced by a newer Sync stream" });
    }
    let started = false;
    const fail = (details: string): void => {
      this.rejectedStreams++;
      this.log.warn("sync stream rejected", { reason: details });
      if (this.active === call) this.active = undefined;
      call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details });
    };
    call.on("data", (req: sync.SyncRequest) => {
      if (this.active !== call) return;
      const msg = req.msg;
      try {
        if (msg?.$case === "snapshot") {
          this.programmer.applySnapshot(msg.value);
          started = true;
        } else if (msg?.$case === "delta") {
          if (!started) return fail("the first message on a Sync stream must be a snapshot");
          this.programmer.applyDelta(msg.value);
        } else {
          return fail("a SyncRequest must hold a snapshot or a delta");
        }
      } catch (err) {
        return fail(`sync: ${errorMessage(err)}`);
      }
      this.loop.kick();
    });
    const closed = (): void => {
      if (this.active === call) this.active = undefined;
    };
    call.on("end", () => {
      closed();
      call.end();
    });
    call.on("cancelled", closed);
    call.on("error", closed);
  }

  private reply(res: sync.SyncResponse, epoch: number): void {
    if (!this.active || epoch !== this.epoch) return;
    try {
      this.active.write(res);
    } catch (err) {
      this.log.warn("sync response not sent", { error: errorMessage(err) });
    }
  }

  /** The reference verdict for a packet at an endpoint; bad requests throw ValidationError. */
  trace(req: sync.TraceRequest): sync.TraceResponse {
    const direction = req.direction;
    if (direction !== "ingress" && direction !== "egress") throw new ValidationError("direction", `"${direction}" is not ingress or egress`);
    const target = this.traceTarget(req.endpoint);
    const src = parseIp(req.srcIp);
    if (!src) throw new ValidationError("packet", `srcIp "${req.srcIp}" is not an IP address`);
    const v = evaluatePolicy(this.programmer.store, target, direction, {
      family: src.family,
      srcIp: req.srcIp,
      dstIp: req.dstIp,
      proto: req.protocol,
      srcPort: req.srcPort,
      dstPort: req.dstPort,
      icmpType: req.icmpType,
      icmpCode: req.icmpCode,
    });
    const steps = [...v.steps];
    const kind = target.kind === "workload" ? sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT : sync.ObjectKind.OBJECT_KIND_HOST_ENDPOINT;
    const st = this.programmer.status.get(kind, target.endpoint.key);
    if (st && st.state !== sync.ObjectState.OBJECT_STATE_PROGRAMMED && st.state !== sync.ObjectState.OBJECT_STATE_DOWN) {
      steps.push(`datapath: endpoint is ${sync.ObjectState[st.state]}${st.reason ? ` (${st.reason})` : ""}`);
    }
    return {
      verdict: v.verdict,
      tier: v.tier ?? "",
      policy: v.policy ?? (v.profile !== undefined ? `profile ${v.profile}` : ""),
      ruleIndex: v.ruleIndex ?? -1,
      reason: v.reason,
      steps,
    };
  }

  /** A workload endpoint by key or interface name, or a host endpoint by key (its normal hook). */
  private traceTarget(name: string): EvaluationTarget {
    const found = findEndpoint(this.programmer, name);
    return found.kind === "workload" ? found : { ...found, hook: "normal" };
  }

  async state(req: Partial<sync.StateRequest> = {}): Promise<sync.StateResponse> {
    const p = this.programmer;
    const endpoint = req.endpoint ?? "";
    // An unknown endpoint is refused before any datapath I/O.
    if (endpoint) findEndpoint(p, endpoint);
    let counters = new Map();
    let counterError: string | undefined;
    try {
      counters = await p.backend.readRuleCounters();
    } catch (err) {
      counterError = `reading rule counters: ${errorMessage(err)}`;
    }
    return {
      appliedVersion: p.appliedVersion,
      inSync: p.inSync,
      statuses: p.statuses(),
      backend: p.backend.name,
      tablesJson: renderTables(p, counters, counterError),
      modelJson: await renderModel(p, counters, endpoint),
    };
  }
}
