/* SPDX-License-Identifier: Apache-2.0 */
/* Runtime configuration (pt_config[0]) and the built-in defaults behind zero fields. */
#ifndef PT_CONFIG_H
#define PT_CONFIG_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "pt_maps.h"

#define PT_SECOND_NS 1000000000ULL

/* Felix's BPF conntrack defaults (felix/bpf/conntrack/timeouts). */
static __always_inline __u64 pt_default_timeout_ns(__u8 state)
{
	switch (state) {
	case PT_CT_TCP_SYN_SENT:
	case PT_CT_TCP_SYN_RECV:
		return 20 * PT_SECOND_NS;
	case PT_CT_TCP_ESTABLISHED:
		return 3600 * PT_SECOND_NS;
	case PT_CT_TCP_FIN_WAIT:
		return 30 * PT_SECOND_NS;
	case PT_CT_TCP_CLOSED:
		return 40 * PT_SECOND_NS;
	case PT_CT_UDP:
		return 60 * PT_SECOND_NS;
	case PT_CT_ICMP:
		return 5 * PT_SECOND_NS;
	default:
		return 600 * PT_SECOND_NS;
	}
}

static __always_inline const struct pt_config *pt_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pt_config, &zero);
}

static __always_inline __u64 pt_timeout_ns(const struct pt_config *cfg, __u8 state)
{
	__u32 slot = (__u32)state - 1;

	if (cfg && slot < PT_CT_STATE_COUNT && cfg->timeouts_ns[slot])
		return cfg->timeouts_ns[slot];
	return pt_default_timeout_ns(state);
}

#endif /* PT_CONFIG_H */
