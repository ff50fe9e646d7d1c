/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rule interpreter. A program is rules {prog, 0..len-1} in pt_rules; bpf_loop() walks them
 * with a program counter kept in the loop context, so Jump works and the verifier checks the
 * step function once, whatever the number of rules. Jumps must go forward, so every iteration
 * advances the counter and len + 1 iterations always reach a verdict. Matching follows
 * policy-core's table interpreter (interpret/run-program.ts) field for field.
 */
#ifndef PT_POLICY_H
#define PT_POLICY_H

#include "pt_counters.h"
#include "pt_parse.h"

enum pt_verdict {
	PT_VERDICT_PENDING = 0,
	PT_VERDICT_ALLOW = 1,
	PT_VERDICT_DROP = 2,
	/* Ran off the end: the program made no decision (policy-core's "continue"). */
	PT_VERDICT_CONTINUE = 3,
};

struct pt_policy_ctx {
	struct pt_pkt pkt;
	__u32 prog;
	__u32 pc;
	__u32 len;
	__u8 verdict; /* enum pt_verdict */
	__u8 reason;  /* enum pt_drop_reason when dropping */
	__u16 pad;
};

/* Is (family, addr, proto, port) in set `set_id` of pt_members? */
static __always_inline int pt_in_set(__u32 set_id, __u8 family, const __u8 *addr, __u8 proto, __u16 port_be)
{
	struct pt_member_key k = {
		.prefixlen = PT_MEMBER_FULL_PREFIX,
		.set_id_be = bpf_htonl(set_id),
		.family = family,
		.proto = proto,
		.port_be = port_be,
	};

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&pt_members, &k) != 0;
}

static __always_inline int pt_in_port_set(__u32 set_id, __u16 port_be)
{
	struct pt_port_key k = {
		.prefixlen = PT_PORT_FULL_PREFIX,
		.set_id_be = bpf_htonl(set_id),
		.port_be = port_be,
	};

	return bpf_map_lookup_elem(&pt_ports, &k) != 0;
}

/* Address-only set: NET and IP sets are stored with proto and port 0. */
static __always_inline int pt_addr_in(__u32 set_id, const struct pt_pkt *p, const __u8 *addr)
{
	return pt_in_set(set_id, p->family, addr, 0, 0);
}

/* All non-zero ids of `sets` contain the address (true for an empty list). */
static __always_inline int pt_in_all(const __u32 *sets, const struct pt_pkt *p, const __u8 *addr)
{
	for (int i = 0; i < PT_MAX_SET_REFS; i++) {
		if (!sets[i])
			break;
		if (!pt_addr_in(sets[i], p, addr))
			return 0;
	}
	return 1;
}

/* Some non-zero id of `sets` contains the address. */
static __always_inline int pt_in_any(const __u32 *sets, const struct pt_pkt *p, const __u8 *addr)
{
	for (int i = 0; i < PT_MAX_SET_REFS; i++) {
		if (!sets[i])
			break;
		if (pt_addr_in(sets[i], p, addr))
			return 1;
	}
	return 0;
}

/* Some named-port (IP_AND_PORT) set holds (addr, proto, port). */
static __always_inline int pt_in_any_named(const __u32 *sets, const struct pt_pkt *p, const __u8 *addr,
					   __u16 port_be)
{
	for (int i = 0; i < PT_MAX_SET_REFS; i++) {
		if (!sets[i])
			break;
		if (pt_in_set(sets[i], p->family, addr, p->proto, port_be))
			return 1;
	}
	return 0;
}

/*
 * One side's ports: the numeric port set OR any named-port set (Felix ORs them); the negated
 * set and negated named-port sets must all miss. Only called for packets that have ports.
 */
