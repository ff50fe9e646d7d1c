/**
 * Groups 6 and 7 of Felix's flush (EventSequencer.Flush, felix-protocol.md §3.1):
 *
 *   RouteRemove → VXLANTunnelEndpointRemove → VXLANTunnelEndpointUpdate → RouteUpdate →
 *   HostMetadataRemove → HostMetadataUpdate → IPAMPoolRemove → IPAMPoolUpdate → Encapsulation
 *
 * so a VTEP is always announced before the routes through it, and routes go before their VTEP.
 * Within a group the player sorts by key (Felix uses Go map order).
 */
import { felix } from "@ptables/proto";
import type { NodeView } from "./calc";

type Payload = NonNullable<felix.ToDataplane["payload"]>;

function sortedKeys<T>(map: Map<string, T>): string[] {
  return [...map.keys()].sort();
}

function same<T>(codec: { encode(m: T): { finish(): Uint8Array } }, a: T | undefined, b: T): boolean {
  return a !== undefined && Buffer.from(codec.encode(a).finish()).equals(codec.encode(b).finish());
}

export function networkPayloads(before: NodeView, after: NodeView): Payload[] {
  const out: Payload[] = [];
  const removed = <T>(now: Map<string, T>, prev: Map<string, T>) => sortedKeys(prev).filter((k) => !now.has(k));
  const changed = <T>(codec: { encode(m: T): { finish(): Uint8Array } }, now: Map<string, T>, prev: Map<string, T>) =>
    sortedKeys(now).filter((k) => !same(codec, prev.get(k), now.get(k)!));

  for (const dst of removed(after.routes, before.routes)) out.push({ $case: "routeRemove", value: { dst } });
  for (const node of removed(after.vteps, before.vteps)) out.push({ $case: "vtepRemove", value: { node } });
  for (const node of changed(felix.VXLANTunnelEndpointUpdate, after.vteps, before.vteps)) out.push({ $case: "vtepUpdate", value: after.vteps.get(node)! });
  for (const dst of changed(felix.RouteUpdate, after.routes, before.routes)) out.push({ $case: "routeUpdate", value: after.routes.get(dst)! });
  for (const hostname of removed(after.hosts, before.hosts)) out.push({ $case: "hostMetadataRemove", value: { hostname, ipv4Addr: "" } });
  for (const hostname of changed(felix.HostMetadataUpdate, after.hosts, before.hosts)) out.push({ $case: "hostMetadataUpdate", value: after.hosts.get(hostname)! });
  for (const id of removed(after.ipamPools, before.ipamPools)) out.push({ $case: "ipamPoolRemove", value: { id } });
  for (const id of changed(felix.IPAMPoolUpdate, after.ipamPools, before.ipamPools)) out.push({ $case: "ipamPoolUpdate", value: after.ipamPools.get(id)! });
  if (after.encapsulation && !same(felix.Encapsulation, before.encapsulation, after.encapsulation)) {
    out.push({ $case: "encapsulation", value: after.encapsulation });
  }
  return out;
}
