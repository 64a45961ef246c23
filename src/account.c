// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Lifetime accounting: one state machine per task, driven by the scheduler
 * events of include/events.h in timestamp order.
 *
 * Each task is always in exactly one state; every event first charges the
 * time since the last state change to the bucket of the state it leaves.
 * That makes the buckets disjoint and their sum the lifetime by
 * construction.
 *
 * Definitions (docs: mpxtrace.8, ACCOUNTING):
 *  - oncpu, runq_*: tracepoint time, switch-in to switch-out and
 *    wakeup/preemption to switch-in.  The kernel's schedstat charges the
 *    wake-to-switch latency (a few us a wakeup) to exec time instead of
 *    run_delay; that difference is kept apart in wake_charge_ns, not folded
 *    in (and time on CPU without executing, steal, in unexec_ns).
 *  - Events the kernel did not report (a switch-in that never arrived, see
 *    shared notes: missed sched_switch on this VM) are repaired with the
 *    kernel's own cumulative counters snapshotted at every switch-out:
 *    the on-CPU time the kernel saw in that interval is moved from the
 *    bucket the task was wrongly believed in.  reconciled_ns says how much.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evbuf.h"
#include "model.h"
#include "util.h"

static const char *const bucket_names[MPX_B_MAX] = {
	[MPX_B_ONCPU] = "oncpu",
	[MPX_B_RUNQ_WAKEUP] = "runq_wakeup",
	[MPX_B_RUNQ_PREEMPT] = "runq_preempt",
	[MPX_B_SLEEP] = "sleep",
	[MPX_B_DSLEEP] = "dsleep_other",
	[MPX_B_BLKIO] = "blkio",
	[MPX_B_UNACCOUNTED] = "unaccounted",
};

const char *mpx_bucket_name(enum mpx_bucket b)
{
	return b < MPX_B_MAX ? bucket_names[b] : "?";
}

void model__init(struct mpx_model *m)
{
	memset(m, 0, sizeof(*m));
}

void model__free(struct mpx_model *m)
{
	size_t i;

	for (i = 0; i < m->ntasks; i++)
		free(m->tasks[i].iv);
	free(m->tasks);
	free(m->reqs);
	free(m->rss);
	free(m->lost);
	free(m->clk_pt);
	free(m->clk_at);
	reasons__free(&m->reasons);
	free(m->hkey);
	free(m->hval);
	memset(m, 0, sizeof(*m));
}

/* ---- tid -> task index (open addressing, newest task of a tid wins) ---- */

static size_t hslot(const struct mpx_model *m, uint32_t tid)
{
	size_t i = (tid * 2654435761u) & (m->hcap - 1);

	while (m->hval[i] && m->hkey[i] != tid)
		i = (i + 1) & (m->hcap - 1);
	return i;
}

static int hput(struct mpx_model *m, uint32_t tid, size_t idx)
{
	size_t i;

	if ((m->hused + 1) * 2 > m->hcap) {
		size_t ocap = m->hcap, j;
		uint32_t *ok = m->hkey, *ov = m->hval;

		m->hcap = ocap ? ocap * 2 : 256;
		m->hkey = calloc(m->hcap, sizeof(*m->hkey));
		m->hval = calloc(m->hcap, sizeof(*m->hval));
		if (!m->hkey || !m->hval) {
			free(m->hkey);
			free(m->hval);
			m->hkey = ok;
			m->hval = ov;
			m->hcap = ocap;
			return -ENOMEM;
		}
		for (j = 0; j < ocap; j++) {
			if (!ov[j])
				continue;
			i = hslot(m, ok[j]);
			m->hkey[i] = ok[j];
			m->hval[i] = ov[j];
		}
		free(ok);
		free(ov);
	}
	i = hslot(m, tid);
	if (!m->hval[i])
		m->hused++;
	m->hkey[i] = tid;
	m->hval[i] = (uint32_t)idx + 1;
	return 0;
}

static void hdel(struct mpx_model *m, uint32_t tid)
{
	size_t i, j;

	if (!m->hcap)
		return;
	i = hslot(m, tid);
	if (!m->hval[i])
		return;
	/* Backward-shift deletion keeps probe chains intact. */
	m->hval[i] = 0;
	m->hused--;
	for (j = (i + 1) & (m->hcap - 1); m->hval[j]; j = (j + 1) & (m->hcap - 1)) {
		size_t want = (m->hkey[j] * 2654435761u) & (m->hcap - 1);

		if ((j > i && (want <= i || want > j)) ||
		    (j < i && (want <= i && want > j))) {
			m->hkey[i] = m->hkey[j];
			m->hval[i] = m->hval[j];
			m->hval[j] = 0;
			i = j;
		}
	}
}

struct mpx_task *model__find(struct mpx_model *m, uint32_t tid)
{
	size_t i;

	if (!m->hcap)
		return NULL;
	i = hslot(m, tid);
	return m->hval[i] ? &m->tasks[m->hval[i] - 1] : NULL;
}

/* ---- task lifetime ---------------------------------------------------- */

enum mpx_bucket mpx_state_bucket(enum mpx_tstate s)
{
	switch (s) {
	case MPX_TS_RUNNING: return MPX_B_ONCPU;
	case MPX_TS_NEW:
	case MPX_TS_RUNQ_WAKEUP: return MPX_B_RUNQ_WAKEUP;
	case MPX_TS_RUNQ_PREEMPT: return MPX_B_RUNQ_PREEMPT;
	case MPX_TS_SLEEP: return MPX_B_SLEEP;
	case MPX_TS_DSLEEP: return MPX_B_DSLEEP;
	case MPX_TS_BLKIO: return MPX_B_BLKIO;
	default: return MPX_B_UNACCOUNTED;
	}
}

