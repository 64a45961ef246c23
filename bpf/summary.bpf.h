/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Summary mode: the accounting of src/account.c done in place, per task,
 * at the same hooks; nothing goes through the ring buffer.  Included by
 * mpxtrace.bpf.c only, after its maps and helpers.
 *
 * The state machine is the event mode's: a task is in one state at a time
 * and each hook first charges the time since the last change to the
 * bucket of the state it leaves.  Reconciliation with the kernel's
 * counters happens at every switch-out, on the current segment's per
 * bucket totals (seg[]) where the event mode walks intervals.
 *
 * A task's record lives in summ while it runs; at its final switch-out (or
 * when it is freed without one) it moves to summ_done under a key of its
 * own, which user space drains every poll.  A record that does not fit is
 * counted (MPX_DROP_SUMM_LOST) and reported.
 */
#ifndef MPX_SUMMARY_BPF_H
#define MPX_SUMMARY_BPF_H

#include "summary.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mpx_summ);
} summ SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mpx_summ_key);
	__type(value, struct mpx_summ);
} summ_done SEC(".maps");

/*
 * How far this CPU's rq->clock lagged the event's time at a switch: the
 * kernel's counters are stamped with the rq clock of __schedule()'s start,
 * the buckets with the tracepoint's time.  The two clocks' offset is this
 * CPU's lowest (ts - rq->clock) seen, allowed to rise at the clocks' largest
 * drift since (the event mode finds the same lower hull in user space, over
 * the whole run).
 */
#define MPX_SUMM_DRIFT_SHIFT 15	/* 1/32768 of the time since: ~30 ppm */

struct summ_clk {
	__s64 off;	/* the lower envelope's offset ... */
	__u64 ts;	/* ... at its last low point */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct summ_clk);
} summ_clk SEC(".maps");

/* The lag at ts of rq_clock, or -1 when unknown. */
static __always_inline __s64 summ_lag(__u64 ts, __u64 rq_clock)
{
	__u32 zero = 0;
	struct summ_clk *c = bpf_map_lookup_elem(&summ_clk, &zero);
	__s64 off = (__s64)(ts - rq_clock), reach;

	if (!c || !rq_clock)
		return -1;
	reach = c->off + (__s64)((ts - c->ts) >> MPX_SUMM_DRIFT_SHIFT);
	if (!c->ts || off <= reach) {
		c->off = off;
		c->ts = ts;
		return 0;
	}
	return off - reach;
}

/* A zeroed record to create entries from (too big for the stack). */
static struct mpx_summ summ_zero;

/* State -> bucket as a table: one verifier path, not one per state. */
static const volatile __u8 summ_buckets[16] = {
	[MPX_SS_UNKNOWN] = MPX_SB_UNACCOUNTED,
	[MPX_SS_NEW] = MPX_SB_RUNQ_WAKEUP,
	[MPX_SS_RUNNING] = MPX_SB_ONCPU,
	[MPX_SS_RUNQ_WAKEUP] = MPX_SB_RUNQ_WAKEUP,
	[MPX_SS_RUNQ_PREEMPT] = MPX_SB_RUNQ_PREEMPT,
	[MPX_SS_SLEEP] = MPX_SB_SLEEP,
	[MPX_SS_DSLEEP] = MPX_SB_DSLEEP,
	[MPX_SS_DEAD] = MPX_SB_UNACCOUNTED,
	[MPX_SS_BLKIO] = MPX_SB_BLKIO,
	[9 ... 15] = MPX_SB_UNACCOUNTED,
};

static __always_inline __u32 summ_bucket(__u32 state)
{
	return summ_buckets[state & 15];
}

/* Charge the time since the last state change to the current state. */
static __always_inline void summ_advance(struct mpx_summ *s, __u64 ts)
{
	__u32 b;
	__u64 d;

	if (ts <= s->state_ns)
		return;		/* another CPU got here first: nothing to charge */
	d = ts - s->state_ns;
	b = summ_bucket(s->state);
	if (b < MPX_SB_MAX) {
		s->bucket[b] += d;
		s->seg[b] += d;
	}
	if (s->state == MPX_SS_NEW)
		s->new_ns += d;
	s->state_ns = ts;
}

