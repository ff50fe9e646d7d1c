/**
 * Seeded random scenarios and probes for the differential suite: a small cluster (four pods in
 * two namespaces, a network set, two extra tiers) with random policies and profile rules that
 * stay inside what Calico's API accepts, written out as scenario YAML so a failure can be
 * replayed (`ptables felix-play <file>`) or pasted into a test. Probes are TCP to open and to
 * closed ports (an allowed SYN to a closed port is answered by an RST at once, so "allowed" is
 * quick to see), UDP to echo ports, and ping, over IPv4 and IPv6.
 */
import { testing } from "@ptables/policy-core";
import { stringify } from "yaml";
import type { ProbeCase } from "./matrix";

const { Rng } = testing;
type Rng = InstanceType<typeof Rng>;

export const DIFF_TCP_OPEN = [8080, 9000];
export const DIFF_TCP_CLOSED = [8081, 7000];
export const DIFF_UDP_OPEN = [5353, 5000];

interface PodDef {
  name: string;
  namespace: string;
  v4: string;
  v6: string;
}

const PODS: PodDef[] = [
  { name: "p1", namespace: "one", v4: "10.65.0.51", v6: "fd00:65::51" },
  { name: "p2", namespace: "one", v4: "10.65.0.52", v6: "fd00:65::52" },
  { name: "p3", namespace: "two", v4: "10.65.0.53", v6: "fd00:65::53" },
  { name: "p4", namespace: "two", v4: "10.65.0.54", v6: "fd00:65::54" },
];

export const DIFF_POD_NAMES = PODS.map((p) => p.name);

const SELECTORS = [
  "all()",
  "app == 'a'",
  "app == 'b'",
  "env == 'prod'",
  "env != 'prod'",
  "has(app)",
  "app in {'a', 'b'} && env == 'dev'",
  "!has(env)",
  "role == 'ext'",
];
const NAMESPACE_SELECTORS = ["ns == 'one'", "ns == 'two'", "all()"];
const NETS_V4 = ["10.65.0.51/32", "10.65.0.52/32", "10.65.0.53/32", "10.65.0.54/32", "10.65.0.52/31", "10.65.0.0/24", "192.0.2.0/24"];
const NETS_V6 = ["fd00:65::51/128", "fd00:65::52/128", "fd00:65::53/128", "fd00:65::54/128", "fd00:65::52/127", "fd00:65::/64", "2001:db8::/32"];
const PORTS: Array<number | string> = [8080, 9000, 8081, 7000, "8000:8100", "5000:5400", 5353, "http", "alt", "dns"];

function weighted<T>(rng: Rng, items: ReadonlyArray<[T, number]>): T {
  const total = items.reduce((sum, [, w]) => sum + w, 0);
  let x = rng.next() * total;
  for (const [item, w] of items) {
    if ((x -= w) < 0) return item;
  }
  return items[items.length - 1]![0];
}

function randomNets(rng: Rng, version?: 4 | 6): string[] {
  const pool = version === 4 ? NETS_V4 : version === 6 ? NETS_V6 : [...NETS_V4, ...NETS_V6];
  return rng.some(pool, 1, 3);
}

function randomEntity(rng: Rng, portProtocol: boolean, version: 4 | 6 | undefined, side: "source" | "destination"): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (rng.chance(0.25)) e.selector = rng.pick(SELECTORS);
  if (rng.chance(0.08)) e.notSelector = rng.pick(SELECTORS);
  if (rng.chance(0.08)) e.namespaceSelector = rng.pick(NAMESPACE_SELECTORS);
  if (rng.chance(0.12)) e.nets = randomNets(rng, version);
  if (rng.chance(0.08)) e.notNets = randomNets(rng, version);
  // Source ports would depend on the probe's ephemeral port; only destinations match ports.
  if (portProtocol && side === "destination") {
    if (rng.chance(0.55)) e.ports = rng.some(PORTS, 1, 3);
    if (rng.chance(0.2)) e.notPorts = rng.some(PORTS, 1, 2);
  }
  return e;
}

function randomRule(rng: Rng): Record<string, unknown> {
  const rule: Record<string, unknown> = {
    action: weighted(rng, [
      ["Allow", 5],
      ["Deny", 3],
      ["Pass", 2],
      ["Log", 1],
    ]),
  };
  const protocol = weighted<string | number | undefined>(rng, [
    [undefined, 4],
    ["TCP", 3],
    ["UDP", 2],
    ["ICMP", 1],
    ["ICMPv6", 1],
    [6, 1],
    [17, 1],
  ]);
  if (protocol !== undefined) rule.protocol = protocol;
  else if (rng.chance(0.25)) rule.notProtocol = rng.pick(["TCP", "UDP", "ICMP", 17]);
  const icmpFamily = protocol === "ICMP" ? 4 : protocol === "ICMPv6" ? 6 : undefined;
  let version: 4 | 6 | undefined;
  if (icmpFamily === undefined && rng.chance(0.12)) {
    version = rng.pick([4, 6] as const);
    rule.ipVersion = version;
  }
  if (icmpFamily !== undefined) {
    const types = icmpFamily === 4 ? [8, 0] : [128, 129];
    const match = (): Record<string, number> => {
      const m: Record<string, number> = { type: rng.pick(types) };
      if (rng.chance(0.5)) m.code = rng.pick([0, 1]);
      return m;
    };
    if (rng.chance(0.45)) rule.icmp = match();
    else if (rng.chance(0.2)) rule.notICMP = match();
  }
  const portProtocol = protocol === "TCP" || protocol === "UDP" || protocol === 6 || protocol === 17;
  // ICMP rules are family-specific already; keep their nets to that family.
  const netsVersion = version ?? icmpFamily;
  const source = randomEntity(rng, portProtocol, netsVersion, "source");
  const destination = randomEntity(rng, portProtocol, netsVersion, "destination");
  if (Object.keys(source).length > 0) rule.source = source;
  if (Object.keys(destination).length > 0) rule.destination = destination;
  return rule;
}

