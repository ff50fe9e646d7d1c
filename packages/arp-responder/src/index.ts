/** The ARP responder agent: owns the datapath's answer to pods' ARP for their gateway. */
export { ARP_HEALTH, ArpResponder, GATEWAY_ARP } from "./arp-responder";
export type { ArpResponderOptions, ArpSettingsStore } from "./arp-responder";
export { registerArpResponderMetrics, startArpResponderHttp } from "./metrics";