/* Move up to d ns of this segment from bucket `from` to `to`; the ns moved. */
static __always_inline __u64 summ_shift(struct mpx_summ *s, __u32 from, __u32 to, __u64 d)
{
	if (from >= MPX_SB_MAX || to >= MPX_SB_MAX || from == to)
		return 0;
	if (d > s->seg[from])
		d = s->seg[from];
	s->bucket[from] -= d;
	s->seg[from] -= d;
	s->bucket[to] += d;
	s->seg[to] += d;
	return d;
}

/*
 * A woken task switches in: its wait began when the kernel queued it, not
 * at sched_wakeup (which comes after), as in the event mode: what
 * sched_info_arrive() will add to run_delay (rq->clock - last_queued, in
 * the run queue's clock), what it waited on other CPUs before a move, and
 * how far that clock lags event time.  Without it the self-check failed
 * on a ping-pong (run-queue time off by 10-30% of the kernel's).
 */
static __always_inline void summ_requeue(struct mpx_summ *s, __u64 wait)
{
	__u32 sleep = summ_bucket(s->wake_from);
	__u64 seen = s->seg[MPX_SB_RUNQ_WAKEUP];

	if (wait > seen)
		summ_shift(s, sleep, MPX_SB_RUNQ_WAKEUP, wait - seen);
	else
		summ_shift(s, MPX_SB_RUNQ_WAKEUP, sleep, seen - wait);
}

/* Move up to need ns of this segment from bucket `from` to `to`. */
static __always_inline __u64 summ_move(struct mpx_summ *s, __u32 from, __u32 to, __u64 need)
{
	__u64 d = summ_shift(s, from, to, need);

	/* A repair of what the events missed (summ_shift alone: where a wait
	 * began). */
	s->reconciled_ns += d;
	return need - d;
}

/*
 * The kernel's exec time since the last switch-out against the segment's
 * on-CPU time (account.c reconcile(), with the counters' own charge where
 * the event mode may use the scheduler clock).  last: the bucket the task
 * was in just before this switch-out, the latest time of the segment.
 */
static __always_inline void summ_reconcile(struct mpx_summ *s, __u64 exec, __u64 pcount,
					   __u64 rd, bool clean, __u64 steal, __u32 last,
					   __s64 lag_out, bool preempted)
{
	__u64 dexec, dpc, on = s->seg[MPX_SB_ONCPU], st = 0, need, seen;

	if (!(s->flags & MPX_SU_LAST) || exec < s->k_last.sum_exec_runtime ||
	    pcount < s->k_last.pcount)
		goto out;
	dexec = exec - s->k_last.sum_exec_runtime;
	dpc = pcount - s->k_last.pcount;
	if (clean && dpc == 1) {
		if (steal && s->steal_in && steal >= s->steal_in && steal - s->steal_in < on)
			st = steal - s->steal_in;
		if ((s->flags & MPX_SU_STALE_IN) && lag_out >= 0) {
			/* The clock lags at both ends are known: the kernel's
			 * exec is on + lag_in - lag_out - steal, independently
			 * of the counters (the self-check compares); a switch-out
			 * that leaves the task runnable starts its run_delay on
			 * the lagging clock. */
			s->clk_in_ns += s->stale_in;
			s->clk_out_ns += (__u64)lag_out;
			if (preempted)
				s->clk_out_preempt_ns += (__u64)lag_out;
			s->steal_ns += st;
			s->wake_charge_ns += s->stale_in;
			s->unexec_ns += st + (__u64)lag_out;
		} else if (dexec + st >= on) {
			s->wake_charge_ns += dexec + st - on;
			s->clk_in_ns += dexec + st - on;
			s->unexec_ns += st;
			s->steal_ns += st;
		} else {
			s->unexec_ns += on - dexec;
			s->steal_ns += on - dexec;
		}
	} else if (dexec > on) {
		/* A switch-in was missed: the task ran at the end of the
		 * segment, in time we had in another state. */
		need = dexec - on;
		need = summ_move(s, last, MPX_SB_ONCPU, need);
		need = summ_move(s, MPX_SB_RUNQ_WAKEUP, MPX_SB_ONCPU, need);
		need = summ_move(s, MPX_SB_RUNQ_PREEMPT, MPX_SB_ONCPU, need);
		need = summ_move(s, MPX_SB_UNACCOUNTED, MPX_SB_ONCPU, need);
		need = summ_move(s, MPX_SB_SLEEP, MPX_SB_ONCPU, need);
		need = summ_move(s, MPX_SB_DSLEEP, MPX_SB_ONCPU, need);
		summ_move(s, MPX_SB_BLKIO, MPX_SB_ONCPU, need);
		/* It was woken, and waited to run as long as run_delay grew
		 * in this stretch (account.c missed_wake()): what of that we
		 * had as sleep was waiting. */
		seen = s->seg[MPX_SB_RUNQ_WAKEUP] + s->seg[MPX_SB_RUNQ_PREEMPT];
		if (rd > s->k_last.run_delay && rd - s->k_last.run_delay > seen) {
			need = rd - s->k_last.run_delay - seen;
			need = summ_move(s, MPX_SB_SLEEP, MPX_SB_RUNQ_WAKEUP, need);
			need = summ_move(s, MPX_SB_DSLEEP, MPX_SB_RUNQ_WAKEUP, need);
			summ_move(s, MPX_SB_BLKIO, MPX_SB_RUNQ_WAKEUP, need);
		}
	} else if (dexec < on) {
		/* A switch-out and switch-in pair was lost. */
		summ_move(s, MPX_SB_ONCPU, MPX_SB_UNACCOUNTED, on - dexec);
	}
out:
	s->k_last.sum_exec_runtime = exec;
	s->k_last.pcount = pcount;
	/* What it waits from here on other CPUs before a move goes into
	 * run_delay at the move, not at its arrival (summ_requeue). */
	s->k_last.run_delay = rd;
	s->flags |= MPX_SU_LAST;
	__builtin_memset(s->seg, 0, sizeof(s->seg));
}

