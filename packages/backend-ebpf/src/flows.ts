/** Conntrack as flows: listing pt_ct for the offload daemon and deleting entries it ages out. */
import type { Flow } from "@ptables/api";
import { CT_KEY } from "./codec/layouts";
import { decodeCtKey, decodeCtValue, encodeCtKey, toFlow } from "./codec/ct-codec";
import type { BpfMap } from "./native/bpf-map";
import { ifindexToName, ifnameToIndex } from "./native/tc";
import { staleEndpointName } from "./tables/endpoints-table";

/** Up to `limit` flows; a flow on an interface that is gone is named `ifindex:<n>`. */
export function listFlows(ct: BpfMap, limit: number): Flow[] {
  const names = new Map<number, string>();
  return ct.entries(limit).map(([k, v]) => {
    const key = decodeCtKey(k);
    let ifname = names.get(key.ifindex);
    if (ifname === undefined) {
      ifname = ifindexToName(key.ifindex) ?? staleEndpointName(key.ifindex);
      names.set(key.ifindex, ifname);
    }
    return toFlow(key, decodeCtValue(v), ifname);
  });
}

/**
 * Deletes the entries of `flows` (by identity: interface and 5-tuple); returns how many existed.
 * A flow that does not describe a valid key is a ValidationError naming it.
 */
export function deleteFlows(ct: BpfMap, flows: Flow[]): number {
  const key = Buffer.alloc(CT_KEY.size);
  let deleted = 0;
  for (const flow of flows) {
    const stale = /^ifindex:(\d+)$/.exec(flow.ifname);
    const ifindex = stale ? Number(stale[1]) : ifnameToIndex(flow.ifname);
    if (ifindex === undefined) continue;
    encodeCtKey({ ifindex, family: flow.family, proto: flow.proto, srcIp: flow.srcIp, dstIp: flow.dstIp, srcPort: flow.srcPort, dstPort: flow.dstPort }, key);
    if (ct.delete(key)) deleted++;
  }
  return deleted;
}
