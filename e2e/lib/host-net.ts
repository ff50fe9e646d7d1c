/**
 * Looking at a node namespace the way an operator would (ip, bridge, nft, tc, /proc/sys) to
 * check what ptables programmed there, and probing from the node itself (host to pod) with the
 * reference evaluator's verdict for exactly the source address the kernel picks.
 */
import type { Topology } from "@ptables/testkit";
import { expectedVerdict, type OracleVerdict } from "./oracle";
import { outcomeAllowed, type PodAgent, type ProbeOutcome, type ProbeProto } from "./pod-agent";
import type { PtablesNode } from "./ptables-node";

/** The priority (and handle) of every ptables tc filter (PT_TC_PRIORITY). */
const PT_TC_PRIORITY = 0x7074;

export interface IpRoute {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  flags?: string[];
  prefsrc?: string;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  ifalias?: string;
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}

/** `ip -n <ns> -j <args>` parsed. */
export async function ipJson<T>(topology: Topology, ns: string, args: string[]): Promise<T[]> {
  const out = (await topology.ip(ns, ["-j", ...args])).stdout.trim();
  return out === "" ? [] : (JSON.parse(out) as T[]);
}

/** Routes of the main table of both families, one line each ("dst via X dev Y proto Z scope S onlink"). */
export async function routeLines(topology: Topology, ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ["-4", "-6"]) {
    for (const r of await ipJson<IpRoute>(topology, ns, [family, "route", "show"])) {
      if (family === "-6" && (r.dst.startsWith("fe80::") || r.dst.startsWith("ff00::") || r.dst.startsWith("multicast"))) continue;
      const parts = [r.type && r.type !== "unicast" ? `${r.type} ${r.dst}` : r.dst];
      if (r.gateway) parts.push(`via ${r.gateway}`);
      if (r.dev) parts.push(`dev ${r.dev}`);
      if (r.protocol) parts.push(`proto ${r.protocol}`);
      if (r.scope && r.scope !== "global") parts.push(`scope ${r.scope}`);
      if (r.flags?.includes("onlink")) parts.push("onlink");
      out.push(parts.join(" "));
    }
  }
  return out.sort();
}

/** What ptables can leave in a node namespace, each recognised the way ptables recognises it. */
export interface PtablesObjects {
  /** Routes with protocol 0x50. */
  routes: string[];
  /** PERMANENT neighbours with protocol 0x50. */
  neighbours: string[];
  /** Links whose alias marks them as ptables' tunnel devices. */
  tunnels: string[];
  /** nftables tables named ptables-nat. */
  nftTables: string[];
  /** Interfaces with a tc filter at ptables' priority. */
  filters: string[];
}

export async function ptablesObjects(topology: Topology, ns: string): Promise<PtablesObjects> {
  const neighbours: string[] = [];
  for (const family of ["-4", "-6"]) {
    for (const n of await ipJson<{ dst: string; dev: string; lladdr?: string }>(topology, ns, [family, "neigh", "show", "nud", "permanent", "proto", "0x50"])) {
      neighbours.push(`${n.dst} dev ${n.dev} lladdr ${n.lladdr ?? "-"} PERMANENT proto 80`);
    }
  }
  const links = await ipJson<IpLink>(topology, ns, ["-d", "link", "show"]);
  const tables = (await topology.exec(ns, ["nft", "list", "tables"])).stdout.split("\n").map((l) => l.trim()).filter((l) => l.endsWith(" ptables-nat"));
  const filters: string[] = [];
  for (const link of links) {
    for (const hook of ["ingress", "egress"]) {
      const r = await topology.exec(ns, ["tc", "-j", "filter", "show", "dev", link.ifname, hook]).catch(() => ({ stdout: "[]" }));
      const list = JSON.parse(r.stdout.trim() || "[]") as Array<{ pref?: number }>;
      if (list.some((f) => f.pref === PT_TC_PRIORITY)) filters.push(`${link.ifname} ${hook}`);
    }
  }
  return {
    routes: (await routeLines(topology, ns)).filter((l) => / proto 80( |$)/.test(l)),
    neighbours: neighbours.sort(),
    tunnels: links.filter((l) => l.ifalias?.startsWith("ptables:")).map((l) => l.ifname).sort(),
    nftTables: tables.sort(),
    filters: filters.sort(),
  };
}

