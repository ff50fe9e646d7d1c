/**
 * Byte layouts of the structs in bpf/lib/pt_types.h: size and every field's offset. The codecs
 * read and write through these numbers only, and layout.test.ts checks each of them against
 * the BTF of the compiled object (Cilium's alignchecker idea), so the C and the TypeScript
 * cannot drift apart silently. All multi-byte fields are little-endian (host order on the
 * platforms ptables supports) unless their name ends in `_be`.
 */

export interface StructLayout {
  /** The C struct name. */
  readonly name: string;
  readonly size: number;
  /** Field name -> byte offset. */
  readonly fields: Readonly<Record<string, number>>;
}

export const MEMBER_KEY = {
  name: "pt_member_key",
  size: 28,
  fields: { prefixlen: 0, set_id_be: 4, family: 8, proto: 9, port_be: 10, addr: 12 },
} as const satisfies StructLayout;

export const PORT_KEY = {
  name: "pt_port_key",
  size: 12,
  fields: { prefixlen: 0, set_id_be: 4, port_be: 8, pad: 10 },
} as const satisfies StructLayout;

export const RULE_KEY = {
  name: "pt_rule_key",
  size: 8,
  fields: { prog: 0, idx: 4 },
} as const satisfies StructLayout;

export const RULE = {
  name: "pt_rule",
  size: 208,
  fields: {
    counter_id: 0,
    action: 8,
    reason: 9,
    ip_version: 10,
    pad0: 11,
    jump: 12,
    proto: 16,
    not_proto: 18,
    icmp_type: 20,
    icmp_code: 22,
    not_icmp_type: 24,
    not_icmp_code: 26,
    src_net: 28,
    not_src_net: 32,
    dst_net: 36,
    not_dst_net: 40,
    src_ports: 44,
    not_src_ports: 48,
    dst_ports: 52,
    not_dst_ports: 56,
    src_sets: 60,
    not_src_sets: 76,
    dst_sets: 92,
    not_dst_sets: 108,
    src_named_ports: 124,
    not_src_named_ports: 140,
    dst_named_ports: 156,
    not_dst_named_ports: 172,
    dst_ip_port_sets: 188,
    pad1: 204,
  },
} as const satisfies StructLayout;

export const PROG_REF = {
  name: "pt_prog_ref",
  size: 8,
  fields: { prog: 0, len: 4 },
} as const satisfies StructLayout;

export const ENDPOINT = {
  name: "pt_endpoint",
  size: 68,
  fields: {
    ingress_prog: 0,
    egress_prog: 4,
    flags: 8,
    ingress_len: 12,
    egress_len: 16,
    untracked_ingress: 20,
    untracked_egress: 28,
    pre_dnat_ingress: 36,
    forward_ingress: 44,
    forward_egress: 52,
    to_host: 60,
  },
} as const satisfies StructLayout;

export const CT_KEY = {
  name: "pt_ct_key",
  size: 44,
  fields: { ifindex: 0, family: 4, proto: 5, pad: 6, src: 8, dst: 24, sport_be: 40, dport_be: 42 },
} as const satisfies StructLayout;

export const CT_VALUE = {
  name: "pt_ct_value",
  size: 56,
  fields: {
    created_ns: 0,
    last_seen_ns: 8,
    packets_orig: 16,
    bytes_orig: 24,
    packets_reply: 32,
    bytes_reply: 40,
    state: 48,
    flags: 49,
    origin: 50,
    pad: 51,
  },
} as const satisfies StructLayout;

export const COUNTER = {
  name: "pt_counter",
  size: 16,
  fields: { packets: 0, bytes: 8 },
} as const satisfies StructLayout;

export const CONFIG = {
  name: "pt_config",
  size: 80,
  fields: {
    gateway_ipv4: 0,
    gateway_mac: 4,
    arp_enabled: 10,
    pad0: 11,
    vxlan_port_be: 12,
    pad1: 14,
    timeouts_ns: 16,
  },
} as const satisfies StructLayout;

export const SVC_SLOT = {
  name: "pt_svc_slot",
  size: 56,
  fields: { key: 0, pad: 44, created_ns: 48 },
} as const satisfies StructLayout;

export const FRAG_KEY = {
  name: "pt_frag_key",
  size: 40,
  fields: { family: 0, proto: 1, pad: 2, id: 4, src: 8, dst: 24 },
} as const satisfies StructLayout;

export const FRAG_VALUE = {
  name: "pt_frag_value",
  size: 16,
  fields: { sport_be: 0, dport_be: 2, icmp_type: 4, icmp_code: 5, tcp_flags: 6, pad: 7, seen_ns: 8 },
} as const satisfies StructLayout;

/** Every struct shared with the C program. */
export const ALL_LAYOUTS: readonly StructLayout[] = [
  MEMBER_KEY,
  PORT_KEY,
  RULE_KEY,
  RULE,
  PROG_REF,
  ENDPOINT,
  CT_KEY,
  CT_VALUE,
  COUNTER,
  CONFIG,
  FRAG_KEY,
  FRAG_VALUE,
  SVC_SLOT,
];

/** Set references per list in a rule (PT_MAX_SET_REFS). */
export const MAX_SET_REFS_C = 4;
/** Slots in pt_drops (PT_DROP_REASON_SLOTS). */
export const DROP_REASON_SLOTS = 16;
/** Number of conntrack states with a timeout (PT_CT_STATE_COUNT). */
export const CT_STATE_COUNT = 8;
/** Key prefix bits before the address in pt_members (PT_MEMBER_FIXED_BITS). */
export const MEMBER_FIXED_BITS = 64;
/** Key prefix bits before the port in pt_ports (PT_PORT_FIXED_BITS). */
export const PORT_FIXED_BITS = 32;
/** Slots of pt_svc_slots (PT_SVC_SLOTS). */
export const SVC_SLOTS = 32768;
/** Rules walked per packet at most, whatever the configured cap (PT_MAX_PROGRAM_LENGTH). */
export const MAX_PROGRAM_LENGTH_C = 1 << 20;
