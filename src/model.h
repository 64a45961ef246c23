/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The task model: every thread of the traced tree and its lifetime split
 * into buckets that do not overlap and sum to the lifetime.
 *
 * Fed by model__apply() with events in timestamp order (evbuf__sort()).
 * Pure C: no libbpf, no kernel access; unit-tested from synthetic events.
 */
#ifndef MPX_MODEL_H
#define MPX_MODEL_H

#ifdef __BPF__
#error "model.h is user-space only"
#endif

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "waits.h"

enum mpx_bucket {
	MPX_B_ONCPU,		/* running on a CPU */
	MPX_B_RUNQ_WAKEUP,	/* woken (or new), waiting for a CPU */
	MPX_B_RUNQ_PREEMPT,	/* preempted while runnable, waiting to run again */
	MPX_B_SLEEP,		/* interruptible sleep (S, and T/t/P/I) */
	MPX_B_DSLEEP,		/* uninterruptible sleep (D), not in an IO wait */
	MPX_B_BLKIO,		/* uninterruptible IO wait (D with in_iowait) */
	MPX_B_UNACCOUNTED,	/* the events could not place it */
	MPX_B_MAX,
};

enum mpx_tstate {
	MPX_TS_UNKNOWN,
	MPX_TS_NEW,		/* forked, not yet woken: counts as runq_wakeup */
	MPX_TS_RUNNING,
	MPX_TS_RUNQ_WAKEUP,
	MPX_TS_RUNQ_PREEMPT,
	MPX_TS_SLEEP,
	MPX_TS_DSLEEP,
	MPX_TS_DEAD,
	MPX_TS_BLKIO,		/* D in io_schedule(): what delay accounting calls blkio */
};

#define MPX_MAX_COMMS 4

/* mpx_ival.flags */
#define MPX_IV_IOWAIT		0x01	/* blocked with in_iowait set */
#define MPX_IV_RECONCILED	0x02	/* state set from the kernel's counters */

/* One stretch of a task's life in one state, in tracepoint time. */
struct mpx_ival {
	uint64_t start, end;
	uint64_t waking_ns;	/* blocked, ended by a wakeup: sched_waking time */
	uint32_t waker_tid;	/* ... and who woke it (0: unknown) */
	int32_t reason;		/* blocked: kernel stack id at switch-out, else -1 */
	uint8_t state;		/* enum mpx_tstate */
	uint8_t flags;		/* MPX_IV_* */
	uint16_t pad;
	uint32_t pad2;
};

/* A block request of the traced tree (submitted by, or credited to, a task). */
struct mpx_req {
	uint64_t start, issue, complete;	/* issue 0: not seen */
	uint64_t sector;
	uint32_t bytes, dev, op;
	int32_t error;
	int32_t task;		/* submitter's task index, -1: not traced */
	int32_t credit;		/* deferred: the dirtier's task index, else -1 */
};

/* Memory of a process at one moment, in pages. */
struct mpx_rss_sample {
	uint64_t ts;
	uint32_t pid;
	uint32_t pad;
	uint64_t file, anon, shmem, swap;
};

struct mpx_task {
	uint32_t tid, pid, ppid, parent_tid;
	char comm[MPX_COMM_LEN];			/* the latest name */
	char comms[MPX_MAX_COMMS][MPX_COMM_LEN];	/* every name, oldest first */
	int ncomms;
	char filename[MPX_FILENAME_LEN];		/* last exec */
	char args[MPX_ARGS_LEN + 1];			/* its argv, spaces between */
	uint64_t start_ns, end_ns, exit_ns;
	uint64_t exec_ns;		/* last exec: its memory starts there */
	uint32_t nexecs;		/* execs seen (the root's first: the command's) */
	int32_t exit_code;				/* raw: status << 8 | signal */
	bool is_root, is_thread;
	bool exited;		/* sched_process_exit seen */
	bool dead;		/* final switch-out seen */
	bool ended;		/* lifetime closed */
	bool alive_at_end;	/* still alive when tracing stopped */

