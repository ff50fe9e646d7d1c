/**
 * The benchmark's cluster, as the Felix messages one node's driver would receive. Generated
 * directly (not through the scenario player's calculation graph, which would need 100,000 pods
 * to produce 100,000 IP-set members) but shaped like Felix's output: hashed `s:` IP-set ids,
 * namespaced policies in the default tier with rule ids filled in, kns./ksa. profiles, local
 * workload endpoints with TierInfo, start of day = ConfigUpdate, one flush in EventSequencer
 * order (IP sets, policies, profiles, endpoints), InSync.
 *
 * Deterministic: the same Scale gives the same stream in every process (the orchestrator and
 * the workers inside the node namespace build it independently).
 *
 * Shape at full scale (point 2 of the benchmark issue):
 *  - 50 namespaces x 5 local pods = 250 workload endpoints (veths cali00000000000 … );
 *  - 20 NetworkPolicies per namespace = 1,000 policies, each with 5 inbound + 5 outbound rules
 *    (IP-set, CIDR, port, protocol and ICMP matches; allow and deny);
 *  - every pod is selected by 8 of its namespace's 20 policies (each policy selects 2 pods), so
 *    an endpoint program holds ~40 policy rules per direction;
 *  - IP sets: 4 per namespace (selector sets, ~100 members each, local pod IPs included) and 10
 *    cluster-wide sets (~8,000 members each, pod IPs and some network-set CIDRs), 100,000
 *    members in total.
 */
import { felix } from "@ptables/proto";
import { fillInRuleIds, makeUniqueId } from "@ptables/felix";

export interface Scale {
  namespaces: number;
  podsPerNamespace: number;
  policiesPerNamespace: number;
  /** Policies selecting each pod (out of its namespace's policies). */
  policiesPerPod: number;
  /** Rules per policy: half inbound, half outbound. */
  rulesPerPolicy: number;
  /** IP-set members in total. */
  members: number;
  globalSets: number;
  setsPerNamespace: number;
}

export const FULL_SCALE: Scale = {
  namespaces: 50,
  podsPerNamespace: 5,
  policiesPerNamespace: 20,
  policiesPerPod: 8,
  rulesPerPolicy: 10,
  members: 100_000,
  globalSets: 10,
  setsPerNamespace: 4,
};

export function scaleSummary(s: Scale): { endpoints: number; policies: number; rules: number; members: number; ipSets: number } {
  return {
    endpoints: s.namespaces * s.podsPerNamespace,
    policies: s.namespaces * s.policiesPerNamespace,
    rules: s.namespaces * s.policiesPerNamespace * s.rulesPerPolicy,
    members: s.members,
    ipSets: s.globalSets + s.namespaces * s.setsPerNamespace,
  };
}

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LocalPod {
  namespace: string;
  name: string;
  ifname: string;
  ipv4: string;
  mac: string;
  /** Felix endpoint key: k8s/<ns>/<name>/eth0. */
  key: string;
  /** Indexes (within the namespace) of the policies selecting it. */
  policies: number[];
}

export interface PolicyDef {
  namespace: string;
  name: string;
  index: number;
  id: felix.PolicyID;
}

export interface IpSetDef {
  id: string;
  members: string[];
}

export interface Cluster {
  scale: Scale;
  node: string;
  namespaces: string[];
  pods: LocalPod[];
  policies: PolicyDef[];
  /** Namespace sets by namespace index, then cluster-wide sets. */
  nsSets: IpSetDef[][];
  globalSets: IpSetDef[];
  startOfDay: felix.ToDataplane[];
  /** Next sequence number for messages built after start of day. */
  nextSeq: number;
}

export function nsName(k: number): string {
  return `ns${String(k).padStart(3, "0")}`;
}

/** Host-side interface of local pod number n (15 characters, like Calico's). */
export function ifnameOf(n: number): string {
  return `cali${n.toString(16).padStart(11, "0")}`;
}

/** Address of local pod p in namespace k: 10.65.k.(p+2). */
export function podIp(k: number, p: number): string {
  return `10.65.${k & 255}.${p + 2}`;
}

/** A remote pod address, 10.128.0.0/9, by index. */
export function remoteIp(i: number): string {
  return `10.${128 + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}`;
}

function macOf(n: number): string {
  return `0a:58:0a:41:${((n >> 8) & 255).toString(16).padStart(2, "0")}:${(n & 255).toString(16).padStart(2, "0")}`;
}

