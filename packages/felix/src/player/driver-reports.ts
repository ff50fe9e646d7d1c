/**
 * What a driver has reported back on fd 4: the latest status of each endpoint and every
 * process status. Felix keeps the same (latest per endpoint) for its status reporters.
 */
import { workloadEndpointKey } from "@ptables/api";
import type { felix } from "@ptables/proto";

/** A workload endpoint's latest status as the driver reported it. */
export interface EndpointStatusReport {
  key: string;
  status: string;
  update: felix.WorkloadEndpointStatusUpdate;
}

/** One change a FromDataplane message made, for the player to announce. */
export type DriverReport =
  | { kind: "endpointStatus"; report: EndpointStatusReport }
  | { kind: "endpointStatusRemove"; key: string }
  | { kind: "hostEndpointStatus"; endpointId: string; status: string }
  | { kind: "processStatus"; update: felix.ProcessStatusUpdate };

export class DriverReports {
  /** Latest status per workload endpoint key ("k8s/demo/frontend/eth0"). */
  readonly workloadStatuses = new Map<string, EndpointStatusReport>();
  /** Latest status per host endpoint id. */
  readonly hostStatuses = new Map<string, string>();
  /** Every ProcessStatusUpdate, oldest first. */
  readonly processStatuses: felix.ProcessStatusUpdate[] = [];

  /**
   * Records one message. Updates without an id or status are ignored, as Felix would crash on
   * them rather than use them.
   */
  record(message: felix.FromDataplane): DriverReport | undefined {
    const payload = message.payload;
    switch (payload?.$case) {
      case "workloadEndpointStatusUpdate": {
        const { id, status } = payload.value;
        if (!id || !status) return undefined;
        const report = { key: workloadEndpointKey(id), status: status.status, update: payload.value };
        this.workloadStatuses.set(report.key, report);
        return { kind: "endpointStatus", report };
      }
      case "workloadEndpointStatusRemove": {
        if (!payload.value.id) return undefined;
        const key = workloadEndpointKey(payload.value.id);
        this.workloadStatuses.delete(key);
        return { kind: "endpointStatusRemove", key };
      }
      case "hostEndpointStatusUpdate": {
        const { id, status } = payload.value;
        if (!id || !status) return undefined;
        this.hostStatuses.set(id.endpointId, status.status);
        return { kind: "hostEndpointStatus", endpointId: id.endpointId, status: status.status };
      }
      case "hostEndpointStatusRemove":
        if (payload.value.id) this.hostStatuses.delete(payload.value.id.endpointId);
        return undefined;
      case "processStatusUpdate":
        this.processStatuses.push(payload.value);
        return { kind: "processStatus", update: payload.value };
      default:
        return undefined;
    }
  }
}