	enum mpx_tstate state;
	uint64_t state_ns;
	uint64_t bucket[MPX_B_MAX];
	struct mpx_ival *iv;		/* the whole life, in order */
	size_t niv, ivcap;
	size_t seg_iv;			/* first interval since the last switch-out */
	int32_t cur_reason;		/* attributes of the open interval */
	uint8_t cur_flags;
	uint64_t pending_wake_ns;	/* woken while still running (race) */
	uint64_t wake_rec_ns;		/* the woken wait began at this wakeup */
	uint32_t pending_waker_tid;
	uint64_t new_ns;		/* fork to first wakeup (in runq_wakeup) */

	uint64_t nswitch_vol, nswitch_invol, nwakeups;
	uint32_t last_waker_tid;

	/* The kernel's counters: at start, at each switch-out, at exit. */
	struct mpx_kcounters k_base, k_last, k_exit, k_final;
	bool have_base, have_last, have_exit, have_final;
	uint64_t nvcsw, nivcsw, blkio_count;

	/* Block IO: own requests and writeback of pages it dirtied. */
	uint32_t io_requests, deferred_requests;
	uint64_t io_bytes, deferred_bytes;
	uint64_t io_queue_ns, io_device_ns;	/* summed over own requests */

	/* Memory (process: the same mm for all threads), pages. */
	bool have_mem;
	uint64_t rss_first, rss_peak, rss_exit, hiwater;
	uint64_t peak_anon, peak_file, peak_shmem;	/* the split at rss_peak */
	bool have_exact;			/* --rss=exact: bytes, exact */
	uint64_t exact_peak, exact_anon, exact_file, exact_shmem, exact_last;
	uint64_t min_flt, maj_flt;		/* this thread's, at exit */
	uint64_t maxrss;			/* signal->maxrss at group exit */

	uint64_t lost_events;	/* its events the ring buffer could not take */

	/* Reconciliation with the kernel's counters (see account.c). */
	uint64_t reconciled_ns;	/* time moved between buckets */
	uint32_t missed_in;	/* switch-out with no switch-in seen */
	uint32_t missed_out;	/* switch-in while already running */
	uint32_t races;		/* wakeup seen before the switch-out */
	/*
	 * Runs seen whole, compared with the kernel's exec-time delta:
	 * wake_charge_ns: the kernel counted more (it charges the
	 * wake-to-switch latency to exec time); unexec_ns: it counted less
	 * (the task held the CPU but did not execute: hypervisor steal, IRQ
	 * time with IRQ_TIME_ACCOUNTING).
	 */
	uint64_t wake_charge_ns;
	uint64_t unexec_ns;
	uint64_t steal_in;		/* the CPU's steal counter at the switch-in */
	/*
	 * The scheduler's clock lag at this task's switches (rq->clock behind
	 * real time after a skipped update), summed over runs seen whole:
	 * clk_in at switch-ins (charged to exec, not run_delay), clk_out at
	 * switch-outs (left out of exec; counted as run_delay when the task
	 * was preempted, clk_out_preempt); steal_ns, hypervisor steal.
	 */
	uint64_t stale_in;
	bool have_stale_in;
	uint64_t clk_in_ns, clk_out_ns, clk_out_preempt_ns, steal_ns;
	/* Sleep the kernel counts as run_delay: moved while asleep (delayed
	 * dequeue re-queues it), run_delay runs from the move to the wakeup. */
	uint64_t moved_asleep_ns;	/* when, in the current sleep; 0: not */
	uint64_t sleep_as_rd_ns;
	/* IO waits begun with a delayed dequeue: the wakeup of a still-queued
	 * task skips delayacct_blkio_end(), so the kernel's blkio figure runs
	 * on past it and is no oracle for this task. */
	uint32_t delayed_io_blocks;
};

