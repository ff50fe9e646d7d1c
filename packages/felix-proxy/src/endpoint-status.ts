/**
 * Endpoint status for Felix, from the programmer's per-object statuses and the store's
 * rejections. Felix's reporters read `id` and `status` without nil checks and its file
 * reporter needs `endpoint`, so every update carries the original Felix objects. A status is
 * sent only when it changes; a programmer that reconnects and repeats itself costs nothing.
 */
import { errorMessage } from "@ptables/api";
import {
  hostEndpointStatusRemove,
  hostEndpointStatusUpdate,
  workloadEndpointStatusRemove,
  workloadEndpointStatusUpdate,
} from "@ptables/felix";
import { sync, type felix } from "@ptables/proto";
import { objectLogger, type Logger } from "@ptables/runtime";

/** The original Felix objects of an endpoint the store currently knows. */
export interface EndpointLookup {
  workloadEndpoint(key: string): { id: felix.WorkloadEndpointID; endpoint: felix.WorkloadEndpoint | undefined } | undefined;
  hostEndpoint(key: string): { id: felix.HostEndpointID } | undefined;
}

/** The status strings Felix understands ("error" only for host endpoints). */
export type FelixEndpointStatus = "up" | "down" | "error";

type Send = (msg: felix.FromDataplane) => void;

interface Reported<Id> {
  status: FelixEndpointStatus;
  id: Id;
}

/** Felix's status for a workload endpoint in a programmer state; undefined = say nothing yet. */
export function workloadStatusFor(state: sync.ObjectState): "up" | "down" | undefined {
  switch (state) {
    case sync.ObjectState.OBJECT_STATE_PROGRAMMED:
      return "up";
    case sync.ObjectState.OBJECT_STATE_ERROR:
    case sync.ObjectState.OBJECT_STATE_DOWN:
      return "down";
    default:
      // PENDING: not attempted yet. An endpoint being reprogrammed keeps its last status, as
      // its previous program stays in the datapath until the new one replaces it atomically.
      return undefined;
  }
}

/** Felix's status for a host endpoint ("error": known but could not be programmed). */
export function hostStatusFor(state: sync.ObjectState): FelixEndpointStatus | undefined {
  switch (state) {
    case sync.ObjectState.OBJECT_STATE_PROGRAMMED:
      return "up";
    case sync.ObjectState.OBJECT_STATE_ERROR:
      return "error";
    case sync.ObjectState.OBJECT_STATE_DOWN:
      return "down";
    default:
      return undefined;
  }
}

/** Turns programmer statuses and store rejections into Felix status messages, sending changes only. */
export class EndpointStatusReporter {
  private readonly workloads = new Map<string, Reported<felix.WorkloadEndpointID>>();
  private readonly hosts = new Map<string, Reported<felix.HostEndpointID>>();
  /** Updates and removes sent, for Info. */
  sent = 0;

  constructor(
    private readonly lookup: EndpointLookup,
    private readonly send: Send,
    private readonly logger: Logger,
  ) {}

  /** Forgets everything reported (a new Felix connection knows nothing of it). */
  reset(): void {
    this.workloads.clear();
    this.hosts.clear();
  }

  /** Current statuses by key, for Info. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of [...this.workloads.values(), ...this.hosts.values()]) out[r.status] = (out[r.status] ?? 0) + 1;
    return out;
  }

  /** Applies statuses from a SyncResponse. */
  onProgrammerStatuses(statuses: readonly sync.ObjectStatus[]): void {
    for (const st of statuses) {
      if (st.kind === sync.ObjectKind.OBJECT_KIND_WORKLOAD_ENDPOINT) this.workloadStatus(st);
      else if (st.kind === sync.ObjectKind.OBJECT_KIND_HOST_ENDPOINT) this.hostStatus(st);
    }
  }

  /** An endpoint the store rejected as invalid: it cannot be programmed, so it is down now. */
  workloadRejected(key: string, id: felix.WorkloadEndpointID, endpoint: felix.WorkloadEndpoint | undefined, reason: string): void {
    this.reportWorkload(key, id, endpoint, "down", reason);
  }

  hostRejected(key: string, id: felix.HostEndpointID, reason: string): void {
    this.reportHost(key, id, "down", reason);
  }

  /** Felix removed the endpoint: withdraw its status (if one was sent). */
  workloadRemoved(key: string): void {
    const r = this.workloads.get(key);
    if (!r) return;
    this.workloads.delete(key);
    this.emit(key, () => workloadEndpointStatusRemove(r.id));
  }

  hostRemoved(key: string): void {
    const r = this.hosts.get(key);
    if (!r) return;
    this.hosts.delete(key);
    this.emit(key, () => hostEndpointStatusRemove(r.id));
  }

  private workloadStatus(st: sync.ObjectStatus): void {
    // Only endpoints Felix still has: a late status for a removed one must not resurrect it.
    const known = this.lookup.workloadEndpoint(st.id);
    if (st.state === sync.ObjectState.OBJECT_STATE_REMOVED) {
      // Removed from the datapath while Felix still has it: it became invalid, so it is down.
      if (known) this.reportWorkload(st.id, known.id, known.endpoint, "down", st.reason || "not in the datapath");
      else this.workloadRemoved(st.id);
      return;
    }
    const status = workloadStatusFor(st.state);
    if (status === undefined || !known) return;
    this.reportWorkload(st.id, known.id, known.endpoint, status, st.reason);
  }

  private hostStatus(st: sync.ObjectStatus): void {
    const known = this.lookup.hostEndpoint(st.id);
    if (st.state === sync.ObjectState.OBJECT_STATE_REMOVED) {
      if (known) this.reportHost(st.id, known.id, "down", st.reason || "not in the datapath");
      else this.hostRemoved(st.id);
      return;
    }
    const status = hostStatusFor(st.state);
    if (status === undefined || !known) return;
    this.reportHost(st.id, known.id, status, st.reason);
  }

  private reportWorkload(key: string, id: felix.WorkloadEndpointID, endpoint: felix.WorkloadEndpoint | undefined, status: "up" | "down", reason: string): void {
    if (this.workloads.get(key)?.status === status) return;
    if (!this.emit(key, () => workloadEndpointStatusUpdate(id, status, endpoint))) return;
    this.workloads.set(key, { status, id });
    this.log(key, "workload endpoint", status, reason);
  }

  private reportHost(key: string, id: felix.HostEndpointID, status: FelixEndpointStatus, reason: string): void {
    if (this.hosts.get(key)?.status === status) return;
    if (!this.emit(key, () => hostEndpointStatusUpdate(id, status))) return;
    this.hosts.set(key, { status, id });
    this.log(key, "host endpoint", status, reason);
  }

  /**
   * Builds and sends one message. The builders refuse an id with empty fields (Felix would
   * dereference them); such an endpoint was rejected for exactly that and gets no status.
   */
  private emit(key: string, build: () => felix.FromDataplane): boolean {
    let msg: felix.FromDataplane;
    try {
      msg = build();
    } catch (err) {
      objectLogger(this.logger, key).warn("cannot report endpoint status to Felix", { reason: errorMessage(err) });
      return false;
    }
    this.sent++;
    this.send(msg);
    return true;
  }

  private log(key: string, kind: string, status: FelixEndpointStatus, reason: string): void {
    const log = objectLogger(this.logger, key, { kind });
    if (status === "up") log.info("endpoint status up");
    else log.warn(`endpoint status ${status}`, { reason: reason || "not programmed" });
  }
}
