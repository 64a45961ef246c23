/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one record format of mpxtrace.
 *
 * Every record the kernel side writes into the ring buffer starts with
 * struct mpx_hdr and is one of the fixed-size structs below, selected by
 * hdr.type.  The same bytes are what a trace file stores, so the layout is
 * versioned (MPX_EVENTS_VERSION) and only grows at the end of a record.
 *
 * Included by BPF (after vmlinux.h) and by user space (after <linux/types.h>),
 * so only __u8..__u64 / __s* types, largest fields first.
 */
#ifndef MPX_EVENTS_H
#define MPX_EVENTS_H

#define MPX_EVENTS_VERSION	6
#define MPX_COMM_LEN		16
#define MPX_FILENAME_LEN	64
#define MPX_ARGS_LEN		128	/* start of the exec'd argv, NUL-separated */
#define MPX_STACK_DEPTH		24	/* kernel frames kept per blocking switch */
#define MPX_BATCH_BYTES		8192	/* most record bytes in one MPX_EV_BATCH */

enum mpx_ev_type {
	MPX_EV_SWITCH = 1,	/* sched_switch with prev and/or next tracked */
	MPX_EV_WAKEUP = 2,	/* sched_wakeup_new of a tracked task (a woken task's
				 * switch-in says when it was queued: MPX_SW_QUEUED) */
	MPX_EV_FORK = 3,	/* sched_process_fork: new thread or process */
	MPX_EV_EXEC = 4,	/* sched_process_exec */
	MPX_EV_EXIT = 5,	/* sched_process_exit: one per thread */
	MPX_EV_COMM = 6,	/* task_rename (prctl PR_SET_NAME, pthread_setname) */
	MPX_EV_BLOCK = 7,	/* a block request submitted for a tracked task, done */
	MPX_EV_RSS = 8,		/* a process's memory changed (sampled at switch-out) */
	MPX_EV_MIGRATE = 9,	/* a tracked task moved to another CPU while asleep */
	MPX_EV_PY = 10,		/* a Python USDT probe fired (struct mpx_py) */
	MPX_EV_GIL = 11,	/* a Python thread waited to take the GIL */
	MPX_EV_TYPE_MAX,
	/* In the ring buffer only: records of one CPU, back to back. */
	MPX_EV_BATCH = 0x100,
};

/* Task state bits as the kernel passes them in sched_switch's prev_state. */
#define MPX_TASK_RUNNING		0x0000
#define MPX_TASK_INTERRUPTIBLE		0x0001
#define MPX_TASK_UNINTERRUPTIBLE	0x0002
#define MPX_TASK_STOPPED		0x0004
#define MPX_TASK_TRACED			0x0008
#define MPX_EXIT_DEAD			0x0010
#define MPX_EXIT_ZOMBIE			0x0020
#define MPX_TASK_PARKED			0x0040
#define MPX_TASK_DEAD			0x0080
#define MPX_TASK_WAKEKILL		0x0100
#define MPX_TASK_WAKING			0x0200
#define MPX_TASK_NOLOAD			0x0400
/* Set by the BPF side when prev_state was re-read from the task (< 5.18). */
#define MPX_STATE_REREAD		0x80000000u

/* mpx_switch.flags */
#define MPX_SW_PREEMPT		0x01	/* kernel preemption (SM_PREEMPT) */
#define MPX_SW_IOWAIT		0x02	/* prev->in_iowait at switch-out */
#define MPX_SW_DELAYED		0x04	/* prev stays queued: EEVDF delayed dequeue */
#define MPX_SW_QUEUED		0x08	/* next_queued and next_run_delay are set */
#define MPX_SW_PREV_WAKER	0x10	/* next is not tracked: next_waker_tid and
					 * next_waking_ts are prev's last sched_waking
					 * (names the waker of a switch-in never seen) */

/* mpx_wakeup.flags */
#define MPX_WK_NEW		0x01	/* sched_wakeup_new (first wakeup after fork) */
#define MPX_WK_WAKER_KNOWN	0x02	/* waker_tid came from sched_waking */

/* mpx_block.flags */
#define MPX_BLK_DEFERRED	0x01	/* writeback of pages a tracked task dirtied */
#define MPX_BLK_ISSUED		0x02	/* issue_ns is valid */

/* mpx_fork.flags */
#define MPX_FORK_THREAD		0x01	/* child shares the parent's thread group */

struct mpx_hdr {
	__u64 ts;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u16 type;		/* enum mpx_ev_type */
	__u16 cpu;
	__u32 size;		/* whole record, header included */
};

