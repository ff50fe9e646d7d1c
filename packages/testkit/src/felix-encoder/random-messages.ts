/**
 * Random ToDataplane messages for fuzzing, as plain objects for encodeFelixMessage. Every
 * payload kind appears; values are mostly plausible (so references between objects often
 * resolve and deep paths get exercised) and sometimes wrong in the ways Felix input could be
 * (bad CIDRs, unknown types, out-of-range numbers, missing ids).
 */
/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Plain = Record<string, unknown>;

class Draw {
  constructor(readonly random: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }
  list<T>(max: number, make: () => T): T[] {
    return Array.from({ length: this.int(0, max) }, make);
  }
}

const IDS = ["a", "b", "c", "d"];
const KINDS = ["GlobalNetworkPolicy", "NetworkPolicy", "StagedNetworkPolicy", ""];
const ACTIONS = ["allow", "deny", "log", "next-tier", "pass", "", "Allow", "deny", "allow", "reject"];
const PROTOCOL_NAMES = ["tcp", "udp", "icmp", "icmpv6", "sctp", "udplite", "TCP", "17", "tcp", "gre"];

const BAD_ADDRESSES = ["fe80::1%eth0", "1::2::3", "10.0.0.256", "nonsense", ""];

function address(d: Draw, family: 4 | 6 = d.chance(0.5) ? 4 : 6): string {
  if (d.chance(0.02)) return d.pick(BAD_ADDRESSES);
  if (family === 4) return `10.${d.int(0, 3)}.${d.int(0, 255)}.${d.int(0, 255)}`;
  return d.pick(["fd00::1", "fd00::", "::", "fd00:1:2::3", "::ffff:10.0.0.1", `fd00::${d.int(0, 0xffff).toString(16)}`]);
}

function cidr(d: Draw, family: 4 | 6 = d.chance(0.5) ? 4 : 6): string {
  const base = address(d, family);
  if (d.chance(0.2)) return base;
  if (d.chance(0.02)) return d.pick(["10.0.0.0/", "/8", "10.0.0.0/33", "fd00::/129"]);
  return `${base}/${d.int(0, base.includes(":") ? 128 : 32)}`;
}

function member(d: Draw, type: number): string {
  if (type !== 1) return cidr(d);
  return `${address(d)},${d.pick(["tcp", "udp", "sctp", "icmp", "TCP"])}:${d.int(0, d.chance(0.95) ? 65535 : 70000)}`;
}

const setId = (d: Draw): string => `s:${d.pick(IDS)}`;
const policyId = (d: Draw): Plain => ({ name: d.chance(0.97) ? `p${d.pick(IDS)}` : "", namespace: d.pick(["", "ns"]), kind: d.pick(KINDS) });
const weId = (d: Draw): Plain => ({ orchestrator_id: "k8s", workload_id: d.chance(0.97) ? `ns/${d.pick(IDS)}` : "", endpoint_id: "eth0" });
const ports = (d: Draw): Plain[] =>
  d.list(2, () => {
    if (d.chance(0.05)) return { first: d.int(-1, 70000), last: d.int(-1, 70000) };
    const first = d.int(0, 65535);
    return { first, last: Math.min(65535, first + d.int(0, 100)) };
  });
const protocol = (d: Draw): Plain | undefined =>
  d.chance(0.5) ? undefined : d.chance(0.5) ? { number: d.int(0, d.chance(0.95) ? 255 : 300) } : d.chance(0.95) ? { name: d.pick(PROTOCOL_NAMES) } : {};