/*
 * Park a finished record in summ_done and forget it in summ.  When
 * summ_done is full it stays in summ, read at the end, unless its tid is
 * reused first (then summ_evict() counts it lost).
 */
static __always_inline void summ_retire(struct mpx_summ *s, __u32 tid)
{
	struct mpx_summ_key k = { .start_ns = s->start_ns, .tid = tid };

	if (!bpf_map_update_elem(&summ_done, &k, s, BPF_NOEXIST))
		bpf_map_delete_elem(&summ, &tid);
}

/* Make room under tid for a new task: retire what is there, or lose it. */
static __always_inline void summ_evict(__u32 tid)
{
	struct mpx_summ *s = bpf_map_lookup_elem(&summ, &tid);
	struct mpx_summ_key k;

	if (!s)
		return;
	s->flags |= MPX_SU_FREED;
	if (!s->end_ns)
		s->end_ns = bpf_ktime_get_ns();
	k.start_ns = s->start_ns;
	k.tid = tid;
	k.pad = 0;
	if (bpf_map_update_elem(&summ_done, &k, s, BPF_NOEXIST))
		count_drop(MPX_DROP_SUMM_LOST);
	bpf_map_delete_elem(&summ, &tid);
}

static __always_inline __u32 summ_classify(__u32 raw, bool iowait)
{
	__u32 st = raw & ~MPX_STATE_REREAD;

	if (st & MPX_TASK_DEAD)
		return MPX_SS_DEAD;
	if (st & MPX_TASK_WAKING)
		return MPX_SS_SLEEP;
	if ((st & 0xff) == 0)
		return MPX_SS_RUNQ_PREEMPT;
	if (iowait)
		return MPX_SS_BLKIO;
	if (st & MPX_TASK_UNINTERRUPTIBLE)
		return (st & MPX_TASK_NOLOAD) ? MPX_SS_SLEEP : MPX_SS_DSLEEP;
	return MPX_SS_SLEEP;
}

#define MPX_SUMM_RACE_WINDOW_NS 10000

