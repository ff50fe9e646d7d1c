/**
 * The felix-proxy agent: Felix's stream in, the desired state out to the policy programmer,
 * endpoint and process status back to Felix. Used in-process by the standalone driver (fd 3
 * and fd 4) and as a daemon behind felix.sock (see felix-listener.ts).
 *
 * One Felix connection at a time. A new one replaces the old and starts from an empty store
 * (a new Felix begins with ConfigUpdate and resends everything). While that new Felix replays
 * its state, the programmer keeps the previous complete state: nothing is sent to it until
 * the new Felix's InSync, and then a fresh snapshot.
 */
import type { Readable, Writable } from "node:stream";
import { workloadEndpointKey } from "@ptables/api";
import { sync, type felix } from "@ptables/proto";
import {
  ServingStatus,
  grpcLiveness,
  snakeCase,
  socketPaths,
  startAgentServer,
  ptablesVersion,
  countOpenSockets,
  type AgentServer,
  type BackoffOptions,
  type HealthReport,
  type Logger,
  type PtablesConfig,
} from "@ptables/runtime";
import { EndpointStatusReporter } from "./endpoint-status";
import { FelixSession, type FelixSessionEnd } from "./felix-session";
import { FelixState } from "./felix-state";
import { ProcessStatusReporter } from "./process-status";
import { ProgrammerSync } from "./programmer-sync";

/** Options of FelixProxy. */
export interface FelixProxyOptions {
  config: PtablesConfig;
  logger: Logger;
  /** Serve health and Info on felix-proxy.sock (default true). */
  serveAgentSocket?: boolean;
  /** Window in which changes are collected into one Delta (default 5 ms). */
  coalesceMs?: number;
  /** Delay of the first ProcessStatusUpdate after ConfigUpdate (default 1000 ms). */
  firstProcessStatusDelayMs?: number;
  /** Reconnect backoff towards the programmer. */
  backoff?: BackoffOptions;
}

/** The felix-proxy's state as Info reports it. */
export interface FelixProxyInfo {
  felixConnected: boolean;
  felixConnections: number;
  programmerConnected: boolean;
  inSync: boolean;
  /** The programmer has applied a state sent after Felix's InSync. */
  programmedInSync: boolean;
  syncHeld: boolean;
  sentVersion: string;
  appliedVersion: string;
  snapshotsSent: number;
  deltasSent: number;
  framesReceived: number;
  framesSent: number;
  protocolErrors: number;
  lastSessionEnd: FelixSessionEnd | undefined;
  objects: Record<string, number>;
  unimplementedPayloads: Record<string, number>;
  endpointStatuses: Record<string, number>;
  processStatusReports: number;
  openSockets: number;
}

/** Totals and connection state for metrics (see counters()). */
export interface FelixProxyCounters {
  felixConnected: boolean;
  felixInSync: boolean;
  programmerConnected: boolean;
  felixConnections: number;
  protocolErrors: number;
  framesSent: number;
  snapshotsSent: number;
  deltasSent: number;
}

/** Health name of the Felix -> programmer path: SERVING while Felix and the programmer are both connected. */
export const FELIX_PROXY_SERVICE_HEALTH = "ptables.felix-proxy";

/** One proxy: one store, one programmer stream, at most one Felix connection at a time. */
export class FelixProxy {
  private readonly logger: Logger;
  private readonly state: FelixState;
  private readonly programmer: ProgrammerSync;
  private readonly statuses: EndpointStatusReporter;
  private session: FelixSession | undefined;
  private processStatus: ProcessStatusReporter | undefined;
  private agentServer: AgentServer | undefined;
  private connections = 0;
  private protocolErrors = 0;
  private framesReceivedBefore = 0;
  private framesSentBefore = 0;
  private lastSessionEnd: FelixSessionEnd | undefined;
  private stopped = false;
  /** Felix messages received, by payload (snake_case oneof name, "none" for an unknown one). */
  private readonly framesByPayload: Record<string, number> = {};
  private readonly programmedListeners = new Set<(seconds: number) => void>();