function rule(d: Draw): Plain {
  const r: Plain = {
    action: d.pick(ACTIONS),
    ip_version: d.chance(0.02) ? 5 : d.pick([0, 4, 6]),
    protocol: protocol(d),
    not_protocol: protocol(d),
    src_net: d.list(2, () => cidr(d)),
    not_dst_net: d.list(1, () => cidr(d)),
    src_ports: ports(d),
    not_dst_ports: ports(d),
    src_ip_set_ids: d.list(1, () => setId(d)),
    not_dst_ip_set_ids: d.list(1, () => setId(d)),
    dst_named_port_ip_set_ids: d.list(1, () => setId(d)),
    dst_ip_port_set_ids: d.list(1, () => setId(d)),
    rule_id: d.pick(["", "r1", "r2"]),
  };
  for (const prefix of ["", "not_"]) {
    if (d.chance(0.2)) r[`${prefix}icmp_type`] = d.int(d.chance(0.9) ? 0 : -1, d.chance(0.9) ? 255 : 256);
    else if (d.chance(0.2)) r[`${prefix}icmp_type_code`] = { type: d.int(0, 255), code: d.int(d.chance(0.95) ? 0 : -1, 255) };
  }
  return r;
}

const tiers = (d: Draw): Plain[] =>
  d.list(2, () => ({
    name: d.pick(["default", "t1"]),
    ingress_policies: d.list(2, () => policyId(d)),
    egress_policies: d.list(1, () => policyId(d)),
    default_action: d.pick(["Deny", "Pass", ""]),
  }));

const mac = (d: Draw): string => (d.chance(0.97) ? d.pick(["", "ee:ee:ee:ee:ee:ee", "EE-00-11-22-33-44"]) : "zz");

