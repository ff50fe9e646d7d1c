/**
 * Keeps the programmer's view of the host's interfaces and addresses current: the backend's
 * hostInterfaces(), read at the first apply and then every `intervalMs` (the Programmer reports
 * the next scan through nextRetryAt(), so the apply loop comes back for it even when the model
 * is idle; the loop rescans on its own and applies only if the list changed). A new interface is therefore programmed within one interval of appearing (a "*"
 * host endpoint covers it from then on); a scan that fails keeps the last list and is retried
 * at the next interval.
 */
import { errorMessage, type Backend, type HostInterface } from "@ptables/api";

export const DEFAULT_HOST_SCAN_MS = 5_000;

export class HostInterfaceWatch {
  private current: HostInterface[] | undefined;
  private signature = "";
  private nextAt = 0;
  /** The last scan's error, if it failed. */
  lastError: string | undefined;
  scans = 0;

  constructor(
    private readonly backend: Backend,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether the backend enforces host endpoints and can list its interfaces. */
  get enabled(): boolean {
    return this.backend.capabilities().hostEndpoints && typeof this.backend.hostInterfaces === "function";
  }

  /** When the next scan is due; undefined when scanning is off. */
  nextScanAt(): number | undefined {
    return this.enabled ? this.nextAt : undefined;
  }

  /**
   * Scans if due (or never scanned). `changed` is the new list when it differs from the last
   * one; `error` says why a scan that was due failed. Never throws.
   */
  async refresh(): Promise<{ changed?: HostInterface[]; error?: string }> {
    if (!this.enabled || (this.current !== undefined && this.now() < this.nextAt)) return {};
    this.nextAt = this.now() + this.intervalMs;
    this.scans++;
    let list: HostInterface[];
    try {
      list = await this.backend.hostInterfaces!();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = errorMessage(err);
      return { error: this.lastError };
    }
    const normalised = list.map((i) => ({ ...i, addrs: [...i.addrs].sort() })).sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0));
    const signature = JSON.stringify(normalised);
    if (this.current !== undefined && signature === this.signature) return {};
    this.current = normalised;
    this.signature = signature;
    return { changed: normalised };
  }

  interfaces(): readonly HostInterface[] {
    return this.current ?? [];
  }
}