const proto = (name: string): felix.Protocol => ({ numberOrName: { $case: "name", value: name } });

function rule(partial: Partial<felix.Rule>): felix.Rule {
  return felix.Rule.fromPartial(partial);
}

/** The rules of policy j of namespace k (half inbound, half outbound). */
export function policyRules(cluster: Pick<Cluster, "scale" | "nsSets" | "globalSets">, k: number, j: number, variant = 0): { inbound: felix.Rule[]; outbound: felix.Rule[] } {
  const s = cluster.scale;
  const nsSet = (i: number) => cluster.nsSets[k]![i % s.setsPerNamespace]!.id;
  const glSet = (i: number) => cluster.globalSets[i % s.globalSets]!.id;
  const inPool: felix.Rule[] = [
    rule({ action: "allow", protocol: proto("tcp"), srcIpSetIds: [nsSet(j)], dstPorts: [{ first: 8080 + (j % 20) + variant, last: 8080 + (j % 20) + variant }] }),
    rule({ action: "allow", protocol: proto("tcp"), srcIpSetIds: [glSet(j)], dstPorts: [{ first: 443, last: 443 }] }),
    rule({ action: "allow", protocol: proto("udp"), srcNet: [`10.200.${j & 255}.0/24`], dstPorts: [{ first: 53, last: 53 }] }),
    rule({ action: "deny", protocol: proto("tcp"), srcNet: [`192.168.${(k * 7 + j) & 255}.0/24`] }),
    rule({ action: "allow", ipVersion: felix.IPVersion.IPV4, protocol: proto("icmp"), icmp: { $case: "icmpType", value: 8 } }),
    rule({ action: "allow", protocol: proto("tcp"), srcIpSetIds: [nsSet(j + 2)], notDstPorts: [{ first: 22, last: 22 }] }),
  ];
  const outPool: felix.Rule[] = [
    rule({ action: "allow", protocol: proto("tcp"), dstIpSetIds: [nsSet(j + 1)], dstPorts: [{ first: 80, last: 80 }, { first: 8000, last: 8100 }] }),
    rule({ action: "allow", protocol: proto("udp"), dstIpSetIds: [glSet(j + 3)], dstPorts: [{ first: 53, last: 53 }] }),
    rule({ action: "allow", protocol: proto("tcp"), dstNet: ["10.96.0.0/12"], dstPorts: [{ first: 443, last: 443 }] }),
    rule({ action: "deny", dstNet: ["169.254.169.254/32"] }),
    rule({ action: "allow", protocol: proto("tcp"), dstIpSetIds: [glSet(j + 5)] }),
    rule({ action: "allow", protocol: proto("udp"), dstNet: [`10.${64 + (j & 63)}.0.0/16`], notDstPorts: [{ first: 9000, last: 9100 }] }),
  ];
  const nIn = Math.ceil(s.rulesPerPolicy / 2);
  const nOut = s.rulesPerPolicy - nIn;
  const take = (pool: felix.Rule[], n: number) => Array.from({ length: n }, (_, i) => felix.Rule.fromPartial(pool[i % pool.length]!));
  return { inbound: take(inPool, nIn), outbound: take(outPool, nOut) };
}

export function policyUpdate(cluster: Cluster, policy: PolicyDef, variant = 0): felix.ActivePolicyUpdate {
  const k = Number(policy.namespace.slice(2));
  const { inbound, outbound } = policyRules(cluster, k, policy.index, variant);
  fillInRuleIds(inbound, `pol-in-default/${policy.name}`);
  fillInRuleIds(outbound, `pol-out-default/${policy.name}`);
  return felix.ActivePolicyUpdate.fromPartial({
    id: policy.id,
    policy: {
      namespace: policy.namespace,
      inboundRules: inbound,
      outboundRules: outbound,
      originalSelector: `projectcalico.org/namespace == '${policy.namespace}' && policy-${policy.index} == 'true'`,
      tier: "default",
    },
  });
}

export function endpointUpdate(cluster: Cluster, pod: LocalPod, opts: { state?: string; policies?: number[] } = {}): felix.WorkloadEndpointUpdate {
  const k = Number(pod.namespace.slice(2));
  const pols = (opts.policies ?? pod.policies).map((j) => cluster.policies[k * cluster.scale.policiesPerNamespace + j]!.id);
  return felix.WorkloadEndpointUpdate.fromPartial({
    id: { orchestratorId: "k8s", workloadId: `${pod.namespace}/${pod.name}`, endpointId: "eth0" },
    endpoint: {
      state: opts.state ?? "active",
      name: pod.ifname,
      mac: pod.mac,
      profileIds: [`kns.${pod.namespace}`, `ksa.${pod.namespace}.default`],
      ipv4Nets: [`${pod.ipv4}/32`],
      tiers: [{ name: "default", ingressPolicies: pols, egressPolicies: pols.map((p) => ({ ...p })), defaultAction: "Deny" }],
    },
  });
}

