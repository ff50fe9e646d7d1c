/**
 * DataplaneConfig.serviceNets: what Felix says about Services becomes the canonical list of
 * destinations the datapath treats as DNAT candidates, and each change is one config change.
 */
import type { felix } from "@ptables/proto";
import { DesiredStateStore } from "./store";
import { serviceNetsOf } from "./service-nets";

function service(name: string, init: Partial<felix.ServiceUpdate>): felix.ServiceUpdate {
  return { name, namespace: "default", type: "ClusterIP", clusterIps: [], loadbalancerIp: "", externalIps: [], ports: [], loadbalancerIngressIps: [], ...init };
}

const bgp = (init: Partial<felix.GlobalBGPConfigUpdate>): felix.GlobalBGPConfigUpdate => ({
  serviceClusterCidrs: [],
  serviceExternalCidrs: [],
  serviceLoadbalancerCidrs: [],
  localWorkloadPeeringIpV4: "",
  localWorkloadPeeringIpV6: "",
  ...init,
});

describe("service nets", () => {
  test("cluster, external and load-balancer addresses and CIDRs, canonical, sorted, de-duplicated; headless skipped", () => {
    const services = new Map([
      ["default/a", service("a", { clusterIps: ["10.96.0.10", "fd00:96::a"], externalIps: ["192.0.2.7"], loadbalancerIp: "198.51.100.1" })],
      ["default/b", service("b", { clusterIps: ["None"], loadbalancerIngressIps: ["198.51.100.2", "198.51.100.1"] })],
      ["default/c", service("c", { clusterIps: ["10.96.0.10"] })],
    ]);
    const { nets, skipped } = serviceNetsOf({
      services,
      globalBgpConfig: bgp({ serviceClusterCidrs: ["10.96.0.5/12", "FD00:96::/112"], serviceExternalCidrs: ["192.0.2.0/24"], serviceLoadbalancerCidrs: ["198.51.100.0/24"] }),
    });
    expect(skipped).toEqual([]);
    expect(nets).toEqual([
      "10.96.0.0/12",
      "10.96.0.10/32",
      "192.0.2.0/24",
      "192.0.2.7/32",
      "198.51.100.0/24",
      "198.51.100.1/32",
      "198.51.100.2/32",
      "fd00:96::/112",
      "fd00:96::a/128",
    ]);
  });

  test("entries that are not addresses are skipped and named", () => {
    const { nets, skipped } = serviceNetsOf({ services: new Map([["default/x", service("x", { clusterIps: ["10.96.0.300", "10.96.0.1"] })]]), globalBgpConfig: undefined });
    expect(nets).toEqual(["10.96.0.1/32"]);
    expect(skipped).toEqual(['service default/x cluster IPs: "10.96.0.300"']);
  });

  test("the store turns Service and BGP updates into config changes, only when the list changes", () => {
    const warnings: string[] = [];
    const store = new DesiredStateStore({ logger: { warn: (m) => warnings.push(m) } });
    const apply = (payload: felix.ToDataplane["payload"]) => store.apply({ sequenceNumber: 1n, payload });
    const first = apply({ $case: "serviceUpdate", value: service("a", { clusterIps: ["10.96.0.10", "bogus"] }) });
    expect(first.changes).toEqual([{ change: { $case: "config", value: expect.objectContaining({ serviceNets: ["10.96.0.10/32"] }) } }]);
    expect(warnings.some((w) => w.includes('"bogus"'))).toBe(true);
    // The same addresses again (another Service): no change.
    expect(apply({ $case: "serviceUpdate", value: service("b", { clusterIps: ["10.96.0.10"] }) }).changes).toEqual([]);
    const withBgp = apply({ $case: "globalBgpConfigUpdate", value: bgp({ serviceClusterCidrs: ["10.96.0.0/12"] }) });
    expect(withBgp.changes.map((c) => (c.change?.$case === "config" ? c.change.value.serviceNets : undefined))).toEqual([["10.96.0.0/12", "10.96.0.10/32"]]);
    // A ConfigUpdate replaces Felix's parameters but keeps the Service destinations.
    apply({ $case: "configUpdate", value: { config: { DefaultEndpointToHostAction: "ACCEPT" }, sourceToRawConfig: {} } });
    expect(store.snapshot().config.serviceNets).toEqual(["10.96.0.0/12", "10.96.0.10/32"]);
    expect(store.snapshot().config.defaultEndpointToHostAction).toBe("ACCEPT");
    apply({ $case: "serviceRemove", value: { name: "a", namespace: "default" } });
    apply({ $case: "serviceRemove", value: { name: "b", namespace: "default" } });
    expect(store.snapshot().config.serviceNets).toEqual(["10.96.0.0/12"]);
  });
});