static __always_inline int pt_ports_match(__u32 ports, __u32 not_ports, const __u32 *named, const __u32 *not_named,
					  const struct pt_pkt *p, const __u8 *addr, __u16 port_be)
{
	if ((ports || named[0]) && !(ports && pt_in_port_set(ports, port_be)) && !pt_in_any_named(named, p, addr, port_be))
		return 0;
	if (not_ports && pt_in_port_set(not_ports, port_be))
		return 0;
	return !pt_in_any_named(not_named, p, addr, port_be);
}

/* Does the rule constrain ports at all? Then a packet without ports cannot match it. */
static __always_inline int pt_rule_has_port_fields(const struct pt_rule *r)
{
	return r->src_ports || r->not_src_ports || r->dst_ports || r->not_dst_ports || r->src_named_ports[0] ||
	       r->not_src_named_ports[0] || r->dst_named_ports[0] || r->not_dst_named_ports[0] || r->dst_ip_port_sets[0];
}

static __always_inline int pt_rule_matches(const struct pt_rule *r, const struct pt_pkt *p)
{
	__u16 proto1 = (__u16)p->proto + 1;

	if (r->ip_version && r->ip_version != p->family)
		return 0;
	if (r->proto && r->proto != proto1)
		return 0;
	if (r->not_proto && r->not_proto == proto1)
		return 0;
	if (r->src_net && !pt_addr_in(r->src_net, p, p->src))
		return 0;
	if (r->not_src_net && pt_addr_in(r->not_src_net, p, p->src))
		return 0;
	if (r->dst_net && !pt_addr_in(r->dst_net, p, p->dst))
		return 0;
	if (r->not_dst_net && pt_addr_in(r->not_dst_net, p, p->dst))
		return 0;
	if (!pt_in_all(r->src_sets, p, p->src) || pt_in_any(r->not_src_sets, p, p->src))
		return 0;
	if (!pt_in_all(r->dst_sets, p, p->dst) || pt_in_any(r->not_dst_sets, p, p->dst))
		return 0;
	if (pt_rule_has_port_fields(r)) {
		if (!p->has_ports)
			return 0;
		if (!pt_ports_match(r->src_ports, r->not_src_ports, r->src_named_ports, r->not_src_named_ports, p,
				    p->src, p->sport_be))
			return 0;
		if (!pt_ports_match(r->dst_ports, r->not_dst_ports, r->dst_named_ports, r->not_dst_named_ports, p,
				    p->dst, p->dport_be))
			return 0;
		for (int i = 0; i < PT_MAX_SET_REFS; i++) {
			if (!r->dst_ip_port_sets[i])
				break;
			if (!pt_in_set(r->dst_ip_port_sets[i], p->family, p->dst, p->proto, p->dport_be))
				return 0;
		}
	}
	/* Any ICMP field needs ICMP of the packet's own family. */
	if (r->icmp_type || r->icmp_code || r->not_icmp_type || r->not_icmp_code) {
		if (!p->is_icmp)
			return 0;
		if (r->icmp_type && r->icmp_type != (__u16)p->icmp_type + 1)
			return 0;
		if (r->icmp_code && r->icmp_code != (__u16)p->icmp_code + 1)
			return 0;
		if (r->not_icmp_type && r->not_icmp_type == (__u16)p->icmp_type + 1 &&
		    (!r->not_icmp_code || r->not_icmp_code == (__u16)p->icmp_code + 1))
			return 0;
	}
	return 1;
}

static __always_inline long pt_policy_fail(struct pt_policy_ctx *c, __u8 reason)
{
	c->verdict = PT_VERDICT_DROP;
	c->reason = reason;
	return 1;
}

/* bpf_loop's context (it must live on the caller's stack): the evaluation it works on. */
struct pt_policy_loop {
	struct pt_policy_ctx *c;
};