/** Up to `max` random rules; often a broad last rule, so that rules (not only tier ends) decide. */
function randomRules(rng: Rng, max: number): Array<Record<string, unknown>> {
  const rules = Array.from({ length: rng.int(max + 1) }, () => randomRule(rng));
  if (rng.chance(0.45)) {
    rules.push(
      weighted<Record<string, unknown>>(rng, [
        [{ action: "Allow" }, 4],
        [{ action: "Pass" }, 2],
        [{ action: "Deny" }, 1],
        [{ action: "Allow", protocol: rng.pick(["TCP", "UDP"]) }, 2],
      ]),
    );
  }
  return rules;
}

/** The scenario of one seed, as YAML (parse it with parseScenario). */
export function randomScenarioYaml(seed: number): string {
  const rng = new Rng(seed);
  const pods = PODS.map((p, i) => {
    const ports: Array<Record<string, unknown>> = [];
    if (rng.chance(0.5)) ports.push({ name: "http", protocol: "TCP", port: 8080 });
    if (rng.chance(0.4)) ports.push({ name: "alt", protocol: "TCP", port: 9000 });
    if (rng.chance(0.4)) ports.push({ name: "dns", protocol: "UDP", port: 5353 });
    return {
      name: p.name,
      namespace: p.namespace,
      ifname: `cali-${p.name}`,
      ips: [p.v4, p.v6],
      mac: `0a:58:0a:41:00:${(0x51 + i).toString(16)}`,
      labels: { ...(rng.chance(0.85) ? { app: rng.pick(["a", "b"]) } : {}), ...(rng.chance(0.85) ? { env: rng.pick(["prod", "dev"]) } : {}) },
      ...(ports.length > 0 ? { ports } : {}),
    };
  });
  const tiers = [
    { name: "t1", order: 10, defaultAction: rng.pick(["Deny", "Pass"]) },
    { name: "t2", order: 20, defaultAction: rng.pick(["Deny", "Pass"]) },
  ];
  const policies = Array.from({ length: 3 + rng.int(4) }, (_, i) => {
    const namespaced = rng.chance(0.4);
    const staged = rng.chance(0.15);
    const types = weighted<string[]>(rng, [
      [["Ingress"], 2],
      [["Egress"], 1],
      [["Ingress", "Egress"], 2],
    ]);
    const policy: Record<string, unknown> = {
      name: `p${i}`,
      ...(namespaced ? { namespace: rng.pick(["one", "two"]) } : {}),
      ...(staged ? { kind: namespaced ? "StagedNetworkPolicy" : "StagedGlobalNetworkPolicy" } : {}),
      tier: rng.pick(["default", "t1", "t2"]),
      ...(rng.chance(0.8) ? { order: 10 * (1 + rng.int(5)) } : {}),
      selector: rng.pick(SELECTORS.filter((s) => s !== "role == 'ext'")),
      types,
    };
    if (types.includes("Ingress")) policy.ingress = randomRules(rng, 3);
    if (types.includes("Egress")) policy.egress = randomRules(rng, 3);
    return policy;
  });
  const profiles = rng.chance(0.4) ? [{ name: "kns.two", ingress: randomRules(rng, 3), egress: randomRules(rng, 2) }] : [];
  const scenario = {
    node: "node-a",
    nodes: [{ name: "node-a", ip: "192.168.56.10" }],
    namespaces: [
      { name: "one", labels: { ns: "one" } },
      { name: "two", labels: { ns: "two" } },
    ],
    networkSets: [{ name: "ext", labels: { role: "ext" }, nets: rng.some(["10.65.0.51/32", "10.65.0.53/32", "fd00:65::52/128", "192.0.2.0/24"], 1, 3) }],
    tiers,
    pods,
    policies,
    profiles,
  };
  return `# differential scenario, seed ${seed}\n${stringify(scenario, { lineWidth: 0 })}`;
}

/** `count` random probes between distinct pods. */
export function randomProbes(seed: number, count: number): ProbeCase[] {
  // A different stream from the scenario's, so adding probes does not change the policies.
  const rng = new Rng((seed * 2654435761) >>> 0);
  return Array.from({ length: count }, (): ProbeCase => {
    const from = rng.pick(DIFF_POD_NAMES);
    const to = rng.pick(DIFF_POD_NAMES.filter((p) => p !== from));
    const family = rng.pick([4, 6] as const);
    const kind = weighted(rng, [
      ["tcp-open", 3],
      ["tcp-closed", 2.5],
      ["udp", 2.5],
      ["icmp", 2],
    ]);
    switch (kind) {
      case "tcp-open":
        return { from, to, family, proto: "tcp", port: rng.pick(DIFF_TCP_OPEN), note: "open" };
      case "tcp-closed":
        return { from, to, family, proto: "tcp", port: rng.pick(DIFF_TCP_CLOSED), note: "closed: allow = RST" };
      case "udp":
        return { from, to, family, proto: "udp", port: rng.pick(DIFF_UDP_OPEN) };
      default:
        return { from, to, family, proto: "icmp" };
    }
  });
}
