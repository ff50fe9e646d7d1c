/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gateway ARP responder. Pods route everything via 169.254.1.1, which nobody owns; a
 * request for it arriving from the pod (tc ingress of the host-side interface) is turned into
 * the reply in place and sent back out of the same interface, i.e. into the pod. Other ARP
 * passes untouched, and so do probes (sender 0.0.0.0) and announcements (sender == target).
 */
#ifndef PT_ARP_H
#define PT_ARP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "pt_types.h"

struct pt_arp_frame {
	__u8 eth_dst[6];
	__u8 eth_src[6];
	__be16 eth_proto;
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

static __always_inline int pt_ip4_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline int pt_arp_respond(struct __sk_buff *skb, const struct pt_config *cfg)
{
	struct pt_arp_frame f;

	if (!cfg || !cfg->arp_enabled)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, 0, &f, sizeof(f)))
		return TC_ACT_OK;
	if (f.htype != bpf_htons(1) || f.ptype != bpf_htons(ETH_P_IP) || f.hlen != 6 || f.plen != 4 ||
	    f.op != bpf_htons(1))
		return TC_ACT_OK;
	if (!pt_ip4_eq(f.tpa, cfg->gateway_ipv4) || pt_ip4_eq(f.spa, f.tpa))
		return TC_ACT_OK;
	if (!(f.spa[0] | f.spa[1] | f.spa[2] | f.spa[3]))
		return TC_ACT_OK;

	__builtin_memcpy(f.eth_dst, f.sha, 6);
	__builtin_memcpy(f.eth_src, cfg->gateway_mac, 6);
	f.op = bpf_htons(2);
	__builtin_memcpy(f.tha, f.sha, 6);
	__builtin_memcpy(f.tpa, f.spa, 4);
	__builtin_memcpy(f.sha, cfg->gateway_mac, 6);
	__builtin_memcpy(f.spa, cfg->gateway_ipv4, 4);
	if (bpf_skb_store_bytes(skb, 0, &f, sizeof(f), 0))
		return TC_ACT_OK;
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* PT_ARP_H */