/*
 * Charge the time since the last state change to the current state: add
 * it to the state's bucket and close it as an interval.
 */
static void advance(struct mpx_model *m, struct mpx_task *t, uint64_t ts)
{
	struct mpx_ival *v;
	uint64_t d;

	if (t->ended)
		return;
	if (ts < t->state_ns) {
		m->stale_events++;
		return;
	}
	d = ts - t->state_ns;
	if (!d)
		return;
	t->bucket[mpx_state_bucket(t->state)] += d;
	if (t->state == MPX_TS_NEW)
		t->new_ns += d;
	if (mpx_grow((void **)&t->iv, &t->ivcap, t->niv + 1, sizeof(*t->iv))) {
		m->nomem++;
	} else {
		v = &t->iv[t->niv++];
		memset(v, 0, sizeof(*v));
		v->start = t->state_ns;
		v->end = ts;
		v->state = (uint8_t)t->state;
		v->flags = t->cur_flags;
		v->reason = t->cur_reason;
	}
	t->state_ns = ts;
}

/* Enter state s at ts (the time before is charged to the old state). */
static void set_state(struct mpx_model *m, struct mpx_task *t, uint64_t ts,
		      enum mpx_tstate s)
{
	advance(m, t, ts);
	t->state = s;
	t->cur_reason = -1;
	t->cur_flags = 0;
}

static void push_comm(struct mpx_task *t, const char *comm)
{
	char c[MPX_COMM_LEN] = "";

	/* A record's fixed field or a shorter C string (model__seed_root):
	 * read no further than its NUL. */
	memcpy(c, comm, strnlen(comm, MPX_COMM_LEN - 1));
	memcpy(t->comm, c, MPX_COMM_LEN);
	if (t->ncomms && !strcmp(t->comms[t->ncomms - 1], c))
		return;
	if (t->ncomms == MPX_MAX_COMMS) {
		/* Keep the first name and the newest ones. */
		memmove(t->comms[1], t->comms[2], (MPX_MAX_COMMS - 2) * MPX_COMM_LEN);
		t->ncomms--;
	}
	memcpy(t->comms[t->ncomms++], c, MPX_COMM_LEN);
}

static void end_task(struct mpx_model *m, struct mpx_task *t, uint64_t ts)
{
	if (t->ended)
		return;
	advance(m, t, ts);
	t->end_ns = t->state_ns;
	t->state = MPX_TS_DEAD;
	t->ended = true;
}

/* New task record for tid; ends an older one still open (missed exit). */
static struct mpx_task *new_task(struct mpx_model *m, uint32_t tid, uint64_t ts)
{
	struct mpx_task *old = model__find(m, tid), *t;
	size_t idx;

	if (old && !old->ended)
		end_task(m, old, ts);
	if (mpx_grow((void **)&m->tasks, &m->cap, m->ntasks + 1, sizeof(*m->tasks)))
		return NULL;
	idx = m->ntasks;
	if (hput(m, tid, idx))
		return NULL;
	m->ntasks++;
	t = &m->tasks[idx];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->start_ns = ts;
	t->state_ns = ts;
	t->state = MPX_TS_UNKNOWN;
	t->cur_reason = -1;
	return t;
}

/* An event for a tid nobody told us about: adopt it from now on. */
static struct mpx_task *get_task(struct mpx_model *m, uint32_t tid, uint32_t pid,
				 uint64_t ts)
{
	struct mpx_task *t = model__find(m, tid);

	if (t && !t->ended)
		return t;
	m->orphan_events++;
	t = new_task(m, tid, ts);
	if (t)
		t->pid = pid;
	return t;
}

struct mpx_task *model__add_task(struct mpx_model *m, uint32_t tid, uint64_t ts)
{
	return new_task(m, tid, ts);
}

struct mpx_task *model__seed_root(struct mpx_model *m, uint32_t tid, uint32_t pid,
				  uint32_t ppid, const char *comm, uint64_t ts,
				  const struct mpx_kcounters *k)
{
	struct mpx_task *t = new_task(m, tid, ts);

	if (!t)
		return NULL;
	t->pid = pid;
	t->ppid = ppid;
	t->is_root = true;
	/* Held at the barrier: asleep until the release wakes it. */
	t->state = MPX_TS_SLEEP;
	t->cur_reason = MPX_REASON_BARRIER;
	if (comm)
		push_comm(t, comm);
	if (k) {
		t->k_base = *k;
		t->k_last = *k;
		t->have_base = t->have_last = true;
	}
	m->root_tid = tid;
	if (!m->t0)
		m->t0 = ts;
	return t;
}

/* The clocks drift apart by less than this many ns per second. */
#define MPX_CLK_DRIFT_PPM	20

/* v's offset carried to ts at the largest drift. */
static int64_t clk_reach(const struct mpx_clk_pt *v, uint64_t ts)
{
	uint64_t d = ts > v->t ? ts - v->t : v->t - ts;

	return v->off + (int64_t)(d / (1000000 / MPX_CLK_DRIFT_PPM));
}

/*
 * cpu's (ts - rq_clock) for a fresh clock at ts: on the lower hull of its
 * switches (model__calibrate_clocks()), or lower where a hull point nearby
 * allows it at the largest drift (a stale switch can be a hull point at
 * either end, or make a segment steep).  INT64_MAX: unknown.
 */