/*
 * Kernel's own cumulative counters of one task, read where they are exact:
 * at a switch-out (update_curr() ran in put_prev_task(), sched_info at the
 * previous arrival) or at exit.
 */
struct mpx_kcounters {
	__u64 sum_exec_runtime;	/* se.sum_exec_runtime, ns */
	__u64 run_delay;	/* sched_info.run_delay, ns */
	__u64 pcount;		/* sched_info.pcount, arrivals on a CPU */
	__u64 blkio_delay;	/* delays->blkio_delay, ns (0 without delayacct) */
};

struct mpx_switch {
	struct mpx_hdr hdr;
	struct mpx_kcounters prev_k;	/* valid when prev_tid != 0; blkio_delay
					 * at the final switch (TASK_DEAD) only */
	__u64 steal;		/* this CPU's rq->prev_steal_time: steal so far, 0 if none */
	__u64 rq_clock;		/* this CPU's rq->clock, as the switch uses it (may be stale) */
	__u32 prev_tid;		/* 0: prev is not tracked */
	__u32 prev_pid;
	__u32 next_tid;		/* 0: next is not tracked */
	__u32 next_pid;
	__u32 prev_state;	/* raw prev_state, see MPX_TASK_* */
	__u32 flags;		/* MPX_SW_* */
	__s32 stack_id;		/* prev's kernel stack when it blocks, else < 0 */
	__u32 next_waker_tid;	/* current at next's last sched_waking, 0: none */
	/*
	 * When next was put on this run queue and what it had waited before
	 * (MPX_SW_QUEUED): its sched_info.last_queued (rq clock, as rq_clock
	 * above) and sched_info.run_delay, read before the kernel's arrival
	 * accounting.  A woken task's wait began there: no sched_wakeup
	 * record is needed for it.
	 */
	__u64 next_queued;
	__u64 next_run_delay;
	__u64 next_waking_ts;	/* next's last sched_waking time, 0: none */
};

struct mpx_wakeup {
	struct mpx_hdr hdr;
	__u64 waking_ts;	/* sched_waking time, 0 when unknown */
	__u32 tid;
	__u32 pid;
	__u32 waker_tid;	/* current at sched_waking (may be an IRQ's victim) */
	__u32 waker_pid;
	__u32 target_cpu;
	__u32 flags;		/* MPX_WK_* */
};

struct mpx_fork {
	struct mpx_hdr hdr;
	__u32 parent_tid;
	__u32 parent_pid;
	__u32 child_tid;
	__u32 child_pid;
	__u32 flags;		/* MPX_FORK_* */
	__u32 pad;
	char comm[MPX_COMM_LEN];
};

struct mpx_exec {
	struct mpx_hdr hdr;
	__u32 tid;
	__u32 pid;
	__u32 old_tid;		/* != tid: a non-leader thread exec'd */
	__u32 args_len;		/* bytes of args used */
	char comm[MPX_COMM_LEN];
	char filename[MPX_FILENAME_LEN];
	char args[MPX_ARGS_LEN];
};

/* Memory of a task's mm, in pages (mm->rss_stat[].count: approximate by up
 * to a per-CPU batch per counter) and faults. */
struct mpx_mem {
	__u64 file, anon, swap, shmem;	/* MM_FILEPAGES, MM_ANONPAGES, ... */
	__u64 hiwater;			/* mm->hiwater_rss (lazily updated) */
	__u64 min_flt, maj_flt;		/* this thread's faults */
};

struct mpx_exit {
	struct mpx_hdr hdr;
	struct mpx_kcounters k;
	struct mpx_mem mem;	/* valid when has_mm (6.16+: before exit_mm()) */
	__u64 nvcsw;
	__u64 nivcsw;
	__u64 blkio_count;
	__u64 maxrss;		/* signal->maxrss, pages (group_dead only) */
	__u32 tid;
	__u32 pid;
	__s32 exit_code;	/* task->exit_code: status << 8 | signal */
	__u32 group_dead;
	__u32 has_mm;
	__u32 pad;
};

/* A memory sample of a process, taken at a switch-out when it changed. */
struct mpx_rss {
	struct mpx_hdr hdr;
	struct mpx_mem mem;
	__u32 tid;
	__u32 pid;
};

/*
 * A sleeping task moved between CPUs.  With EEVDF's delayed dequeue a task
 * that blocked can stay queued; moving it re-queues it, and the kernel's
 * run_delay then counts from here, through the rest of its sleep.
 */