  constructor(private readonly opts: FelixProxyOptions) {
    this.logger = opts.logger;
    this.state = new FelixState(this.logger);
    this.statuses = new EndpointStatusReporter(this.state, (msg) => this.session?.send(msg), this.logger);
    this.programmer = new ProgrammerSync({
      socketPath: socketPaths(opts.config.runDir).policyProgrammer,
      source: this.state,
      logger: this.logger,
      coalesceMs: opts.coalesceMs,
      backoff: opts.backoff,
      onResponse: (res) => this.statuses.onProgrammerStatuses(res.statuses),
      onConnectionChange: (up) => this.updateHealth(up),
      onProgrammed: (seconds) => {
        for (const listener of this.programmedListeners) listener(seconds);
      },
    });
  }

  /** Calls `listener` with the seconds from each Felix frame batch to its programmed state. */
  onProgrammed(listener: (seconds: number) => void): void {
    this.programmedListeners.add(listener);
  }

  /** The proxy's running totals and connection state: cheap, for metrics. */
  counters(): FelixProxyCounters {
    const s = this.session;
    return {
      felixConnected: s?.isOpen ?? false,
      felixInSync: this.state.inSync(),
      programmerConnected: this.programmer.connected,
      felixConnections: this.connections,
      protocolErrors: this.protocolErrors,
      framesSent: this.framesSentBefore + (s?.framesSent ?? 0),
      snapshotsSent: this.programmer.snapshotsSent,
      deltasSent: this.programmer.deltasSent,
    };
  }

  /** Felix messages received since start, by payload type (a copy). */
  framesReceivedByPayload(): Record<string, number> {
    return { ...this.framesByPayload };
  }

  /** Unimplemented Felix payloads received since start, by type (a copy). */
  unimplementedPayloads(): Record<string, number> {
    return { ...this.state.store.unimplementedCounts };
  }

  /** Valid objects in the desired state by kind, and how many are in error. */
  objectCounts(): Record<string, number> {
    return this.state.objectCounts();
  }

  /** Endpoint statuses last reported to Felix, by status. */
  endpointStatusCounts(): Record<string, number> {
    return this.statuses.counts();
  }

  /** Liveness: the event loop answers (implied by being asked) and felix-proxy.sock is served. */
  liveness(): HealthReport {
    if (this.opts.serveAgentSocket === false) return { ok: !this.stopped, detail: { grpc: "not served (in-process proxy without felix-proxy.sock)" } };
    return grpcLiveness(this.agentServer);
  }

  /**
   * Readiness: Felix is connected and has sent InSync, the programmer is connected and has
   * applied a complete state, so the datapath enforces what Felix computed.
   */
  readiness(): HealthReport {
    const detail = {
      felixConnected: this.session?.isOpen ?? false,
      felixInSync: this.state.inSync(),
      programmerConnected: this.programmer.connected,
      programmedInSync: this.programmer.programmedInSync,
      sentVersion: this.programmer.sentVersion.toString(),
      appliedVersion: this.programmer.appliedVersion.toString(),
    };
    return { ok: detail.felixConnected && detail.felixInSync && detail.programmerConnected && detail.programmedInSync, detail };
  }

  /** Starts the programmer stream and (unless disabled) the felix-proxy.sock server. */
  async start(): Promise<void> {
    if (this.opts.serveAgentSocket !== false) {
      this.agentServer = await startAgentServer({
        socketPath: socketPaths(this.opts.config.runDir).felixProxy,
        agentName: "felix-proxy",
        version: ptablesVersion(),
        info: () => this.info(),
        logger: this.logger,
      });
      this.updateHealth(false);
    }
    this.programmer.start();
  }

  /**
   * Takes a Felix connection: frames are read from `input`, statuses written to `output`.
   * Any previous connection is closed and the store starts empty.
   */
  attach(input: Readable, output: Writable, label: string): FelixSession {
    if (this.stopped) throw new Error("felix-proxy is stopped");
    const previous = this.session;
    if (previous) {
      previous.close("replaced by a new Felix connection");
      this.logger.warn("a new Felix connection replaces the current one", { connection: label });
    }
    if (this.connections > 0) {
      // The programmer holds the state of the previous Felix; keep it there until this one
      // is complete too (the first Felix of this process streams at once).
      this.programmer.hold();
    }
    this.state.reset();
    this.statuses.reset();
    this.processStatus?.stop();
    this.connections++;
    const session = new FelixSession({
      input,
      output,
      logger: this.logger.child({ connection: label }),
      maxFrameBytes: this.opts.config.maxFrameBytes,
      onMessage: (msg) => this.onFelixMessage(msg),
    });
    const reporter = new ProcessStatusReporter({ send: (msg) => session.send(msg), firstDelayMs: this.opts.firstProcessStatusDelayMs });
    this.session = session;
    this.processStatus = reporter;
    this.logger.info("Felix connected", { connection: label });
    void session.done.then((end) => {
      reporter.stop();
      this.framesReceivedBefore += session.framesReceived;
      this.framesSentBefore += session.framesSent;
      this.lastSessionEnd = end;
      if (end.offset !== undefined) this.protocolErrors++;
      if (this.session === session) {
        this.session = undefined;
        this.processStatus = undefined;
      }
      const log = end.clean ? this.logger.info.bind(this.logger) : this.logger.error.bind(this.logger);
      log("Felix connection ended", { connection: label, reason: end.reason });
      this.updateHealth(this.programmer.connected);
    });
    this.updateHealth(this.programmer.connected);
    return session;
  }

