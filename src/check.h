/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Self-check: each task's buckets against the kernel's own accounting
 * (se.sum_exec_runtime and sched_info.run_delay, read at the task's final
 * switch-out, or at exit when that switch was not seen).
 */
#ifndef MPX_CHECK_H
#define MPX_CHECK_H

#ifdef __BPF__
#error "check.h is user-space only"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* A deviation is in bounds when |dev| <= max(1% of the kernel's value, 200 us). */
#define MPX_CHECK_PCT		1.0
#define MPX_CHECK_FLOOR_NS	200000ull
#define MPX_CHECK_BLKIO_PCT	5.0
#define MPX_CHECK_BLKIO_FLOOR_NS 100000ull

/*
 * Like with like.  Our buckets keep tracepoint time.  The kernel's exec time
 * differs run by run in two known ways: it includes the wake-to-switch
 * latency (the rq clock is not updated at that switch; kernel.md 3.2), and
 * it excludes time the task held the CPU without executing (hypervisor
 * steal with PARAVIRT_TIME_ACCOUNTING).  Both are measured at every
 * switch-out of a run seen whole (task wake_charge_ns, unexec_ns) and moved
 * to the kernel's definition before comparing; raw_* skip that move.
 * So the on-CPU check tests that no run was lost or misplaced, and the
 * run-queue check tests our wakeup and switch times against the kernel's
 * enqueue and arrival clock.
 */
struct mpx_task_check {
	bool valid;		/* the task had kernel counters to compare with */
	int64_t oncpu_dev_ns;	/* ours (kernel definition) - kernel's */
	int64_t runq_dev_ns;
	int64_t raw_oncpu_dev_ns;	/* ours (tracepoint time) - kernel's */
	int64_t raw_runq_dev_ns;
	uint64_t kernel_exec_ns, kernel_run_delay_ns;
	double oncpu_dev_pct, runq_dev_pct;	/* of max(kernel's figure, 20 ms) */
	bool in_bounds;
	/* Block IO wait against delay accounting's blkio_delay. */
	bool blkio_valid;
	int64_t blkio_dev_ns;
	uint64_t kernel_blkio_ns;
	bool blkio_in_bounds;	/* within max(5%, 100 us) */
};

struct mpx_check {
	uint32_t tasks_checked;
	uint32_t tasks_out_of_bounds;
	double max_oncpu_dev_pct, max_runq_dev_pct;
	int64_t max_oncpu_dev_ns, max_runq_dev_ns;	/* largest in magnitude */
	uint32_t worst_oncpu_tid, worst_runq_tid;
	int64_t max_raw_oncpu_dev_ns, max_raw_runq_dev_ns;
	uint64_t wake_charge_ns;	/* sums over checked tasks */
	uint64_t unexec_ns;
	uint32_t blkio_checked, blkio_out_of_bounds;
	uint32_t blkio_delayed;		/* tasks with block IO wait not compared: a
					 * wait began on a delayed dequeue */
	int64_t max_blkio_dev_ns;
	double max_blkio_dev_pct;
	uint64_t reconciled_ns;
	uint32_t missed_switches;
	uint64_t unaccounted_ns;
	bool pass;
};

void check__task(const struct mpx_task *t, struct mpx_task_check *out);
void check__model(const struct mpx_model *m, struct mpx_check *out);

#endif /* MPX_CHECK_H */
