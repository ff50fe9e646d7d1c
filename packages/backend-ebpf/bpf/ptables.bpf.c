/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ptables' tc datapath: direct-action cls_bpf programs.
 *
 *   pt_prog_from_ep    tc ingress of a workload's host-side interface  -> its egress program
 *   pt_prog_to_ep      tc egress of a workload's interface             -> its ingress program
 *   pt_prog_from_host  tc ingress of a host interface (host endpoint)  -> untracked, pre-DNAT,
 *                                                                          normal or forward ingress
 *   pt_prog_to_host    tc egress of a host interface                   -> untracked, normal or
 *                                                                          forward egress
 *
 * Workload order of decisions: ARP (answered or passed), parse (Malformed), IPv6 neighbour
 * discovery (passed), endpoint lookup (NoEndpoint), admin-down/program-error programs (before
 * conntrack), fragments, conntrack (forward, reply, related, invalid), encapsulation from
 * workloads, Service deferral (from_ep) or deferred verdicts and Service replies (to_ep), then
 * the rule interpreter on the first packet of a flow, and the toHost program for a new flow
 * from a workload to the host itself. Host interfaces: see pt_handle_host. docs/datapath.md.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "pt_types.h"
#include "pt_maps.h"
#include "pt_config.h"
#include "pt_counters.h"
#include "pt_parse.h"
#include "pt_arp.h"
#include "pt_conntrack.h"
#include "pt_policy.h"
#include "pt_host.h"
#include "pt_service.h"

char LICENSE[] SEC("license") = "Apache-2.0";

static __always_inline int pt_is_ndp(const struct pt_pkt *p)
{
	return p->family == PT_FAMILY_V6 && p->is_icmp && p->frag == PT_FRAG_NONE && p->icmp_type >= 133 &&
	       p->icmp_type <= 137;
}

/* VXLAN (UDP to the configured port) or IPIP sent by a workload. */
static __always_inline int pt_is_encap(const struct pt_pkt *p, const struct pt_config *cfg)
{
	__u16 vxlan_port_be = cfg && cfg->vxlan_port_be ? cfg->vxlan_port_be : bpf_htons(4789);

	if (p->proto == PT_IPPROTO_IPIP)
		return 1;
	return p->proto == PT_IPPROTO_UDP && p->has_ports && p->dport_be == vxlan_port_be;
}

