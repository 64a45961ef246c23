// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The floor of scheduler tracing: programs on the hooks mpxtrace attaches for
 * a CPU-bound or ping-pong workload that do nothing (empty) or only look the
 * task up in a hash map (lookup), the cheapest filter a tracer can have.
 * User space loads one of the two sets; overhead.py compares it with mpxtrace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Tasks of interest (the workload's first task), each with its hit count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} pids SEC(".maps");

static __always_inline void lookup(__u32 pid)
{
	__u64 *hits = bpf_map_lookup_elem(&pids, &pid);

	if (hits)
		(*hits)++;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_empty)
{
	return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(waking_empty)
{
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup_empty)
{
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new_empty)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_lookup, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	lookup(prev->pid);
	lookup(next->pid);
	return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(waking_lookup, struct task_struct *p)
{
	lookup(p->pid);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup_lookup, struct task_struct *p)
{
	lookup(p->pid);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new_lookup, struct task_struct *p)
{
	lookup(p->pid);
	return 0;
}