static __always_inline void summ_switch_out(struct mpx_summ *s, struct task_struct *prev,
					    __u32 tid, __u32 state, __u64 ts, __u64 steal,
					    __s64 lag, bool btf)
{
	__u32 last = summ_bucket(s->state), ns;
	bool clean, iowait = false;

	summ_advance(s, ts);
	clean = s->state == MPX_SS_RUNNING;
	if (!clean)
		s->missed_in++;
	/* Before the branches on the next state: the verifier walks the
	 * reconciliation once per way into it, not once per next state. */
	summ_reconcile(s, MPX_READ(btf, prev, se.sum_exec_runtime),
		       MPX_READ(btf, prev, sched_info.pcount),
		       MPX_READ(btf, prev, sched_info.run_delay), clean, steal, last, lag,
		       (state & 0xff) == 0 && !(state & MPX_TASK_DEAD));
	if (state & 0xff)
		iowait = read_iowait(prev, btf);
	ns = summ_classify(state, iowait);
	if (ns == MPX_SS_DEAD) {
		read_kcounters(prev, &s->k_final, btf, true);
		s->flags |= MPX_SU_DEAD;
		s->end_ns = s->state_ns > ts ? s->state_ns : ts;
		s->state = MPX_SS_DEAD;
		summ_retire(s, tid);
		return;
	}
	if (ns == MPX_SS_RUNQ_PREEMPT) {
		s->ninvol++;
	} else {
		s->nvol++;
		if (s->pending_wake_ns && ts - s->pending_wake_ns <= MPX_SUMM_RACE_WINDOW_NS) {
			s->races++;
			s->nwakeups++;
			ns = MPX_SS_RUNQ_WAKEUP;
			/* Blocked until the kernel queued it again (a delayed
			 * dequeue's requeue): summ_requeue gives that back. */
			s->wake_from = MPX_SS_SLEEP;
		}
	}
	s->pending_wake_ns = 0;
	if (ns == MPX_SS_BLKIO && get_sched_delayed(prev, btf))
		s->delayed_io_blocks++;
	s->state = ns;
}

static __always_inline int summ_switch(struct task_struct *prev, struct task_struct *next,
				       __u32 prev_tid, __u32 next_tid, __u64 *ctx, bool btf)
{
	struct mpx_summ *ps = NULL, *ns = NULL;
	bool have_p = false, have_n = false;
	__u64 ts, steal = 0, rq_clock = 0, *rqc;
	__u32 state, zero = 0;
	__s64 lag;

	/* Flags, not the pointers: the verifier refuses ORing two maybe-NULL
	 * map values. */
	if (prev_tid && (ps = bpf_map_lookup_elem(&summ, &prev_tid)))
		have_p = true;
	if (next_tid && (ns = bpf_map_lookup_elem(&summ, &next_tid)))
		have_n = true;
	if (!have_p && !have_n)
		return 0;
	/* prev is current: its run queue is this CPU's (its clock is the
	 * kernel's counters' time at this switch, its steal counter what
	 * the self-check takes out of exec time). */
	if (btf) {
		get_rq_clocks_btf(prev, &steal, &rq_clock);
		asm volatile("" : "+r"(steal), "+r"(rq_clock));
	} else if ((rqc = bpf_map_lookup_elem(&rq_cache, &zero))) {
		get_rq_clocks(have_p ? (void *)prev : (void *)next, &steal, &rq_clock, rqc);
	}
	ts = bpf_ktime_get_ns();
	lag = summ_lag(ts, rq_clock);
	if (have_p) {
		if (has_prev_state_arg)
			state = (__u32)ctx[3];
		else
			state = get_task_state(prev, btf) | MPX_STATE_REREAD;
		if (ps->start_ns && !(ps->flags & MPX_SU_DEAD))
			summ_switch_out(ps, prev, prev_tid, state, ts, steal, lag, btf);
		/* The final switch of a dead task: it will never run again. */
		if ((state & MPX_TASK_DEAD) && !(state & MPX_TASK_WAKING))
			bpf_map_delete_elem(&tracked, &prev_tid);
	}
	if (ns && ns->start_ns && !(ns->flags & MPX_SU_DEAD)) {
		if (ns->state == MPX_SS_RUNNING)
			ns->missed_out++;
		summ_advance(ns, ts);
		if (ns->state == MPX_SS_RUNQ_WAKEUP && ns->wake_from && lag >= 0) {
			__u64 q = MPX_READ(btf, next, sched_info.last_queued);
			__u64 rd = MPX_READ(btf, next, sched_info.run_delay), moved = 0;

			if (rd > ns->k_last.run_delay && ns->k_last.run_delay)
				moved = rd - ns->k_last.run_delay;
			/* rq->clock may not have moved since the enqueue (a
			 * wakeup that preempts skips the next clock update). */
			if (q)
				summ_requeue(ns, (rq_clock > q ? rq_clock - q : 0) + moved +
						 (__u64)lag);
		}
		ns->wake_from = 0;
		ns->state = MPX_SS_RUNNING;
		ns->steal_in = steal;
		ns->stale_in = lag >= 0 ? (__u64)lag : 0;
		if (lag >= 0)
			ns->flags |= MPX_SU_STALE_IN;
		else
			ns->flags &= ~MPX_SU_STALE_IN;
	}
	return 0;
}

