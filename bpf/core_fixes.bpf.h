/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Kernel-version differences handled through CO-RE, never by version number.
 * Only BPF programs include this file.
 */
#ifndef MPX_CORE_FIXES_BPF_H
#define MPX_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * task_struct::state was renamed to __state in v5.14
 * (commit 2f064a59a11f "sched: Change task_struct::state").
 */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline __u32 get_task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

/*
 * task_struct::delays exists only with CONFIG_TASK_DELAY_ACCT, and stays
 * NULL for tasks forked before delay accounting was first switched on.
 */
struct task_delay_info___x {
	__u64 blkio_delay;
	__u32 blkio_count;
} __attribute__((preserve_access_index));

struct task_struct___d {
	struct task_delay_info___x *delays;
} __attribute__((preserve_access_index));

static __always_inline void get_task_blkio(void *task, __u64 *delay, __u64 *count)
{
	struct task_struct___d *t = task;
	struct task_delay_info___x *d;

	*delay = 0;
	*count = 0;
	if (!bpf_core_field_exists(t->delays))
		return;
	d = BPF_CORE_READ(t, delays);
	if (!d)
		return;
	*delay = BPF_CORE_READ(d, blkio_delay);
	*count = BPF_CORE_READ(d, blkio_count);
}

#endif /* MPX_CORE_FIXES_BPF_H */
