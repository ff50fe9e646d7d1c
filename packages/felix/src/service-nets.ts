/**
 * The destinations kube-proxy may DNAT (DataplaneConfig.serviceNets), from what Felix sends
 * about Services: the default BGPConfiguration's service cluster, external and load-balancer
 * CIDRs (GlobalBGPConfigUpdate) and each Service's cluster IPs, external IPs and load-balancer
 * addresses (ServiceUpdate; "None" marks a headless Service). The datapath defers a workload's
 * egress verdict for new flows to these until after DNAT. Unparseable entries are skipped and
 * returned separately so the caller can say so once.
 */
import type { UnimplementedState } from "./unimplemented-payloads";
import { AddressSyntaxError, formatIpAddress, maskAddress, parseIpPrefix } from "@ptables/api";

export interface ServiceNets {
  /** Canonical CIDRs (host bits cleared), sorted, without duplicates. */
  nets: string[];
  /** Entries that are not addresses or CIDRs, with where they came from. */
  skipped: string[];
}

function canonical(text: string): string {
  const prefix = parseIpPrefix(text.trim());
  return `${formatIpAddress(maskAddress(prefix.address, prefix.prefixLength))}/${prefix.prefixLength}`;
}

export function serviceNetsOf(state: Pick<UnimplementedState, "services" | "globalBgpConfig">): ServiceNets {
  const nets = new Set<string>();
  const skipped: string[] = [];
  const add = (text: string, where: string): void => {
    if (text === "" || text === "None") return;
    try {
      nets.add(canonical(text));
    } catch (err) {
      if (!(err instanceof AddressSyntaxError)) throw err;
      skipped.push(`${where}: "${text}"`);
    }
  };
  const bgp = state.globalBgpConfig;
  if (bgp) {
    for (const c of bgp.serviceClusterCidrs) add(c, "BGP service cluster CIDRs");
    for (const c of bgp.serviceExternalCidrs) add(c, "BGP service external CIDRs");
    for (const c of bgp.serviceLoadbalancerCidrs) add(c, "BGP service load-balancer CIDRs");
  }
  for (const [name, svc] of state.services) {
    for (const ip of svc.clusterIps) add(ip, `service ${name} cluster IPs`);
    for (const ip of svc.externalIps) add(ip, `service ${name} external IPs`);
    add(svc.loadbalancerIp, `service ${name} load-balancer IP`);
    for (const ip of svc.loadbalancerIngressIps) add(ip, `service ${name} load-balancer ingress IPs`);
  }
  return { nets: [...nets].sort(), skipped };
}
