/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Service traffic: kube-proxy DNATs a Service address to a backend in the node's netfilter,
 * after the client pod's tc ingress hook. Calico decides the client's egress policy on the real
 * backend, so a workload's new flow to a Service address (PT_SET_SERVICE_NETS) is not judged at
 * from_ep: it is recorded (pt_svc_pending, keyed like the client's conntrack entry), given a
 * slot (pt_svc_slots) whose number travels in skb->mark, and passed. The first ptables hook the
 * packet meets after DNAT and routing — the backend pod's to_ep, or the tc egress of the host
 * interface it leaves by — finds the slot, runs the client's egress program on the post-DNAT
 * packet, and on allow creates the client's conntrack entry for the pre-DNAT flow (the tuple
 * its later packets and its un-NATed replies carry).
 *
 * A backend on the host itself has no later tc hook. Its reply meets the client's to_ep with a
 * Service source and no entry: the pending record proves the client asked, and the client's
 * egress program (on the pre-DNAT flow) and its toHost program (DefaultEndpointToHostAction)
 * decide there. See docs/datapath.md, "Services".
 */
#ifndef PT_SERVICE_H
#define PT_SERVICE_H

#include "pt_conntrack.h"
#include "pt_policy.h"

/*
 * Per-CPU scratch space for the second policy evaluation of a hook (the client's program on a
 * deferred flow): the stack cannot hold another context next to the hook's own, within the 512
 * bytes the whole call chain (bpf_loop's frames included) may use.
 */
struct pt_scratch {
	struct pt_policy_ctx c;
	struct pt_ct_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_scratch);
} pt_scratch SEC(".maps");

static __always_inline struct pt_scratch *pt_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pt_scratch, &zero);
}

/* How long a deferral waits for its verdict; older slots and pending records are stale. */
#define PT_SVC_TIMEOUT_NS (10 * PT_SECOND_NS)

static __always_inline int pt_svc_fresh(__u64 created_ns, __u64 now)
{
	return now <= created_ns || now - created_ns <= PT_SVC_TIMEOUT_NS;
}

/* A workload's new flow whose egress verdict waits for DNAT: ports, unfragmented, to a Service. */
static __always_inline int pt_svc_deferrable(const struct pt_pkt *p)
{
	return p->has_ports && p->frag == PT_FRAG_NONE && pt_in_set(PT_SET_SERVICE_NETS, p->family, p->dst, 0, 0);
}

/* Records the deferral and passes the packet with the slot in its mark. */
static __always_inline int pt_svc_defer(struct __sk_buff *skb, __u32 ifindex, const struct pt_pkt *p, __u64 now)
{
	struct pt_ct_key key;
	struct pt_svc_slot *s;
	__u32 zero = 0, slot;
	__u32 *seq;

	pt_ct_fill_key(&key, ifindex, p, 0);
	if (bpf_map_update_elem(&pt_svc_pending, &key, &now, BPF_ANY))
		return pt_drop(PT_DROP_CT_INVALID, p->len);
	seq = bpf_map_lookup_elem(&pt_svc_seq, &zero);
	if (!seq)
		return pt_drop(PT_DROP_CT_INVALID, p->len);
	slot = (bpf_get_smp_processor_id() * PT_SVC_SLOTS_PER_CPU + (*seq % PT_SVC_SLOTS_PER_CPU)) & (PT_SVC_SLOTS - 1);
	*seq += 1;
	s = bpf_map_lookup_elem(&pt_svc_slots, &slot);
	if (!s)
		return pt_drop(PT_DROP_CT_INVALID, p->len);
	__builtin_memcpy(&s->key, &key, sizeof(key));
	s->created_ns = now;
	skb->mark = (skb->mark & ~(PT_MARK_DEFERRED | PT_MARK_SLOT_MASK)) | PT_MARK_DEFERRED | (slot << PT_MARK_SLOT_SHIFT);
	return TC_ACT_OK;
}

/* Whether the client's conntrack entry for `key` exists and is live (the flow was approved). */
static __always_inline int pt_svc_approved(const struct pt_ct_key *key, const struct pt_config *cfg, __u64 now)
{
	struct pt_ct_value *v = bpf_map_lookup_elem(&pt_ct, key);

	return v && v->origin == PT_HOOK_FROM_EP && pt_ct_live(v, cfg, now);
}

/*
 * A packet carrying a deferral reached a hook after DNAT: decide the client's egress on it.
 * Clears the mark. Returns 0 to carry on at this hook, or the drop reason.
 */
