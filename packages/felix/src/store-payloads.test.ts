/**
 * Every ToDataplane payload, encoded by the independent schema-driven encoder, through
 * FrameReader, decodeToDataplane and the store: the model objects and changes that come out.
 */
import { IpSetType, RuleAction, TierDefaultAction, defaultDataplaneConfig } from "@ptables/api";
import type { DesiredState } from "@ptables/api";
import { encodeFelixFrame, type FelixEncodeOptions, type FelixFieldOrder } from "@ptables/testkit";
import { decodeToDataplane } from "./decode";
import { FrameReader } from "./framing";
import { DesiredStateStore, type ApplyResult } from "./store";

type Msg = Record<string, unknown>;

/** Frames the messages as Felix would (sequence numbers from `firstSeq`) and applies them. */
function feed(store: DesiredStateStore, messages: Msg[], options: FelixEncodeOptions = {}, firstSeq = 1): ApplyResult[] {
  const frames = messages.map((m, i) => encodeFelixFrame("ToDataplane", { sequence_number: firstSeq + i, ...m }, options));
  const reader = new FrameReader();
  const results = reader.push(Buffer.concat(frames)).map((frame) => store.apply(decodeToDataplane(frame)));
  reader.end();
  expect(results).toHaveLength(messages.length);
  return results;
}

const P1 = { name: "p1", namespace: "", kind: "GlobalNetworkPolicy" };
const P1_KEY = "GlobalNetworkPolicy//p1";
const WEP_ID = { orchestrator_id: "k8s", workload_id: "default/pod1", endpoint_id: "eth0" };
const WEP_KEY = "k8s/default/pod1/eth0";