struct mpx_model {
	struct mpx_task *tasks;
	size_t ntasks, cap;
	uint32_t *hkey;		/* tid -> index + 1 of its newest task */
	uint32_t *hval;
	size_t hcap, hused;
	struct mpx_reasons reasons;	/* stack id -> wait reason */
	uint32_t root_tid;
	uint64_t t0;		/* tracing started (workload released) */
	uint64_t first_ns, last_ns;
	struct mpx_lost {
		uint32_t tid;
		uint64_t n;
	} *lost;			/* events lost per tid (kernel side) */
	size_t nlost;
	struct mpx_req *reqs;
	size_t nreqs, reqcap;
	struct mpx_rss_sample *rss;
	size_t nrss, rsscap;
	struct mpx_clk_pt {
		uint64_t t;		/* a switch's event time */
		int64_t off;		/* its ts - rq_clock */
	} *clk_pt;			/* each CPU's lower hull of them */
	size_t *clk_at;			/* CPU c's: clk_pt[clk_at[c], clk_at[c + 1]) */
	size_t nclk;			/* CPUs in clk_at */
	uint64_t nevents;
	uint64_t nomem;		/* intervals lost to allocation failure */
	uint64_t orphan_events;	/* events for tids never seen forked */
	uint64_t stale_events;	/* events older than the task's state */
	/* sched_wakeup against the enqueue time (--wakeup-events): woken
	 * waits compared, sum and largest of (enqueue - wakeup) */
	uint64_t xwake_n, xwake_before;	/* ... and how many enqueued at most
					 * 1 us after their sched_wakeup */
	int64_t xwake_sum_ns, xwake_max_ns;
	bool summary;		/* --summary: totals only, no intervals, requests
				 * or memory samples (see summary.h) */
};

struct evbuf;

void model__init(struct mpx_model *m);
void model__free(struct mpx_model *m);

/*
 * The workload's first task, tracked before it was released.  k (may be
 * NULL) is its schedstat at that moment, the base for the self-check.
 */
struct mpx_task *model__seed_root(struct mpx_model *m, uint32_t tid, uint32_t pid,
				  uint32_t ppid, const char *comm, uint64_t ts,
				  const struct mpx_kcounters *k);
/* Apply one event; events must come in timestamp order. */
void model__apply(struct mpx_model *m, const struct mpx_hdr *h);
/* Index of t's first interval ending at or after ts (t->niv if none): a
 * binary search, intervals being in time order and disjoint.  The interval
 * holding ts (start < ts <= end), if any, is that one. */
size_t model__iv_search(const struct mpx_task *t, uint64_t ts);
/* Exact RSS of process pid (kmem:rss_stat), bytes: peak, its split, last. */
int model__set_exact_rss(struct mpx_model *m, uint32_t pid, uint64_t peak, uint64_t anon,
			 uint64_t file, uint64_t shmem, uint64_t last);
/* Note n events lost for tid (applied to its tasks by model__finish). */
int model__add_lost(struct mpx_model *m, uint32_t tid, uint64_t n);
/*
 * Calibrate each CPU's scheduler clock against event time from the switch
 * records of eb (in time order), before model__apply(): the lower hull of
 * each CPU's (ts, ts - rq_clock).  A fresh clock's switches lie on the line
 * the two clocks drift along (about 0.5 us a second here), a stale one's
 * above it: the hull follows the drift and bridges stretches of stale ones.
 */
int model__calibrate_clocks(struct mpx_model *m, const struct evbuf *eb);
/* A task record for tid started at ts, unfed (summary mode fills it). */
struct mpx_task *model__add_task(struct mpx_model *m, uint32_t tid, uint64_t ts);
/* Close every lifetime still open at end_ns. */
void model__finish(struct mpx_model *m, uint64_t end_ns);

struct mpx_task *model__find(struct mpx_model *m, uint32_t tid);
const char *mpx_bucket_name(enum mpx_bucket b);
enum mpx_bucket mpx_state_bucket(enum mpx_tstate s);
/* Last task end minus t0: the traced wall time. */
uint64_t model__wall_ns(const struct mpx_model *m);

#endif /* MPX_MODEL_H */