/** Builds the cluster and its start-of-day stream. */
export function buildCluster(scale: Scale, node = "bench-node"): Cluster {
  const s = scale;
  const namespaces = Array.from({ length: s.namespaces }, (_, k) => nsName(k));
  const rand = rng(0x5eed);

  // IP sets: 80 % of the members in the cluster-wide sets, 20 % in the namespace sets.
  const globalTotal = Math.round(s.members * 0.8);
  const nsTotal = s.members - globalTotal;
  const globalSets: IpSetDef[] = Array.from({ length: s.globalSets }, (_, g) => {
    const n = Math.floor(globalTotal / s.globalSets) + (g < globalTotal % s.globalSets ? 1 : 0);
    const members: string[] = [];
    // A few network-set CIDRs, the rest pod addresses (sets overlap, as selectors do).
    const cidrs = Math.min(n, 16);
    for (let c = 0; c < cidrs; c++) members.push(`172.${16 + g}.${c}.0/24`);
    const base = g * 6000;
    for (let i = 0; members.length < n; i++) members.push(`${remoteIp(base + i)}/32`);
    return { id: makeUniqueId("s", `bench-global-${g} == 'true'`), members };
  });
  const perNsSet = Math.floor(nsTotal / (s.namespaces * s.setsPerNamespace));
  let nsExtra = nsTotal - perNsSet * s.namespaces * s.setsPerNamespace;
  const nsSets: IpSetDef[][] = namespaces.map((ns, k) =>
    Array.from({ length: s.setsPerNamespace }, (_, r) => {
      const n = perNsSet + (nsExtra-- > 0 ? 1 : 0);
      const members: string[] = [];
      for (let p = 0; p < s.podsPerNamespace && members.length < n; p++) if ((p + r) % 2 === 0) members.push(`${podIp(k, p)}/32`);
      const start = Math.floor(rand() * 4_000_000);
      for (let i = 0; members.length < n; i++) members.push(`${remoteIp((start + i * 7) % 8_000_000)}/32`);
      return { id: makeUniqueId("s", `projectcalico.org/namespace == '${ns}' && role == 'r${r}'`), members: [...new Set(members)] };
    }),
  );

  const policies: PolicyDef[] = [];
  for (let k = 0; k < s.namespaces; k++) {
    for (let j = 0; j < s.policiesPerNamespace; j++) {
      const name = `${namespaces[k]}/knp.default.pol-${String(j).padStart(3, "0")}`;
      policies.push({ namespace: namespaces[k]!, name, index: j, id: { name, namespace: namespaces[k]!, kind: "NetworkPolicy" } });
    }
  }

  const pods: LocalPod[] = [];
  for (let k = 0; k < s.namespaces; k++) {
    for (let p = 0; p < s.podsPerNamespace; p++) {
      const n = k * s.podsPerNamespace + p;
      const name = `pod-${p}`;
      const step = Math.max(1, Math.floor(s.policiesPerNamespace / s.podsPerNamespace));
      const pols = Array.from({ length: Math.min(s.policiesPerPod, s.policiesPerNamespace) }, (_, m) => (p * step + m) % s.policiesPerNamespace);
      pods.push({
        namespace: namespaces[k]!,
        name,
        ifname: ifnameOf(n),
        ipv4: podIp(k, p),
        mac: macOf(n),
        key: `k8s/${namespaces[k]}/${name}/eth0`,
        policies: [...new Set(pols)].sort((a, b) => a - b),
      });
    }
  }

  const cluster: Cluster = { scale, node, namespaces, pods, policies, nsSets, globalSets, startOfDay: [], nextSeq: 0 };
  const msgs: felix.ToDataplane[] = [];
  const envelope = (payload: NonNullable<felix.ToDataplane["payload"]>) => felix.ToDataplane.fromPartial({ sequenceNumber: BigInt(cluster.nextSeq++), payload });
  msgs.push(
    envelope({
      $case: "configUpdate",
      value: felix.ConfigUpdate.fromPartial({
        config: { FelixHostname: node },
        sourceToRawConfig: { 5: { source: "environment variable", config: { felixhostname: node } } },
      }),
    }),
  );
  const allSets = [...globalSets, ...nsSets.flat()].sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const set of allSets) {
    msgs.push(envelope({ $case: "ipsetUpdate", value: { id: set.id, type: felix.IPSetUpdate_IPSetType.NET, members: [...set.members].sort() } }));
  }
  for (const policy of policies) msgs.push(envelope({ $case: "activePolicyUpdate", value: policyUpdate(cluster, policy) }));
  for (const ns of namespaces) {
    const allowAll = [felix.Rule.fromPartial({ action: "allow" })];
    fillInRuleIds(allowAll, `prof-in-kns.${ns}`);
    const allowAllOut = [felix.Rule.fromPartial({ action: "allow" })];
    fillInRuleIds(allowAllOut, `prof-out-kns.${ns}`);
    msgs.push(envelope({ $case: "activeProfileUpdate", value: { id: { name: `kns.${ns}` }, profile: { inboundRules: allowAll, outboundRules: allowAllOut } } }));
    msgs.push(envelope({ $case: "activeProfileUpdate", value: { id: { name: `ksa.${ns}.default` }, profile: { inboundRules: [], outboundRules: [] } } }));
  }
  for (const pod of pods) msgs.push(envelope({ $case: "workloadEndpointUpdate", value: endpointUpdate(cluster, pod) }));
  msgs.push(envelope({ $case: "inSync", value: {} }));
  cluster.startOfDay = msgs;
  return cluster;
}

