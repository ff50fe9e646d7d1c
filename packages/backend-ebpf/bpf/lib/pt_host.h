/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "Is this packet for the host itself?" The programmer keeps the host's own addresses in the
 * well-known set PT_SET_HOST_ADDRS (every interface's addresses and broadcast addresses, the
 * loopback prefixes); multicast and limited broadcast are the host's too. bpf_fib_lookup would
 * answer from the kernel's tables directly, but it is GPL-only and this program is not.
 */
#ifndef PT_HOST_H
#define PT_HOST_H

#include "pt_policy.h"

static __always_inline int pt_is_host_addr(__u8 family, const __u8 *addr)
{
	if (family == PT_FAMILY_V4 && addr[0] >= 224)
		return 1; /* multicast 224/4, class E and 255.255.255.255 */
	if (family == PT_FAMILY_V6 && addr[0] == 0xff)
		return 1; /* multicast ff00::/8 */
	return pt_in_set(PT_SET_HOST_ADDRS, family, addr, 0, 0);
}

/* Every program length of an entry is 0: a host interface ptables only watches. */
static __always_inline int pt_ep_is_watch_only(const struct pt_endpoint *ep)
{
	return !(ep->ingress_len | ep->egress_len | ep->untracked_ingress.len | ep->untracked_egress.len |
		 ep->pre_dnat_ingress.len | ep->forward_ingress.len | ep->forward_egress.len);
}

#endif /* PT_HOST_H */