/** Reads /proc/sys values in the namespace, by path ("net/ipv4/conf/cali1/forwarding" -> "1"). */
export async function sysctls(topology: Topology, ns: string, paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of paths) out[path] = (await topology.exec(ns, ["cat", `/proc/sys/${path}`])).stdout.trim();
  return out;
}

export interface HostProbe {
  /** The node the probe starts on (its host namespace). */
  from: PtablesNode;
  /** Destination pod (by name, on any of the nodes) or a literal address. */
  to: string;
  family: 4 | 6;
  proto: ProbeProto;
  port?: number;
  expect: "allow" | "deny";
}

export interface HostProbeRow {
  probe: HostProbe;
  srcIp: string;
  dstIp: string;
  oracle: OracleVerdict;
  outcome: ProbeOutcome;
  detail?: string;
  ok: boolean;
}

/** The address the node's kernel sends from towards `dst` (`ip route get`). */
export async function sourceAddress(topology: Topology, ns: string, dst: string): Promise<string> {
  const [r] = await ipJson<IpRoute>(topology, ns, ["route", "get", dst]);
  if (!r?.prefsrc) throw new Error(`${ns}: no source address towards ${dst}`);
  return r.prefsrc;
}

/**
 * Probes from node hosts; each row is checked against the test's expectation and the oracle
 * (the destination's ingress policy for the source address the kernel actually uses).
 */
export async function runHostProbes(nodes: readonly PtablesNode[], agents: ReadonlyMap<PtablesNode, PodAgent>, probes: readonly HostProbe[]): Promise<{ ok: boolean; rows: HostProbeRow[]; table: string }> {
  const rows: HostProbeRow[] = [];
  for (const probe of probes) {
    const dstNode = nodes.find((n) => n.pods.has(probe.to) || [...n.pods.values()].some((p) => p.spec.name === probe.to));
    const pod = dstNode?.pod(probe.to);
    const dstIp = pod ? (probe.family === 4 ? pod.spec.ipv4[0] : pod.spec.ipv6[0]) : probe.to;
    if (!dstIp) throw new Error(`host probe to ${probe.to}: no IPv${probe.family} address`);
    const ns = probe.from.node!.ns;
    const srcIp = await sourceAddress(probe.from.topology, ns, dstIp);
    const oracle = expectedVerdict(nodes.map((n) => ({ oracle: n.oracle, ownsIp: (ip: string) => n.ownsIp(ip) })), { family: probe.family, srcIp, dstIp, proto: probe.proto, port: probe.port });
    const agent = agents.get(probe.from);
    if (!agent) throw new Error(`no host agent on ${probe.from.nodeName}`);
    const wantAllow = probe.expect === "allow" || oracle.verdict === "allow";
    let reply = await agent.probe({ proto: probe.proto, host: dstIp, port: probe.port, timeoutMs: wantAllow ? 1500 : 500 });
    for (let i = 1; wantAllow && i < 3 && !outcomeAllowed(reply.outcome); i++) reply = await agent.probe({ proto: probe.proto, host: dstIp, port: probe.port, timeoutMs: 1500 });
    const actual = outcomeAllowed(reply.outcome) ? "allow" : "deny";
    rows.push({ probe, srcIp, dstIp, oracle, outcome: reply.outcome, ...(reply.detail ? { detail: reply.detail } : {}), ok: actual === probe.expect && oracle.verdict === probe.expect });
  }
  const table = rows
    .map((r) => {
      const label = r.probe.proto === "icmp" ? (r.probe.family === 4 ? "ping" : "ping6") : `${r.probe.proto}/${r.probe.port}`;
      const bad = r.ok ? "" : "  <-- MISMATCH";
      return `${r.probe.from.nodeName} (${r.srcIp}) -> ${r.probe.to} (${r.dstIp}) ${label}: expect ${r.probe.expect}, oracle ${r.oracle.verdict} [${r.oracle.decidedBy}], kernel ${r.outcome}${r.detail ? ` ${r.detail}` : ""}${bad}`;
    })
    .join("\n");
  return { ok: rows.every((r) => r.ok), rows, table };
}