const UPDATES: Msg[] = [
  {
    config_update: {
      config: {
        InterfacePrefix: "cali,tap",
        FailsafeInboundHostPorts: "tcp:22,udp:68",
        FailsafeOutboundHostPorts: "udp:0.0.0.0/0:53",
        DefaultEndpointToHostAction: "accept",
        VXLANPort: "4790",
        VXLANVNI: "4097",
        VXLANMTU: "1410",
        AllowVXLANPacketsFromWorkloads: "true",
        AllowIPIPPacketsFromWorkloads: "yes",
        FelixHostname: "node1",
        ReportingIntervalSecs: "15",
        LogSeverityScreen: "Info",
      },
      source_to_raw_config: { 5: { source: "environment variable", config: { felix_vxlanport: "4790" } } },
    },
  },
  { ipset_update: { id: "s:a", type: "NET", members: ["10.0.0.5/24", "fd00::1", "10.9.9.9/32"] } },
  { ipset_update: { id: "n:p", type: "IP_AND_PORT", members: ["10.0.0.1,TCP:8080", "fd00::1,udp:53"] } },
  { ipset_delta_update: { id: "s:a", added_members: ["10.1.0.1/32"], removed_members: ["10.9.9.9/32"] } },
  {
    active_policy_update: {
      id: P1,
      policy: {
        tier: "default",
        untracked: false,
        pre_dnat: false,
        inbound_rules: [
          {
            action: "next-tier",
            ip_version: "IPV4",
            protocol: { name: "TCP" },
            not_protocol: { number: 17 },
            src_net: ["10.0.0.5/24"],
            not_dst_net: ["fd00::1"],
            src_ip_set_ids: ["s:a"],
            dst_named_port_ip_set_ids: ["n:p"],
            dst_ports: [{ first: 80, last: 81 }],
            not_src_ports: [{ first: 0, last: 0 }],
            icmp_type: 8,
            not_icmp_type_code: { type: 3, code: 1 },
            rule_id: "abcdefghijklmnop",
            original_src_selector: "app == 'x'",
            metadata: { annotations: { note: "ignored" } },
          },
        ],
        outbound_rules: [{ action: "" }],
      },
    },
  },
  { active_profile_update: { id: { name: "kns.default" }, profile: { inbound_rules: [{ action: "allow" }], outbound_rules: [{ action: "Deny" }] } } },
  {
    workload_endpoint_update: {
      id: WEP_ID,
      endpoint: {
        state: "active",
        name: "cali1234",
        mac: "EE:EE:EE:EE:EE:EE",
        profile_ids: ["kns.default"],
        ipv4_nets: ["10.65.0.2/32"],
        ipv6_nets: ["FD00::2"],
        tiers: [{ name: "default", ingress_policies: [P1], egress_policies: [], default_action: "Pass" }],
        allow_spoofed_source_prefixes: ["192.168.0.7/16"],
        annotations: { a: "b" },
      },
    },
  },
  {
    host_endpoint_update: {
      id: { endpoint_id: "hep1" },
      endpoint: {
        name: "*",
        profile_ids: ["kns.default"],
        tiers: [{ name: "default", egress_policies: [P1], default_action: "Deny" }],
        untracked_tiers: [{ name: "t2", ingress_policies: [P1], default_action: "Pass" }],
        pre_dnat_tiers: [{ name: "t3", ingress_policies: [P1], default_action: "Pass" }],
        forward_tiers: [{ name: "t4", ingress_policies: [P1] }],
        expected_ipv4_addrs: ["10.0.0.10"],
        expected_ipv6_addrs: ["fd00::10"],
      },
    },
  },
  {
    route_update: {
      types: 5,
      ip_pool_type: "VXLAN",
      dst: "10.65.1.7/26",
      dst_node_name: "node2",
      dst_node_ip: "192.168.1.2",
      same_subnet: true,
      nat_outgoing: true,
      local_workload: false,
      tunnel_type: { vxlan: true },
      borrowed: true,
    },
  },
  {
    vtep_update: {
      node: "node2",
      mac: "66:00:00:00:00:02",
      ipv4_addr: "10.65.1.0",
      parent_device_ip: "192.168.1.2",
      mac_v6: "66:00:00:00:00:12",
      ipv6_addr: "fd00:65::",
      parent_device_ipv6: "fd00:1::2",
    },
  },
  { host_metadata_update: { hostname: "node2", ipv4_addr: "192.168.1.2/24", ipv6_addr: "fd00:1::2/64", asnumber: "64512", labels: { zone: "a" } } },
  { ipam_pool_update: { id: "10.65.0.0-16", pool: { cidr: "10.65.0.0/16", masquerade: true, ipip_mode: "Never", vxlan_mode: "Always", allowed_uses: ["Workload", "Tunnel"] } } },
  { encapsulation: { vxlan_enabled: true, vxlan_enabled_v6: true } },
  { service_account_update: { id: { namespace: "default", name: "sa1" }, labels: { team: "x" } } },
  { namespace_update: { id: { name: "default" }, labels: { env: "dev" } } },
  { service_update: { name: "svc1", namespace: "default", type: "ClusterIP", cluster_ips: ["10.96.0.10"], ports: [{ Protocol: "TCP", Port: 53, NodePort: 0 }] } },
  { wireguard_endpoint_update: { hostname: "node2", public_key: "k4", interface_ipv4_addr: "10.65.1.1" } },
  { wireguard_endpoint_v6_update: { hostname: "node2", public_key_v6: "k6", interface_ipv6_addr: "fd00:65::1" } },
  { global_bgp_config_update: { service_cluster_cidrs: ["10.96.0.0/12"] } },
  { in_sync: {} },
];

