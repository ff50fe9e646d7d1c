/**
 * The offload daemon: flow lifecycle for the datapath. It opens the backend as a reader, and
 * every PTABLES_FLOW_SCAN_SECS ages the flow table (see FlowAger), writes flow logs and keeps
 * counts; health and Info are served on offload-daemon.sock.
 *
 * A backend without its own conntrack (the reference DPU judges every packet afresh) has no
 * flows to age; the daemon then says so in Info and does nothing else.
 */
import { errorMessage, type Backend } from "@ptables/api";
import { agent } from "@ptables/proto";
import { EbpfBackend } from "@ptables/backend-ebpf";
import { REFERENCE_DPU_CAPABILITIES } from "@ptables/backend-ref";
import {
  GrpcStatus,
  ServingStatus,
  createLogger,
  grpcLiveness,
  ptablesVersion,
  retryUntilDone,
  socketPaths,
  startAgentServer,
  type AgentServer,
  type HealthReport,
  type Logger,
  type PtablesConfig,
} from "@ptables/runtime";
import type { FastPath } from "./fast-path";
import { FlowAger, type FlowCounts, type FlowTable, type ScanResult } from "./flow-ager";
import { listFlows } from "./flow-list";
import { FlowLog } from "./flow-log";

/** Health name of the flow-ageing function (SERVING once scans run). */
export const FLOW_AGEING_HEALTH = "ptables.offload-daemon.FlowAgeing";
/** The flow listing service (ptablesctl flows). */
export const FLOWS_SERVICE_NAME = "ptables.agent.v1.Flows";

/** Options of OffloadDaemon. */
export interface OffloadDaemonOptions {
  config: PtablesConfig;
  logger: Logger;
  /** The flow table; opened from the configuration when absent. */
  table?: FlowTable;
  fastPath?: FastPath;
  /** Where flow-log lines go (default: JSON lines on stderr). */
  flowLogger?: Logger;
}

/** The agent: server, backend reader and the periodic scan. */
export class OffloadDaemon {
  private server: AgentServer | undefined;
  private ager: FlowAger | undefined;
  private table: FlowTable | undefined;
  private readonly flowLog: FlowLog;
  private readonly scanListeners = new Set<(ok: boolean, durationMs: number) => void>();
  private backend: Backend | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<ScanResult | undefined> | undefined;
  private stopped = false;
  private notApplicable: string | undefined;

  constructor(private readonly opts: OffloadDaemonOptions) {
    const flowLogger = opts.flowLogger ?? createLogger({ component: "flow-log", level: "info", format: "json" });
    this.flowLog = new FlowLog(flowLogger, opts.config.flowLogMaxPerSec);
  }

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    this.server = await startAgentServer({
      socketPath: socketPaths(config.runDir).offloadDaemon,
      agentName: "offload-daemon",
      version: ptablesVersion(),
      info: () => this.info(),
      services: [{ name: FLOWS_SERVICE_NAME, definition: agent.FlowsService, implementation: this.flowsService() }],
      logger,
    });
    if (!this.opts.table && config.backend === "reference" && !REFERENCE_DPU_CAPABILITIES.conntrack) {
      // Not registered at all (a health check of it is NOT_FOUND, as the ARP responder's is):
      // a function that does not apply is neither serving nor failing.
      this.notApplicable = "the reference DPU keeps no conntrack (it judges every packet on its own), so there are no flows to age";
      logger.info("flow ageing not applicable", { backend: config.backend, reason: this.notApplicable });
      return;
    }
    this.server.health.setStatus(FLOW_AGEING_HEALTH, ServingStatus.NOT_SERVING);
    void this.openAndRun();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.scanning;
    await this.backend?.close();
    await this.server?.stop(1000);
  }

  /** Calls `listener` after every scan: whether it worked and how long it took. */
  onScan(listener: (ok: boolean, durationMs: number) => void): void {
    this.scanListeners.add(listener);
  }

  /** Flow counts as of the last scan (undefined before the first). */
  flowCounts(): FlowCounts | undefined {
    return this.ager?.snapshot();
  }

  /** Flow-log lines written and suppressed by the rate limit. */
  flowLogCounts(): { written: number; suppressed: number } {
    return { written: this.flowLog.written, suppressed: this.flowLog.suppressed };
  }

  /** Why there are no flows to age (reference backend), if so. */
  get notApplicableReason(): string | undefined {
    return this.notApplicable;
  }

  /** Liveness: offload-daemon.sock is served. */
  liveness(): HealthReport {
    return grpcLiveness(this.server);
  }

  /** Readiness: the last flow scan worked (or there are no flows to age). */
  readiness(): HealthReport {
    if (this.notApplicable) return { ok: true, detail: { flowAgeing: "not applicable", reason: this.notApplicable } };
    const last = this.ager?.lastScan;
    const error = this.ager?.lastError;
    const ok = last !== undefined && error === undefined;
    return {
      ok,
      detail: {
        flowAgeing: ok ? "running" : error ? "failing" : "waiting for the datapath",
        ...(last ? { lastScanAt: last.at, flows: last.flows } : {}),
        ...(error ? { lastError: error } : {}),
      },
    };
  }

  info(): Record<string, unknown> {
    const { config } = this.opts;
    const base = { backend: config.backend, scanIntervalSecs: config.flowScanSecs, fastPath: this.opts.fastPath?.name ?? "none" };
    if (this.notApplicable) return { ...base, flowAgeing: "not applicable", reason: this.notApplicable };
    return {
      ...base,
      flowAgeing: this.ager ? "running" : "waiting for the datapath",
      timeoutsSecs: config.flowTimeouts,
      flows: this.ager?.snapshot(),
      lastScan: this.ager?.lastScan,
      lastError: this.ager?.lastError,
      flowLog: { written: this.flowLog.written, suppressed: this.flowLog.suppressed, maxPerSec: config.flowLogMaxPerSec },
    };
  }

  private async openAndRun(): Promise<void> {
    const { config, logger } = this.opts;
    let table = this.opts.table;
    if (!table) {
      const backend = await retryUntilDone(
        () => EbpfBackend.openReader(config.bpfDir),
        { what: "open the datapath's pinned maps", logger, cancelled: () => this.stopped },
      );
      if (!backend) return;
      if (this.stopped) {
        await backend.close();
        return;
      }
      this.backend = backend;
      table = backend;
    }
    this.table = table;
    this.ager = new FlowAger({ table, timeouts: config.flowTimeouts, flowLog: this.flowLog, logger, fastPath: this.opts.fastPath });
    await this.scanLoop();
  }

  private async scanLoop(): Promise<void> {
    if (this.stopped || !this.ager) return;
    const started = performance.now();
    this.scanning = this.ager.scan();
    const result = await this.scanning;
    this.scanning = undefined;
    for (const listener of this.scanListeners) listener(result !== undefined, result?.durationMs ?? performance.now() - started);
    this.server?.health.setStatus(FLOW_AGEING_HEALTH, result ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.scanLoop(), this.opts.config.flowScanSecs * 1000);
  }

  private flowsService(): agent.FlowsServer {
    return {
      listFlows: (call, callback) => {
        if (this.notApplicable) return callback(null, { flows: [], truncated: false, note: this.notApplicable });
        if (!this.table) return callback(null, { flows: [], truncated: false, note: "waiting for the datapath's pinned maps" });
        listFlows(this.table, call.request.limit).then(
          (res) => callback(null, res),
          (err: unknown) => callback({ code: GrpcStatus.INTERNAL, details: `list flows: ${errorMessage(err)}` }),
        );
      },
    };
  }
}
