/**
 * The ARP responder agent. Calico gives every pod a default route via 169.254.1.1, an address
 * no interface owns; something must answer the pod's ARP request for it with the host-side
 * veth's MAC (ee:ee:ee:ee:ee:ee). With the eBPF backend the tc program answers in place, from
 * settings in the pinned config map; this agent owns those settings: it writes them once the
 * maps exist and re-asserts them periodically, so a restarted or re-initialised datapath
 * answers again within one period.
 *
 * The reference DPU answers ARP with its own logic, so there is nothing for this agent to
 * program there; it says so in Info rather than pretending.
 */
import { errorMessage } from "@ptables/api";
import { EbpfBackend, type ArpSettings } from "@ptables/backend-ebpf";
import {
  ServingStatus,
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

/** What pods expect of their gateway (Calico's fixed link-local next hop). */
export const GATEWAY_ARP: Readonly<ArpSettings> = { gatewayIp: "169.254.1.1", gatewayMac: "ee:ee:ee:ee:ee:ee", enabled: true };

/** Health name of the ARP answer (SERVING once the datapath holds it). */
export const ARP_HEALTH = "ptables.arp-responder.GatewayArp";

/** Where the settings live: the eBPF backend's ArpConfig, or anything shaped like it. */
export interface ArpSettingsStore {
  get(): ArpSettings;
  set(change: Partial<ArpSettings>): ArpSettings;
}

/** Options of ArpResponder. */
export interface ArpResponderOptions {
  config: PtablesConfig;
  logger: Logger;
  /** The settings store; opened from the configuration (eBPF reader) when absent. */
  store?: ArpSettingsStore;
}

/** Owns the gateway ARP settings: writes them when they differ, re-checks every arpRefreshSecs. */
export class ArpResponder {
  private server: AgentServer | undefined;
  private store: ArpSettingsStore | undefined;
  private backend: EbpfBackend | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private notApplicable: string | undefined;
  /** What the datapath held after the last assert. */
  programmed: ArpSettings | undefined;
  asserts = 0;
  /** Asserts that found the datapath different from what we want and rewrote it. */
  corrections = 0;
  /** Asserts that could not read or write the settings. */
  failures = 0;
  lastError: string | undefined;
  lastAssertAt: string | undefined;

  constructor(private readonly opts: ArpResponderOptions) {}

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    this.server = await startAgentServer({
      socketPath: socketPaths(config.runDir).arpResponder,
      agentName: "arp-responder",
      version: ptablesVersion(),
      info: () => this.info(),
      logger,
    });
    if (!this.opts.store && config.backend === "reference") {
      this.notApplicable = "the reference DPU answers gateway ARP with its own logic; there is nothing to program";
      logger.info("gateway ARP not applicable", { backend: config.backend, reason: this.notApplicable });
      return;
    }
    this.server.health.setStatus(ARP_HEALTH, ServingStatus.NOT_SERVING);
    void this.openAndRun();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.backend?.close();
    await this.server?.stop(1000);
  }

  /** Why the agent has nothing to program (reference backend), if so. */
  get notApplicableReason(): string | undefined {
    return this.notApplicable;
  }

  /** Liveness: arp-responder.sock is served. */
  liveness(): HealthReport {
    return grpcLiveness(this.server);
  }

  /** Readiness: the datapath holds the gateway answer (or there is nothing to program). */
  readiness(): HealthReport {
    if (this.notApplicable) return { ok: true, detail: { arp: "not applicable", reason: this.notApplicable } };
    const ok = this.programmed !== undefined && this.lastError === undefined;
    return {
      ok,
      detail: {
        arp: ok ? "programmed" : this.lastError ? "failing" : "waiting for the datapath",
        ...(this.lastError ? { lastError: this.lastError } : {}),
        ...(this.lastAssertAt ? { lastAssertAt: this.lastAssertAt } : {}),
      },
    };
  }

  info(): Record<string, unknown> {
    const base = { backend: this.opts.config.backend, wanted: GATEWAY_ARP };
    if (this.notApplicable) return { ...base, arp: "not applicable", reason: this.notApplicable };
    return {
      ...base,
      arp: this.programmed ? "programmed" : "waiting for the datapath",
      programmed: this.programmed,
      asserts: this.asserts,
      corrections: this.corrections,
      failures: this.failures,
      lastAssertAt: this.lastAssertAt,
      lastError: this.lastError,
      refreshSecs: this.opts.config.arpRefreshSecs,
    };
  }

  /** Writes the wanted settings if the datapath holds anything else; returns what it holds. */
  assert(): ArpSettings | undefined {
    if (!this.store) return undefined;
    try {
      const current = this.store.get();
      let held = current;
      if (!sameSettings(current, GATEWAY_ARP)) {
        held = this.store.set(GATEWAY_ARP);
        if (this.asserts > 0) this.corrections++;
        this.opts.logger.info("gateway ARP answer programmed", { ...held, was: current });
      }
      this.asserts++;
      this.programmed = held;
      this.lastError = undefined;
      this.lastAssertAt = new Date().toISOString();
      this.server?.health.setStatus(ARP_HEALTH, ServingStatus.SERVING);
      return held;
    } catch (err) {
      this.failures++;
      this.lastError = errorMessage(err);
      this.opts.logger.error("cannot program the gateway ARP answer", { error: this.lastError });
      this.server?.health.setStatus(ARP_HEALTH, ServingStatus.NOT_SERVING);
      return undefined;
    }
  }

  private async openAndRun(): Promise<void> {
    const { config, logger } = this.opts;
    if (!this.opts.store) {
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
      this.store = backend.arpConfig;
    } else {
      this.store = this.opts.store;
    }
    this.loop();
  }

  private loop(): void {
    if (this.stopped) return;
    this.assert();
    this.timer = setTimeout(() => this.loop(), this.opts.config.arpRefreshSecs * 1000);
  }
}

function sameSettings(a: ArpSettings, b: ArpSettings): boolean {
  return a.gatewayIp === b.gatewayIp && a.gatewayMac.toLowerCase() === b.gatewayMac.toLowerCase() && a.enabled === b.enabled;
}
