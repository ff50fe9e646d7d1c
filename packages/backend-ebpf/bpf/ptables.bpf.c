/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ptables' tc datapath: two direct-action cls_bpf programs for the host-side interface of
 * every endpoint.
 *
 *   pt_prog_from_ep  tc ingress  packets from the endpoint  -> its egress program
 *   pt_prog_to_ep    tc egress   packets to the endpoint    -> its ingress program
 *
 * Order of decisions: ARP (answered or passed), parse (Malformed), IPv6 neighbour discovery
 * (passed), endpoint lookup (NoEndpoint), admin-down/program-error programs (before
 * conntrack), fragments, conntrack (forward, reply, related, invalid), encapsulation from
 * workloads, then the rule interpreter on the first packet of a flow. See docs/datapath.md.
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
	if (hook == PT_HOOK_FROM_EP && (flags & PT_EP_DROP_ENCAP_FROM_WORKLOAD) && pt_is_encap(p, cfg))
		return pt_drop(PT_DROP_ENCAP_FROM_WORKLOAD, p->len);

	pt_policy_run(&c, prog, len);
	if (c.verdict == PT_VERDICT_CONTINUE)
		return TC_ACT_OK; /* no decision: the packet goes on, untracked */
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
