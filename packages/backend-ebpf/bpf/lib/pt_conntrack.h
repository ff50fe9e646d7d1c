/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ptables' own connection tracking. One entry per (endpoint interface, flow), keyed in the
 * originator's orientation and tagged with the hook that created it, so that:
 *   - a packet in the originator's direction at the same hook is a forward hit;
 *   - a packet in the opposite direction at the other hook is a reply;
 *   - anything else is new and goes to policy.
 * An entry idle for longer than its state's timeout counts as absent, so expiry holds even
 * when no user-space process is cleaning the map.
 */
#ifndef PT_CONNTRACK_H
#define PT_CONNTRACK_H

#include "pt_config.h"
#include "pt_parse.h"

#define PT_FRAG_TIMEOUT_NS (30 * PT_SECOND_NS)

enum pt_ct_result {
	PT_CT_RESULT_NEW = 0,     /* no usable entry: run policy */
	PT_CT_RESULT_ALLOW = 1,   /* forward hit, reply, or related */
	PT_CT_RESULT_INVALID = 2, /* drop with PT_DROP_CT_INVALID */
};

static __always_inline void pt_ct_fill_key(struct pt_ct_key *k, __u32 ifindex, const struct pt_pkt *p,
					   int reverse)
{
	k->ifindex = ifindex;
	k->family = p->family;
	k->proto = p->proto;
	k->pad = 0;
	if (reverse) {
		__builtin_memcpy(k->src, p->dst, 16);
		__builtin_memcpy(k->dst, p->src, 16);
		k->sport_be = p->dport_be;
		k->dport_be = p->sport_be;
	} else {
		__builtin_memcpy(k->src, p->src, 16);
		__builtin_memcpy(k->dst, p->dst, 16);
		k->sport_be = p->sport_be;
		k->dport_be = p->dport_be;
	}
}

static __always_inline int pt_ct_live(const struct pt_ct_value *v, const struct pt_config *cfg, __u64 now)
{
	/* last_seen may be a little ahead of `now` when another CPU just refreshed it. */
	if (now <= v->last_seen_ns)
		return 1;
	return now - v->last_seen_ns <= pt_timeout_ns(cfg, v->state);
}

/* Flag combinations no TCP stack sends on a real connection. */
static __always_inline int pt_tcp_flags_invalid(__u8 f)
{
	if ((f & (PT_TCP_SYN | PT_TCP_FIN)) == (PT_TCP_SYN | PT_TCP_FIN))
		return 1;
	if ((f & (PT_TCP_SYN | PT_TCP_RST)) == (PT_TCP_SYN | PT_TCP_RST))
		return 1;
	return !(f & (PT_TCP_SYN | PT_TCP_ACK | PT_TCP_RST));
}

static __always_inline void pt_ct_tcp_update(struct pt_ct_value *v, __u8 f, int reply)
{
	if (f & PT_TCP_RST) {
		v->state = PT_CT_TCP_CLOSED;
		return;
	}
	if (f & PT_TCP_FIN) {
		v->flags |= reply ? PT_CT_F_FIN_REPLY : PT_CT_F_FIN_ORIG;
		if (v->state < PT_CT_TCP_FIN_WAIT)
			v->state = PT_CT_TCP_FIN_WAIT;
		return;
	}
	if (v->state == PT_CT_TCP_SYN_SENT && reply && (f & (PT_TCP_SYN | PT_TCP_ACK)) == (PT_TCP_SYN | PT_TCP_ACK))
		v->state = PT_CT_TCP_SYN_RECV;
	else if (v->state == PT_CT_TCP_SYN_RECV && !reply && (f & PT_TCP_ACK) && !(f & PT_TCP_SYN))
		v->state = PT_CT_TCP_ESTABLISHED;
}

static __always_inline void pt_ct_account(struct pt_ct_value *v, const struct pt_pkt *p, int reply, __u64 now)
{
	v->last_seen_ns = now;
	if (reply) {
		__sync_fetch_and_add(&v->packets_reply, 1);
		__sync_fetch_and_add(&v->bytes_reply, p->len);
		v->flags |= PT_CT_F_SEEN_REPLY;
	} else {
		__sync_fetch_and_add(&v->packets_orig, 1);
		__sync_fetch_and_add(&v->bytes_orig, p->len);
	}
	if (p->proto == PT_IPPROTO_TCP)
		pt_ct_tcp_update(v, p->tcp_flags, reply);
}

/* Looks the packet up in both orientations and accounts it on a hit. */
static __always_inline enum pt_ct_result pt_ct_lookup(__u32 ifindex, __u8 hook, const struct pt_pkt *p,
						      const struct pt_config *cfg, __u64 now)
{
	struct pt_ct_key k;
	struct pt_ct_value *v;

	if (p->proto == PT_IPPROTO_TCP && pt_tcp_flags_invalid(p->tcp_flags))
		return PT_CT_RESULT_INVALID;
	/* Only echo is tracked among ICMP messages; the rest are errors (see pt_ct_related) or rare. */
	if (p->is_icmp && !pt_is_echo(p->family, p->icmp_type))
		return PT_CT_RESULT_NEW;

	pt_ct_fill_key(&k, ifindex, p, 0);
	v = bpf_map_lookup_elem(&pt_ct, &k);
	if (v && v->origin == hook && pt_ct_live(v, cfg, now)) {
		int usable = 1;

		if (p->is_icmp && !pt_is_echo_request(p->family, p->icmp_type))
			usable = 0;
		/* A fresh SYN on an old tuple is a new connection: policy decides again. */
		if (p->proto == PT_IPPROTO_TCP && (p->tcp_flags & (PT_TCP_SYN | PT_TCP_ACK)) == PT_TCP_SYN &&
		    v->state != PT_CT_TCP_SYN_SENT)
			usable = 0;
		if (usable) {
			pt_ct_account(v, p, 0, now);
			return PT_CT_RESULT_ALLOW;
		}
	}

	pt_ct_fill_key(&k, ifindex, p, 1);
	v = bpf_map_lookup_elem(&pt_ct, &k);
	if (v && v->origin != hook && pt_ct_live(v, cfg, now)) {
		if (p->is_icmp && pt_is_echo_request(p->family, p->icmp_type))
			return PT_CT_RESULT_NEW;
		pt_ct_account(v, p, 1, now);
		return PT_CT_RESULT_ALLOW;
	}
	return PT_CT_RESULT_NEW;
}

