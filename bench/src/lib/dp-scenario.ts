/**
 * The datapath benchmark's policy, two ways: as Felix messages (for ptables) and as the
 * iptables + ipset rules Calico's iptables dataplane renders for the same input.
 *
 * Two pods on one node, client -> server. The server's ingress policy is `rules` rules in
 * policies of 10 rules each (default tier). Every rule but the last is a TCP allow that does
 * not match the traffic (destination ports 10000 + i); the last allows TCP to the iperf3 and
 * crr ports. With `withSet`, every rule also matches the source against one IP set of
 * `members` members that holds the client, so each rule evaluated costs one set lookup in
 * both dataplanes. `rules` = 0: no policy at all, the namespace profile allows everything.
 * The client has no egress policy (profile allow) in both dataplanes.
 */
import { felix } from "@ptables/proto";
import { fillInRuleIds, makeUniqueId } from "@ptables/felix";
import { remoteIp } from "./scenario";

export const DP = {
  client: { name: "client", ifname: "cali0cli", ipv4: "10.66.0.2" },
  server: { name: "server", ifname: "cali0srv", ipv4: "10.66.0.3" },
  iperfPort: 5201,
  crrPort: 8080,
  namespace: "dpbench",
  setId: makeUniqueId("s", "bench-dp == 'client'"),
  /** The ipset name Calico would use (cali40 + "s:" + hash prefix; at most 31 characters). */
  ipsetName: "cali40s:benchdpclients",
};

export interface DpConfig {
  rules: number;
  withSet: boolean;
  members: number;
  /**
   * How the non-matching rules miss: "port" (default: TCP to another destination port, the
   * realistic shape) or "proto" (UDP, no port match: the cheapest rule either dataplane has).
   */
  miss?: "port" | "proto";
}

export function dpLabel(c: DpConfig): string {
  return `${c.rules.toLocaleString("en-US")} ${c.miss === "proto" ? "UDP-only " : ""}rules, ${c.withSet ? `${c.members.toLocaleString("en-US")}-member set` : "no sets"}`;
}

/** The set's members: the client plus members-1 other pod addresses. */
export function dpSetMembers(members: number): string[] {
  const out = [`${DP.client.ipv4}/32`];
  for (let i = 0; out.length < members; i++) out.push(`${remoteIp(i)}/32`);
  return out;
}

interface RuleSpec {
  proto: "tcp" | "udp";
  ports: number[];
}

/** Policies of 10 rules: [policy][rule] -> protocol and destination ports. */
function ruleLayout(rules: number, miss: DpConfig["miss"] = "port"): RuleSpec[][] {
  const policies: RuleSpec[][] = [];
  for (let i = 0; i < rules; i++) {
    if (i % 10 === 0) policies.push([]);
    const last = i === rules - 1;
    const spec: RuleSpec = last ? { proto: "tcp", ports: [DP.iperfPort, DP.crrPort] } : miss === "proto" ? { proto: "udp", ports: [] } : { proto: "tcp", ports: [10000 + i] };
    policies[policies.length - 1]!.push(spec);
  }
  return policies;
}

function policyName(k: number): string {
  return `${DP.namespace}/knp.default.dp-${String(k).padStart(4, "0")}`;
}

