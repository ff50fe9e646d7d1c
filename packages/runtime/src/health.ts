/**
 * The standard gRPC health service (grpc.health.v1.Health) with a status per service name.
 * "" is the whole agent. Watchers get the current status at once and every change after it;
 * a watch on a name nobody registered reports SERVICE_UNKNOWN until someone sets it.
 */
import * as grpc from "@grpc/grpc-js";
import { health } from "@ptables/proto";

/** grpc.health.v1 serving states (SERVING, NOT_SERVING, ...). */
export const ServingStatus = health.HealthCheckResponse_ServingStatus;
export type ServingStatus = health.HealthCheckResponse_ServingStatus;

type WatchCall = grpc.ServerWritableStream<health.HealthCheckRequest, health.HealthCheckResponse>;

/** Serving status per service name, with the Check and Watch handlers that report it. */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<WatchCall>>();

  /** Sets one service's status and tells its watchers, if it changed. */
  setStatus(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const call of this.watchers.get(service) ?? []) call.write({ status });
  }

  /** Sets every known service (and ""), e.g. NOT_SERVING on shutdown. */
  setAll(status: ServingStatus): void {
    for (const service of new Set(["", ...this.statuses.keys()])) this.setStatus(service, status);
  }

  /** The status of a service, or undefined if it was never set. */
  getStatus(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Ends every Watch stream; server shutdown waits for open calls, so these must go first. */
  endWatches(): void {
    for (const set of this.watchers.values()) for (const call of set) call.end();
    this.watchers.clear();
  }

  /** The handlers for grpc.health.v1.Health. */
  implementation(): health.HealthServer {
    return {
      check: (call, callback) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined) {
          callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
          return;
        }
        callback(null, { status });
      },
      watch: (call: WatchCall) => {
        const service = call.request.service;
        let set = this.watchers.get(service);
        if (!set) this.watchers.set(service, (set = new Set()));
        set.add(call);
        const forget = (): void => {
          this.watchers.get(service)?.delete(call);
        };
        call.on("cancelled", forget);
        call.on("close", forget);
        call.on("error", forget);
        call.write({ status: this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN });
      },
    };
  }
}
