/**
 * Flow logs: one JSON line per flow start and end, through the logger, bounded to a number of
 * lines per second so a SYN flood cannot turn into a log flood. Lines over the bound are
 * counted, and the count is logged once the next second opens.
 */
import type { Flow } from "@ptables/api";
import type { Logger } from "@ptables/runtime";
import { protoName } from "./flow-classes";

/** A flow-log line is written when a flow is first seen and when it ends. */
export type FlowEvent = "start" | "end";

/** The rate-bounded flow-log writer. */
export class FlowLog {
  written = 0;
  suppressed = 0;
  private windowStartMs = -Infinity;
  private inWindow = 0;
  private suppressedInWindow = 0;

  constructor(
    private readonly logger: Logger,
    private readonly maxPerSec: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Writes one flow-log line unless this second's budget is spent. */
  record(event: FlowEvent, flow: Flow, extra: Record<string, unknown> = {}): void {
    const now = this.nowMs();
    if (now - this.windowStartMs >= 1000) {
      if (this.suppressedInWindow > 0) this.logger.warn("flow-log lines suppressed by the rate limit", { suppressed: this.suppressedInWindow, maxPerSec: this.maxPerSec });
      this.windowStartMs = now;
      this.inWindow = 0;
      this.suppressedInWindow = 0;
    }
    if (this.inWindow >= this.maxPerSec) {
      this.suppressed++;
      this.suppressedInWindow++;
      return;
    }
    this.inWindow++;
    this.written++;
    this.logger.info(`flow ${event}`, {
      event: `flow-${event}`,
      ifname: flow.ifname,
      proto: protoName(flow.proto),
      src: `${flow.srcIp}:${flow.srcPort}`,
      dst: `${flow.dstIp}:${flow.dstPort}`,
      state: flow.state,
      packets: flow.packets,
      bytes: flow.bytes,
      ...extra,
    });
  }
}
