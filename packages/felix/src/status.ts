/**
 * FromDataplane messages ptables sends back to Felix. Felix's status reporters dereference
 * `id` and `status` without checking, so every builder fills both and refuses to build a
 * message without them.
 */
import { ValidationError } from "@ptables/api";
import { felix } from "@ptables/proto";
import { encodeFrame } from "./framing";

export type WorkloadEndpointStatus = "up" | "down";
export type HostEndpointStatus = "up" | "down" | "error";

/** Felix's timestamp format: RFC 3339 UTC to the second, e.g. "2026-01-01T00:00:00Z". */
export function felixTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** The heartbeat: sent 10 s after start, then every ReportingIntervalSecs. */
export function processStatusUpdate(isoTimestamp: string, uptimeSeconds: number): felix.FromDataplane {
  if (!Number.isFinite(uptimeSeconds) || uptimeSeconds < 0) {
    throw new ValidationError("process status uptime", `${uptimeSeconds} is not a non-negative number of seconds`);
  }
  return envelope({ $case: "processStatusUpdate", value: { isoTimestamp, uptime: uptimeSeconds } });
}

/** "up" only once the endpoint's policy is in the datapath; `endpoint` is what was programmed. */
export function workloadEndpointStatusUpdate(
  id: felix.WorkloadEndpointID,
  status: WorkloadEndpointStatus,
  endpoint?: felix.WorkloadEndpoint,
): felix.FromDataplane {
  checkStatus(status, ["up", "down"], "workload endpoint status");
  return envelope({
    $case: "workloadEndpointStatusUpdate",
    value: { id: workloadId(id), status: { status }, endpoint },
  });
}

export function workloadEndpointStatusRemove(id: felix.WorkloadEndpointID): felix.FromDataplane {
  return envelope({ $case: "workloadEndpointStatusRemove", value: { id: workloadId(id) } });
}

/** "error" = the endpoint is known but matches no interface. */
export function hostEndpointStatusUpdate(id: felix.HostEndpointID, status: HostEndpointStatus): felix.FromDataplane {
  checkStatus(status, ["up", "down", "error"], "host endpoint status");
  return envelope({ $case: "hostEndpointStatusUpdate", value: { id: hostId(id), status: { status } } });
}

export function hostEndpointStatusRemove(id: felix.HostEndpointID): felix.FromDataplane {
  return envelope({ $case: "hostEndpointStatusRemove", value: { id: hostId(id) } });
}

/** Harmless to send; Felix's external-driver path ignores it. */
export function dataplaneInSync(): felix.FromDataplane {
  return envelope({ $case: "dataplaneInSync", value: {} });
}

/** The protobuf bytes of a FromDataplane (no length prefix). */
export function encodeFromDataplane(message: felix.FromDataplane): Uint8Array {
  return felix.FromDataplane.encode(message).finish();
}

/** A whole frame, ready for fd 4. */
export function encodeFromDataplaneFrame(message: felix.FromDataplane): Buffer {
  return encodeFrame(encodeFromDataplane(message));
}

function envelope(payload: NonNullable<felix.FromDataplane["payload"]>): felix.FromDataplane {
  return { sequenceNumber: 0n, payload };
}

function checkStatus(status: string, allowed: readonly string[], path: string): void {
  if (!allowed.includes(status)) throw new ValidationError(path, `${JSON.stringify(status)} is not ${allowed.join(", ")}`);
}

function workloadId(id: felix.WorkloadEndpointID | undefined): felix.WorkloadEndpointID {
  if (!id || !id.orchestratorId || !id.workloadId || !id.endpointId) {
    throw new ValidationError("workload endpoint status id", "needs orchestrator_id, workload_id and endpoint_id");
  }
  return { orchestratorId: id.orchestratorId, workloadId: id.workloadId, endpointId: id.endpointId };
}

function hostId(id: felix.HostEndpointID | undefined): felix.HostEndpointID {
  if (!id || !id.endpointId) throw new ValidationError("host endpoint status id", "needs endpoint_id");
  return { endpointId: id.endpointId };
}
