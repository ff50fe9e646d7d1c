/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every structure shared between the tc program and user space. The TypeScript codecs in
 * src/codec/ mirror these byte for byte; src/codec/layout.test.ts compares both against the
 * BTF of the compiled object, so a change here without a matching codec change fails a test.
 *
 * Byte order is part of each field's name where it is not host order (`_be`).
 */
#ifndef PT_TYPES_H
#define PT_TYPES_H

#include <linux/types.h>

/* Set references per list in a rule (tables.ts MAX_SET_REFS); a 0 id ends a list early. */
#define PT_MAX_SET_REFS 4

/* Address families as the tables name them (not AF_*). */
#define PT_FAMILY_V4 4
#define PT_FAMILY_V6 6

/* A member key's fixed part (set id, family, proto, port) is 64 bits; the address follows. */
#define PT_MEMBER_FIXED_BITS 64
#define PT_MEMBER_FULL_PREFIX (PT_MEMBER_FIXED_BITS + 128)
/* A port-set key: 32 bits of set id, then the 16-bit port. */
#define PT_PORT_FIXED_BITS 32
#define PT_PORT_FULL_PREFIX (PT_PORT_FIXED_BITS + 16)

/* Hard ceiling on rules walked per packet; user space enforces its own (lower) cap too. */
#define PT_MAX_PROGRAM_LENGTH (1 << 20)

/* tables.ts DpAction */
enum pt_action {
	PT_ACTION_ALLOW = 1,
	PT_ACTION_DENY = 2,
	PT_ACTION_LOG = 3,
	PT_ACTION_JUMP = 4,
};

/* tables.ts DropReason; also the index into pt_drops. */
enum pt_drop_reason {
	PT_DROP_NONE = 0,
	PT_DROP_POLICY_DENY = 1,
	PT_DROP_END_OF_TIER = 2,
	PT_DROP_NO_PROFILE_MATCH = 3,
	PT_DROP_ADMIN_DOWN = 4,
	PT_DROP_NO_ENDPOINT = 5,
	PT_DROP_CT_INVALID = 6,
	PT_DROP_PROGRAM_ERROR = 7,
	PT_DROP_MALFORMED = 8,
	PT_DROP_ENCAP_FROM_WORKLOAD = 9,
	PT_DROP_ENDPOINT_TO_HOST = 10,
	PT_DROP_REASON_SLOTS = 16,
};

/* tables.ts EndpointFlags */
enum pt_endpoint_flags {
	PT_EP_DROP_ENCAP_FROM_WORKLOAD = 1,
	PT_EP_HOST_ENDPOINT = 2,
	PT_EP_NO_L2_HEADER = 4,
};

/* Well-known sets in pt_members (tables.ts WELL_KNOWN_SETS), written by the programmer. */
enum pt_well_known_set {
	PT_SET_SERVICE_NETS = 0x7ffffff1, /* destinations kube-proxy may DNAT */
	PT_SET_HOST_ADDRS = 0x7ffffff2,   /* the host's own addresses */
};

/*
 * A workload's new flow to a Service is passed with its egress verdict deferred to the first
 * hook that sees it after DNAT. The packet carries the deferral in skb->mark: PT_MARK_DEFERRED
 * plus the index of its pt_svc_slots entry in PT_MARK_SLOT_MASK (Calico's own mark range;
 * kube-proxy uses 0x4000 and 0x8000).
 */
#define PT_MARK_DEFERRED 0x80000000u
#define PT_MARK_SLOT_MASK 0x7fff0000u
#define PT_MARK_SLOT_SHIFT 16
#define PT_SVC_SLOTS 32768
/* Slots per CPU (the slot is cpu * PT_SVC_SLOTS_PER_CPU + a per-CPU sequence). */
#define PT_SVC_SLOTS_PER_CPU 256

/* Conntrack states; pt_config.timeouts_ns is indexed by state - 1. */
enum pt_ct_state {
	PT_CT_TCP_SYN_SENT = 1,
	PT_CT_TCP_SYN_RECV = 2,
	PT_CT_TCP_ESTABLISHED = 3,
	PT_CT_TCP_FIN_WAIT = 4,
	PT_CT_TCP_CLOSED = 5,
	PT_CT_UDP = 6,
	PT_CT_ICMP = 7,
	PT_CT_OTHER = 8,
	PT_CT_STATE_COUNT = 8,
};

/* pt_ct_value.flags */
enum pt_ct_flags {
	PT_CT_F_SEEN_REPLY = 1,
	PT_CT_F_FIN_ORIG = 2,
	PT_CT_F_FIN_REPLY = 4,
};

/* Which hook created a conntrack entry (pt_ct_value.origin). */
enum pt_hook {
	PT_HOOK_FROM_EP = 1, /* tc ingress of the host-side interface: the endpoint's egress policy */
	PT_HOOK_TO_EP = 2,   /* tc egress of the host-side interface: the endpoint's ingress policy */
};

/* pt_members: LPM trie. prefixlen = 64 + CIDR length for members, 192 for lookups. */
struct pt_member_key {
	__u32 prefixlen;
	__u32 set_id_be; /* big-endian so that the trie orders and matches by set first */
	__u8 family;     /* 4 or 6 */
	__u8 proto;      /* IP_AND_PORT members only, else 0 */
	__u16 port_be;   /* IP_AND_PORT members only, else 0 */
	__u8 addr[16];   /* IPv4 in addr[0..3], rest zero */
};