  /** Closes the Felix connection, the programmer stream and the agent socket. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.session?.close("felix-proxy stopping");
    this.processStatus?.stop();
    this.programmer.close();
    await this.agentServer?.stop(1000);
  }

  info(): FelixProxyInfo {
    const s = this.session;
    return {
      felixConnected: s?.isOpen ?? false,
      felixConnections: this.connections,
      programmerConnected: this.programmer.connected,
      inSync: this.state.inSync(),
      programmedInSync: this.programmer.programmedInSync,
      syncHeld: this.programmer.isHeld,
      sentVersion: this.programmer.sentVersion.toString(),
      appliedVersion: this.programmer.appliedVersion.toString(),
      snapshotsSent: this.programmer.snapshotsSent,
      deltasSent: this.programmer.deltasSent,
      framesReceived: this.framesReceivedBefore + (s?.framesReceived ?? 0),
      framesSent: this.framesSentBefore + (s?.framesSent ?? 0),
      protocolErrors: this.protocolErrors,
      lastSessionEnd: this.lastSessionEnd,
      objects: this.state.objectCounts(),
      unimplementedPayloads: { ...this.state.store.unimplementedCounts },
      endpointStatuses: this.statuses.counts(),
      processStatusReports: this.processStatus?.sent ?? 0,
      openSockets: countOpenSockets(),
    };
  }

  private onFelixMessage(msg: felix.ToDataplane): void {
    const payloadType = msg.payload ? snakeCase(msg.payload.$case) : "none";
    this.framesByPayload[payloadType] = (this.framesByPayload[payloadType] ?? 0) + 1;
    const result = this.state.apply(msg);
    const p = msg.payload;
    if (p?.$case === "configUpdate") this.processStatus?.configure(this.state.reportingIntervalSecs());
    for (const err of result.errors) this.reportRejected(err);
    if (p?.$case === "workloadEndpointRemove" && p.value.id) this.statuses.workloadRemoved(workloadEndpointKey(p.value.id));
    if (p?.$case === "hostEndpointRemove" && p.value.id) this.statuses.hostRemoved(p.value.id.endpointId);
    if (this.programmer.isHeld) {
      if (result.inSync) {
        this.logger.info("the new Felix connection is in sync; sending its state to the programmer");
        this.programmer.release();
      }
      return;
    }
    this.programmer.queue(result.changes, result.inSync);
  }

  private reportRejected(err: { kind: sync.ObjectKind; id: string; reason: string }): void {
    if (err.kind === sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT) {
      const known = this.state.workloadEndpoint(err.id);
      if (known) this.statuses.workloadRejected(err.id, known.id, known.endpoint, err.reason);
      else this.logger.warn("invalid workload endpoint update", { id: err.id, reason: err.reason });
      return;
    }
    if (err.kind === sync.ObjectKind.OBJECT_KIND_HOST_ENDPOINT) {
      const known = this.state.hostEndpoint(err.id);
      if (known) this.statuses.hostRejected(err.id, known.id, err.reason);
      else this.logger.warn("invalid host endpoint update", { id: err.id, reason: err.reason });
      return;
    }
    this.logger.warn("invalid object from Felix", { kind: sync.ObjectKind[err.kind] ?? err.kind, id: err.id, reason: err.reason });
  }

  private updateHealth(programmerConnected: boolean): void {
    const health = this.agentServer?.health;
    if (!health) return;
    // Serving means the path Felix -> programmer works: both ends are connected.
    const ok = (this.session?.isOpen ?? false) && programmerConnected;
    health.setStatus(FELIX_PROXY_SERVICE_HEALTH, ok ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  }
}
