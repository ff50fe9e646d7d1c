/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packet parsing into struct pt_pkt: the fields that policy and conntrack look at. Everything
 * is read with bpf_skb_load_bytes, which copes with non-linear skbs and keeps the verifier's
 * job simple (no direct packet pointers to re-check after every helper call).
 */
#ifndef PT_PARSE_H
#define PT_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "pt_types.h"

#define PT_IPPROTO_HOPOPTS 0
#define PT_IPPROTO_ICMP 1
#define PT_IPPROTO_IPIP 4
#define PT_IPPROTO_TCP 6
#define PT_IPPROTO_UDP 17
#define PT_IPPROTO_ROUTING 43
#define PT_IPPROTO_FRAGMENT 44
#define PT_IPPROTO_AH 51
#define PT_IPPROTO_ICMPV6 58
#define PT_IPPROTO_NONE 59
#define PT_IPPROTO_DSTOPTS 60
#define PT_IPPROTO_SCTP 132
#define PT_IPPROTO_UDPLITE 136

/* IPv6 extension headers skipped before giving up (Malformed). */
#define PT_IPV6_MAX_EXT_HEADERS 8

#define PT_TCP_FIN 0x01
#define PT_TCP_SYN 0x02
#define PT_TCP_RST 0x04
#define PT_TCP_ACK 0x10

enum pt_frag {
	PT_FRAG_NONE = 0,
	PT_FRAG_FIRST = 1, /* offset 0, more fragments follow: carries the L4 header */
	PT_FRAG_LATER = 2, /* offset > 0: no L4 header */
};

struct pt_pkt {
	__u8 src[16];
	__u8 dst[16];
	__u32 len;
	__u32 l4_off;
	__u32 frag_id;
	__u16 sport_be; /* ICMP echo: the identifier */
	__u16 dport_be;
	__u8 family;
	__u8 proto;
	__u8 has_ports; /* a port-bearing protocol whose ports were read */
	__u8 is_icmp;   /* ICMP of the packet's own family */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 tcp_flags;
	__u8 frag; /* enum pt_frag */
};

static __always_inline int pt_is_port_proto(__u8 proto)
{
	return proto == PT_IPPROTO_TCP || proto == PT_IPPROTO_UDP || proto == PT_IPPROTO_SCTP ||
	       proto == PT_IPPROTO_UDPLITE;
}