/* pt_ports: LPM trie. prefixlen = 32 + port prefix length; lookups use 48. */
struct pt_port_key {
	__u32 prefixlen;
	__u32 set_id_be;
	__u16 port_be;
	__u16 pad;
};

struct pt_rule_key {
	__u32 prog;
	__u32 idx;
};

/* One CompiledRule. Protocol and ICMP fields carry value + 1 so that 0 means "no constraint". */
struct pt_rule {
	__u64 counter_id;
	__u8 action; /* enum pt_action */
	__u8 reason; /* enum pt_drop_reason, for PT_ACTION_DENY */
	__u8 ip_version;
	__u8 pad0;
	__u32 jump; /* PT_ACTION_JUMP: next index, always greater than this rule's */
	__u16 proto;
	__u16 not_proto;
	__u16 icmp_type;
	__u16 icmp_code;
	__u16 not_icmp_type;
	__u16 not_icmp_code;
	__u32 src_net;
	__u32 not_src_net;
	__u32 dst_net;
	__u32 not_dst_net;
	__u32 src_ports;
	__u32 not_src_ports;
	__u32 dst_ports;
	__u32 not_dst_ports;
	__u32 src_sets[PT_MAX_SET_REFS];
	__u32 not_src_sets[PT_MAX_SET_REFS];
	__u32 dst_sets[PT_MAX_SET_REFS];
	__u32 not_dst_sets[PT_MAX_SET_REFS];
	__u32 src_named_ports[PT_MAX_SET_REFS];
	__u32 not_src_named_ports[PT_MAX_SET_REFS];
	__u32 dst_named_ports[PT_MAX_SET_REFS];
	__u32 not_dst_named_ports[PT_MAX_SET_REFS];
	__u32 dst_ip_port_sets[PT_MAX_SET_REFS];
	__u32 pad1;
};

/* One program of a hook (tables.ts ProgramRef); len 0 = none. */
struct pt_prog_ref {
	__u32 prog;
	__u32 len;
};

/* pt_endpoints: ifindex -> programs. */
struct pt_endpoint {
	__u32 ingress_prog; /* traffic to the endpoint (tc egress of its interface) */
	__u32 egress_prog;  /* traffic from the endpoint (tc ingress) */
	__u32 flags;        /* enum pt_endpoint_flags */
	__u32 ingress_len;
	__u32 egress_len;
	/* Host endpoints (PT_EP_HOST_ENDPOINT): the normal programs above are for the host's own traffic. */
	struct pt_prog_ref untracked_ingress; /* every packet, before conntrack */
	struct pt_prog_ref untracked_egress;
	struct pt_prog_ref pre_dnat_ingress; /* new flows arriving on the interface */
	struct pt_prog_ref forward_ingress;  /* new flows routed through the interface */
	struct pt_prog_ref forward_egress;
	/* Workloads: run after the egress program allowed a new flow to the host itself. */
	struct pt_prog_ref to_host;
};

/* pt_ct: one entry per endpoint interface and flow, in the originator's orientation. */
struct pt_ct_key {
	__u32 ifindex;
	__u8 family;
	__u8 proto;
	__u16 pad;
	__u8 src[16];
	__u8 dst[16];
	__u16 sport_be; /* ICMP echo: the identifier, in both ports */
	__u16 dport_be;
};

struct pt_ct_value {
	__u64 created_ns; /* bpf_ktime_get_ns() clock (CLOCK_MONOTONIC) */
	__u64 last_seen_ns;
	__u64 packets_orig;
	__u64 bytes_orig;
	__u64 packets_reply;
	__u64 bytes_reply;
	__u8 state;  /* enum pt_ct_state */
	__u8 flags;  /* enum pt_ct_flags */
	__u8 origin; /* enum pt_hook */
	__u8 pad[5];
};

/* pt_counters (per-CPU hash, by rule counter id) and pt_drops (per-CPU array, by reason). */
struct pt_counter {
	__u64 packets;
	__u64 bytes;
};

/* pt_config: array of one. Zero timeouts fall back to the built-in defaults. */
struct pt_config {
	__u8 gateway_ipv4[4];
	__u8 gateway_mac[6];
	__u8 arp_enabled;
	__u8 pad0;
	__u16 vxlan_port_be;
	__u16 pad1;
	__u64 timeouts_ns[PT_CT_STATE_COUNT];
};

/* pt_frags: remembers the L4 fields of a first fragment for the fragments that follow it. */
struct pt_frag_key {
	__u8 family;
	__u8 proto;
	__u16 pad;
	__u32 id;
	__u8 src[16];
	__u8 dst[16];
};

/* pt_svc_slots: a deferred flow, found through the slot index in the packet's mark. */
struct pt_svc_slot {
	struct pt_ct_key key; /* the client's interface and the flow before DNAT */
	__u32 pad;
	__u64 created_ns;
};

struct pt_frag_value {
	__u16 sport_be;
	__u16 dport_be;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 tcp_flags;
	__u8 pad;
	__u64 seen_ns;
};

#endif /* PT_TYPES_H */