static __always_inline int pt_handle(struct __sk_buff *skb, enum pt_hook hook)
{
	const struct pt_config *cfg = pt_config_get();
	struct pt_policy_ctx c = {};
	struct pt_pkt *p = &c.pkt;
	struct pt_endpoint *ep;
	__u32 ifindex = skb->ifindex;
	__be16 eth_proto;
	__u64 now;
	__u8 blocked;
	int err;

	p->len = skb->len;
	if (bpf_skb_load_bytes(skb, 12, &eth_proto, sizeof(eth_proto)))
		return pt_drop(PT_DROP_MALFORMED, p->len);
	if (eth_proto == bpf_htons(ETH_P_ARP))
		return hook == PT_HOOK_FROM_EP ? pt_arp_respond(skb, cfg) : TC_ACT_OK;
	if (eth_proto == bpf_htons(ETH_P_IP))
		err = pt_parse_ipv4(skb, ETH_HLEN, p);
	else if (eth_proto == bpf_htons(ETH_P_IPV6))
		err = pt_parse_ipv6(skb, ETH_HLEN, p);
	else
		err = -1;
	if (err || pt_parse_l4(skb, p))
		return pt_drop(PT_DROP_MALFORMED, p->len);
	if (pt_is_ndp(p))
		return TC_ACT_OK;

	ep = bpf_map_lookup_elem(&pt_endpoints, &ifindex);
	if (!ep)
		return pt_drop(PT_DROP_NO_ENDPOINT, p->len);
	__u32 prog = hook == PT_HOOK_FROM_EP ? ep->egress_prog : ep->ingress_prog;
	__u32 len = hook == PT_HOOK_FROM_EP ? ep->egress_len : ep->ingress_len;
	__u32 egress_prog = ep->egress_prog;
	__u32 egress_len = ep->egress_len;
	__u32 flags = ep->flags;

	blocked = pt_policy_blocks_all(prog, len, p->len);
	if (blocked)
		return pt_drop(blocked, p->len);

	now = bpf_ktime_get_ns();
	if (pt_frag_track(p, now))
		return pt_drop(PT_DROP_CT_INVALID, p->len);
	switch (pt_ct_lookup(ifindex, hook, p, cfg, now)) {
	case PT_CT_RESULT_ALLOW:
		return TC_ACT_OK;
	case PT_CT_RESULT_INVALID:
		return pt_drop(PT_DROP_CT_INVALID, p->len);
	default:
		break;
	}
	if (pt_ct_related(skb, ifindex, p, cfg, now))
		return TC_ACT_OK;
	if (hook == PT_HOOK_FROM_EP) {
		if ((flags & PT_EP_DROP_ENCAP_FROM_WORKLOAD) && pt_is_encap(p, cfg))
			return pt_drop(PT_DROP_ENCAP_FROM_WORKLOAD, p->len);
		if (pt_svc_deferrable(p))
			return pt_svc_defer(skb, ifindex, p, now);
	} else {
		if (skb->mark & PT_MARK_DEFERRED) {
			blocked = pt_svc_resolve(skb, p, cfg, now);
			if (blocked)
				return pt_drop(blocked, p->len);
		}
		err = pt_svc_fallback(ifindex, egress_prog, egress_len, &ep->to_host, p, now);
		if (err > 0)
			return pt_drop(err, p->len);
		if (err == PT_SVC_ALLOWED) {
			/* Accounts the reply on the entry just made (TCP state included). */
			pt_ct_lookup(ifindex, hook, p, cfg, now);
			return TC_ACT_OK;
		}
	}

	pt_policy_run(&c, prog, len);
	if (c.verdict == PT_VERDICT_CONTINUE)
		return TC_ACT_OK; /* no decision: the packet goes on, untracked */
	if (c.verdict != PT_VERDICT_ALLOW)
		return pt_drop(c.reason, p->len);
	if (hook == PT_HOOK_FROM_EP && ep->to_host.len && pt_is_host_addr(p->family, p->dst)) {
		/* DefaultEndpointToHostAction, after the workload's own egress policy allowed it. */
		pt_policy_run(&c, ep->to_host.prog, ep->to_host.len);
		if (c.verdict == PT_VERDICT_DROP)
			return pt_drop(c.reason, p->len);
	}
	pt_ct_create(ifindex, hook, p, now);
	return TC_ACT_OK;
}

/* The ethertype and the L2 header length of a host interface's packet. */
static __always_inline int pt_host_l2(struct __sk_buff *skb, __u32 flags, __be16 *eth_proto, __u32 *l2)
{
	if (flags & PT_EP_NO_L2_HEADER) {
		*eth_proto = (__be16)skb->protocol;
		*l2 = 0;
		return 0;
	}
	*l2 = ETH_HLEN;
	return bpf_skb_load_bytes(skb, 12, eth_proto, sizeof(*eth_proto));
}

/*
 * A host interface (PT_EP_HOST_ENDPOINT entry). No entry: pass (the node's own connectivity is
 * not ptables' to cut off by accident). Then:
 *   - non-IP (ARP, LLDP, ...) and IPv6 neighbour discovery pass;
 *   - tc egress: a packet carrying a deferred Service verdict is resolved first;
 *   - a watch-only entry (every program empty) passes everything else;
 *   - the untracked program, before conntrack: allow = pass untracked, deny = drop;
 *   - fragments, conntrack (forward, reply, related, invalid);
 *   - ingress: the pre-DNAT program (allow = accept and track, deny = drop); then the normal
 *     ingress program for packets to the host itself (PT_SET_HOST_ADDRS, multicast,
 *     broadcast), the forward ingress program for the rest;
 *   - egress: the normal egress program for packets the host sent (no ingress interface), the
 *     forward egress program for packets it routes;
 *   - allow creates the conntrack entry; a program that makes no decision passes untracked.
 * Failsafe ports are rules at the head of the programs (the compiler puts them there).
 */