/** Start of day for ptables (ConfigUpdate, set, policies, profiles, endpoints, InSync). */
export function dpStartOfDay(c: DpConfig, node = "bench-dp"): felix.ToDataplane[] {
  let seq = 0;
  const msgs: felix.ToDataplane[] = [];
  const env = (payload: NonNullable<felix.ToDataplane["payload"]>) => msgs.push(felix.ToDataplane.fromPartial({ sequenceNumber: BigInt(seq++), payload }));
  env({ $case: "configUpdate", value: felix.ConfigUpdate.fromPartial({ config: { FelixHostname: node }, sourceToRawConfig: { 5: { source: "environment variable", config: { felixhostname: node } } } }) });
  const layout = ruleLayout(c.rules, c.miss);
  if (c.withSet && c.rules > 0) env({ $case: "ipsetUpdate", value: { id: DP.setId, type: felix.IPSetUpdate_IPSetType.NET, members: dpSetMembers(c.members) } });
  const ids: felix.PolicyID[] = [];
  layout.forEach((rules, k) => {
    const id = { name: policyName(k), namespace: DP.namespace, kind: "NetworkPolicy" };
    ids.push(id);
    const inbound = rules.map((r) =>
      felix.Rule.fromPartial({
        action: "allow",
        protocol: { numberOrName: { $case: "name", value: r.proto } },
        srcIpSetIds: c.withSet ? [DP.setId] : [],
        dstPorts: r.ports.map((p) => ({ first: p, last: p })),
      }),
    );
    fillInRuleIds(inbound, `pol-in-default/${id.name}`);
    env({ $case: "activePolicyUpdate", value: { id, policy: felix.Policy.fromPartial({ namespace: DP.namespace, inboundRules: inbound, outboundRules: [], tier: "default" }) } });
  });
  const allow = (seed: string) => {
    const r = [felix.Rule.fromPartial({ action: "allow" })];
    fillInRuleIds(r, seed);
    return r;
  };
  env({ $case: "activeProfileUpdate", value: { id: { name: `kns.${DP.namespace}` }, profile: { inboundRules: allow(`prof-in-kns.${DP.namespace}`), outboundRules: allow(`prof-out-kns.${DP.namespace}`) } } });
  for (const pod of [DP.client, DP.server]) {
    const tiers = pod === DP.server && ids.length > 0 ? [{ name: "default", ingressPolicies: ids, egressPolicies: [], defaultAction: "Deny" }] : [];
    env({
      $case: "workloadEndpointUpdate",
      value: felix.WorkloadEndpointUpdate.fromPartial({
        id: { orchestratorId: "k8s", workloadId: `${DP.namespace}/${pod.name}`, endpointId: "eth0" },
        endpoint: { state: "active", name: pod.ifname, mac: "", profileIds: [`kns.${DP.namespace}`], ipv4Nets: [`${pod.ipv4}/32`], tiers },
      }),
    });
  }
  env({ $case: "inSync", value: {} });
  return msgs;
}

/** `ipset restore` input creating the set (hash:net, as Calico's NET sets). */
export function ipsetRestore(members: number): string {
  const lines = [`create ${DP.ipsetName} hash:net family inet hashsize 65536 maxelem 1048576`];
  for (const m of dpSetMembers(members)) lines.push(`add ${DP.ipsetName} ${m}`);
  return lines.join("\n") + "\n";
}

const ACCEPT_MARK = "0x10000/0x10000";
const PASS_MARK = "0x20000/0x20000";

/**
 * `iptables-restore` input for the filter table, in the shape Felix's iptables dataplane gives
 * it (felix/rules: static chains, endpoint dispatch, per-endpoint policy chains):
 *  - FORWARD -> cali-FORWARD -> cali-from-wl-dispatch / cali-to-wl-dispatch (goto by interface);
 *  - cali-tw-<if> (ingress of a workload) and cali-fw-<if> (egress): conntrack
 *    RELATED,ESTABLISHED accept first, INVALID drop, clear the marks, then per tier each policy's
 *    chain followed by "accepted? return", the tier's end-of-tier drop; profiles if no tier;
 *    a final drop;
 *  - cali-pi-<policy>: each Allow rule is "<matches> -j MARK --set-xmark 0x10000" followed by
 *    "-m mark --mark 0x10000 -j RETURN"; matches in Felix's order (protocol, source ipset, ports);
 *  - FORWARD ends with "accepted mark -> ACCEPT".
 */
