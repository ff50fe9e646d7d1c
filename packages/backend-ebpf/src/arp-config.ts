/**
 * The gateway ARP responder's settings, as the ARP-responder agent sees them. The datapath
 * answers ARP requests for `gatewayIp` arriving from workloads with `gatewayMac`, while
 * `enabled` is set; everything else about ARP passes to the kernel.
 */
import type { DatapathConfigStore } from "./datapath-config";

export interface ArpSettings {
  /** IPv4 address the pods use as their gateway (Calico: 169.254.1.1). */
  gatewayIp: string;
  /** MAC returned for it (Calico: ee:ee:ee:ee:ee:ee, the host-side veth's MAC). */
  gatewayMac: string;
  enabled: boolean;
}

export class ArpConfig {
  constructor(private readonly store: DatapathConfigStore) {}

  get(): ArpSettings {
    const c = this.store.get();
    return { gatewayIp: c.gatewayIpv4, gatewayMac: c.gatewayMac, enabled: c.arpEnabled };
  }

  /** Changes the given settings, keeping the others; throws ValidationError for bad values. */
  set(change: Partial<ArpSettings>): ArpSettings {
    const c = this.store.update((current) => ({
      ...current,
      gatewayIpv4: change.gatewayIp ?? current.gatewayIpv4,
      gatewayMac: change.gatewayMac?.toLowerCase() ?? current.gatewayMac,
      arpEnabled: change.enabled ?? current.arpEnabled,
    }));
    return { gatewayIp: c.gatewayIpv4, gatewayMac: c.gatewayMac, enabled: c.arpEnabled };
  }
}