/* One bpf_loop iteration: evaluate the rule at c->pc. Returns 1 to stop the loop. */
static long pt_policy_step(__u32 iteration, struct pt_policy_loop *loop)
{
	struct pt_policy_ctx *c = loop->c;
	struct pt_rule_key k = { .prog = c->prog, .idx = c->pc };
	struct pt_rule *r;

	/*
	 * Running off the end is "no decision", as in policy-core's interpreter. Compiled endpoint
	 * programs always end in a control rule, so only hand-made programs get here.
	 */
	if (c->pc >= c->len) {
		c->verdict = PT_VERDICT_CONTINUE;
		return 1;
	}
	r = bpf_map_lookup_elem(&pt_rules, &k);
	if (!r)
		return pt_policy_fail(c, PT_DROP_PROGRAM_ERROR);
	if (!pt_rule_matches(r, &c->pkt)) {
		c->pc++;
		return 0;
	}
	pt_count_rule(r->counter_id, c->pkt.len);
	switch (r->action) {
	case PT_ACTION_ALLOW:
		c->verdict = PT_VERDICT_ALLOW;
		return 1;
	case PT_ACTION_DENY:
		return pt_policy_fail(c, r->reason ? r->reason : PT_DROP_POLICY_DENY);
	case PT_ACTION_LOG:
		c->pc++;
		return 0;
	case PT_ACTION_JUMP:
		if (r->jump <= c->pc || r->jump > c->len)
			return pt_policy_fail(c, PT_DROP_PROGRAM_ERROR);
		c->pc = r->jump;
		return 0;
	default:
		return pt_policy_fail(c, PT_DROP_PROGRAM_ERROR);
	}
}

/*
 * Runs program `prog` of length `len` over c->pkt; leaves the verdict and reason in `c`.
 * A global (not static) function: the verifier checks it, and the bpf_loop step inside it, once
 * for the whole object instead of once per call site, which keeps every hook that runs several
 * programs (host endpoints, deferred Service verdicts) far from the verifier's limits.
 */
__attribute__((noinline)) int pt_policy_run(struct pt_policy_ctx *c, __u32 prog, __u32 len)
{
	struct pt_policy_loop loop = { .c = c };

	if (!c)
		return 0;
	c->prog = prog;
	c->pc = 0;
	c->len = len;
	c->verdict = PT_VERDICT_PENDING;
	c->reason = 0;
	if (len > PT_MAX_PROGRAM_LENGTH)
		pt_policy_fail(c, PT_DROP_PROGRAM_ERROR);
	else if (bpf_loop(len + 1, pt_policy_step, &loop, 0) < 0 || c->verdict == PT_VERDICT_PENDING)
		pt_policy_fail(c, PT_DROP_PROGRAM_ERROR);
	return 0;
}

/*
 * Admin down and "could not be programmed" must stop established flows too, so a program
 * whose first rule is an unconditional deny for one of those reasons is applied before
 * conntrack. Returns the reason, or 0.
 */
static __always_inline __u8 pt_policy_blocks_all(__u32 prog, __u32 len, __u32 bytes)
{
	struct pt_rule_key k = { .prog = prog, .idx = 0 };
	struct pt_rule *r;

	if (!len)
		return 0;
	r = bpf_map_lookup_elem(&pt_rules, &k);
	if (!r)
		return PT_DROP_PROGRAM_ERROR;
	if (r->action != PT_ACTION_DENY ||
	    (r->reason != PT_DROP_ADMIN_DOWN && r->reason != PT_DROP_PROGRAM_ERROR))
		return 0;
	if (r->ip_version || r->proto || r->not_proto || r->src_net || r->not_src_net || r->dst_net ||
	    r->not_dst_net || r->src_sets[0] || r->not_src_sets[0] || r->dst_sets[0] || r->not_dst_sets[0] ||
	    r->src_ports || r->not_src_ports || r->dst_ports || r->not_dst_ports || r->src_named_ports[0] ||
	    r->not_src_named_ports[0] || r->dst_named_ports[0] || r->not_dst_named_ports[0] ||
	    r->dst_ip_port_sets[0] || r->icmp_type || r->not_icmp_type)
		return 0;
	pt_count_rule(r->counter_id, bytes);
	return r->reason;
}

#endif /* PT_POLICY_H */