static int64_t clock_offset(const struct mpx_model *m, unsigned int cpu, uint64_t ts)
{
	const struct mpx_clk_pt *h;
	size_t lo, hi, mid, len, k;
	int64_t best, r;

	if (cpu >= m->nclk || m->clk_at[cpu + 1] == m->clk_at[cpu])
		return INT64_MAX;
	h = m->clk_pt + m->clk_at[cpu];
	len = m->clk_at[cpu + 1] - m->clk_at[cpu];
	lo = 0;
	hi = len - 1;
	if (ts <= h[0].t) {
		hi = 0;
		best = h[0].off;
	} else if (ts >= h[len - 1].t) {
		lo = len - 1;
		best = h[len - 1].off;
	} else {
		while (hi - lo > 1) {	/* h[lo].t < ts < h[hi].t */
			mid = lo + (hi - lo) / 2;
			if (h[mid].t <= ts)
				lo = mid;
			else
				hi = mid;
		}
		best = (int64_t)(h[lo].off + ((__int128)h[hi].off - h[lo].off) *
					     (__int128)(ts - h[lo].t) /
					     (__int128)(h[hi].t - h[lo].t));
	}
	for (k = lo ? lo - 1 : 0; k <= hi + 1 && k < len; k++) {
		r = clk_reach(&h[k], ts);
		if (r < best)
			best = r;
	}
	return best;
}

/* How far the switch's rq->clock lagged event time; -1: unknown. */
static int64_t clock_lag(const struct mpx_model *m, const struct mpx_switch *e)
{
	int64_t d, off;

	if (!e->rq_clock)
		return -1;
	off = clock_offset(m, e->hdr.cpu, e->hdr.ts);
	if (off == INT64_MAX)
		return -1;
	d = (int64_t)(e->hdr.ts - e->rq_clock) - off;
	return d < 0 ? 0 : d;
}

/* ---- reconciliation with the kernel's counters ------------------------ */

/*
 * Turn the last `need` ns of the current segment that are not in state
 * `from_not`/`from` into state `to`, newest first, splitting an interval
 * where the boundary falls inside it.  Keeps buckets and intervals equal.
 */
static void convert_tail(struct mpx_model *m, struct mpx_task *t, bool match_from,
			 enum mpx_tstate from, enum mpx_tstate to, uint64_t need)
{
	size_t i = t->niv;

	while (need && i > t->seg_iv) {
		struct mpx_ival *v = &t->iv[--i];
		uint64_t len = v->end - v->start, d;

		if ((match_from && v->state != from) ||
		    (!match_from && v->state == to) || !len)
			continue;
		d = len < need ? len : need;
		t->bucket[mpx_state_bucket(v->state)] -= d;
		t->bucket[mpx_state_bucket(to)] += d;
		t->reconciled_ns += d;
		need -= d;
		if (d < len) {
			/* Split: [start, end - d) keeps its state. */
			if (mpx_grow((void **)&t->iv, &t->ivcap, t->niv + 1, sizeof(*t->iv))) {
				m->nomem++;
				v->state = (uint8_t)to;
				continue;
			}
			v = &t->iv[i];
			memmove(v + 1, v, (t->niv - i) * sizeof(*v));
			t->niv++;
			v->end -= d;
			v[1].start = v->end;
			v[1].waker_tid = 0;
			v[1].waking_ns = 0;
			v = &v[1];
		}
		v->state = (uint8_t)to;
		v->reason = -1;
		v->flags = MPX_IV_RECONCILED;
	}
}

/* Time of the current segment in state a or b, from its intervals. */
static uint64_t seg_time(const struct mpx_task *t, enum mpx_tstate a, enum mpx_tstate b)
{
	uint64_t ns = 0;
	size_t i;

	for (i = t->seg_iv; i < t->niv; i++)
		if (t->iv[i].state == a || t->iv[i].state == b)
			ns += t->iv[i].end - t->iv[i].start;
	return ns;
}

/* How far a wakeup may precede the switch-out it belongs to. */
#define MPX_RACE_WINDOW_NS 10000

/*
 * Since when a sched_waking may be the one that ended the sleep starting at
 * iv[i] (i == niv: the sleep still open, since state_ns): from the switch-in
 * before it.  A waking while the task ran either ended this sleep as it began
 * (two CPUs: the waker saw it going to sleep) or was of the running task
 * (ttwu_runnable), after which going to sleep again takes a new wakeup with
 * a newer sched_waking.
 */
static uint64_t waking_since(const struct mpx_task *t, size_t i, uint64_t start)
{
	if (i > 0 && t->iv[i - 1].state == MPX_TS_RUNNING && t->iv[i - 1].end == start)
		return t->iv[i - 1].start;
	return start > MPX_RACE_WINDOW_NS ? start - MPX_RACE_WINDOW_NS : 0;
}

/* States a wakeup ends (a new task's first one included). */
static bool wakeable(enum mpx_tstate s)
{
	return s == MPX_TS_SLEEP || s == MPX_TS_DSLEEP || s == MPX_TS_BLKIO ||
	       s == MPX_TS_NEW || s == MPX_TS_UNKNOWN;
}

/*
 * After a switch-in that was never reported: a sleeping task was woken,
 * and its wait began at its enqueue time, which only that switch-in
 * carried.  The kernel's run_delay grew by what it waited: as much of the
 * sleep before the run as the traced run-queue time falls short of that
 * becomes a woken wait.  This switch-out names the waker (MPX_SW_PREV_WAKER).
 */
