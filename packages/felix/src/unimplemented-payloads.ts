/**
 * Payloads Felix sends that the datapath does not use yet (Kubernetes services, namespaces,
 * service accounts, global BGP config, WireGuard endpoints). They are decoded and kept, so
 * that the state is complete when a feature lands, and counted; each kind is logged once so
 * an operator can see what is not enforced without a log line per message.
 */
import type { felix } from "@ptables/proto";

type Payload = NonNullable<felix.ToDataplane["payload"]>;

/** The $case names handled here. */
export const UNIMPLEMENTED_PAYLOADS = [
  "serviceUpdate",
  "serviceRemove",
  "namespaceUpdate",
  "namespaceRemove",
  "serviceAccountUpdate",
  "serviceAccountRemove",
  "globalBgpConfigUpdate",
  "wireguardEndpointUpdate",
  "wireguardEndpointRemove",
  "wireguardEndpointV6Update",
  "wireguardEndpointV6Remove",
] as const;
export type UnimplementedPayloadKind = (typeof UNIMPLEMENTED_PAYLOADS)[number];

/** The last thing Felix said about each object of the kinds ptables does not program yet. */
export interface UnimplementedState {
  /** By "<namespace>/<name>". */
  services: ReadonlyMap<string, felix.ServiceUpdate>;
  /** Labels by namespace name. */
  namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Labels by "<namespace>/<name>". */
  serviceAccounts: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** By hostname. */
  wireguardEndpoints: ReadonlyMap<string, felix.WireguardEndpointUpdate>;
  wireguardEndpointsV6: ReadonlyMap<string, felix.WireguardEndpointV6Update>;
  globalBgpConfig: felix.GlobalBGPConfigUpdate | undefined;
}

export function isUnimplementedPayload(
  payload: Payload,
): payload is Extract<Payload, { $case: UnimplementedPayloadKind }> {
  return (UNIMPLEMENTED_PAYLOADS as readonly string[]).includes(payload.$case);
}

export class UnimplementedPayloads {
  private readonly services = new Map<string, felix.ServiceUpdate>();
  private readonly namespaces = new Map<string, Record<string, string>>();
  private readonly serviceAccounts = new Map<string, Record<string, string>>();
  private readonly wireguardEndpoints = new Map<string, felix.WireguardEndpointUpdate>();
  private readonly wireguardEndpointsV6 = new Map<string, felix.WireguardEndpointV6Update>();
  private globalBgpConfig: felix.GlobalBGPConfigUpdate | undefined;

  get state(): UnimplementedState {
    return {
      services: this.services,
      namespaces: this.namespaces,
      serviceAccounts: this.serviceAccounts,
      wireguardEndpoints: this.wireguardEndpoints,
      wireguardEndpointsV6: this.wireguardEndpointsV6,
      globalBgpConfig: this.globalBgpConfig,
    };
  }

  apply(payload: Extract<Payload, { $case: UnimplementedPayloadKind }>): void {
    switch (payload.$case) {
      case "serviceUpdate":
        this.services.set(`${payload.value.namespace}/${payload.value.name}`, payload.value);
        break;
      case "serviceRemove":
        this.services.delete(`${payload.value.namespace}/${payload.value.name}`);
        break;
      case "namespaceUpdate":
        this.namespaces.set(payload.value.id?.name ?? "", payload.value.labels);
        break;
      case "namespaceRemove":
        this.namespaces.delete(payload.value.id?.name ?? "");
        break;
      case "serviceAccountUpdate":
        this.serviceAccounts.set(serviceAccountKey(payload.value.id), payload.value.labels);
        break;
      case "serviceAccountRemove":
        this.serviceAccounts.delete(serviceAccountKey(payload.value.id));
        break;
      case "globalBgpConfigUpdate":
        this.globalBgpConfig = payload.value;
        break;
      case "wireguardEndpointUpdate":
        this.wireguardEndpoints.set(payload.value.hostname, payload.value);
        break;
      case "wireguardEndpointRemove":
        this.wireguardEndpoints.delete(payload.value.hostname);
        break;
      case "wireguardEndpointV6Update":
        this.wireguardEndpointsV6.set(payload.value.hostname, payload.value);
        break;
      case "wireguardEndpointV6Remove":
        this.wireguardEndpointsV6.delete(payload.value.hostname);
        break;
    }
  }

  clear(): void {
    this.services.clear();
    this.namespaces.clear();
    this.serviceAccounts.clear();
    this.wireguardEndpoints.clear();
    this.wireguardEndpointsV6.clear();
    this.globalBgpConfig = undefined;
  }
}

function serviceAccountKey(id: felix.ServiceAccountID | undefined): string {
  return `${id?.namespace ?? ""}/${id?.name ?? ""}`;
}