export function renderIptables(c: DpConfig): string {
  const layout = ruleLayout(c.rules, c.miss);
  const chains = ["cali-FORWARD", "cali-from-wl-dispatch", "cali-to-wl-dispatch", "cali-pri-kns.dpbench", "cali-pro-kns.dpbench"];
  const body: string[] = [];
  const piChain = (k: number) => `cali-pi-_dp${String(k).padStart(4, "0")}`;
  for (const pod of [DP.client, DP.server]) chains.push(`cali-tw-${pod.ifname}`, `cali-fw-${pod.ifname}`);
  layout.forEach((_, k) => chains.push(piChain(k)));

  body.push("-A FORWARD -m comment --comment \"cali:wUHhoiAYhphO9Mso\" -j cali-FORWARD");
  body.push(`-A FORWARD -m comment --comment "cali:S93hcgKJrXEqnTfs" -m mark --mark ${ACCEPT_MARK} -j ACCEPT`);
  body.push("-A cali-FORWARD -m comment --comment \"cali:vjrMJCRpqwy5oRoX\" -j MARK --set-xmark 0x0/0xe0000");
  body.push("-A cali-FORWARD -i cali+ -m comment --comment \"cali:8ZoYfO5HKXWbB3pk\" -j cali-from-wl-dispatch");
  body.push("-A cali-FORWARD -o cali+ -m comment --comment \"cali:jdEuaPBe14V2hutn\" -j cali-to-wl-dispatch");
  for (const pod of [DP.client, DP.server]) {
    body.push(`-A cali-from-wl-dispatch -i ${pod.ifname} -g cali-fw-${pod.ifname}`);
    body.push(`-A cali-to-wl-dispatch -o ${pod.ifname} -g cali-tw-${pod.ifname}`);
  }
  body.push("-A cali-from-wl-dispatch -m comment --comment \"Unknown interface\" -j DROP");
  body.push("-A cali-to-wl-dispatch -m comment --comment \"Unknown interface\" -j DROP");

  const endpointChain = (chain: string, policies: number, profileChain: string) => {
    body.push(`-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    body.push(`-A ${chain} -m conntrack --ctstate INVALID -j DROP`);
    body.push(`-A ${chain} -j MARK --set-xmark 0x0/0x10000`);
    if (policies > 0) {
      body.push(`-A ${chain} -m comment --comment "Start of tier default" -j MARK --set-xmark 0x0/0x20000`);
      for (let k = 0; k < policies; k++) {
        body.push(`-A ${chain} -m mark --mark 0x0/0x20000 -j ${piChain(k)}`);
        body.push(`-A ${chain} -m mark --mark ${ACCEPT_MARK} -m comment --comment "Return if policy accepted" -j RETURN`);
      }
      body.push(`-A ${chain} -m mark --mark 0x0/0x20000 -m comment --comment "End of tier default. Drop if no policies passed packet" -j DROP`);
    } else {
      body.push(`-A ${chain} -j ${profileChain}`);
      body.push(`-A ${chain} -m mark --mark ${ACCEPT_MARK} -m comment --comment "Return if profile accepted" -j RETURN`);
    }
    body.push(`-A ${chain} -m comment --comment "Drop if no profiles matched" -j DROP`);
  };
  endpointChain(`cali-tw-${DP.client.ifname}`, 0, "cali-pri-kns.dpbench");
  endpointChain(`cali-fw-${DP.client.ifname}`, 0, "cali-pro-kns.dpbench");
  endpointChain(`cali-tw-${DP.server.ifname}`, layout.length, "cali-pri-kns.dpbench");
  endpointChain(`cali-fw-${DP.server.ifname}`, 0, "cali-pro-kns.dpbench");
  for (const profile of ["cali-pri-kns.dpbench", "cali-pro-kns.dpbench"]) {
    body.push(`-A ${profile} -j MARK --set-xmark ${ACCEPT_MARK}`);
    body.push(`-A ${profile} -m mark --mark ${ACCEPT_MARK} -j RETURN`);
  }
  layout.forEach((rules, k) => {
    for (const r of rules) {
      const set = c.withSet ? ` -m set --match-set ${DP.ipsetName} src` : "";
      const portMatch = r.ports.length === 0 ? "" : r.ports.length === 1 ? ` -m ${r.proto} --dport ${r.ports[0]}` : ` -m multiport --dports ${r.ports.join(",")}`;
      body.push(`-A ${piChain(k)} -p ${r.proto}${set}${portMatch} -j MARK --set-xmark ${ACCEPT_MARK}`);
      body.push(`-A ${piChain(k)} -m mark --mark ${ACCEPT_MARK} -j RETURN`);
    }
  });
  void PASS_MARK;
  return ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ...chains.map((ch) => `:${ch} - [0:0]`), ...body, "COMMIT", ""].join("\n");
}

/** Empties the filter table. */
export const IPTABLES_FLUSH = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", "COMMIT", ""].join("\n");