static void missed_wake(struct mpx_model *m, struct mpx_task *t,
			const struct mpx_switch *e)
{
	const struct mpx_kcounters *k = &e->prev_k;
	uint64_t drd = 0, runq;
	enum mpx_tstate s;
	size_t i;

	/* The newest interval off the CPU: a sleep means it was woken. */
	for (i = t->niv; i > t->seg_iv && t->iv[i - 1].state == MPX_TS_RUNNING; i--)
		;
	if (i == t->seg_iv || !wakeable(s = (enum mpx_tstate)t->iv[i - 1].state))
		return;
	i--;
	t->nwakeups++;
	if (k->run_delay > t->k_last.run_delay)
		drd = k->run_delay - t->k_last.run_delay;
	runq = seg_time(t, MPX_TS_RUNQ_WAKEUP, MPX_TS_RUNQ_PREEMPT);
	if (drd > runq) {
		convert_tail(m, t, true, s, MPX_TS_RUNQ_WAKEUP, drd - runq);
		/* What is left of the sleep (it stays at i when split). */
		while (i > t->seg_iv && t->iv[i].state != s)
			i--;
	}
	/* Its waker, from this switch-out: the task's last sched_waking, if
	 * that came during the sleep. */
	if (t->iv[i].state == s && (e->flags & MPX_SW_PREV_WAKER) && e->next_waker_tid &&
	    e->next_waking_ts <= e->hdr.ts &&
	    e->next_waking_ts >= waking_since(t, i, t->iv[i].start)) {
		t->iv[i].waker_tid = e->next_waker_tid;
		t->iv[i].waking_ns = e->next_waking_ts;
		t->last_waker_tid = e->next_waker_tid;
	}
}

/*
 * Called at a switch-out with the kernel's counters k, after the time since
 * the previous switch-out has been closed into intervals.  clean: the task
 * was seen switching in, so the traced run is complete.
 */
static void reconcile(struct mpx_model *m, struct mpx_task *t,
		      const struct mpx_switch *e, bool clean, int64_t lag_out, bool preempted)
{
	const struct mpx_kcounters *k = &e->prev_k;
	uint64_t steal = e->steal;
	uint64_t dexec, dpc, on = seg_time(t, MPX_TS_RUNNING, MPX_TS_RUNNING), st = 0;

	if (!t->have_last || k->sum_exec_runtime < t->k_last.sum_exec_runtime ||
	    k->pcount < t->k_last.pcount)
		goto out;
	dexec = k->sum_exec_runtime - t->k_last.sum_exec_runtime;
	dpc = k->pcount - t->k_last.pcount;

	if (clean && dpc == 1) {
		/*
		 * Nothing missed: keep the traced times, note the kernel's view.
		 * dexec = on + wake charge - steal; the steal of this run is
		 * the CPU's steal counter's advance since the switch-in.
		 */
		if (steal && t->steal_in && steal >= t->steal_in && steal - t->steal_in < on)
			st = steal - t->steal_in;
		if (t->have_stale_in && lag_out >= 0) {
			/* The clock lags at both ends are known: the kernel's exec
			 * is on + lag_in - lag_out - steal, independently of the
			 * counters (the self-check compares). */
			t->clk_in_ns += t->stale_in;
			t->clk_out_ns += (uint64_t)lag_out;
			if (preempted)
				t->clk_out_preempt_ns += (uint64_t)lag_out;
			t->steal_ns += st;
			t->wake_charge_ns += t->stale_in;
			t->unexec_ns += st + (uint64_t)lag_out;
		} else if (dexec + st >= on) {
			/* No clock: derive the charge from the counters. */
			t->wake_charge_ns += dexec + st - on;
			t->clk_in_ns += dexec + st - on;
			t->unexec_ns += st;
			t->steal_ns += st;
		} else {
			t->unexec_ns += on - dexec;
			t->steal_ns += on - dexec;
		}
	} else if (dexec > on) {
		/* The kernel saw more running than we did: a switch-in was never
		 * reported.  The task ran up to this switch-out. */
		convert_tail(m, t, false, MPX_TS_UNKNOWN, MPX_TS_RUNNING, dexec - on);
		missed_wake(m, t, e);
	} else if (dexec < on) {
		/* We saw more running than the kernel: a switch-out and
		 * switch-in pair was lost; the task was really off CPU. */
		convert_tail(m, t, true, MPX_TS_RUNNING, MPX_TS_UNKNOWN, on - dexec);
	}
out:
	t->k_last = *k;
	t->have_last = true;
	t->seg_iv = t->niv;
}

/* ---- event handlers --------------------------------------------------- */


static enum mpx_tstate classify(uint32_t raw, uint32_t flags)
{
	uint32_t s = raw & ~MPX_STATE_REREAD;

	if (s & MPX_TASK_DEAD)
		return MPX_TS_DEAD;
	if (s & MPX_TASK_WAKING)	/* re-read raced with a waker (< 5.18) */
		return MPX_TS_SLEEP;
	if ((s & 0xff) == 0)		/* still runnable: preempted or yielded */
		return MPX_TS_RUNQ_PREEMPT;
	/* In io_schedule(): what delay accounting counts as blkio, whatever
	 * the sleep state (try_to_block_task() looks at in_iowait only). */
	if (flags & MPX_SW_IOWAIT)
		return MPX_TS_BLKIO;
	if (s & MPX_TASK_UNINTERRUPTIBLE)
		return (s & MPX_TASK_NOLOAD) ? MPX_TS_SLEEP : MPX_TS_DSLEEP;
	return MPX_TS_SLEEP;
}