static __always_inline int summ_wakeup(struct task_struct *p, __u32 tid)
{
	struct mpx_summ *s = bpf_map_lookup_elem(&summ, &tid);
	__u64 ts;

	if (!s || !s->start_ns || (s->flags & MPX_SU_DEAD))
		return 0;
	ts = bpf_ktime_get_ns();
	switch (s->state) {
	case MPX_SS_SLEEP:
	case MPX_SS_DSLEEP:
	case MPX_SS_BLKIO:
	case MPX_SS_NEW:
	case MPX_SS_UNKNOWN:
		if (s->moved_asleep_ns && s->moved_asleep_ns < ts)
			s->sleep_as_rd_ns += ts - s->moved_asleep_ns;
		s->moved_asleep_ns = 0;
		summ_advance(s, ts);
		/* Its wait may have begun in that sleep (summ_requeue). */
		s->wake_from = s->state == MPX_SS_SLEEP || s->state == MPX_SS_DSLEEP ||
			       s->state == MPX_SS_BLKIO ? s->state : 0;
		s->state = MPX_SS_RUNQ_WAKEUP;
		s->nwakeups++;
		break;
	case MPX_SS_RUNNING:
		s->pending_wake_ns = ts;
		break;
	default:
		break;
	}
	return 0;
}

static __always_inline void summ_migrate(__u32 tid)
{
	struct mpx_summ *s = bpf_map_lookup_elem(&summ, &tid);

	if (s && !s->moved_asleep_ns && (s->state == MPX_SS_SLEEP ||
					 s->state == MPX_SS_DSLEEP || s->state == MPX_SS_BLKIO))
		s->moved_asleep_ns = bpf_ktime_get_ns();
}

/* A new task of the tree: its record starts here (NEW until woken). */
static __always_inline void summ_fork(struct task_struct *parent, struct task_struct *child,
				      __u32 ptid, __u32 ppid, __u32 ctid, __u32 cpid)
{
	struct mpx_summ *ps, *s;
	__u64 ts = bpf_ktime_get_ns();
	__u32 pppid = 0;

	/* A record still under this tid: a task whose end we never saw. */
	summ_evict(ctid);
	ps = bpf_map_lookup_elem(&summ, &ptid);
	if (ps)
		pppid = ps->ppid;
	if (bpf_map_update_elem(&summ, &ctid, &summ_zero, BPF_NOEXIST)) {
		count_drop(MPX_DROP_SUMM_LOST);
		return;
	}
	s = bpf_map_lookup_elem(&summ, &ctid);
	if (!s)
		return;
	s->tid = ctid;
	s->pid = cpid;
	s->parent_tid = ptid;
	if (cpid == ppid) {
		s->flags = MPX_SU_THREAD | MPX_SU_LAST;
		s->ppid = pppid;
	} else {
		s->flags = MPX_SU_LAST;
		s->ppid = ppid;
	}
	s->kstart = BPF_CORE_READ(child, start_time);
	BPF_CORE_READ_STR_INTO(&s->comm, child, comm);
	s->state = MPX_SS_NEW;
	s->state_ns = ts;
	s->start_ns = ts;
}

static __always_inline void summ_exec(struct task_struct *p, __u32 tid, __u32 old_tid,
				      struct linux_binprm *bprm)
{
	struct mpx_summ *s;

	if (old_tid != tid) {
		/* A non-leader thread exec'd: it goes on under the leader's tid. */
		summ_evict(tid);
		s = bpf_map_lookup_elem(&summ, &old_tid);
		if (!s)
			return;
		s->tid = tid;
		s->flags &= ~MPX_SU_THREAD;
		if (bpf_map_update_elem(&summ, &tid, s, BPF_NOEXIST))
			count_drop(MPX_DROP_SUMM_LOST);
		bpf_map_delete_elem(&summ, &old_tid);
	}
	s = bpf_map_lookup_elem(&summ, &tid);
	if (!s)
		return;
	BPF_CORE_READ_STR_INTO(&s->comm, p, comm);
	bpf_probe_read_kernel_str(&s->filename, sizeof(s->filename),
				  BPF_CORE_READ(bprm, filename));
}

