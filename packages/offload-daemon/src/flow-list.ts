/**
 * ptables.agent.v1.Flows/ListFlows: the flows the datapath tracks right now, read live from the
 * flow table (not from the last scan), for `ptablesctl flows`.
 */
import type { Flow } from "@ptables/api";
import type { agent } from "@ptables/proto";
import type { FlowTable } from "./flow-ager";

/** Flows returned when the request does not say. */
export const DEFAULT_FLOW_LIST_LIMIT = 1000;
/** Flows returned at most, whatever the request says (a response must stay a sane size). */
export const MAX_FLOW_LIST_LIMIT = 100_000;

/** One datapath flow as the API shows it; ages are from the datapath's monotonic clock. */
export function flowView(flow: Flow, nowNs: bigint): agent.Flow {
  const seconds = (ns: bigint) => Math.max(0, Number(nowNs - ns) / 1e9);
  return {
    ifname: flow.ifname,
    family: flow.family,
    protocol: flow.proto,
    srcIp: flow.srcIp,
    srcPort: flow.srcPort,
    dstIp: flow.dstIp,
    dstPort: flow.dstPort,
    state: flow.state,
    ageSeconds: seconds(flow.createdNs),
    idleSeconds: seconds(flow.lastSeenNs),
    packets: flow.packets,
    bytes: flow.bytes,
  };
}

/** Lists up to `limit` flows (0 = the default), most recently active first. */
export async function listFlows(table: FlowTable, limit: number, nowNs: () => bigint = () => process.hrtime.bigint()): Promise<agent.ListFlowsResponse> {
  const want = Math.min(limit === 0 ? DEFAULT_FLOW_LIST_LIMIT : limit, MAX_FLOW_LIST_LIMIT);
  // One more than asked: whether there were more is worth saying.
  const flows = await table.listFlows(want + 1);
  const now = nowNs();
  const sorted = [...flows].sort((a, b) => (a.lastSeenNs === b.lastSeenNs ? 0 : a.lastSeenNs > b.lastSeenNs ? -1 : 1));
  return { flows: sorted.slice(0, want).map((f) => flowView(f, now)), truncated: flows.length > want, note: "" };
}