static void switch_out(struct mpx_model *m, const struct mpx_switch *e)
{
	struct mpx_task *t = get_task(m, e->prev_tid, e->prev_pid, e->hdr.ts);
	enum mpx_tstate ns;
	bool clean;

	if (!t)
		return;
	advance(m, t, e->hdr.ts);
	clean = t->state == MPX_TS_RUNNING;
	if (!clean)
		t->missed_in++;
	ns = classify(e->prev_state, e->flags);
	reconcile(m, t, e, clean, clock_lag(m, e),
		  ns == MPX_TS_RUNQ_PREEMPT);

	if (ns == MPX_TS_DEAD) {
		t->k_final = e->prev_k;
		t->have_final = true;
		t->dead = true;
		end_task(m, t, e->hdr.ts);
		return;
	}
	if (ns == MPX_TS_RUNQ_PREEMPT) {
		t->nswitch_invol++;
	} else {
		t->nswitch_vol++;
		/*
		 * Woken just before it finished going to sleep (timestamps of
		 * two CPUs).  A wakeup long before is of a running task
		 * (ttwu_runnable) and says nothing about this sleep.
		 */
		if (t->pending_wake_ns && e->hdr.ts - t->pending_wake_ns <= MPX_RACE_WINDOW_NS) {
			t->races++;
			t->nwakeups++;
			if (t->pending_waker_tid)
				t->last_waker_tid = t->pending_waker_tid;
			ns = MPX_TS_RUNQ_WAKEUP;
		}
	}
	t->pending_wake_ns = 0;
	t->state = ns;
	if (ns == MPX_TS_BLKIO && (e->flags & MPX_SW_DELAYED))
		t->delayed_io_blocks++;
	if (ns == MPX_TS_SLEEP || ns == MPX_TS_DSLEEP || ns == MPX_TS_BLKIO) {
		t->cur_reason = e->stack_id;
		t->cur_flags = e->flags & MPX_SW_IOWAIT ? MPX_IV_IOWAIT : 0;
	} else {
		t->cur_reason = -1;
		t->cur_flags = 0;
	}
}

static void on_wakeup(struct mpx_model *m, const struct mpx_wakeup *e);

/*
 * How long next waited to run when it switched in, at most `most`: the
 * wait on this CPU in its run queue's clock (rq_clock - next_queued, what
 * sched_info_arrive() adds to run_delay), what it waited on other CPUs
 * before a move (run_delay's growth since its switch-out), and how far
 * this switch's clock lagged event time.
 */
static uint64_t queued_wait(const struct mpx_model *m, const struct mpx_task *t,
			    const struct mpx_switch *e, uint64_t most)
{
	uint64_t wait = 0, d;
	int64_t lag;

	if (e->rq_clock > e->next_queued)
		wait = e->rq_clock - e->next_queued;
	if (wait > most)
		wait = most;
	if (t->have_last && e->next_run_delay > t->k_last.run_delay) {
		d = e->next_run_delay - t->k_last.run_delay;
		wait = d < most - wait ? wait + d : most;
	}
	lag = clock_lag(m, e);
	if (lag > 0)
		wait = (uint64_t)lag < most - wait ? wait + (uint64_t)lag : most;
	return wait;
}

/*
 * With --wakeup-events a woken wait began at sched_wakeup: compare the
 * start the enqueue time gives (the self-check reports the differences).
 */
static void compare_wake(struct mpx_model *m, const struct mpx_task *t,
			 const struct mpx_switch *e)
{
	uint64_t wait;
	int64_t dev;

	if (t->state != MPX_TS_RUNQ_WAKEUP || t->wake_rec_ns != t->state_ns ||
	    !e->next_queued || e->hdr.ts < t->state_ns)
		return;
	/* Up to a second earlier than the record, no more (hostile input). */
	wait = queued_wait(m, t, e, e->hdr.ts - t->state_ns + 1000000000ull);
	if (wait > e->hdr.ts)
		return;
	dev = (int64_t)(e->hdr.ts - wait) - (int64_t)t->state_ns;
	m->xwake_n++;
	m->xwake_before += dev <= 1000;
	m->xwake_sum_ns += dev;
	if ((dev < 0 ? -dev : dev) > (m->xwake_max_ns < 0 ? -m->xwake_max_ns : m->xwake_max_ns))
		m->xwake_max_ns = dev;
}

/*
 * A sleeping task switched in with its enqueue time (MPX_SW_QUEUED): the
 * wakeup no record reported, rebuilt queued_wait() before the switch-in
 * (never before the sleep began).  The waker is the last sched_waking, when
 * it came after the task's switch-in before the sleep (waking_since()).
 */
static void wake_from_queue(struct mpx_model *m, struct mpx_task *t,
			    const struct mpx_switch *e)
{
	uint64_t span, wait, since;
	struct mpx_wakeup w;

	if (!wakeable(t->state))
		return;		/* already runnable (preempted, or woken new) */
	/* No enqueue time, or a stale event: the gap stays asleep. */
	if (!e->next_queued || e->hdr.ts < t->state_ns)
		return;
	span = e->hdr.ts - t->state_ns;
	wait = queued_wait(m, t, e, span);

	memset(&w, 0, sizeof(w));
	w.hdr.ts = e->hdr.ts - wait;
	w.hdr.type = MPX_EV_WAKEUP;
	w.hdr.cpu = e->hdr.cpu;
	w.hdr.size = sizeof(w);
	w.tid = e->next_tid;
	w.pid = e->next_pid;
	w.target_cpu = e->hdr.cpu;
	since = waking_since(t, t->niv, t->state_ns);
	if (e->next_waking_ts && e->next_waker_tid && e->next_waking_ts <= e->hdr.ts &&
	    e->next_waking_ts >= since) {
		w.waking_ts = e->next_waking_ts;
		w.waker_tid = e->next_waker_tid;
		w.flags = MPX_WK_WAKER_KNOWN;
	}
	on_wakeup(m, &w);
}

static void switch_in(struct mpx_model *m, const struct mpx_switch *e)
{
	struct mpx_task *t = get_task(m, e->next_tid, e->next_pid, e->hdr.ts);

	if (!t)
		return;
	if (e->flags & MPX_SW_QUEUED) {
		compare_wake(m, t, e);
		wake_from_queue(m, t, e);
	}
	if (t->state == MPX_TS_RUNNING)
		t->missed_out++;
	set_state(m, t, e->hdr.ts, MPX_TS_RUNNING);
	t->steal_in = e->steal;
	{
		int64_t lag = clock_lag(m, e);

		t->have_stale_in = lag >= 0;
		t->stale_in = lag >= 0 ? (uint64_t)lag : 0;
	}
}