const EXPECTED_RULE = {
  action: RuleAction.RULE_ACTION_PASS,
  ipVersion: 4,
  protocol: 6,
  notProtocol: 17,
  srcNets: ["10.0.0.0/24"],
  notSrcNets: [],
  dstNets: [],
  notDstNets: ["fd00::1/128"],
  srcIpSetIds: ["s:a"],
  notSrcIpSetIds: [],
  dstIpSetIds: [],
  notDstIpSetIds: [],
  srcPorts: [],
  notSrcPorts: [{ first: 0, last: 0 }],
  dstPorts: [{ first: 80, last: 81 }],
  notDstPorts: [],
  srcNamedPortIpSetIds: [],
  notSrcNamedPortIpSetIds: [],
  dstNamedPortIpSetIds: ["n:p"],
  notDstNamedPortIpSetIds: [],
  dstIpPortSetIds: [],
  icmp: { type: 8, hasCode: false, code: 0 },
  notIcmp: { type: 3, hasCode: true, code: 1 },
  ruleId: "abcdefghijklmnop",
};

function emptyRule(action: RuleAction): Record<string, unknown> {
  return {
    ...Object.fromEntries(Object.entries(EXPECTED_RULE).map(([k, v]) => [k, Array.isArray(v) ? [] : undefined])),
    action,
    ipVersion: 0,
    ruleId: "",
  };
}

const EXPECTED_STATE: DesiredState = {
  config: {
    interfacePrefix: "cali,tap",
    failsafeInbound: ["tcp:22", "udp:68"],
    failsafeOutbound: ["udp:53"],
    defaultEndpointToHostAction: "ACCEPT",
    vxlanPort: 4790,
    vxlanVni: 4097,
    vxlanMtu: 1410,
    allowVxlanPacketsFromWorkloads: true,
    allowIpipPacketsFromWorkloads: true,
    hostname: "node1",
    vxlanMtuV6: 0,
    ipipMtu: 0,
    programClusterRoutes: "Disabled",
    routeRefreshIntervalSecs: 90,
    // From service_update (its cluster IP) and global_bgp_config_update (the cluster CIDR).
    serviceNets: ["10.96.0.0/12", "10.96.0.10/32"],
  },
  ipSets: [
    { id: "s:a", type: IpSetType.IP_SET_TYPE_NET, members: ["10.0.0.0/24", "fd00::1/128", "10.1.0.1/32"] },
    { id: "n:p", type: IpSetType.IP_SET_TYPE_IP_AND_PORT, members: ["10.0.0.1,tcp:8080", "fd00::1,udp:53"] },
  ],
  policies: [
    {
      id: { tier: "default", name: "p1", namespace: "", kind: "GlobalNetworkPolicy" },
      inboundRules: [EXPECTED_RULE],
      outboundRules: [emptyRule(RuleAction.RULE_ACTION_ALLOW) as never],
      untracked: false,
      preDnat: false,
      staged: false,
    },
  ],
  profiles: [
    {
      id: "kns.default",
      inboundRules: [emptyRule(RuleAction.RULE_ACTION_ALLOW) as never],
      outboundRules: [emptyRule(RuleAction.RULE_ACTION_DENY) as never],
    },
  ],
  workloadEndpoints: [
    {
      key: WEP_KEY,
      orchestratorId: "k8s",
      workloadId: "default/pod1",
      endpointId: "eth0",
      ifname: "cali1234",
      adminUp: true,
      mac: "ee:ee:ee:ee:ee:ee",
      ipv4Nets: ["10.65.0.2/32"],
      ipv6Nets: ["fd00::2/128"],
      tiers: [{ name: "default", ingressPolicies: [P1_KEY], egressPolicies: [], defaultAction: TierDefaultAction.TIER_DEFAULT_ACTION_PASS }],
      profileIds: ["kns.default"],
      allowSpoofedSourcePrefixes: ["192.168.0.0/16"],
    },
  ],
  hostEndpoints: [
    {
      key: "hep1",
      ifname: "*",
      expectedIpv4Addrs: ["10.0.0.10"],
      expectedIpv6Addrs: ["fd00::10"],
      tiers: [{ name: "default", ingressPolicies: [], egressPolicies: [P1_KEY], defaultAction: TierDefaultAction.TIER_DEFAULT_ACTION_DENY }],
      untrackedTiers: [{ name: "t2", ingressPolicies: [P1_KEY], egressPolicies: [], defaultAction: TierDefaultAction.TIER_DEFAULT_ACTION_PASS }],
      preDnatTiers: [{ name: "t3", ingressPolicies: [P1_KEY], egressPolicies: [], defaultAction: TierDefaultAction.TIER_DEFAULT_ACTION_PASS }],
      forwardTiers: [{ name: "t4", ingressPolicies: [P1_KEY], egressPolicies: [], defaultAction: TierDefaultAction.TIER_DEFAULT_ACTION_DENY }],
      profileIds: ["kns.default"],
    },
  ],
  routes: [
    {
      dst: "10.65.1.0/26",
      types: 5,
      ipPoolType: 2,
      dstNodeName: "node2",
      dstNodeIp: "192.168.1.2",
      sameSubnet: true,
      natOutgoing: true,
      localWorkload: false,
      tunnelIpip: false,
      tunnelVxlan: true,
      tunnelWireguard: false,
      borrowed: true,
    },
  ],
  vteps: [
    {
      node: "node2",
      mac: "66:00:00:00:00:02",
      ipv4Addr: "10.65.1.0",
      parentDeviceIp: "192.168.1.2",
      macV6: "66:00:00:00:00:12",
      ipv6Addr: "fd00:65::",
      parentDeviceIpv6: "fd00:1::2",
    },
  ],
  hosts: [{ hostname: "node2", ipv4Addr: "192.168.1.2/24", ipv6Addr: "fd00:1::2/64", asnumber: "64512", labels: { zone: "a" } }],
  ipamPools: [
    { id: "10.65.0.0-16", cidr: "10.65.0.0/16", masquerade: true, ipipMode: "Never", vxlanMode: "Always", allowedUses: ["Workload", "Tunnel"] },
  ],
  encapsulation: { ipipEnabled: false, vxlanEnabled: true, vxlanEnabledV6: true, noEncapEnabled: false },
};

