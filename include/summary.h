/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Summary mode (--summary): per-task totals kept in the kernel, no event
 * stream.  One struct mpx_summ per task, keyed by tid while the task lives
 * (map "summ") and by (start, tid) once it is done (map "summ_done"),
 * which user space drains as it goes.
 *
 * Included by BPF (after vmlinux.h) and by user space (after
 * <linux/types.h>).  Not a trace-file format: it never leaves the machine.
 */
#ifndef MPX_SUMMARY_H
#define MPX_SUMMARY_H

#include "events.h"

/* Buckets, in the order of enum mpx_bucket (model.h). */
#define MPX_SB_ONCPU		0
#define MPX_SB_RUNQ_WAKEUP	1
#define MPX_SB_RUNQ_PREEMPT	2
#define MPX_SB_SLEEP		3
#define MPX_SB_DSLEEP		4
#define MPX_SB_BLKIO		5
#define MPX_SB_UNACCOUNTED	6
#define MPX_SB_MAX		7

/* Task states, the values of enum mpx_tstate (model.h). */
#define MPX_SS_UNKNOWN		0
#define MPX_SS_NEW		1
#define MPX_SS_RUNNING		2
#define MPX_SS_RUNQ_WAKEUP	3
#define MPX_SS_RUNQ_PREEMPT	4
#define MPX_SS_SLEEP		5
#define MPX_SS_DSLEEP		6
#define MPX_SS_DEAD		7
#define MPX_SS_BLKIO		8

/* mpx_summ.flags */
#define MPX_SU_ROOT		0x0001	/* the workload's first task (seeded) */
#define MPX_SU_THREAD		0x0002	/* shares its parent's thread group */
#define MPX_SU_EXITED		0x0004	/* sched_process_exit seen: k_exit valid */
#define MPX_SU_DEAD		0x0008	/* final switch-out seen: k_final valid */
#define MPX_SU_LAST		0x0010	/* k_last valid */
#define MPX_SU_FREED		0x0020	/* done without a final switch (freed) */
#define MPX_SU_GROUP_DEAD	0x0040	/* maxrss valid */
#define MPX_SU_STALE_IN		0x0080	/* stale_in valid for this run */

struct mpx_summ {
	struct mpx_kcounters k_last;	/* at the last switch-out (exec, pcount) */
	struct mpx_kcounters k_exit;	/* at sched_process_exit */
	struct mpx_kcounters k_final;	/* at the final switch-out */
	__u64 bucket[MPX_SB_MAX];	/* closed time per bucket, ns */
	__u64 seg[MPX_SB_MAX];		/* ... of it since the last switch-out */
	__u64 start_ns, end_ns, exit_ns;
	__u64 state_ns;			/* the current state began */
	__u64 kstart;			/* task->start_time: tells a reused tid apart */
	__u64 steal_in;			/* the CPU's steal counter at the switch-in */
	__u64 pending_wake_ns;		/* woken while still running */
	__u64 moved_asleep_ns;		/* moved to another CPU in this sleep */
	__u64 new_ns, sleep_as_rd_ns;
	__u64 wake_charge_ns, unexec_ns, steal_ns, clk_in_ns, reconciled_ns;
	__u64 clk_out_ns, clk_out_preempt_ns;	/* rq->clock's lag at switch-outs */
	__u64 stale_in;			/* ... at the last switch-in */
	__u64 nvol, ninvol, nwakeups;
	__u64 nvcsw, nivcsw, blkio_count;	/* the kernel's, at exit */
	__u64 io_requests, io_bytes, io_queue_ns, io_device_ns;
	__u64 deferred_requests, deferred_bytes;
	__u64 min_flt, maj_flt, maxrss;	/* at exit; maxrss in pages */
	__u32 tid, pid, ppid, parent_tid;
	__s32 exit_code;
	__u32 state;			/* MPX_SS_* */
	__u32 flags;			/* MPX_SU_* */
	__u32 missed_in, missed_out, races, delayed_io_blocks;
	__u32 wake_from;		/* the sleep state a wakeup ended (MPX_SS_*) */
	char comm[MPX_COMM_LEN];
	char filename[MPX_FILENAME_LEN];
};

/* Key of a finished task in summ_done: unique even when tids are reused. */
struct mpx_summ_key {
	__u64 start_ns;
	__u32 tid;
	__u32 pad;
};

#endif /* MPX_SUMMARY_H */