static void on_wakeup(struct mpx_model *m, const struct mpx_wakeup *e)
{
	struct mpx_task *t = get_task(m, e->tid, e->pid, e->hdr.ts);
	enum mpx_tstate was;

	if (!t)
		return;
	was = t->state;
	if (wakeable(was)) {
		if (t->moved_asleep_ns && t->moved_asleep_ns < e->hdr.ts)
			t->sleep_as_rd_ns += e->hdr.ts - t->moved_asleep_ns;
		t->moved_asleep_ns = 0;
		set_state(m, t, e->hdr.ts, MPX_TS_RUNQ_WAKEUP);
		t->wake_rec_ns = e->flags & MPX_WK_NEW ? 0 : e->hdr.ts;
		t->nwakeups++;
		if (e->flags & MPX_WK_WAKER_KNOWN) {
			t->last_waker_tid = e->waker_tid;
			/* The blocked interval just closed ends with this wakeup
			 * (none when the wait began as the sleep did). */
			if (t->niv && t->iv[t->niv - 1].end == e->hdr.ts &&
			    t->iv[t->niv - 1].state == was) {
				t->iv[t->niv - 1].waker_tid = e->waker_tid;
				t->iv[t->niv - 1].waking_ns = e->waking_ts;
			}
		}
	} else if (was == MPX_TS_RUNNING) {
		t->pending_wake_ns = e->hdr.ts;
		t->pending_waker_tid = e->flags & MPX_WK_WAKER_KNOWN ? e->waker_tid : 0;
	}
	/* Else already runnable: a wakeup of a queued task. */
}

static void on_fork(struct mpx_model *m, const struct mpx_fork *e)
{
	struct mpx_task *p, *c;
	uint32_t pppid = 0;

	p = model__find(m, e->parent_tid);
	if (p)
		pppid = p->ppid;
	c = new_task(m, e->child_tid, e->hdr.ts);
	if (!c)
		return;
	c->pid = e->child_pid;
	c->parent_tid = e->parent_tid;
	c->is_thread = e->flags & MPX_FORK_THREAD;
	c->ppid = c->is_thread ? pppid : e->parent_pid;
	c->state = MPX_TS_NEW;
	push_comm(c, e->comm);
	/* A new task starts with zeroed schedstat counters. */
	c->have_base = c->have_last = true;
}

static void on_exec(struct mpx_model *m, const struct mpx_exec *e)
{
	struct mpx_task *t;

	if (e->old_tid != e->tid) {
		/* A non-leader thread exec'd and took the leader's tid. */
		t = model__find(m, e->old_tid);
		if (t && !t->ended) {
			size_t idx = (size_t)(t - m->tasks);
			struct mpx_task *leader = model__find(m, e->tid);

			if (leader && !leader->ended)
				end_task(m, leader, e->hdr.ts);
			hdel(m, e->old_tid);
			if (hput(m, e->tid, idx))
				return;
			t = &m->tasks[idx];
			t->tid = e->tid;
			t->is_thread = false;
		}
	}
	t = get_task(m, e->tid, e->pid, e->hdr.ts);
	if (!t)
		return;
	push_comm(t, e->comm);
	/* exec replaced the mm: memory figures start again. */
	t->exec_ns = e->hdr.ts;
	t->nexecs++;
	t->have_mem = false;
	t->rss_first = t->rss_peak = t->rss_exit = t->hiwater = 0;
	t->peak_anon = t->peak_file = t->peak_shmem = 0;
	memcpy(t->filename, e->filename, sizeof(t->filename));
	t->filename[sizeof(t->filename) - 1] = '\0';
	mpx_args_string(e, t->args, sizeof(t->args));
}

/* The task alive at ts with this tid (NULL when none is known). */
static struct mpx_task *task_at(struct mpx_model *m, uint32_t tid, uint64_t ts)
{
	struct mpx_task *t = model__find(m, tid);

	if (t && t->start_ns <= ts)
		return t;
	return NULL;
}

static void on_block(struct mpx_model *m, const struct mpx_block *e)
{
	struct mpx_task *sub = e->tid ? task_at(m, e->tid, e->start_ns) : NULL;
	struct mpx_task *cr = e->credit_tid ? task_at(m, e->credit_tid, e->start_ns) : NULL;
	struct mpx_req *r;

	if (mpx_grow((void **)&m->reqs, &m->reqcap, m->nreqs + 1, sizeof(*m->reqs))) {
		m->nomem++;
		return;
	}
	r = &m->reqs[m->nreqs++];
	r->start = e->start_ns;
	r->issue = e->flags & MPX_BLK_ISSUED ? e->issue_ns : 0;
	r->complete = e->hdr.ts;
	r->sector = e->sector;
	r->bytes = e->bytes;
	r->dev = e->dev;
	r->op = e->op;
	r->error = e->error;
	r->task = sub ? (int32_t)(sub - m->tasks) : -1;
	r->credit = cr ? (int32_t)(cr - m->tasks) : -1;
	/* Bytes moved: reads and writes; discards and flushes move none. */
	if ((e->op & 0xff) > 1)
		r->bytes = 0;
	if (sub) {
		sub->io_requests++;
		sub->io_bytes += r->bytes;
		if (r->issue && r->issue >= r->start && r->complete >= r->issue) {
			sub->io_queue_ns += r->issue - r->start;
			sub->io_device_ns += r->complete - r->issue;
		}
	}
	if (cr) {
		cr->deferred_requests++;
		cr->deferred_bytes += r->bytes;
	}
}