static __always_inline void summ_exit(struct task_struct *p, __u32 tid, bool group_dead)
{
	struct mpx_summ *s = bpf_map_lookup_elem(&summ, &tid);

	if (!s)
		return;
	read_kcounters(p, &s->k_exit, false, true);
	get_task_blkio(p, &s->k_exit.blkio_delay, &s->blkio_count);
	s->nvcsw = BPF_CORE_READ(p, nvcsw);
	s->nivcsw = BPF_CORE_READ(p, nivcsw);
	s->exit_code = BPF_CORE_READ(p, exit_code);
	s->min_flt = BPF_CORE_READ(p, min_flt);
	s->maj_flt = BPF_CORE_READ(p, maj_flt);
	if (group_dead) {
		s->maxrss = BPF_CORE_READ(p, signal, maxrss);
		s->flags |= MPX_SU_GROUP_DEAD;
	}
	s->exit_ns = bpf_ktime_get_ns();
	s->flags |= MPX_SU_EXITED;
}

/* Freed without a final switch-out seen: done at exit (model__finish). */
static __always_inline void summ_free(struct task_struct *p, __u32 tid)
{
	struct mpx_summ *s = bpf_map_lookup_elem(&summ, &tid);

	if (!s || (s->kstart && s->kstart != BPF_CORE_READ(p, start_time)))
		return;
	s->flags |= MPX_SU_FREED;
	summ_retire(s, tid);
}

static __always_inline void summ_rename(__u32 tid, const char *comm)
{
	struct mpx_summ *s = bpf_map_lookup_elem(&summ, &tid);
	char c[MPX_COMM_LEN];

	if (!s)
		return;
	bpf_probe_read_kernel_str(c, sizeof(c), comm);
	/* "mpx@...": the built-in workloads' phase markers, not names. */
	if (c[0] == 'm' && c[1] == 'p' && c[2] == 'x' && c[3] == '@')
		return;
	__builtin_memcpy(s->comm, c, sizeof(c));
}

/* A request of the tree completed: count it for its submitter and dirtier. */
static __always_inline void summ_block(struct req_info *ri, struct request *rq,
				       unsigned int nr_bytes)
{
	__u64 ts = bpf_ktime_get_ns(), bytes = nr_bytes;
	struct mpx_summ *s;
	__u32 tid;

	/* Reads and writes move bytes; discards and flushes none. */
	if ((BPF_CORE_READ(rq, cmd_flags) & 0xff) > 1)
		bytes = 0;
	tid = ri->tid;
	s = tid ? bpf_map_lookup_elem(&summ, &tid) : NULL;
	if (s) {
		s->io_requests++;
		s->io_bytes += bytes;
		if (ri->issue_ns && ri->issue_ns >= ri->start_ns && ts >= ri->issue_ns) {
			s->io_queue_ns += ri->issue_ns - ri->start_ns;
			s->io_device_ns += ts - ri->issue_ns;
		}
	}
	tid = ri->credit_tid;
	s = tid ? bpf_map_lookup_elem(&summ, &tid) : NULL;
	if (s) {
		s->deferred_requests++;
		s->deferred_bytes += bytes;
	}
}

/*
 * --summary's own programs (NAME_summ), loaded instead of the event mode's
 * NAME where that is mostly event code: what the mode does at the hook
 * (handle_switch() and handle_wakeup() begin with it), without the event
 * code, which the verifier would find dead and cut out at every load --
 * most of the switch program's verification in this mode.
 */
static __always_inline int summ_switch_prog(__u64 *ctx, struct task_struct *prev,
					    struct task_struct *next, bool btf)
{
	return summ_switch(prev, next, MPX_READ(btf, prev, pid), MPX_READ(btf, next, pid), ctx,
			   btf);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_summ, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return summ_switch_prog(ctx, prev, next, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_summ_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return summ_switch_prog(ctx, prev, next, false);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_summ, struct task_struct *p)
{
	return summ_wakeup(p, MPX_READ(true, p, pid));
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_summ_raw, struct task_struct *p)
{
	return summ_wakeup(p, MPX_READ(false, p, pid));
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_summ, struct task_struct *p)
{
	return summ_wakeup(p, MPX_READ(true, p, pid));
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_summ_raw, struct task_struct *p)
{
	return summ_wakeup(p, MPX_READ(false, p, pid));
}

#endif /* MPX_SUMMARY_BPF_H */