export function envelope(cluster: Cluster, payload: NonNullable<felix.ToDataplane["payload"]>): felix.ToDataplane {
  return felix.ToDataplane.fromPartial({ sequenceNumber: BigInt(cluster.nextSeq++), payload });
}

/** An address no set holds, for member add/remove churn: 10.1.x.y. */
export function churnIp(i: number): string {
  return `10.1.${(i >> 8) & 255}.${i & 255}/32`;
}

/**
 * Change streams after start of day. `memberChanges(n)`: n IP-set deltas, each adding one new
 * member to a set (or removing the one it added two steps earlier), over random sets.
 */
const setLists = new WeakMap<Cluster, IpSetDef[]>();
const policyCache = new WeakMap<Cluster, Map<string, felix.ActivePolicyUpdate>>();

export function memberChange(cluster: Cluster, i: number): felix.ToDataplane {
  let sets = setLists.get(cluster);
  if (!sets) setLists.set(cluster, (sets = [...cluster.globalSets, ...cluster.nsSets.flat()]));
  const set = sets[(i * 2654435761) % sets.length >>> 0]!;
  // Even i adds churnIp(i); odd i removes what i-1 added (from the same set: same formula).
  const prevSet = sets[((i - 1) * 2654435761) % sets.length >>> 0]!;
  if (i % 2 === 1) return envelope(cluster, { $case: "ipsetDeltaUpdate", value: { id: prevSet.id, addedMembers: [], removedMembers: [churnIp(i - 1)] } });
  return envelope(cluster, { $case: "ipsetDeltaUpdate", value: { id: set.id, addedMembers: [churnIp(i)], removedMembers: [] } });
}

/** Policy update number i: a policy's first rule changes port (variant alternates 1/0). */
export function policyChange(cluster: Cluster, i: number): felix.ToDataplane {
  const policy = cluster.policies[(i * 7919) % cluster.policies.length]!;
  const variant = (Math.floor(i / cluster.policies.length) + 1) % 2 === 1 ? 1 : 0;
  let cache = policyCache.get(cluster);
  if (!cache) policyCache.set(cluster, (cache = new Map()));
  const key = `${policy.name}#${variant}`;
  let value = cache.get(key);
  if (!value) cache.set(key, (value = policyUpdate(cluster, policy, variant)));
  return envelope(cluster, { $case: "activePolicyUpdate", value });
}

/** Endpoint update number i: a pod toggles one of its policies (tiers change). */
export function endpointChange(cluster: Cluster, i: number): felix.ToDataplane {
  const pod = cluster.pods[(i * 31) % cluster.pods.length]!;
  const flip = Math.floor(i / cluster.pods.length) % 2 === 0;
  const policies = flip ? pod.policies.slice(1) : pod.policies;
  return envelope(cluster, { $case: "workloadEndpointUpdate", value: endpointUpdate(cluster, pod, { policies }) });
}
