/**
 * Network namespaces for the suite, named through @ptables/testkit (ptbench-<pid>-<n>-<name>,
 * swept when their creator is gone). `addVeths` puts many Calico-style host veths into a node
 * namespace in one `ip -batch` (both ends stay in the node namespace: the control-plane
 * benchmarks need real interfaces to attach tc filters to, not pods behind them).
 */
import { createTopology, sweepStale, type NodeNs, type Topology } from "@ptables/testkit";
import { onCleanup } from "./cleanup";
import { ipBatch } from "./sys";

export const NETNS_PREFIX = "ptbench";

export async function sweepStaleNamespaces(): Promise<string[]> {
  return sweepStale(NETNS_PREFIX);
}

/** A topology that is destroyed by the cleanup registry (or earlier by the returned destroy). */
export function benchTopology(): { topology: Topology; destroy: () => Promise<void> } {
  const topology = createTopology({ prefix: NETNS_PREFIX });
  const destroy = onCleanup(`destroy namespaces ${topology.baseName}-*`, () => topology.destroy());
  return { topology, destroy };
}

/** Host-side veths (MAC ee:ee:ee:ee:ee:ee, up) named `ifnames`, peers `p<i>` in the same namespace. */
export async function addVeths(node: NodeNs, ifnames: readonly string[]): Promise<void> {
  const lines: string[] = [];
  ifnames.forEach((ifname, i) => {
    lines.push(`link add ${ifname} address ee:ee:ee:ee:ee:ee type veth peer name p${i.toString(16).padStart(6, "0")}`);
  });
  ifnames.forEach((ifname, i) => {
    lines.push(`link set ${ifname} up`);
    lines.push(`link set p${i.toString(16).padStart(6, "0")} up`);
  });
  await ipBatch(node.ns, lines);
}
