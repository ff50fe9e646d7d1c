/**
 * Names, sizes and pin locations of the datapath's maps and programs. Everything is pinned
 * flat in the bpf directory under its own name, which is how a restarted process (or another
 * agent) finds it again.
 */
import { join } from "node:path";
import { CONFIG, COUNTER, CT_KEY, CT_VALUE, ENDPOINT, FRAG_KEY, FRAG_VALUE, MEMBER_KEY, PORT_KEY, RULE, RULE_KEY, SVC_SLOT } from "../codec/layouts";

/** The default PTABLES_BPF_DIR. */
export const DEFAULT_BPF_DIR = "/sys/fs/bpf/ptables";

/** Map sizes (max_entries) that can be chosen at load time. */
export interface MapSizes {
  /** pt_members: set members of all sets, both families. */
  members: number;
  /** pt_ports: port-range prefixes of all port sets. */
  portSets: number;
  /** pt_rules: rules of all programs. */
  rules: number;
  /** pt_endpoints. */
  endpoints: number;
  /** pt_ct: tracked flows (LRU: the least recently used are evicted when full). */
  conntrack: number;
  /** pt_counters: rule counters. */
  counters: number;
  /** pt_frags: fragmented datagrams in flight. */
  frags: number;
  /** pt_svc_pending: workload flows to Services waiting for their post-DNAT egress verdict. */
  svcPending: number;
}

export const DEFAULT_MAP_SIZES: Readonly<MapSizes> = {
  members: 1 << 20,
  portSets: 1 << 16,
  rules: 1 << 20,
  endpoints: 1 << 16,
  conntrack: 1 << 18,
  counters: 1 << 20,
  frags: 1 << 13,
  svcPending: 1 << 14,
};

export interface MapSpec {
  /** Name in the object and of the pin. */
  name: string;
  keySize: number;
  /** Value size per element (per CPU slot for per-CPU maps). */
  valueSize: number;
  /** Which MapSizes entry sizes it, if any (fixed-size maps have none). */
  size?: keyof MapSizes;
}

/** sizeof(struct pt_scratch): a struct pt_policy_ctx (72 bytes) and a struct pt_ct_key (44). */
export const SCRATCH_SIZE = 116;

export const MAP_SPECS = {
  members: { name: "pt_members", keySize: MEMBER_KEY.size, valueSize: 1, size: "members" },
  ports: { name: "pt_ports", keySize: PORT_KEY.size, valueSize: 1, size: "portSets" },
  rules: { name: "pt_rules", keySize: RULE_KEY.size, valueSize: RULE.size, size: "rules" },
  endpoints: { name: "pt_endpoints", keySize: 4, valueSize: ENDPOINT.size, size: "endpoints" },
  ct: { name: "pt_ct", keySize: CT_KEY.size, valueSize: CT_VALUE.size, size: "conntrack" },
  counters: { name: "pt_counters", keySize: 8, valueSize: COUNTER.size, size: "counters" },
  drops: { name: "pt_drops", keySize: 4, valueSize: COUNTER.size },
  config: { name: "pt_config", keySize: 4, valueSize: CONFIG.size },
  frags: { name: "pt_frags", keySize: FRAG_KEY.size, valueSize: FRAG_VALUE.size, size: "frags" },
  svcPending: { name: "pt_svc_pending", keySize: CT_KEY.size, valueSize: 8, size: "svcPending" },
  svcSlots: { name: "pt_svc_slots", keySize: 4, valueSize: SVC_SLOT.size },
  svcSeq: { name: "pt_svc_seq", keySize: 4, valueSize: 4 },
  /** struct pt_scratch (per CPU): the datapath's working space, never read by user space. */
  scratch: { name: "pt_scratch", keySize: 4, valueSize: SCRATCH_SIZE },
} as const satisfies Record<string, MapSpec>;

export type MapRole = keyof typeof MAP_SPECS;

/** The tc programs: two for workload interfaces, two for host interfaces. */
export const PROGRAM_NAMES = {
  fromEp: "pt_prog_from_ep",
  toEp: "pt_prog_to_ep",
  fromHost: "pt_prog_from_host",
  toHost: "pt_prog_to_host",
} as const;

export function pinPath(bpfDir: string, name: string): string {
  return join(bpfDir, name);
}

/** Throws unless every size is a positive integer that fits a u32. */
export function resolveMapSizes(sizes: Partial<MapSizes> | undefined): MapSizes {
  const out = { ...DEFAULT_MAP_SIZES, ...sizes };
  for (const [name, n] of Object.entries(out)) {
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) throw new RangeError(`mapSizes.${name} ${String(n)} is not a positive 32-bit integer`);
  }
  return out;
}