/* Track a process's memory: first, peak and last values, pages. */
static void mem_update(struct mpx_task *t, const struct mpx_mem *mem)
{
	uint64_t rss = mem->file + mem->anon + mem->shmem;

	if (!t->have_mem) {
		t->rss_first = rss;
		t->have_mem = true;
	}
	if (rss > t->rss_peak) {
		t->rss_peak = rss;
		t->peak_anon = mem->anon;
		t->peak_file = mem->file;
		t->peak_shmem = mem->shmem;
	}
	if (mem->hiwater > t->hiwater)
		t->hiwater = mem->hiwater;
	t->rss_exit = rss;
}

/* The process's leader task, where its memory is kept. */
static struct mpx_task *leader_of(struct mpx_model *m, uint32_t pid, uint64_t ts)
{
	struct mpx_task *t = task_at(m, pid, ts);

	return t && t->pid == pid ? t : NULL;
}

static void on_rss(struct mpx_model *m, const struct mpx_rss *e)
{
	struct mpx_task *t = leader_of(m, e->pid, e->hdr.ts);
	struct mpx_rss_sample *s;

	if (!t)
		t = task_at(m, e->tid, e->hdr.ts);
	if (t)
		mem_update(t, &e->mem);
	if (mpx_grow((void **)&m->rss, &m->rsscap, m->nrss + 1, sizeof(*m->rss))) {
		m->nomem++;
		return;
	}
	s = &m->rss[m->nrss++];
	memset(s, 0, sizeof(*s));
	s->ts = e->hdr.ts;
	s->pid = e->pid;
	s->file = e->mem.file;
	s->anon = e->mem.anon;
	s->shmem = e->mem.shmem;
	s->swap = e->mem.swap;
}

static void on_exit_(struct mpx_model *m, const struct mpx_exit *e)
{
	struct mpx_task *t = get_task(m, e->tid, e->pid, e->hdr.ts);

	if (!t)
		return;
	t->exited = true;
	t->exit_ns = e->hdr.ts;
	t->exit_code = e->exit_code;
	t->k_exit = e->k;
	t->have_exit = true;
	t->nvcsw = e->nvcsw;
	t->nivcsw = e->nivcsw;
	t->blkio_count = e->blkio_count;
	t->min_flt = e->mem.min_flt;
	t->maj_flt = e->mem.maj_flt;
	if (e->group_dead)
		t->maxrss = e->maxrss;
	if (e->has_mm) {
		struct mpx_task *l = leader_of(m, e->pid, e->hdr.ts);
		struct mpx_rss r = { .hdr = e->hdr, .mem = e->mem, .tid = e->tid,
				     .pid = e->pid };

		mem_update(l ? l : t, &e->mem);
		if (e->group_dead)
			on_rss(m, &r);
	}
}

static void on_migrate(struct mpx_model *m, const struct mpx_migrate *e)
{
	struct mpx_task *t = model__find(m, e->tid);

	if (t && !t->ended && !t->moved_asleep_ns &&
	    (t->state == MPX_TS_SLEEP || t->state == MPX_TS_DSLEEP ||
	     t->state == MPX_TS_BLKIO))
		t->moved_asleep_ns = e->hdr.ts;
}

static void on_comm(struct mpx_model *m, const struct mpx_comm *e)
{
	struct mpx_task *t = model__find(m, e->tid);

	/*
	 * A rename is no sign of life: a thread that execs is renamed under
	 * the leader's tid before sched_process_exec re-keys it, so never
	 * adopt a task for it.  "mpx@..." names are our workloads' phase
	 * markers, not names.
	 */
	if (t && !t->ended && strncmp(e->comm, "mpx@", 4))
		push_comm(t, e->comm);
}

void model__apply(struct mpx_model *m, const struct mpx_hdr *h)
{
	if (!m->first_ns || h->ts < m->first_ns)
		m->first_ns = h->ts;
	if (h->ts > m->last_ns)
		m->last_ns = h->ts;
	m->nevents++;

	switch (h->type) {
	case MPX_EV_SWITCH: {
		const struct mpx_switch *e = (const void *)h;

		/* Out before in: prev gives up the CPU that next takes. */
		if (e->prev_tid)
			switch_out(m, e);
		if (e->next_tid)
			switch_in(m, e);
		break;
	}
	case MPX_EV_WAKEUP:
		on_wakeup(m, (const void *)h);
		break;
	case MPX_EV_FORK:
		on_fork(m, (const void *)h);
		break;
	case MPX_EV_EXEC:
		on_exec(m, (const void *)h);
		break;
	case MPX_EV_EXIT:
		on_exit_(m, (const void *)h);
		break;
	case MPX_EV_COMM:
		on_comm(m, (const void *)h);
		break;
	case MPX_EV_BLOCK:
		on_block(m, (const void *)h);
		break;
	case MPX_EV_RSS:
		on_rss(m, (const void *)h);
		break;
	case MPX_EV_MIGRATE:
		on_migrate(m, (const void *)h);
		break;
	default:
		break;
	}
}

int model__set_exact_rss(struct mpx_model *m, uint32_t pid, uint64_t peak, uint64_t anon,
			 uint64_t file, uint64_t shmem, uint64_t last)
{
	size_t i;
	int n = 0;

	/* The process's leader; a pid reused within the run gets both. */
	for (i = 0; i < m->ntasks; i++) {
		struct mpx_task *t = &m->tasks[i];

		if (t->tid != pid || t->pid != pid)
			continue;
		t->have_exact = true;
		t->exact_peak = peak;
		t->exact_anon = anon;
		t->exact_file = file;
		t->exact_shmem = shmem;
		t->exact_last = last;
		n++;
	}
	return n ? 0 : -ENOENT;
}