static __always_inline int pt_handle_host(struct __sk_buff *skb, enum pt_hook hook)
{
	const struct pt_config *cfg = pt_config_get();
	struct pt_policy_ctx c = {};
	struct pt_pkt *p = &c.pkt;
	const struct pt_prog_ref *untracked, *pre_dnat, *forward;
	__u32 normal_prog, normal_len;
	struct pt_endpoint *ep;
	__u32 ifindex = skb->ifindex;
	__be16 eth_proto;
	__u32 l2, flags;
	int deferred, watch_only, err;
	__u64 now;
	__u8 reason;

	ep = bpf_map_lookup_elem(&pt_endpoints, &ifindex);
	if (!ep)
		return TC_ACT_OK;
	flags = ep->flags;
	watch_only = pt_ep_is_watch_only(ep);
	if (hook == PT_HOOK_FROM_EP) {
		untracked = &ep->untracked_ingress;
		pre_dnat = &ep->pre_dnat_ingress;
		normal_prog = ep->ingress_prog;
		normal_len = ep->ingress_len;
		forward = &ep->forward_ingress;
	} else {
		untracked = &ep->untracked_egress;
		pre_dnat = 0;
		normal_prog = ep->egress_prog;
		normal_len = ep->egress_len;
		forward = &ep->forward_egress;
	}
	deferred = hook == PT_HOOK_TO_EP && (skb->mark & PT_MARK_DEFERRED);
	if (watch_only && !deferred)
		return TC_ACT_OK;

	p->len = skb->len;
	if (pt_host_l2(skb, flags, &eth_proto, &l2))
		return watch_only ? TC_ACT_OK : pt_drop(PT_DROP_MALFORMED, p->len);
	if (eth_proto == bpf_htons(ETH_P_IP))
		err = pt_parse_ipv4(skb, l2, p);
	else if (eth_proto == bpf_htons(ETH_P_IPV6))
		err = pt_parse_ipv6(skb, l2, p);
	else
		return TC_ACT_OK;
	if (err || pt_parse_l4(skb, p)) {
		if (deferred)
			return pt_drop(PT_DROP_CT_INVALID, p->len);
		return watch_only ? TC_ACT_OK : pt_drop(PT_DROP_MALFORMED, p->len);
	}
	now = bpf_ktime_get_ns();
	if (deferred) {
		reason = pt_svc_resolve(skb, p, cfg, now);
		if (reason)
			return pt_drop(reason, p->len);
		if (watch_only)
			return TC_ACT_OK;
	}
	if (pt_is_ndp(p))
		return TC_ACT_OK;

	if (untracked->len) {
		pt_policy_run(&c, untracked->prog, untracked->len);
		if (c.verdict == PT_VERDICT_ALLOW)
			return TC_ACT_OK;
		if (c.verdict == PT_VERDICT_DROP)
			return pt_drop(c.reason, p->len);
	}

	if (pt_frag_track(p, now))
		return pt_drop(PT_DROP_CT_INVALID, p->len);
	switch (pt_ct_lookup(ifindex, hook, p, cfg, now)) {
	case PT_CT_RESULT_ALLOW:
		return TC_ACT_OK;
	case PT_CT_RESULT_INVALID:
		return pt_drop(PT_DROP_CT_INVALID, p->len);
	default:
		break;
	}
	if (pt_ct_related(skb, ifindex, p, cfg, now))
		return TC_ACT_OK;

	if (pre_dnat && pre_dnat->len) {
		pt_policy_run(&c, pre_dnat->prog, pre_dnat->len);
		if (c.verdict == PT_VERDICT_DROP)
			return pt_drop(c.reason, p->len);
		if (c.verdict == PT_VERDICT_ALLOW) {
			pt_ct_create(ifindex, hook, p, now);
			return TC_ACT_OK;
		}
	}
	if (hook == PT_HOOK_FROM_EP ? pt_is_host_addr(p->family, p->dst) : skb->ingress_ifindex == 0)
		pt_policy_run(&c, normal_prog, normal_len);
	else
		pt_policy_run(&c, forward->prog, forward->len);
	if (c.verdict == PT_VERDICT_CONTINUE)
		return TC_ACT_OK;
	if (c.verdict != PT_VERDICT_ALLOW)
		return pt_drop(c.reason, p->len);
	pt_ct_create(ifindex, hook, p, now);
	return TC_ACT_OK;
}

SEC("tc")
int pt_prog_from_ep(struct __sk_buff *skb)
{
	return pt_handle(skb, PT_HOOK_FROM_EP);
}

SEC("tc")
int pt_prog_to_ep(struct __sk_buff *skb)
{
	return pt_handle(skb, PT_HOOK_TO_EP);
}

SEC("tc")
int pt_prog_from_host(struct __sk_buff *skb)
{
	return pt_handle_host(skb, PT_HOOK_FROM_EP);
}

SEC("tc")
int pt_prog_to_host(struct __sk_buff *skb)
{
	return pt_handle_host(skb, PT_HOOK_TO_EP);
}
