/**
 * The parts of the policy programmer's State JSON (tables_json and model_json) that ptablesctl
 * shows. The programmer owns these shapes (tables-view.ts and endpoint-view.ts in
 * @ptables/policy-programmer); they are restated here because ptablesctl only ever sees them
 * as JSON over the socket.
 */
import type { sync } from "@ptables/proto";

export interface RuleView {
  index: number;
  action: string;
  match: string;
  ruleId: string;
  packets: string | null;
  bytes: string | null;
}

export interface DirectionView {
  programId: number | null;
  compiledRules: number;
  tiers: Array<{ name: string; defaultAction: string; policies: Array<{ key: string; staged: boolean; missing: boolean; rules: RuleView[] }> }>;
  profiles: Array<{ id: string; missing: boolean; rules: RuleView[] }>;
}

export interface EndpointSummary {
  kind: "workload" | "host";
  key: string;
  ifname: string;
  addresses: string[];
  adminUp: boolean;
  state: string;
  reason: string;
  tiers: string[];
  profiles: string[];
}

export interface EndpointDetail extends EndpointSummary {
  ingress: DirectionView;
  egress: DirectionView;
}

export interface ModelView {
  endpoint?: EndpointDetail;
  endpoints?: EndpointSummary[];
  routes?: Array<{ dst: string; types: string[]; poolType: string; node: string; nodeIp: string; flags: string[] }>;
  datapathRoutes?: Array<{ dst: string; ifname: string; via: string; kind: string }>;
  datapathRoutesError?: string;
}

interface ProgramView {
  programId: number;
  rules: number;
}

export interface TablesView {
  backend: string;
  appliedVersion: string;
  inSync: boolean;
  ipSets: Array<{ id: string; setId: number; members: number; inModel: boolean }>;
  syntheticSets: { netSets: number; portSets: number };
  counterError?: string;
  interfaces: Array<{ ifname: string; endpoint: string | null; ingress: ProgramView | null; egress: ProgramView | null }>;
}

/** The two JSON documents of a StateResponse, parsed. */
export function parseState(res: sync.StateResponse): { tables: TablesView; model: ModelView } {
  return { tables: JSON.parse(res.tablesJson || "{}") as TablesView, model: JSON.parse(res.modelJson || "{}") as ModelView };
}