static __always_inline int pt_is_echo(__u8 family, __u8 type)
{
	if (family == PT_FAMILY_V4)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

static __always_inline int pt_is_echo_request(__u8 family, __u8 type)
{
	return family == PT_FAMILY_V4 ? type == 8 : type == 128;
}

/* ICMP errors that quote the packet that caused them (RELATED to that packet's flow). */
static __always_inline int pt_is_icmp_error(__u8 family, __u8 type)
{
	if (family == PT_FAMILY_V4)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* IPv4 header at `off`: addresses, protocol, fragment state; l4_off past the options. */
static __always_inline int pt_parse_ipv4(struct __sk_buff *skb, __u32 off, struct pt_pkt *p)
{
	struct {
		__u8 ver_ihl;
		__u8 tos;
		__be16 tot_len;
		__be16 id;
		__be16 frag_off;
		__u8 ttl;
		__u8 protocol;
		__be16 check;
		__u8 saddr[4];
		__u8 daddr[4];
	} ip;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
		return -1;
	if ((ip.ver_ihl >> 4) != 4 || (ip.ver_ihl & 0xf) < 5)
		return -1;
	p->family = PT_FAMILY_V4;
	p->proto = ip.protocol;
	__builtin_memcpy(p->src, ip.saddr, 4);
	__builtin_memcpy(p->dst, ip.daddr, 4);
	__u16 frag = bpf_ntohs(ip.frag_off);
	if (frag & 0x1fff)
		p->frag = PT_FRAG_LATER;
	else if (frag & 0x2000)
		p->frag = PT_FRAG_FIRST;
	p->frag_id = bpf_ntohs(ip.id);
	p->l4_off = off + (ip.ver_ihl & 0xf) * 4;
	return 0;
}

/*
 * IPv6 header at `off`, then up to PT_IPV6_MAX_EXT_HEADERS extension headers (hop-by-hop,
 * routing, destination options, AH, fragment); p->proto is the upper-layer protocol.
 */
static __always_inline int pt_parse_ipv6(struct __sk_buff *skb, __u32 off, struct pt_pkt *p)
{
	struct {
		__be32 ver_tc_flow;
		__be16 payload_len;
		__u8 nexthdr;
		__u8 hop_limit;
		__u8 saddr[16];
		__u8 daddr[16];
	} ip;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
		return -1;
	if ((bpf_ntohl(ip.ver_tc_flow) >> 28) != 6)
		return -1;
	p->family = PT_FAMILY_V6;
	__builtin_memcpy(p->src, ip.saddr, 16);
	__builtin_memcpy(p->dst, ip.daddr, 16);

	__u8 next = ip.nexthdr;
	off += sizeof(ip);
	for (int i = 0; i < PT_IPV6_MAX_EXT_HEADERS; i++) {
		struct {
			__u8 nexthdr;
			__u8 len;
			__be16 frag_off;
			__be32 id;
		} ext;

		if (next != PT_IPPROTO_HOPOPTS && next != PT_IPPROTO_ROUTING && next != PT_IPPROTO_DSTOPTS &&
		    next != PT_IPPROTO_AH && next != PT_IPPROTO_FRAGMENT) {
			p->proto = next;
			p->l4_off = off;
			return 0;
		}
		if (bpf_skb_load_bytes(skb, off, &ext, sizeof(ext)))
			return -1;
		if (next == PT_IPPROTO_FRAGMENT) {
			__u16 frag = bpf_ntohs(ext.frag_off);
			if (frag & 0xfff8)
				p->frag = PT_FRAG_LATER;
			else if (frag & 1)
				p->frag = PT_FRAG_FIRST;
			p->frag_id = bpf_ntohl(ext.id);
			off += 8;
		} else if (next == PT_IPPROTO_AH) {
			off += ((__u32)ext.len + 2) * 4;
		} else {
			off += ((__u32)ext.len + 1) * 8;
		}
		next = ext.nexthdr;
	}
	return -1;
}

/* Ports, TCP flags or ICMP type/code/echo id at p->l4_off. Later fragments have none. */
static __always_inline int pt_parse_l4(struct __sk_buff *skb, struct pt_pkt *p)
{
	if (p->frag == PT_FRAG_LATER)
		return 0;
	if (pt_is_port_proto(p->proto)) {
		__u8 hdr[14];
		__u32 want = p->proto == PT_IPPROTO_TCP ? 14 : 4;

		if (want == 14) {
			if (bpf_skb_load_bytes(skb, p->l4_off, hdr, 14))
				return -1;
			p->tcp_flags = hdr[13];
		} else if (bpf_skb_load_bytes(skb, p->l4_off, hdr, 4)) {
			return -1;
		}
		__builtin_memcpy(&p->sport_be, &hdr[0], 2);
		__builtin_memcpy(&p->dport_be, &hdr[2], 2);
		p->has_ports = 1;
		return 0;
	}
	if ((p->family == PT_FAMILY_V4 && p->proto == PT_IPPROTO_ICMP) ||
	    (p->family == PT_FAMILY_V6 && p->proto == PT_IPPROTO_ICMPV6)) {
		__u8 hdr[8];

		if (bpf_skb_load_bytes(skb, p->l4_off, hdr, 8))
			return -1;
		p->is_icmp = 1;
		p->icmp_type = hdr[0];
		p->icmp_code = hdr[1];
		if (pt_is_echo(p->family, hdr[0])) {
			__builtin_memcpy(&p->sport_be, &hdr[4], 2);
			p->dport_be = p->sport_be;
		}
	}
	return 0;
}

/*
 * The flow quoted by an ICMP error: its IP header starts 8 bytes into the ICMP message. Fills
 * `inner` the same way as the outer packet (addresses, protocol, ports or echo id).
 */
static __always_inline int pt_parse_icmp_inner(struct __sk_buff *skb, const struct pt_pkt *outer,
					       struct pt_pkt *inner)
{
	__u32 off = outer->l4_off + 8;
	int err = outer->family == PT_FAMILY_V4 ? pt_parse_ipv4(skb, off, inner) : pt_parse_ipv6(skb, off, inner);

	if (err || inner->family != outer->family || inner->frag == PT_FRAG_LATER)
		return -1;
	if (pt_is_port_proto(inner->proto)) {
		/* The quote holds at least 8 bytes of the transport header: enough for the ports. */
		if (bpf_skb_load_bytes(skb, inner->l4_off, &inner->sport_be, 2) ||
		    bpf_skb_load_bytes(skb, inner->l4_off + 2, &inner->dport_be, 2))
			return -1;
		return 0;
	}
	if (inner->proto == outer->proto) {
		__u8 hdr[8];

		if (bpf_skb_load_bytes(skb, inner->l4_off, hdr, 8))
			return -1;
		if (!pt_is_echo(inner->family, hdr[0]))
			return -1;
		inner->is_icmp = 1;
		inner->icmp_type = hdr[0];
		__builtin_memcpy(&inner->sport_be, &hdr[4], 2);
		inner->dport_be = inner->sport_be;
		return 0;
	}
	return 0;
}

#endif /* PT_PARSE_H */