struct mpx_migrate {
	struct mpx_hdr hdr;
	__u32 tid;
	__u32 pid;
	__u32 dest_cpu;
	__u32 pad;
};

/* One block request, at its completion (the header's ts). */
struct mpx_block {
	struct mpx_hdr hdr;
	__u64 start_ns;		/* block_io_start / rq_insert: submitter context */
	__u64 issue_ns;		/* block_rq_issue: to the driver */
	__u64 sector;
	__u32 bytes;
	__u32 dev;		/* kernel dev_t: major << 20 | minor */
	__u32 tid, pid;		/* submitter, when tracked */
	__u32 credit_tid, credit_pid;	/* deferred: who dirtied the pages */
	__u32 op;		/* rq->cmd_flags */
	__s32 error;
	__u32 flags;		/* MPX_BLK_* */
	__u32 pad;
};

struct mpx_comm {
	struct mpx_hdr hdr;
	__u32 tid;
	__u32 pid;
	char comm[MPX_COMM_LEN];
};

#define MPX_PYNAME_LEN		64	/* module, audit event or function name */

/* mpx_py.kind */
enum mpx_py_kind {
	MPX_PY_IMPORT_START = 1,	/* import__find__load__start: name = module */
	MPX_PY_IMPORT_DONE = 2,		/* import__find__load__done: val = found */
	MPX_PY_GC_START = 3,		/* gc__start: val = generation */
	MPX_PY_GC_DONE = 4,		/* gc__done: arg = objects collected */
	MPX_PY_AUDIT = 5,		/* audit: name = event ("os.fork", "open", ...) */
	MPX_PY_FUNC_ENTRY = 6,		/* function__entry: name = function, val = line */
	MPX_PY_FUNC_RETURN = 7,		/* function__return */
	MPX_PY_PROBES = 8,		/* written by user space at the start of a run:
					 * arg = MPX_PYP_* attached, val = MPX_PYP_*
					 * wanted but unavailable, name = binary */
};

/*
 * The cookies of the GIL probes in the Python probes' uprobe_multi link,
 * beside the USDT probes' MPX_PY_* kinds (set by user space, read by the
 * one BPF program).
 */
#define PYM_GIL_ENTER		100	/* take_gil / PyEval_RestoreThread entry */
#define PYM_GIL_WAIT		101	/* take_gil's call to pthread_cond_timedwait */
#define PYM_GIL_WOKEN		102	/* ... and its return */
#define PYM_GIL_PASS		103	/* that return alone (see gil_pass) */

/* Python probe sets (mpx_py.arg of MPX_PY_PROBES). */
#define MPX_PYP_IMPORT		0x01
#define MPX_PYP_GC		0x02
#define MPX_PYP_AUDIT		0x04
#define MPX_PYP_FUNC		0x08
#define MPX_PYP_GIL_TAKE	0x10	/* uprobes on take_gil: every GIL wait */
#define MPX_PYP_GIL_RESTORE	0x20	/* PyEval_RestoreThread: after blocking calls only */
#define MPX_PYP_GIL_COND	0x40	/* with GIL_TAKE: probed at take_gil's wait on the
					 * GIL's condition variable (contended takes only) */

/* One Python USDT probe hit of a tracked task. */
struct mpx_py {
	struct mpx_hdr hdr;
	__u64 arg;		/* see enum mpx_py_kind */
	__u32 tid;
	__u32 pid;
	__u32 kind;		/* enum mpx_py_kind */
	__s32 val;
	char name[MPX_PYNAME_LEN];
};

/* A GIL wait of a tracked thread, at its end (the header's ts). */
struct mpx_gil {
	struct mpx_hdr hdr;
	__u64 start_ns;		/* entry of take_gil / PyEval_RestoreThread, or its
				 * first wait on the GIL's condition variable */
	__u32 tid;
	__u32 pid;
};

/* Indexes of the per-CPU drop counters (map "drops"), and one count of
 * work done (not a loss). */
enum mpx_drop {
	MPX_DROP_RINGBUF = 0,	/* bpf_ringbuf_reserve() failed: event lost */
	MPX_DROP_TRACK_FULL,	/* tracked-task map full: a task was not tracked */
	MPX_DROP_STACK,		/* stack map full or walk failed: wait reason lost */
	MPX_DROP_REQ_FULL,	/* request map full: a block request not followed */
	MPX_DROP_SUMM_LOST,	/* --summary: a task's record did not fit its map */
	MPX_CNT_STACK_WALK,	/* kernel stacks walked at blocking switch-outs */
	MPX_DROP_MAX,
};

#endif /* MPX_EVENTS_H */