static __always_inline __u8 pt_svc_resolve(struct __sk_buff *skb, const struct pt_pkt *p, const struct pt_config *cfg,
					   __u64 now)
{
	__u32 slot = (skb->mark & PT_MARK_SLOT_MASK) >> PT_MARK_SLOT_SHIFT;
	struct pt_scratch *x = pt_scratch_get();
	struct pt_endpoint *cep;
	struct pt_svc_slot *s;
	__u32 prog, len;
	__u8 blocked;

	skb->mark &= ~(PT_MARK_DEFERRED | PT_MARK_SLOT_MASK);
	s = bpf_map_lookup_elem(&pt_svc_slots, &slot);
	if (!x || !s || s->key.family != p->family || s->key.proto != p->proto || !pt_svc_fresh(s->created_ns, now))
		return PT_DROP_CT_INVALID;
	__builtin_memcpy(&x->key, &s->key, sizeof(x->key));
	if (!bpf_map_lookup_elem(&pt_svc_pending, &x->key))
		/* Resolved by an earlier packet of the flow: allowed if its entry is there. */
		return pt_svc_approved(&x->key, cfg, now) ? 0 : PT_DROP_CT_INVALID;
	cep = bpf_map_lookup_elem(&pt_endpoints, &x->key.ifindex);
	if (!cep)
		return PT_DROP_NO_ENDPOINT;
	prog = cep->egress_prog;
	len = cep->egress_len;
	blocked = pt_policy_blocks_all(prog, len, p->len);
	if (blocked)
		return blocked;
	/* The post-DNAT packet as the client sent it (a masquerade may have changed its source). */
	__builtin_memcpy(&x->c.pkt, p, sizeof(*p));
	__builtin_memcpy(x->c.pkt.src, x->key.src, 16);
	x->c.pkt.sport_be = x->key.sport_be;
	pt_policy_run(&x->c, prog, len);
	if (x->c.verdict == PT_VERDICT_DROP)
		return x->c.reason; /* the record stays: later packets of the flow get the same verdict */
	if (x->c.verdict == PT_VERDICT_ALLOW) {
		__builtin_memcpy(x->c.pkt.dst, x->key.dst, 16);
		x->c.pkt.dport_be = x->key.dport_be;
		pt_ct_create(x->key.ifindex, PT_HOOK_FROM_EP, &x->c.pkt, now);
	}
	bpf_map_delete_elem(&pt_svc_pending, &x->key);
	return 0;
}

enum pt_svc_fallback_result {
	PT_SVC_NOT_DEFERRED = -1, /* not a reply to a deferred flow: judge it as usual */
	PT_SVC_ALLOWED = 0,       /* the client's flow is allowed (its entry exists now) */
};

/*
 * At a workload's to_ep: a reply from a Service to a flow of this workload whose deferral no
 * later hook resolved, i.e. the backend is the host itself (or the packet left by an interface
 * ptables does not watch). The client's egress program judges the flow as sent (pre-DNAT), then
 * its toHost program. Returns PT_SVC_NOT_DEFERRED, PT_SVC_ALLOWED, or a drop reason.
 */
static __always_inline int pt_svc_fallback(__u32 ifindex, __u32 egress_prog, __u32 egress_len,
					   const struct pt_prog_ref *to_host, const struct pt_pkt *p, __u64 now)
{
	struct pt_scratch *x;
	__u64 *pending;

	if (!p->has_ports || p->frag != PT_FRAG_NONE || !pt_in_set(PT_SET_SERVICE_NETS, p->family, p->src, 0, 0))
		return PT_SVC_NOT_DEFERRED;
	x = pt_scratch_get();
	if (!x)
		return PT_DROP_CT_INVALID;
	pt_ct_fill_key(&x->key, ifindex, p, 1);
	pending = bpf_map_lookup_elem(&pt_svc_pending, &x->key);
	if (!pending || !pt_svc_fresh(*pending, now))
		return PT_SVC_NOT_DEFERRED;
	/* The client's packet: this reply turned round; TCP as the SYN that opened it. */
	__builtin_memcpy(&x->c.pkt, p, sizeof(*p));
	__builtin_memcpy(x->c.pkt.src, p->dst, 16);
	__builtin_memcpy(x->c.pkt.dst, p->src, 16);
	x->c.pkt.sport_be = p->dport_be;
	x->c.pkt.dport_be = p->sport_be;
	if (p->proto == PT_IPPROTO_TCP)
		x->c.pkt.tcp_flags = PT_TCP_SYN;
	pt_policy_run(&x->c, egress_prog, egress_len);
	if (x->c.verdict == PT_VERDICT_DROP)
		return x->c.reason;
	if (x->c.verdict == PT_VERDICT_ALLOW && to_host->len) {
		pt_policy_run(&x->c, to_host->prog, to_host->len);
		if (x->c.verdict == PT_VERDICT_DROP)
			return x->c.reason;
		x->c.verdict = PT_VERDICT_ALLOW;
	}
	if (x->c.verdict == PT_VERDICT_ALLOW) {
		pt_ct_create(ifindex, PT_HOOK_FROM_EP, &x->c.pkt, now);
		bpf_map_delete_elem(&pt_svc_pending, &x->key);
	}
	return PT_SVC_ALLOWED;
}

#endif /* PT_SERVICE_H */
