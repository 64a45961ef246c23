// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The critical path: the classic wakeup-chain walk (as in Perfetto's
 * critical path and `perf sched`).  Start in one task at the end of the
 * interval and walk back in time; "t" is the instant the walk has reached
 * and only ever moves back.  At each step, in the current task's interval
 * holding the instant just before t:
 *
 *  - running or runnable (RUNNING, RUNQ_WAKEUP, RUNQ_PREEMPT): that part is
 *    on the path (MPX_CP_RUN); go back to the interval's start.
 *  - blocked (SLEEP, DSLEEP, NEW) and ended by a wakeup from a traced task
 *    alive at its sched_waking time: [waking, t) is wake latency
 *    (MPX_CP_WAKE_LAT) and the walk goes on in the waker from the waking
 *    time: what the waker did before waking us is what we waited for.
 *  - NEW (forked, not yet woken) with no waker, as sched_wakeup_new has
 *    no sched_waking before it: the fork is the "waking", the NEW stretch
 *    is wake latency and the walk goes on in the parent at the fork.
 *  - blocked with no traced waker (timer, IRQ, an untraced task): the
 *    whole stretch is a wait (MPX_CP_WAIT, with its reason); go back to
 *    its start in the same task.  Unless the caller knows what the sleep
 *    waited for (critpath__build_with(): the GIL's holder, when a GIL
 *    wait timed out as the holder let go): the walk goes on in that task
 *    at t, as after a wakeup.
 *
 * Choices where the rules above do not say:
 *  - The waker is looked up by tid *and* time: the task with that tid
 *    whose lifetime holds the waking instant, so a recycled tid never
 *    sends the walk to the wrong task (model__find() returns only the
 *    newest).  A task is never its own waker: such a record is treated as
 *    having no waker.
 *  - waking_ns before the blocked interval began (the waker called
 *    try_to_wake_up() while we were still switching out, and the kernel
 *    waited for us to leave the CPU): the wake latency is clamped to the
 *    blocked interval and the waker is entered at the interval's start,
 *    so every segment lies inside one interval of one task.  waking_ns of
 *    0 or past the wakeup means the wakeup instant itself.
 *  - An interval in state UNKNOWN (an adopted task, or time that
 *    reconciliation with the kernel's counters could not place) is
 *    followed to its waker like a blocked one when it has one, else it is
 *    MPX_CP_UNKNOWN in the same task.
 *  - Before a task's birth the walk goes on in its parent (alive at the
 *    fork) at the same instant, else it ends with MPX_CP_UNKNOWN down to
 *    begin (seeded root, adopted task).  After a task's death (or inside
 *    a hole left by a lost interval) the time back to its last interval
 *    is MPX_CP_UNKNOWN, state DEAD (or UNKNOWN), and the walk goes on in
 *    the same task from there.  A live task not yet closed by
 *    model__finish() is in its current state from state_ns on.
 *  - Termination: t never increases.  Steps that do not move it (a jump
 *    to a waker at the same instant) are counted; after CP_MAX_STALL in a
 *    row the next blocked interval is not followed but emitted as
 *    MPX_CP_UNKNOWN (state and reason kept), which moves t back.  So a
 *    cycle of wakers at equal timestamps ends.
 *  - Adjacent segments of the same task, state, kind and reason merge;
 *    the merged one keeps the via_tid of its earlier part.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "critpath.h"
#include "util.h"

#define CP_MAX_STALL	64

struct tid_ent {
	uint32_t tid;
	uint32_t idx;		/* into m->tasks */
	uint64_t start;		/* its start_ns */
};

struct walk {
	const struct mpx_model *m;
	struct tid_ent *byt;	/* every task, by tid then start */
	struct mpx_cpath *out;	/* segments, newest first until the end */
	struct cp_hint {	/* per task: its last search, t and result */
		uint64_t t;
		size_t a;
	} *hint;
	critpath_waited_fn waited;
	void *ctx;
};

