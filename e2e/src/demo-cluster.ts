/**
 * The demo for a scenario with pods on several nodes: every node of the scenario as a network
 * namespace, all joined by the testkit's fabric bridge, each running its own real driver fed by
 * the Felix player with that node's view of the cluster (as e2e/multinode.privileged.test.ts
 * does). The harness adds no routes: pods reach each other across nodes only through what
 * ptables programs from Felix's RouteUpdates and VTEPs (routes, VXLAN devices, FDB, neighbours).
 */
import type { felix } from "@ptables/proto";
import type { Scenario } from "@ptables/felix";
import type { NodeNs, Topology } from "@ptables/testkit";
import { ipJson, ptablesObjects, type IpLink, type IpRoute } from "../lib/host-net";
import type { MatrixRow } from "../lib/matrix";
import { createPtablesNode, type PtablesNode } from "../lib/ptables-node";
import { sleep } from "../lib/run";
import { bold, dim, magenta, probeCases, say, scenarioPods, section, showProgrammed, table, trafficMatrix, yellow, type PairNote, type PortProbe } from "./demo-view";

/** The nodes the scenario puts pods on, at start or in its steps (scenario order). */
export function nodesWithPods(scenario: Scenario): string[] {
  const used = new Set(scenarioPods(scenario).map((p) => p.node));
  return scenario.nodes.map((n) => n.name).filter((n) => used.has(n));
}

/** Why the demo cannot play this multi-node scenario (checked before anything is created). */
export function clusterProblem(scenario: Scenario): string | undefined {
  if (scenario.ipPools.length === 0) {
    return "a scenario with pods on several nodes needs ipPools: the routes and VXLAN tunnels between the nodes come from them (see examples/two-node.yaml)";
  }
  const missing = scenario.nodes.filter((n) => !n.ipv4 && !n.ipv6).map((n) => n.name);
  if (missing.length > 0) return `node(s) ${missing.join(", ")} have no address: VXLAN needs each node's ip (and ipv6 for IPv6 pools)`;
  return undefined;
}

/** A topology member name for a node (letters, digits, "_" and ".", at most 16). */
function nodeMemberName(node: string, used: Set<string>): string {
  const base = node.replace(/[^A-Za-z0-9_.]/g, "_").replace(/^[^A-Za-z0-9]+/, "").slice(0, 16) || "node";
  let name = base;
  for (let i = 2; used.has(name); i++) name = `${base.slice(0, 13)}.${i}`;
  used.add(name);
  return name;
}

const bare = (addr: string | undefined) => addr?.split("/")[0];

/** "2 routeUpdate, 1 workloadEndpointUpdate" for a batch of Felix messages. */
function messageKinds(messages: readonly felix.ToDataplane[]): string {
  const counts = new Map<string, number>();
  for (const m of messages) if (m.payload) counts.set(m.payload.$case, (counts.get(m.payload.$case) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${kind}`).join(", ") || "nothing";
}

// --- what each node's kernel holds ---------------------------------------------------------------

interface AddrLink extends IpLink {
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope: string }>;
}

/** The VXLAN devices, FDB, routes and NAT table ptables programmed on one node, as `ip` sees them. */
async function showPlumbing(topology: Topology, node: PtablesNode, scenario: Scenario): Promise<void> {
  const ns = node.node!.ns;
  const objects = await ptablesObjects(topology, ns);
  const nodeByIp = new Map(scenario.nodes.flatMap((n) => [bare(n.ipv4), bare(n.ipv6)].filter((ip): ip is string => !!ip).map((ip) => [ip, n.name] as const)));
  const rows: string[][] = [];
  for (const tunnel of objects.tunnels) {
    const [link] = await ipJson<AddrLink>(topology, ns, ["-d", "addr", "show", "dev", tunnel]);
    if (!link) continue;
    const data = link.linkinfo?.info_data ?? {};
    const vtep = (link.addr_info ?? []).filter((a) => a.scope === "global").map((a) => a.local).join(" ");
    const fdb = (await topology.exec(ns, ["bridge", "fdb", "show", "dev", tunnel])).stdout
      .split("\n")
      .map((l) => /^(\S+) dst (\S+)/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${nodeByIp.get(m[2]!) ?? m[2]} (${m[1]} at ${m[2]})`);
    rows.push([tunnel, String(data.id ?? "-"), String(data.local ?? data.local6 ?? "-"), vtep || "-", link.address, String(link.mtu), fdb.join(", ") || "-"]);
  }
  if (rows.length > 0) say(table(["tunnel device", "VNI", "local", "VTEP address", "MAC", "MTU", "FDB: remote VTEPs"], rows, "    "));
  else say(dim("    no tunnel devices"));
  say(dim(`    ptables' routes (proto 0x50)${objects.nftTables.length ? `; NAT outgoing in ${objects.nftTables.join(", ")}` : ""}:`));
  for (const route of objects.routes) say(dim(`      ${route}`));
}