/* (b - a) x (c - a) > 0: c lies above the line through a and b. */
static bool above(const struct mpx_clk_pt *a, const struct mpx_clk_pt *b,
		  const struct mpx_clk_pt *c)
{
	__int128 x1 = (__int128)b->t - a->t, y1 = (__int128)b->off - a->off;
	__int128 x2 = (__int128)c->t - a->t, y2 = (__int128)c->off - a->off;

	return x1 * y2 - y1 * x2 > 0;
}

/* The i-th record of eb if it is a switch that read its CPU's clock. */
static const struct mpx_switch *clk_sample(const struct evbuf *eb, size_t i)
{
	const struct mpx_switch *e = (const void *)evbuf__get(eb, i);

	return e->hdr.type == MPX_EV_SWITCH && e->rq_clock && e->hdr.cpu < 1024 ? e : NULL;
}

int model__calibrate_clocks(struct mpx_model *m, const struct evbuf *eb)
{
	unsigned int ncpu = 0, c;
	struct mpx_clk_pt *pt;
	size_t i, *n, at;

	free(m->clk_pt);
	free(m->clk_at);
	m->clk_pt = NULL;
	m->clk_at = NULL;
	m->nclk = 0;
	n = calloc(1024 + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < eb->n; i++) {
		const struct mpx_switch *e = clk_sample(eb, i);

		if (e) {
			n[e->hdr.cpu + 1]++;
			if (e->hdr.cpu >= ncpu)
				ncpu = e->hdr.cpu + 1u;
		}
	}
	if (!ncpu) {
		free(n);
		return 0;
	}
	for (c = 0; c < ncpu; c++)
		n[c + 1] += n[c];	/* n[c]: where CPU c's points start */
	pt = malloc((n[ncpu] ? n[ncpu] : 1) * sizeof(*pt));
	if (!pt) {
		free(n);
		return -ENOMEM;
	}
	m->clk_at = calloc(ncpu + 1, sizeof(*m->clk_at));
	if (!m->clk_at) {
		free(n);
		free(pt);
		return -ENOMEM;
	}
	/* Each CPU's lower hull of (ts, ts - rq_clock), the events being in
	 * time order: a switch whose clock was fresh lies on the line the two
	 * clocks drift along, a stale one above it. */
	for (c = 0; c < ncpu; c++)
		m->clk_at[c] = n[c];	/* hull end so far */
	for (i = 0; i < eb->n; i++) {
		const struct mpx_switch *e = clk_sample(eb, i);
		struct mpx_clk_pt p;
		size_t *end;

		if (!e)
			continue;
		c = e->hdr.cpu;
		end = &m->clk_at[c];
		p.t = e->hdr.ts;
		p.off = (int64_t)(e->hdr.ts - e->rq_clock);
		if (*end > n[c] && pt[*end - 1].t == p.t) {
			if (pt[*end - 1].off <= p.off)
				continue;
			(*end)--;
		}
		while (*end - n[c] >= 2 && !above(&pt[*end - 2], &pt[*end - 1], &p))
			(*end)--;
		pt[(*end)++] = p;
	}
	/* clk_at[c]..clk_at[c + 1]: CPU c's hull (moved together). */
	for (at = 0, c = 0; c < ncpu; c++) {
		size_t len = m->clk_at[c] - n[c];

		memmove(pt + at, pt + n[c], len * sizeof(*pt));
		m->clk_at[c] = at;
		at += len;
	}
	m->clk_at[ncpu] = at;
	free(n);
	/* A few points per CPU are left of one per switch. */
	m->clk_pt = realloc(pt, (at ? at : 1) * sizeof(*pt));
	if (!m->clk_pt)
		m->clk_pt = pt;
	m->nclk = ncpu;
	return 0;
}

int model__add_lost(struct mpx_model *m, uint32_t tid, uint64_t n)
{
	size_t cap = m->nlost;

	if (mpx_grow((void **)&m->lost, &cap, m->nlost + 1, sizeof(*m->lost)))
		return -ENOMEM;
	m->lost[m->nlost].tid = tid;
	m->lost[m->nlost].n = n;
	m->nlost++;
	return 0;
}

void model__finish(struct mpx_model *m, uint64_t end_ns)
{
	size_t i, j;

	/* A tid's losses go to every task that had it: which one lost them
	 * is unknown, so each is flagged. */
	for (j = 0; j < m->nlost; j++)
		for (i = 0; i < m->ntasks; i++)
			if (m->tasks[i].tid == m->lost[j].tid)
				m->tasks[i].lost_events += m->lost[j].n;

	for (i = 0; i < m->ntasks; i++) {
		struct mpx_task *t = &m->tasks[i];

		if (t->ended)
			continue;
		if (t->exited) {
			/* Its final switch was not reported: end at exit. */
			end_task(m, t, t->exit_ns > t->state_ns ? t->exit_ns : t->state_ns);
		} else {
			t->alive_at_end = true;
			end_task(m, t, end_ns > t->state_ns ? end_ns : t->state_ns);
		}
	}
}

uint64_t model__wall_ns(const struct mpx_model *m)
{
	uint64_t end = 0;
	size_t i;

	for (i = 0; i < m->ntasks; i++)
		if (m->tasks[i].end_ns > end)
			end = m->tasks[i].end_ns;
	return end > m->t0 ? end - m->t0 : 0;
}

size_t model__iv_search(const struct mpx_task *t, uint64_t ts)
{
	size_t a = 0, b = t->niv;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (t->iv[mid].end < ts)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}