static int cmp_tid_ent(const void *a, const void *b)
{
	const struct tid_ent *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool alive_at(const struct mpx_task *tk, uint64_t at)
{
	return tk->start_ns <= at && (!tk->ended || at <= tk->end_ns);
}

/*
 * Index of the task with this tid alive at `at`, or -1.  Lifetimes of one
 * tid do not overlap; where one ends at the instant the next begins, the
 * one that was alive just before `at` wins (it did the work up to `at`).
 */
static long task_at(const struct walk *w, uint32_t tid, uint64_t at)
{
	size_t lo = 0, hi = w->m->ntasks, i;

	if (!tid)
		return -1;
	/* First entry not before (tid, at). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tid_ent *e = &w->byt[mid];

		if (e->tid < tid || (e->tid == tid && e->start < at))
			lo = mid + 1;
		else
			hi = mid;
	}
	i = lo;
	if (i > 0 && w->byt[i - 1].tid == tid &&
	    alive_at(&w->m->tasks[w->byt[i - 1].idx], at))
		return w->byt[i - 1].idx;
	if (i < w->m->ntasks && w->byt[i].tid == tid && w->byt[i].start == at)
		return w->byt[i].idx;
	return -1;
}

enum where {
	W_IN,		/* *v holds the instant before t */
	W_BEFORE,	/* t <= the task's birth */
	W_HOLE,		/* after death or in a lost interval: back to *lo */
};

/*
 * model__iv_search() from the task's last answer: the walk only goes back
 * in time, a step or two of intervals at a time, so search back from there
 * in growing steps rather than over all of the task's intervals.
 */
static size_t iv_search(const struct mpx_task *tk, uint64_t t, struct cp_hint *h)
{
	size_t hi, lo, step = 1;

	if (!h->t || t > h->t || h->a > tk->niv) {
		hi = model__iv_search(tk, t);
	} else {
		/* The first interval ending at or after t is at h->a or before. */
		hi = h->a;
		while (hi >= step && tk->iv[hi - step].end >= t) {
			hi -= step;
			step *= 2;
		}
		lo = hi >= step ? hi - step + 1 : 0;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (tk->iv[mid].end < t)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	h->t = t;
	h->a = hi;
	return hi;
}

/* Where the instant just before t falls in task tk's life. */
static enum where locate(const struct mpx_task *tk, uint64_t t, struct cp_hint *h,
			 struct mpx_ival *v, uint64_t *lo)
{
	size_t a = iv_search(tk, t, h);

	if (a < tk->niv && tk->iv[a].start < t) {
		*v = tk->iv[a];
		return W_IN;
	}
	if (t <= tk->start_ns)
		return W_BEFORE;
	if (a == tk->niv && !tk->ended && t > tk->state_ns) {
		/* The open stretch: in its current state since state_ns. */
		memset(v, 0, sizeof(*v));
		v->start = tk->state_ns;
		v->end = t;
		v->state = (uint8_t)tk->state;
		v->reason = tk->cur_reason;
		v->flags = tk->cur_flags;
		return W_IN;
	}
	/* A hole: intervals lost to allocation failure, or after death. */
	*lo = a > 0 ? tk->iv[a - 1].end : tk->start_ns;
	return W_HOLE;
}

/* Prepend [start, end) to the path (the walk goes newest first). */
static int emit(struct walk *w, uint64_t start, uint64_t end, size_t task,
		uint8_t state, uint8_t kind, int32_t reason, uint32_t via)
{
	struct mpx_cpath *cp = w->out;
	struct mpx_cp_seg *last = cp->n ? &cp->seg[cp->n - 1] : NULL;

	if (start >= end)
		return 0;
	if (last && last->start == end && last->task == task &&
	    last->state == state && last->kind == kind && last->reason == reason) {
		last->start = start;
		last->via_tid = via;
		return 0;
	}
	if (mpx_grow((void **)&cp->seg, &cp->cap, cp->n + 1, sizeof(*cp->seg)))
		return -ENOMEM;
	cp->seg[cp->n++] = (struct mpx_cp_seg){
		.start = start, .end = end, .task = (uint32_t)task,
		.state = state, .kind = kind, .reason = reason, .via_tid = via,
	};
	return 0;
}

static bool is_running(uint8_t s)
{
	return s == MPX_TS_RUNNING || s == MPX_TS_RUNQ_WAKEUP ||
	       s == MPX_TS_RUNQ_PREEMPT;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int walk(struct walk *w, size_t cur, uint64_t begin, uint64_t end)
{
	const struct mpx_model *m = w->m;
	uint64_t t = end, lo;
	uint32_t via = 0;
	unsigned int stall = 0;
	int err = 0;

	while (t > begin && !err) {
		const struct mpx_task *tk = &m->tasks[cur];
		bool stuck = stall >= CP_MAX_STALL;
		uint64_t was = t, s;
		struct mpx_ival v;
		long nxt;

		switch (locate(tk, t, &w->hint[cur], &v, &lo)) {
		case W_BEFORE:
			nxt = stuck ? -1 : task_at(w, tk->parent_tid, tk->start_ns);
			if (nxt >= 0 && (size_t)nxt != cur) {
				via = tk->tid;
				cur = (size_t)nxt;
			} else {
				err = emit(w, begin, t, cur, MPX_TS_UNKNOWN,
					   MPX_CP_UNKNOWN, -1, via);
				t = begin;
			}
			break;
		case W_HOLE:
			s = max_u64(lo, begin);
			err = emit(w, s, t, cur,
				   tk->ended && lo >= tk->end_ns ? MPX_TS_DEAD : MPX_TS_UNKNOWN,
				   MPX_CP_UNKNOWN, -1, via);
			t = s;
			break;
		case W_IN:
			s = max_u64(v.start, begin);
			if (is_running(v.state)) {
				err = emit(w, s, t, cur, v.state, MPX_CP_RUN, -1, via);
				t = s;
				break;
			}
			if (!stuck && v.waker_tid) {
				uint64_t wk = v.waking_ns && v.waking_ns <= v.end ?
					      v.waking_ns : v.end;

				nxt = task_at(w, v.waker_tid, wk);
				if (nxt >= 0 && (size_t)nxt != cur) {
					uint64_t nt = max_u64(min_u64(wk, t), s);

					err = emit(w, nt, t, cur, v.state, MPX_CP_WAKE_LAT,
						   v.reason, via);
					t = nt;
					via = tk->tid;
					cur = (size_t)nxt;
					break;
				}
			}
			if (!stuck && v.state == MPX_TS_NEW) {
				nxt = task_at(w, tk->parent_tid, tk->start_ns);
				if (nxt >= 0 && (size_t)nxt != cur) {
					err = emit(w, s, t, cur, v.state, MPX_CP_WAKE_LAT,
						   v.reason, via);
					t = s;
					via = tk->tid;
					cur = (size_t)nxt;
					break;
				}
			}
			if (!stuck && w->waited &&
			    (v.state == MPX_TS_SLEEP || v.state == MPX_TS_DSLEEP)) {
				uint32_t tid = w->waited(w->ctx, cur, v.start, v.end);

				nxt = tid ? task_at(w, tid, t) : -1;
				if (nxt >= 0 && (size_t)nxt != cur) {
					via = tk->tid;
					cur = (size_t)nxt;
					break;
				}
			}
			err = emit(w, s, t, cur, v.state,
				   stuck || v.state == MPX_TS_UNKNOWN ? MPX_CP_UNKNOWN :
				   MPX_CP_WAIT, v.reason, via);
			t = s;
			break;
		}
		stall = t < was ? 0 : stall + 1;
	}
	return err;
}

int critpath__build(const struct mpx_model *m, size_t start_task, uint64_t begin,
		    uint64_t end, struct mpx_cpath *out)
{
	return critpath__build_with(m, start_task, begin, end, NULL, NULL, out);
}

int critpath__build_with(const struct mpx_model *m, size_t start_task, uint64_t begin,
			 uint64_t end, critpath_waited_fn waited, void *ctx,
			 struct mpx_cpath *out)
{
	struct walk w = { .m = m, .out = out, .waited = waited, .ctx = ctx };
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	out->begin = begin;
	out->end = end;
	if (start_task >= m->ntasks)
		return -EINVAL;
	if (end <= begin)
		return 0;

	w.byt = malloc(m->ntasks * sizeof(*w.byt));
	w.hint = calloc(m->ntasks, sizeof(*w.hint));
	if (!w.byt || !w.hint) {
		free(w.byt);
		free(w.hint);
		return -ENOMEM;
	}
	for (i = 0; i < m->ntasks; i++)
		w.byt[i] = (struct tid_ent){ m->tasks[i].tid, (uint32_t)i,
					     m->tasks[i].start_ns };
	qsort(w.byt, m->ntasks, sizeof(*w.byt), cmp_tid_ent);

	err = walk(&w, start_task, begin, end);
	free(w.byt);
	free(w.hint);
	if (err)
		return err;

	/* Newest first -> time order. */
	for (i = 0; i < out->n / 2; i++) {
		struct mpx_cp_seg tmp = out->seg[i];

		out->seg[i] = out->seg[out->n - 1 - i];
		out->seg[out->n - 1 - i] = tmp;
	}
	return 0;
}

void critpath__free(struct mpx_cpath *cp)
{
	free(cp->seg);
	memset(cp, 0, sizeof(*cp));
}

uint64_t critpath__sum(const struct mpx_cpath *cp, long task, int kind)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < cp->n; i++) {
		const struct mpx_cp_seg *s = &cp->seg[i];

		if ((task == MPX_CP_ANY || s->task == (uint64_t)task) &&
		    (kind == MPX_CP_ANY || s->kind == kind))
			sum += s->end - s->start;
	}
	return sum;
}

const char *critpath__kind_name(uint8_t kind)
{
	switch (kind) {
	case MPX_CP_RUN: return "run";
	case MPX_CP_WAIT: return "wait";
	case MPX_CP_WAKE_LAT: return "wake-latency";
	default: return "unknown";
	}
}

enum mpx_bucket critpath__bucket(const struct mpx_cp_seg *s)
{
	if (s->kind == MPX_CP_WAKE_LAT)
		return MPX_B_RUNQ_WAKEUP;
	if (s->kind == MPX_CP_UNKNOWN)
		return MPX_B_UNACCOUNTED;
	return mpx_state_bucket((enum mpx_tstate)s->state);
}