async function showNodes(topology: Topology, nodes: readonly PtablesNode[], scenario: Scenario): Promise<void> {
  for (const node of nodes) {
    say(`\n  ${bold(node.nodeName)} ${dim(`(namespace ${node.node!.ns})`)}`);
    await showProgrammed(node);
    await showPlumbing(topology, node, scenario);
  }
}

// --- across nodes ----------------------------------------------------------------------------

/**
 * For each pod pair: on which node(s), and for pairs that cross nodes the device the source
 * node's kernel routes the destination to (`ip route get`), e.g. vxlan.calico / vxlan-v6.calico.
 */
async function pathNotes(topology: Topology, nodes: readonly PtablesNode[]): Promise<PairNote> {
  const where = new Map<string, { node: PtablesNode; ipv4?: string; ipv6?: string }>();
  for (const node of nodes) for (const [key, pod] of node.pods) where.set(key, { node, ipv4: pod.spec.ipv4[0], ipv6: pod.spec.ipv6[0] });
  const notes = new Map<string, string>();
  for (const [fromKey, from] of where) {
    for (const [toKey, to] of where) {
      if (fromKey === toKey) continue;
      if (from.node === to.node) {
        notes.set(`${fromKey}>${toKey}`, dim(`on ${from.node.nodeName}`));
        continue;
      }
      const devices: string[] = [];
      for (const [mine, theirs] of [[from.ipv4, to.ipv4], [from.ipv6, to.ipv6]] as const) {
        if (!mine || !theirs) continue;
        const [route] = await ipJson<IpRoute>(topology, from.node.node!.ns, ["route", "get", theirs]).catch(() => [] as IpRoute[]);
        devices.push(route?.dev ?? "no route");
      }
      const over = devices.every((d) => d.startsWith("vxlan")) ? magenta("cross-node over VXLAN") : yellow("cross-node");
      notes.set(`${fromKey}>${toKey}`, `${over} ${dim(`${from.node.nodeName} → ${to.node.nodeName} via ${[...new Set(devices)].join(" / ")}`)}`);
    }
  }
  return (from, to) => notes.get(`${from}>${to}`) ?? "";
}

/** Packets sent and received by every ptables tunnel device, by "node dev". */
async function tunnelCounters(topology: Topology, nodes: readonly PtablesNode[]): Promise<Map<string, { tx: number; rx: number }>> {
  const out = new Map<string, { tx: number; rx: number }>();
  for (const node of nodes) {
    const links = await ipJson<IpLink & { stats64?: { rx: { packets: number }; tx: { packets: number } } }>(topology, node.node!.ns, ["-s", "link", "show"]);
    for (const link of links) {
      if (!link.ifalias?.startsWith("ptables:")) continue;
      out.set(`${node.nodeName} ${link.ifname}`, { tx: link.stats64?.tx.packets ?? 0, rx: link.stats64?.rx.packets ?? 0 });
    }
  }
  return out;
}

function showTunnelTraffic(before: Map<string, { tx: number; rx: number }>, after: Map<string, { tx: number; rx: number }>): void {
  const parts = [...after].map(([key, now]) => {
    const was = before.get(key) ?? { tx: 0, rx: 0 };
    return `${key}: ${now.tx - was.tx} sent, ${now.rx - was.rx} received`;
  });
  if (parts.length > 0) say(dim(`  Encapsulated packets during these probes — ${parts.join("; ")}.`));
}

async function clusterMatrix(topology: Topology, nodes: readonly PtablesNode[], ports: PortProbe[], title: string, previous?: Map<string, MatrixRow>): Promise<Map<string, MatrixRow>> {
  const notes = await pathNotes(topology, nodes);
  const before = await tunnelCounters(topology, nodes);
  const rows = await trafficMatrix(nodes, probeCases(nodes, ports), title, previous, notes);
  showTunnelTraffic(before, await tunnelCounters(topology, nodes));
  return rows;
}

// --- the run -------------------------------------------------------------------------------------

/**
 * Builds every node of the scenario on one fabric, starts one driver per node (pushed onto
 * `nodes` as soon as they exist, so the caller's cleanup covers a run that fails or is
 * interrupted half-way), shows what each node programmed and the traffic across nodes, plays
 * the steps on every node at their times, and shows both again.
 */
