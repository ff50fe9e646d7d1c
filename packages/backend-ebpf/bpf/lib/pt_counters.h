/* SPDX-License-Identifier: Apache-2.0 */
/* Per-rule and per-drop-reason packet/byte counters (per-CPU, so no atomics are needed). */
#ifndef PT_COUNTERS_H
#define PT_COUNTERS_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "pt_maps.h"

static __always_inline void pt_count_rule(__u64 counter_id, __u32 bytes)
{
	if (!counter_id)
		return;
	struct pt_counter *c = bpf_map_lookup_elem(&pt_counters, &counter_id);
	if (!c) {
		struct pt_counter first = { .packets = 1, .bytes = bytes };

		if (!bpf_map_update_elem(&pt_counters, &counter_id, &first, BPF_NOEXIST))
			return;
		/* Another CPU created it first: count into our slot of its entry. */
		c = bpf_map_lookup_elem(&pt_counters, &counter_id);
		if (!c)
			return;
	}
	c->packets++;
	c->bytes += bytes;
}

/* Counts the drop and returns TC_ACT_SHOT, so callers can `return pt_drop(...)`. */
static __noinline int pt_drop(enum pt_drop_reason reason, __u32 bytes)
{
	__u32 slot = reason;
	struct pt_counter *c = bpf_map_lookup_elem(&pt_drops, &slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return TC_ACT_SHOT;
}

#endif /* PT_COUNTERS_H */