/* An ICMP error is RELATED (allowed) when the flow it quotes is tracked on this interface. */
static __always_inline int pt_ct_related(struct __sk_buff *skb, __u32 ifindex, const struct pt_pkt *p,
					 const struct pt_config *cfg, __u64 now)
{
	struct pt_pkt inner = {};
	struct pt_ct_key k;
	struct pt_ct_value *v;

	if (!p->is_icmp || !pt_is_icmp_error(p->family, p->icmp_type) || p->frag == PT_FRAG_LATER)
		return 0;
	if (pt_parse_icmp_inner(skb, p, &inner))
		return 0;
	for (int reverse = 0; reverse < 2; reverse++) {
		pt_ct_fill_key(&k, ifindex, &inner, reverse);
		v = bpf_map_lookup_elem(&pt_ct, &k);
		if (v && pt_ct_live(v, cfg, now))
			return 1;
	}
	/* An error about a flow this endpoint sent to a Service, still waiting for its verdict. */
	pt_ct_fill_key(&k, ifindex, &inner, 0);
	return bpf_map_lookup_elem(&pt_svc_pending, &k) != 0;
}

/* Creates the entry for a packet that policy allowed. */
static __always_inline void pt_ct_create(__u32 ifindex, __u8 hook, const struct pt_pkt *p, __u64 now)
{
	struct pt_ct_value v = {};
	struct pt_ct_key k;

	if (p->proto == PT_IPPROTO_TCP) {
		__u8 f = p->tcp_flags;

		if (f & PT_TCP_RST)
			return;
		if ((f & (PT_TCP_SYN | PT_TCP_ACK)) == PT_TCP_SYN)
			v.state = PT_CT_TCP_SYN_SENT;
		else if (f & PT_TCP_FIN)
			v.state = PT_CT_TCP_FIN_WAIT;
		else
			v.state = PT_CT_TCP_ESTABLISHED; /* picked up mid-flow (e.g. after a restart) */
	} else if (p->proto == PT_IPPROTO_UDP || p->proto == PT_IPPROTO_UDPLITE) {
		v.state = PT_CT_UDP;
	} else if (p->is_icmp) {
		if (!pt_is_echo_request(p->family, p->icmp_type))
			return;
		v.state = PT_CT_ICMP;
	} else {
		v.state = PT_CT_OTHER;
	}
	v.created_ns = now;
	v.last_seen_ns = now;
	v.packets_orig = 1;
	v.bytes_orig = p->len;
	v.origin = hook;
	pt_ct_fill_key(&k, ifindex, p, 0);
	bpf_map_update_elem(&pt_ct, &k, &v, BPF_ANY);
}

/*
 * Fragments: a first fragment records its L4 fields; later fragments (no L4 header) borrow
 * them, so they meet the same conntrack entry and policy as the first. A later fragment whose
 * first fragment was not seen (or is older than PT_FRAG_TIMEOUT_NS) is invalid.
 */
static __always_inline int pt_frag_track(struct pt_pkt *p, __u64 now)
{
	struct pt_frag_key k = {};
	struct pt_frag_value *seen;

	if (p->frag == PT_FRAG_NONE)
		return 0;
	k.family = p->family;
	k.proto = p->proto;
	k.id = p->frag_id;
	__builtin_memcpy(k.src, p->src, 16);
	__builtin_memcpy(k.dst, p->dst, 16);
	if (p->frag == PT_FRAG_FIRST) {
		struct pt_frag_value v = {
			.sport_be = p->sport_be,
			.dport_be = p->dport_be,
			.icmp_type = p->icmp_type,
			.icmp_code = p->icmp_code,
			.tcp_flags = p->tcp_flags,
			.seen_ns = now,
		};
		bpf_map_update_elem(&pt_frags, &k, &v, BPF_ANY);
		return 0;
	}
	seen = bpf_map_lookup_elem(&pt_frags, &k);
	if (!seen || (now > seen->seen_ns && now - seen->seen_ns > PT_FRAG_TIMEOUT_NS))
		return -1;
	p->sport_be = seen->sport_be;
	p->dport_be = seen->dport_be;
	p->icmp_type = seen->icmp_type;
	p->icmp_code = seen->icmp_code;
	p->tcp_flags = seen->tcp_flags;
	p->has_ports = pt_is_port_proto(p->proto);
	p->is_icmp = (p->family == PT_FAMILY_V4 && p->proto == PT_IPPROTO_ICMP) ||
		     (p->family == PT_FAMILY_V6 && p->proto == PT_IPPROTO_ICMPV6);
	return 0;
}

#endif /* PT_CONNTRACK_H */