/** One random ToDataplane (without sequence_number) for each call; every payload kind is reachable. */
export function randomToDataplane(random: () => number): Plain {
  const d = new Draw(random);
  const hostname = d.chance(0.97) ? d.pick(["n1", "n2"]) : "";
  const makers: Record<string, () => Plain> = {
    in_sync: () => ({}),
    config_update: () => ({
      config: {
        VXLANPort: d.pick(["4790", "4789", "x", "0"]),
        FailsafeInboundHostPorts: d.pick(["tcp:22", "tcp:0.0.0.0/0:22,udp:68", "udp:1.2.3.0/24:5", "none"]),
        ReportingIntervalSecs: d.pick(["5", "30", "-1"]),
      },
    }),
    ipset_update: () => {
      const type = d.pick([0, 1, 2, 2, 2, 9]);
      return { id: d.chance(0.97) ? setId(d) : "", type, members: d.list(4, () => member(d, type)) };
    },
    ipset_delta_update: () => ({ id: setId(d), added_members: d.list(3, () => member(d, d.pick([1, 2]))), removed_members: d.list(3, () => member(d, d.pick([1, 2]))) }),
    ipset_remove: () => ({ id: setId(d) }),
    active_profile_update: () => ({ id: { name: `prof-${d.pick(IDS)}` }, profile: d.chance(0.97) ? { inbound_rules: d.list(2, () => rule(d)), outbound_rules: d.list(1, () => rule(d)) } : undefined }),
    active_profile_remove: () => ({ id: { name: `prof-${d.pick(IDS)}` } }),
    active_policy_update: () => ({
      id: d.chance(0.98) ? policyId(d) : undefined,
      policy: { tier: "default", inbound_rules: d.list(3, () => rule(d)), outbound_rules: d.list(2, () => rule(d)), untracked: d.chance(0.1), pre_dnat: d.chance(0.1) },
    }),
    active_policy_remove: () => ({ id: policyId(d) }),
    workload_endpoint_update: () => ({
      id: weId(d),
      endpoint: {
        state: d.pick(["active", "down"]),
        name: d.chance(0.95) ? d.pick(["calia", "calib"]) : d.pick(["", "*", "way-too-long-interface"]),
        mac: mac(d),
        profile_ids: d.list(2, () => `prof-${d.pick(IDS)}`),
        ipv4_nets: d.list(2, () => cidr(d, d.chance(0.98) ? 4 : 6)),
        ipv6_nets: d.list(1, () => cidr(d, d.chance(0.98) ? 6 : 4)),
        tiers: tiers(d),
      },
    }),
    workload_endpoint_remove: () => ({ id: weId(d) }),
    host_endpoint_update: () => ({
      id: { endpoint_id: d.pick(IDS) },
      endpoint: {
        name: d.chance(0.97) ? d.pick(["eth0", "*", ""]) : "bad/name",
        profile_ids: d.list(1, () => `prof-${d.pick(IDS)}`),
        tiers: tiers(d),
        untracked_tiers: tiers(d),
        pre_dnat_tiers: tiers(d),
        forward_tiers: tiers(d),
        expected_ipv4_addrs: d.list(1, () => address(d, d.chance(0.98) ? 4 : 6)),
        expected_ipv6_addrs: d.list(1, () => address(d, d.chance(0.98) ? 6 : 4)),
      },
    }),
    host_endpoint_remove: () => ({ id: { endpoint_id: d.pick(IDS) } }),
    host_metadata_update: () => ({ hostname, ipv4_addr: cidr(d, 4), ipv6_addr: d.chance(0.5) ? "" : cidr(d, 6), asnumber: "64512", labels: { a: "b" } }),
    host_metadata_remove: () => ({ hostname }),
    host_metadata_v6_update: () => ({ hostname, ipv6_addr: cidr(d, 6) }),
    host_metadata_v6_remove: () => ({ hostname }),
    host_metadata_v4v6_update: () => ({ hostname, ipv4_addr: cidr(d, 4), ipv6_addr: cidr(d, 6) }),
    host_metadata_v4v6_remove: () => ({ hostname }),
    ipam_pool_update: () => ({ id: d.pick(IDS), pool: d.chance(0.95) ? { cidr: cidr(d), masquerade: d.chance(0.5), allowed_uses: ["Workload"] } : undefined }),
    ipam_pool_remove: () => ({ id: d.pick(IDS) }),
    route_update: () => ({ types: d.int(-1, 63), ip_pool_type: d.int(0, 3), dst: cidr(d), dst_node_ip: d.pick(["", "10.0.0.1", "bad"]), tunnel_type: { vxlan: d.chance(0.5) } }),
    route_remove: () => ({ dst: cidr(d) }),
    vtep_update: () => ({ node: d.chance(0.97) ? d.pick(["n1", "n2"]) : "", mac: mac(d), ipv4_addr: d.pick(["10.0.0.1", "", "10.0.0.2", "fd00::1"]), parent_device_ip: "192.168.0.1" }),
    vtep_remove: () => ({ node: d.pick(["n1", "n2"]) }),
    encapsulation: () => ({ ipip_enabled: d.chance(0.5), vxlan_enabled: d.chance(0.5) }),
    service_account_update: () => ({ id: { namespace: "ns", name: d.pick(IDS) }, labels: { k: "v" } }),
    service_account_remove: () => ({ id: { namespace: "ns", name: d.pick(IDS) } }),
    namespace_update: () => ({ id: { name: d.pick(IDS) }, labels: { k: "v" } }),
    namespace_remove: () => ({ id: { name: d.pick(IDS) } }),
    service_update: () => ({ name: d.pick(IDS), namespace: "ns", cluster_ips: ["10.96.0.1"], ports: [{ Protocol: "TCP", Port: 80 }] }),
    service_remove: () => ({ name: d.pick(IDS), namespace: "ns" }),
    wireguard_endpoint_update: () => ({ hostname, public_key: "k" }),
    wireguard_endpoint_remove: () => ({ hostname }),
    wireguard_endpoint_v6_update: () => ({ hostname, public_key_v6: "k" }),
    wireguard_endpoint_v6_remove: () => ({ hostname }),
    global_bgp_config_update: () => ({ service_cluster_cidrs: d.list(2, () => cidr(d)) }),
  };
  const name = d.pick(Object.keys(makers));
  return { [name]: makers[name]() };
}
