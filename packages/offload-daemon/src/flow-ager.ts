/**
 * Flow lifecycle over a backend's flow table: each scan lists the flows, removes those idle
 * past their class's timeout, notices flows that appeared since the last scan, and keeps the
 * counts Info shows. The datapath only ever adds and refreshes entries; this is where they go
 * away, so the table does not fill up with dead flows.
 */
import { errorMessage, type Backend, type Flow } from "@ptables/api";
import type { FlowTimeouts, Logger } from "@ptables/runtime";
import type { FastPath } from "./fast-path";
import { flowClass, flowKey, protoName } from "./flow-classes";
import type { FlowLog } from "./flow-log";

/** The part of a backend the ager uses. */
export type FlowTable = Pick<Backend, "listFlows" | "deleteFlows">;

/** Upper bound of flows read per scan. */
export const MAX_FLOWS_PER_SCAN = 1 << 20;

/** Options of FlowAger. */
export interface FlowAgerOptions {
  table: FlowTable;
  timeouts: FlowTimeouts;
  flowLog: FlowLog;
  logger: Logger;
  fastPath?: FastPath;
  /** The datapath's clock (CLOCK_MONOTONIC in ns, as bpf_ktime_get_ns); injectable for tests. */
  nowNs?: () => bigint;
  maxFlows?: number;
}

/** What one scan saw and did. */
export interface ScanResult {
  at: string;
  flows: number;
  started: number;
  expired: number;
  durationMs: number;
}

/** Counts shown in Info; `active` and the `by*` counts are as of the last scan. */
export interface FlowCounts {
  active: number;
  byProtocol: Record<string, number>;
  byState: Record<string, number>;
  /** Flows by protocol and state together ("tcp/established"), for metrics. */
  byProtocolAndState: Record<string, number>;
  /** Flows first seen by a scan (not counting those already there at start-up). */
  created: number;
  /** Flows already present when the daemon started. */
  adopted: number;
  /** Flows this daemon removed for being idle. */
  expired: number;
  /** Flows that vanished from the table without being expired here. */
  vanished: number;
  scans: number;
  failedScans: number;
}

/** Ages one flow table; call scan() periodically. */
export class FlowAger {
  private known = new Map<string, Flow>();
  private firstScan = true;
  private readonly nowNs: () => bigint;
  private readonly counts: FlowCounts = { active: 0, byProtocol: {}, byState: {}, byProtocolAndState: {}, created: 0, adopted: 0, expired: 0, vanished: 0, scans: 0, failedScans: 0 };
  lastScan: ScanResult | undefined;
  lastError: string | undefined;

  constructor(private readonly opts: FlowAgerOptions) {
    this.nowNs = opts.nowNs ?? (() => process.hrtime.bigint());
  }

  /** A copy of the counts. */
  snapshot(): FlowCounts {
    return structuredClone(this.counts);
  }

  /** One pass over the flow table. Never throws: a failed scan is counted and logged. */
  async scan(): Promise<ScanResult | undefined> {
    const started = performance.now();
    try {
      const result = await this.scanOnce();
      result.durationMs = performance.now() - started;
      this.lastScan = result;
      this.lastError = undefined;
      this.counts.scans++;
      return result;
    } catch (err) {
      this.counts.failedScans++;
      this.lastError = errorMessage(err);
      this.opts.logger.error("flow scan failed", { error: this.lastError });
      return undefined;
    }
  }

  private async scanOnce(): Promise<ScanResult> {
    const flows = await this.opts.table.listFlows(this.opts.maxFlows ?? MAX_FLOWS_PER_SCAN);
    const now = this.nowNs();
    const current = new Map<string, Flow>();
    const idle: Flow[] = [];
    let startedCount = 0;
    for (const flow of flows) {
      const key = flowKey(flow);
      current.set(key, flow);
      const before = this.known.get(key);
      if (!before || before.createdNs !== flow.createdNs) {
        if (this.firstScan) this.counts.adopted++;
        else {
          startedCount++;
          this.counts.created++;
          this.opts.flowLog.record("start", flow);
          await this.offer(flow);
        }
      }
      const timeoutNs = BigInt(this.opts.timeouts[flowClass(flow)]) * 1_000_000_000n;
      if (now - flow.lastSeenNs > timeoutNs) idle.push(flow);
    }
    for (const [key, flow] of this.known) {
      if (!current.has(key)) {
        this.counts.vanished++;
        await this.withdraw(flow);
      }
    }
    let expired = 0;
    if (idle.length > 0) {
      expired = await this.opts.table.deleteFlows(idle);
      this.counts.expired += expired;
      for (const flow of idle) {
        current.delete(flowKey(flow));
        this.opts.flowLog.record("end", flow, { reason: "idle", durationSecs: Number(flow.lastSeenNs - flow.createdNs) / 1e9 });
        await this.withdraw(flow);
      }
    }
    this.known = current;
    this.firstScan = false;
    this.recount();
    return { at: new Date().toISOString(), flows: flows.length, started: startedCount, expired, durationMs: 0 };
  }

  private recount(): void {
    const byProtocol: Record<string, number> = {};
    const byState: Record<string, number> = {};
    const both: Record<string, number> = {};
    for (const flow of this.known.values()) {
      const p = protoName(flow.proto);
      byProtocol[p] = (byProtocol[p] ?? 0) + 1;
      byState[flow.state] = (byState[flow.state] ?? 0) + 1;
      both[`${p}/${flow.state}`] = (both[`${p}/${flow.state}`] ?? 0) + 1;
    }
    this.counts.active = this.known.size;
    this.counts.byProtocol = byProtocol;
    this.counts.byState = byState;
    this.counts.byProtocolAndState = both;
  }

  private async offer(flow: Flow): Promise<void> {
    if (!this.opts.fastPath) return;
    try {
      await this.opts.fastPath.offer(flow);
    } catch (err) {
      this.opts.logger.warn("fast path refused a flow", { flow: flowKey(flow), error: errorMessage(err) });
    }
  }

  private async withdraw(flow: Flow): Promise<void> {
    if (!this.opts.fastPath) return;
    try {
      await this.opts.fastPath.withdraw(flow);
    } catch (err) {
      this.opts.logger.warn("fast path withdraw failed", { flow: flowKey(flow), error: errorMessage(err) });
    }
  }
}