export async function playCluster(topology: Topology, scenario: Scenario, ports: PortProbe[], nodes: PtablesNode[]): Promise<void> {
  section("Nodes (network namespaces joined by a fabric bridge) and their pods");
  const used = new Set<string>();
  const nodeNs: NodeNs[] = [];
  for (const spec of scenario.nodes) nodeNs.push(await topology.addNode(nodeMemberName(spec.name, used)));
  await topology.addFabric(nodeNs);
  scenario.nodes.forEach((spec, i) => {
    const ns = nodeNs[i]!;
    for (const [family, wanted, have] of [["ip", bare(spec.ipv4), ns.ipv4], ["ipv6", bare(spec.ipv6), ns.ipv6]] as const) {
      if (wanted !== undefined && wanted !== have) {
        throw new Error(`node ${spec.name}: the scenario gives it ${family} ${wanted}, but the demo's fabric gives node #${i + 1} ${have}; use the fabric's addresses (10.254.0.<n>/24, fd00:fe::<n>/64) so the VXLAN tunnels reach each other`);
      }
    }
  });
  const all = scenarioPods(scenario);
  say(
    table(
      ["node", "address (fabric)", "pods at start", "pods added by steps"],
      scenario.nodes.map((n) => {
        const names = (pods: typeof all) => pods.filter((p) => p.node === n.name).map((p) => p.name).join(", ") || "-";
        return [n.name, [bare(n.ipv4), bare(n.ipv6)].filter(Boolean).join(" "), names(scenario.pods), names(all.slice(scenario.pods.length))];
      }),
    ),
  );
  const pools = scenario.ipPools.map((p) => `${p.cidr} (VXLAN ${p.vxlanMode}${p.ipipMode !== "Never" ? `, IPIP ${p.ipipMode}` : ""}${p.natOutgoing ? ", NAT outgoing" : ""}, /${p.blockSize} blocks)`);
  say(dim(`  IP pools: ${pools.join("; ")}.`));
  say("");
  say(
    table(
      ["pod", "node", "interface", "IPv4", "IPv6", "labels"],
      scenario.pods.map((p) => [`${p.namespace}/${p.name}`, p.node, p.ifname, p.ipv4.join(" ") || "-", p.ipv6.join(" ") || "-", Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(",")]),
    ),
  );

  section("Starting one bin/ptables-felix-driver per node the way Felix does (fd 3 / fd 4), each fed its node's view");
  const startedAt = Date.now();
  scenario.nodes.forEach((spec, i) =>
    nodes.push(
      createPtablesNode(topology, spec.name, scenario, {
        tcpPorts: ports.filter((p) => p.proto === "tcp").map((p) => p.port),
        udpPorts: ports.filter((p) => p.proto === "udp").map((p) => p.port),
        keepTopology: true,
        // Only ptables' routes (from Felix's RouteUpdates) make pods reachable, as on a real node.
        withHostRoutes: false,
        node: nodeNs[i]!,
      }),
    ),
  );
  await Promise.all(nodes.map((n) => n.start()));
  for (const node of nodes) say(`  ${bold(node.nodeName)}: start of day ${dim(`(${messageKinds(node.stream.startOfDay)})`)}`);
  say(`  Every endpoint on every node reported to Felix after ${((Date.now() - startedAt) / 1000).toFixed(1)} s.`);

  section("What was programmed, per node");
  await showNodes(topology, nodes, scenario);

  let rows = await clusterMatrix(topology, nodes, ports, "Traffic across the cluster (real packets between the pods; decisions from the reference evaluator)");

  const steps = nodes[0]?.stream.steps ?? [];
  if (steps.length > 0) {
    section("Playing the scenario's timed changes on every node");
    let previousMs = 0;
    for (const [i, step] of steps.entries()) {
      await sleep(Math.max(0, step.afterMs - previousMs));
      previousMs = step.afterMs;
      await Promise.all(nodes.map((n) => n.playStep()));
      say(`  +${(step.afterMs / 1000).toFixed(1)} s  ${step.description}  ${dim("(applied on every node)")}`);
      for (const node of nodes) say(dim(`           ${node.nodeName}: ${messageKinds(node.stream.steps[i]!.messages)}`));
    }
    section("What is programmed now, per node");
    await showNodes(topology, nodes, scenario);
    rows = await clusterMatrix(topology, nodes, ports, "Traffic across the cluster after the changes", rows);
  }
  void rows;
}
