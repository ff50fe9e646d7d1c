/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The maps. User space pins each one under its bpf directory by name (bpf_map__set_pin_path)
 * and sets max_entries before loading, so the sizes below are only defaults that keep the
 * object loadable on its own (e.g. by bpftool).
 */
#ifndef PT_MAPS_H
#define PT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "pt_types.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1048576);
	__type(key, struct pt_member_key);
	__type(value, __u8);
} pt_members SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct pt_port_key);
	__type(value, __u8);
} pt_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1048576);
	__type(key, struct pt_rule_key);
	__type(value, struct pt_rule);
} pt_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pt_endpoint);
} pt_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct pt_ct_key);
	__type(value, struct pt_ct_value);
} pt_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1048576);
	__type(key, __u64);
	__type(value, struct pt_counter);
} pt_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PT_DROP_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct pt_counter);
} pt_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_config);
} pt_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct pt_frag_key);
	__type(value, struct pt_frag_value);
} pt_frags SEC(".maps");

/* Deferred Service flows (pt_service.h): client conntrack key -> when it was deferred. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pt_ct_key);
	__type(value, __u64);
} pt_svc_pending SEC(".maps");

/* Deferred packets' slots, indexed by the slot number in their mark. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PT_SVC_SLOTS);
	__type(key, __u32);
	__type(value, struct pt_svc_slot);
} pt_svc_slots SEC(".maps");

/* Per-CPU sequence for slot allocation. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pt_svc_seq SEC(".maps");

#endif /* PT_MAPS_H */