const REMOVES: Msg[] = [
  { workload_endpoint_remove: { id: WEP_ID } },
  { host_endpoint_remove: { id: { endpoint_id: "hep1" } } },
  { active_profile_remove: { id: { name: "kns.default" } } },
  { active_policy_remove: { id: P1 } },
  { ipset_remove: { id: "s:a" } },
  { ipset_remove: { id: "n:p" } },
  { service_account_remove: { id: { namespace: "default", name: "sa1" } } },
  { namespace_remove: { id: { name: "default" } } },
  { route_remove: { dst: "10.65.1.0/26" } },
  { vtep_remove: { node: "node2" } },
  { wireguard_endpoint_remove: { hostname: "node2" } },
  { wireguard_endpoint_v6_remove: { hostname: "node2" } },
  { host_metadata_remove: { hostname: "node2" } },
  { ipam_pool_remove: { id: "10.65.0.0-16" } },
  { service_remove: { name: "svc1", namespace: "default" } },
];

const ORDERS: FelixFieldOrder[] = ["go", "gogo", "field-number"];

describe.each(ORDERS)("every ToDataplane payload, %s field order", (order) => {
  test("updates build the expected desired state, with one change per programmed object", () => {
    const warnings: string[] = [];
    const store = new DesiredStateStore({ logger: { warn: (m) => warnings.push(m) } });
    const results = feed(store, UPDATES, { order });
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(store.snapshot()).toEqual(EXPECTED_STATE);
    expect(results.map((r) => r.changes.map((c) => c.change?.$case))).toEqual([
      ["config"],
      ["ipSet"],
      ["ipSet"],
      ["ipSetDelta"],
      ["policy"],
      ["profile"],
      ["workloadEndpoint"],
      ["hostEndpoint"],
      ["route"],
      ["vtep"],
      ["host"],
      ["ipamPool"],
      ["encapsulation"],
      [], [], // not programmed yet
      ["config"], // the Service's cluster IP joins serviceNets
      [], [], // not programmed yet
      ["config"], // so does the BGP service cluster CIDR
      [],
    ]);
    expect(results[3].changes[0].change).toEqual({ $case: "ipSetDelta", value: { id: "s:a", added: ["10.1.0.1/32"], removed: ["10.9.9.9/32"] } });
    expect(results.map((r) => r.inSync)).toEqual([...UPDATES.slice(1).map(() => false), true]);
    expect(store.lastSequenceNumber).toBe(BigInt(UPDATES.length));
    expect(store.settings).toEqual({ reportingIntervalSecs: 15, hostname: "node1" });
  });

  test("unimplemented payloads are kept, counted and logged once per kind", () => {
    const warnings: string[] = [];
    const store = new DesiredStateStore({ logger: { warn: (m) => warnings.push(m) } });
    feed(store, UPDATES, { order });
    feed(store, [UPDATES[13], UPDATES[13]], { order }, 100);
    expect(store.unimplementedCounts).toEqual({
      serviceAccountUpdate: 3,
      namespaceUpdate: 1,
      serviceUpdate: 1,
      wireguardEndpointUpdate: 1,
      wireguardEndpointV6Update: 1,
      globalBgpConfigUpdate: 1,
    });
    expect(warnings).toHaveLength(6);
    expect(warnings[0]).toMatch(/serviceAccountUpdate: not implemented in the datapath yet/);
    const state = store.unimplementedState;
    expect(state.serviceAccounts.get("default/sa1")).toEqual({ team: "x" });
    expect(state.namespaces.get("default")).toEqual({ env: "dev" });
    expect(state.services.get("default/svc1")?.clusterIps).toEqual(["10.96.0.10"]);
    expect(state.wireguardEndpoints.get("node2")?.publicKey).toBe("k4");
    expect(state.wireguardEndpointsV6.get("node2")?.publicKeyV6).toBe("k6");
    expect(state.globalBgpConfig?.serviceClusterCidrs).toEqual(["10.96.0.0/12"]);
  });

  test("removes, in Felix's order, empty the state with removes in dependency order", () => {
    const store = new DesiredStateStore();
    feed(store, UPDATES, { order });
    const results = feed(store, REMOVES, { order }, 100);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(results.map((r) => r.changes)).toEqual([
      [{ change: { $case: "removeWorkloadEndpoint", value: WEP_KEY } }],
      [{ change: { $case: "removeHostEndpoint", value: "hep1" } }],
      [{ change: { $case: "removeProfile", value: "kns.default" } }],
      [{ change: { $case: "removePolicy", value: P1_KEY } }],
      [{ change: { $case: "removeIpSet", value: "s:a" } }],
      [{ change: { $case: "removeIpSet", value: "n:p" } }],
      [], [],
      [{ change: { $case: "removeRoute", value: "10.65.1.0/26" } }],
      [{ change: { $case: "removeVtep", value: "node2" } }],
      [], [],
      [{ change: { $case: "removeHost", value: "node2" } }],
      [{ change: { $case: "removeIpamPool", value: "10.65.0.0-16" } }],
      [{ change: { $case: "config", value: { ...EXPECTED_STATE.config!, serviceNets: ["10.96.0.0/12"] } } }],
    ]);
    const state = store.snapshot();
    for (const list of [state.ipSets, state.policies, state.profiles, state.workloadEndpoints, state.hostEndpoints, state.routes, state.vteps, state.hosts, state.ipamPools]) {
      expect(list).toEqual([]);
    }
    const left = store.unimplementedState;
    expect([left.services.size, left.namespaces.size, left.serviceAccounts.size, left.wireguardEndpoints.size, left.wireguardEndpointsV6.size]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe("sequence number placement", () => {
  test("the sequence number before (Go) or after (gogo) the payload decodes the same", () => {
    const results = ORDERS.map((order) => {
      const store = new DesiredStateStore();
      const out = feed(store, UPDATES, { order }, 41);
      return { out, state: store.snapshot(), seq: store.lastSequenceNumber };
    });
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(results[0].seq).toBe(BigInt(41 + UPDATES.length - 1));
  });

  test("sequence number 0 (the first ConfigUpdate) is absent from the bytes and reads as 0", () => {
    const store = new DesiredStateStore();
    const frame = encodeFelixFrame("ToDataplane", { config_update: { config: {} } });
    expect(Buffer.from(frame.subarray(8, 9)).toString("hex")).toBe("6a");
    store.apply(decodeToDataplane({ offset: 0, bytes: frame.subarray(8) }));
    expect(store.lastSequenceNumber).toBe(0n);
    expect(store.snapshot().config).toEqual(defaultDataplaneConfig());
  });
});

describe("host metadata, both generations", () => {
  test("v3.32: v4-only on 14, v6 on 35 and v4v6 on 37 merge into one host; each remove takes its part", () => {
    const store = new DesiredStateStore();
    const legacy = { legacy: true };
    const r = feed(
      store,
      [
        { host_metadata_update: { hostname: "n1", ipv4_addr: "10.0.0.1" } },
        { host_metadata_v6_update: { hostname: "n1", ipv6_addr: "fd00::1" } },
        { host_metadata_v4v6_update: { hostname: "n1", ipv4_addr: "10.0.0.1/24", ipv6_addr: "fd00::1/64", asnumber: "65001", labels: { k: "v" } } },
      ],
      legacy,
    );
    expect(r.flatMap((x) => x.errors)).toEqual([]);
    expect(r.map((x) => x.changes[0].change)).toEqual([
      { $case: "host", value: { hostname: "n1", ipv4Addr: "10.0.0.1/32", ipv6Addr: "", asnumber: "", labels: {} } },
      { $case: "host", value: { hostname: "n1", ipv4Addr: "10.0.0.1/32", ipv6Addr: "fd00::1/128", asnumber: "", labels: {} } },
      { $case: "host", value: { hostname: "n1", ipv4Addr: "10.0.0.1/24", ipv6Addr: "fd00::1/64", asnumber: "65001", labels: { k: "v" } } },
    ]);
    const removes = feed(
      store,
      [
        { host_metadata_v4v6_remove: { hostname: "n1", ipv4_addr: "10.0.0.1/24" } },
        { host_metadata_v6_remove: { hostname: "n1", ipv6_addr: "fd00::1" } },
        { host_metadata_remove: { hostname: "n1" } },
      ],
      legacy,
      10,
    );
    expect(removes.map((x) => x.changes[0].change)).toEqual([
      { $case: "host", value: { hostname: "n1", ipv4Addr: "10.0.0.1/32", ipv6Addr: "fd00::1/128", asnumber: "", labels: {} } },
      { $case: "host", value: { hostname: "n1", ipv4Addr: "10.0.0.1/32", ipv6Addr: "", asnumber: "", labels: {} } },
      { $case: "removeHost", value: "n1" },
    ]);
    expect(store.snapshot().hosts).toEqual([]);
  });

  test("v3.33: the five-field message on 14 and its remove on 18", () => {
    const store = new DesiredStateStore();
    feed(store, [{ host_metadata_update: { hostname: "n1", ipv4_addr: "10.0.0.5/32", asnumber: "65001", labels: { a: "1" } } }]);
    expect(store.snapshot().hosts).toEqual([{ hostname: "n1", ipv4Addr: "10.0.0.5/32", ipv6Addr: "", asnumber: "65001", labels: { a: "1" } }]);
    const [removed] = feed(store, [{ host_metadata_remove: { hostname: "n1" } }], {}, 5);
    expect(removed.changes).toEqual([{ change: { $case: "removeHost", value: "n1" } }]);
  });
});
