/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Kernel-version differences handled through CO-RE, never by version number.
 * Only BPF programs include this file.
 */
#ifndef MPX_CORE_FIXES_BPF_H
#define MPX_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * Read src->a->b... : a direct load where src is a BTF pointer (tp_btf
 * programs: the verifier turns it into a fault-safe load, no helper call),
 * bpf_probe_read_kernel() otherwise (raw_tp).  btf must be a constant of
 * the inlined caller so that the arm not taken is compiled out; both arms
 * carry the same CO-RE relocations.  Used for the scalar fields of the
 * tracepoint's own task arguments only: each direct load of a pointer field
 * (se.cfs_rq, cfs_rq->rq, mm) makes the verifier search the kernel's whole
 * BTF by name (btf_nested_type_is_trusted), about a millisecond for every
 * verifier state reaching it: 8-30 ms more for the switch program.
 */
#define MPX_READ(btf, src, a, ...)						\
	((btf) ? ___arrow(src, a, ##__VA_ARGS__) : BPF_CORE_READ(src, a, ##__VA_ARGS__))

/*
 * Where vmlinux.h has a field, the plain type is used (with
 * bpf_core_field_exists() for kernels without it): each distinct local
 * type costs libbpf a search of the whole kernel BTF at load time.
 */

/*
 * task_struct::state was renamed to __state in v5.14
 * (commit 2f064a59a11f "sched: Change task_struct::state").
 */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

static __always_inline __u32 get_task_state(void *task, bool btf)
{
	struct task_struct___o *o = task;
	struct task_struct *t = task;

	if (bpf_core_field_exists(t->__state))
		return MPX_READ(btf, t, __state);
	return MPX_READ(btf, o, state);
}

/*
 * task_struct::delays exists only with CONFIG_TASK_DELAY_ACCT, and stays
 * NULL for tasks forked before delay accounting was first switched on.
 */
static __always_inline void get_task_blkio(void *task, __u64 *delay, __u64 *count)
{
	struct task_struct *t = task;
	struct task_delay_info *d;

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

/*
 * mm->rss_stat[i]: a percpu_counter since v6.2 (f1a7941243c1), whose
 * .count is the folded value; before that an atomic_long_t.
 */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

static __always_inline __u64 read_rss_member(void *mm, int i)
{
	__s64 v;

	if (bpf_core_field_exists(((struct mm_struct *)mm)->rss_stat[0].count)) {
		struct mm_struct *m = mm;

		switch (i) {
		case 0: v = BPF_CORE_READ(m, rss_stat[0].count); break;
		case 1: v = BPF_CORE_READ(m, rss_stat[1].count); break;
		case 2: v = BPF_CORE_READ(m, rss_stat[2].count); break;
		default: v = BPF_CORE_READ(m, rss_stat[3].count); break;
		}
	} else {
		struct mm_struct___old *m = mm;

		switch (i) {
		case 0: v = BPF_CORE_READ(m, rss_stat.count[0].counter); break;
		case 1: v = BPF_CORE_READ(m, rss_stat.count[1].counter); break;
		case 2: v = BPF_CORE_READ(m, rss_stat.count[2].counter); break;
		default: v = BPF_CORE_READ(m, rss_stat.count[3].counter); break;
		}
	}
	return v > 0 ? (__u64)v : 0;
}

/*
 * Hypervisor steal time accounted on a task's CPU so far: rq->prev_steal_time_rq
 * (CONFIG_PARAVIRT_TIME_ACCOUNTING), reached through se.cfs_rq->rq
 * (CONFIG_FAIR_GROUP_SCHED).  Exec time excludes it; 0 when unavailable.
 */
/*
 * Also rq->clock: the value this switch's accounting uses.  The scheduler
 * skips the clock update after a wakeup preemption (rq_clock_skip_update),
 * so it can lag real time; the lag is where exec time and run_delay move
 * between tasks, and the self-check needs it to compare like with like.
 */
static __always_inline void get_rq_clocks(void *task, __u64 *steal, __u64 *clock, __u64 *rq_cache)
{
	struct task_struct *t = task;
	struct cfs_rq *cfs;
	struct rq *rq;

	*steal = *clock = 0;
	if (!bpf_core_field_exists(t->se.cfs_rq) ||
	    !bpf_core_field_exists(((struct cfs_rq *)0)->rq))
		return;
	/* The task is on this CPU: its run queue is this CPU's, found once. */
	rq = (struct rq *)*rq_cache;
	if (!rq) {
		cfs = BPF_CORE_READ(t, se.cfs_rq);
		if (!cfs)
			return;
		rq = BPF_CORE_READ(cfs, rq);
		if (!rq)
			return;
		*rq_cache = (__u64)rq;
	}
	/* prev_steal_time_rq is what update_rq_clock_task() takes out of
	 * clock_task at each clock update (PARAVIRT_TIME_ACCOUNTING);
	 * prev_steal_time is the tick-based cputime figure, coarser. */
	if (bpf_core_field_exists(rq->prev_steal_time_rq))
		*steal = BPF_CORE_READ(rq, prev_steal_time_rq);
	else if (bpf_core_field_exists(rq->prev_steal_time))
		*steal = BPF_CORE_READ(rq, prev_steal_time);
	*clock = BPF_CORE_READ(rq, clock);
}

/*
 * The same from a tp_btf program, whose task arguments are BTF pointers:
 * se.cfs_rq->rq and the two clocks are direct loads (no helper call; a
 * bad pointer reads as 0), where the probe reads above cost about 20 ns
 * each.  Reaching a pointer field this way makes the verifier search the
 * kernel's BTF once per state that reaches the load (see MPX_READ): the
 * caller does it first thing, where one state does.  task must be on
 * this CPU.
 */
static __always_inline void get_rq_clocks_btf(struct task_struct *t, __u64 *steal, __u64 *clock)
{
	struct rq *rq;

	*steal = *clock = 0;
	if (!bpf_core_field_exists(t->se.cfs_rq) ||
	    !bpf_core_field_exists(((struct cfs_rq *)0)->rq))
		return;
	rq = t->se.cfs_rq->rq;
	if (bpf_core_field_exists(rq->prev_steal_time_rq))
		*steal = rq->prev_steal_time_rq;
	else if (bpf_core_field_exists(rq->prev_steal_time))
		*steal = rq->prev_steal_time;
	*clock = rq->clock;
}

/* se.sched_delayed: the task blocked but stays queued (v6.12 delayed dequeue). */
static __always_inline bool get_sched_delayed(void *task, bool btf)
{
	struct task_struct *t = task;

	if (!bpf_core_field_exists(t->se.sched_delayed))
		return false;
	return MPX_READ(btf, t, se.sched_delayed);
}

#endif /* MPX_CORE_FIXES_BPF_H */
