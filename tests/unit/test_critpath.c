// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The critical path (src/critpath.c), walked on models built from
 * synthetic scheduler events whose path is known by construction.
 *
 * Times are in ms (MS) with sub-ms steps in us (US).  The kernel counters
 * at each switch-out are kept by the helpers below to match the timeline,
 * so reconciliation never moves anything and the intervals are exactly the
 * ones the scenario describes.  Task indexes are creation order: the seeded
 * root is 0, then each fork.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "critpath.h"
#include "events_builder.h"
#include "evbuf.h"
#include "model.h"
#include "testlib.h"

#define US	1000ull
#define MS	1000000ull

#define RUN	MPX_CP_RUN
#define WAIT	MPX_CP_WAIT
#define WLAT	MPX_CP_WAKE_LAT
#define UNK	MPX_CP_UNKNOWN

#define TS_RUN	MPX_TS_RUNNING
#define TS_RQW	MPX_TS_RUNQ_WAKEUP
#define TS_SLP	MPX_TS_SLEEP
#define TS_NEW	MPX_TS_NEW

/* ---- scenario helpers: kernel counters kept by construction ------------- */

struct cps {
	struct scn s;
	struct mpx_model m;
	struct { uint32_t tid; uint64_t in_ts, exec, pcount; } k[16];
	size_t nk;
};

static size_t kslot(struct cps *c, uint32_t tid)
{
	size_t i;

	for (i = c->nk; i-- > 0;)
		if (c->k[i].tid == tid)
			return i;
	ASSERT_TRUE(c->nk < ARRAY_SIZE(c->k));
	c->k[c->nk].tid = tid;
	return c->nk++;
}

/* The root, held at its barrier from ts, like model__seed_root() in a run. */
static void cp_init(struct cps *c, uint32_t root, uint64_t ts)
{
	struct mpx_kcounters k0 = kc(0, 0, 0);

	memset(c, 0, sizeof(*c));
	scn__init(&c->s);
	model__init(&c->m);
	kslot(c, root);
	ASSERT_NOT_NULL(model__seed_root(&c->m, root, root, 1, "main", ts, &k0));
}

static void cp_fork(struct cps *c, uint64_t ts, uint32_t parent, uint32_t child)
{
	/* A slot of its own: a recycled tid starts again from zero. */
	if (ASSERT_TRUE(c->nk < ARRAY_SIZE(c->k)))
		c->k[c->nk++] = (__typeof__(c->k[0])){ .tid = child };
	scn__fork(&c->s, ts, parent, child, 0, "child");
}

/* tid woken at ts; waker 0: an untraced waker (timer, IRQ). */
static void cp_wake(struct cps *c, uint64_t ts, uint32_t tid, uint32_t waker,
		    uint64_t waking_ts)
{
	struct mpx_wakeup e = mk_wakeup(ts, 0, tid, scn__pid(&c->s, tid), waker, 0);

	e.waking_ts = waker ? waking_ts : 0;
	SCN_ADD(&c->s, e);
}

static void cp_in(struct cps *c, uint64_t ts, uint32_t tid)
{
	size_t i = kslot(c, tid);

	c->k[i].in_ts = ts;
	c->k[i].pcount++;
	scn__in(&c->s, ts, tid);
}

/* tid leaves its CPU in prev_state, blocked at stack_id (its wait reason). */
static void cp_out(struct cps *c, uint64_t ts, uint32_t tid, uint32_t prev_state,
		   int32_t stack_id)
{
	size_t i = kslot(c, tid);
	struct mpx_switch e;

	c->k[i].exec += ts - c->k[i].in_ts;
	e = mk_switch(ts, 0, tid, scn__pid(&c->s, tid), prev_state,
		      kc(c->k[i].exec, 0, c->k[i].pcount), 0, 0);
	e.stack_id = stack_id;
	SCN_ADD(&c->s, e);
}

static void cp_exit(struct cps *c, uint64_t ts, uint32_t tid)
{
	size_t i = kslot(c, tid);

	scn__exit(&c->s, ts, tid, kc(c->k[i].exec + ts - c->k[i].in_ts, 0,
				     c->k[i].pcount), 0);
	cp_out(c, ts, tid, MPX_TASK_DEAD, -1);
}

/* Feed the events and close every lifetime at end. */
static void cp_model(struct cps *c, uint64_t end)
{
	scn__apply(&c->s, &c->m);
	model__finish(&c->m, end);
}

static void cp_free(struct cps *c)
{
	model__free(&c->m);
	scn__free(&c->s);
}

/* ---- checking a path ---------------------------------------------------- */

struct xseg {
	uint64_t start, end;
	uint32_t task;
	uint8_t state, kind;
	int32_t reason;
	uint32_t via;
};

static void dump_path(const struct mpx_cpath *cp)
{
	size_t i;

	printf("    path [%llu, %llu), %zu segments:\n",
	       (unsigned long long)cp->begin, (unsigned long long)cp->end, cp->n);
	for (i = 0; i < cp->n; i++) {
		const struct mpx_cp_seg *s = &cp->seg[i];

		printf("    %2zu [%llu, %llu) task %u state %u kind %u reason %d via %u\n",
		       i, (unsigned long long)s->start, (unsigned long long)s->end,
		       s->task, s->state, s->kind, s->reason, s->via_tid);
	}
}

/*
 * The path is exactly x[0..n): same segments, in time order, back to back
 * from begin to end (so they sum to end - begin).
 */
static void check_path(const struct mpx_cpath *cp, const struct xseg *x, size_t n)
{
	uint64_t sum = 0, at = cp->begin;
	bool ok = true;
	size_t i;

	for (i = 0; i < cp->n; i++) {
		ok &= ASSERT_EQ(cp->seg[i].start, at);
		ok &= ASSERT_TRUE(cp->seg[i].end > cp->seg[i].start);
		sum += cp->seg[i].end - cp->seg[i].start;
		at = cp->seg[i].end;
	}
	ok &= ASSERT_EQ(sum, cp->end - cp->begin);
	ok &= ASSERT_EQ(critpath__sum(cp, MPX_CP_ANY, MPX_CP_ANY), cp->end - cp->begin);
	ok &= ASSERT_EQ(cp->n, n);
	for (i = 0; i < n && i < cp->n; i++) {
		const struct mpx_cp_seg *s = &cp->seg[i];
		bool seg_ok = true;

		seg_ok &= ASSERT_EQ(s->start, x[i].start);
		seg_ok &= ASSERT_EQ(s->end, x[i].end);
		seg_ok &= ASSERT_EQ(s->task, x[i].task);
		seg_ok &= ASSERT_EQ(s->state, x[i].state);
		seg_ok &= ASSERT_EQ(s->kind, x[i].kind);
		seg_ok &= ASSERT_EQ(s->reason, x[i].reason);
		seg_ok &= ASSERT_EQ(s->via_tid, x[i].via);
		if (!seg_ok)
			printf("    ^ segment %zu\n", i);
		ok &= seg_ok;
	}
	if (!ok)
		dump_path(cp);
}

#define CHECK_PATH(cp, ...) ({							\
	const struct xseg ___x[] = { __VA_ARGS__ };				\
									\
	check_path((cp), ___x, ARRAY_SIZE(___x));				\
})

/* ---- scenarios ------------------------------------------------------------ */

/* (1) One task: runs, sleeps on a timer (no waker), runs again. */
TEST(critpath_timer_sleep)
{
	struct mpx_cpath cp;
	struct cps c;

	cp_init(&c, 100, 0);
	cp_wake(&c, 1 * MS, 100, 0, 0);			/* release */
	cp_in(&c, 1500 * US, 100);
	cp_out(&c, 11500 * US, 100, MPX_TASK_INTERRUPTIBLE, 7);
	cp_wake(&c, 31500 * US, 100, 0, 0);		/* the timer */
	cp_in(&c, 31600 * US, 100);
	cp_model(&c, 41600 * US);

	/* begin inside the barrier wait: clamped there. */
	ASSERT_EQ(critpath__build(&c.m, 0, 500 * US, 41600 * US, &cp), 0);
	CHECK_PATH(&cp,
		{ 500 * US, 1 * MS, 0, TS_SLP, WAIT, MPX_REASON_BARRIER, 0 },
		{ 1 * MS, 1500 * US, 0, TS_RQW, RUN, -1, 0 },
		{ 1500 * US, 11500 * US, 0, TS_RUN, RUN, -1, 0 },
		{ 11500 * US, 31500 * US, 0, TS_SLP, WAIT, 7, 0 },
		{ 31500 * US, 31600 * US, 0, TS_RQW, RUN, -1, 0 },
		{ 31600 * US, 41600 * US, 0, TS_RUN, RUN, -1, 0 });
	ASSERT_EQ(critpath__sum(&cp, 0, WAIT), 20500 * US);
	critpath__free(&cp);

	/* Both ends inside intervals. */
	ASSERT_EQ(critpath__build(&c.m, 0, 5 * MS, 20 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 5 * MS, 11500 * US, 0, TS_RUN, RUN, -1, 0 },
		{ 11500 * US, 20 * MS, 0, TS_SLP, WAIT, 7, 0 });
	critpath__free(&cp);
	cp_free(&c);
}

/*
 * main (100) forks a worker (200) at 1 ms and waits from 3 ms; the worker
 * runs to 22.2 ms; main is woken at 22.1 ms (sched_wakeup; waker 0: the
 * timer, else try_to_wake_up at 22 ms on a remote CPU) and runs from 23 ms.
 */
static void worker_scenario(struct cps *c, uint32_t waker)
{
	cp_init(c, 100, 0);
	cp_wake(c, 0, 100, 0, 0);
	cp_in(c, 0, 100);
	cp_fork(c, 1 * MS, 100, 200);
	scn__wakeup_new(&c->s, 1 * MS, 200);
	cp_in(c, 2 * MS, 200);
	cp_out(c, 3 * MS, 100, MPX_TASK_INTERRUPTIBLE, 5);	/* main waits */
	cp_wake(c, 22100 * US, 100, waker, waker ? 22 * MS : 0);
	cp_out(c, 22200 * US, 200, MPX_TASK_INTERRUPTIBLE, 6);
	cp_in(c, 23 * MS, 100);
	cp_model(c, 30 * MS);
}

/* (2) main waits; a worker runs 20 ms and wakes it. */
TEST(critpath_worker_wakes_main)
{
	struct mpx_cpath cp;
	struct cps c;

	worker_scenario(&c, 200);

	ASSERT_EQ(critpath__build(&c.m, 0, 0, 30 * MS, &cp), 0);
	CHECK_PATH(&cp,
		/* main ran until the worker was born (the fork)... */
		{ 0, 1 * MS, 0, TS_RUN, RUN, -1, 200 },
		{ 1 * MS, 2 * MS, 1, TS_RQW, RUN, -1, 100 },
		/* ... the worker's 20 ms up to its try_to_wake_up ... */
		{ 2 * MS, 22 * MS, 1, TS_RUN, RUN, -1, 100 },
		/* ... main's wake latency, runqueue wait and run. */
		{ 22 * MS, 22100 * US, 0, TS_SLP, WLAT, 5, 0 },
		{ 22100 * US, 23 * MS, 0, TS_RQW, RUN, -1, 0 },
		{ 23 * MS, 30 * MS, 0, TS_RUN, RUN, -1, 0 });
	ASSERT_EQ(critpath__sum(&cp, 1, RUN), 21 * MS);
	ASSERT_EQ(critpath__sum(&cp, MPX_CP_ANY, WAIT), 0);
	critpath__free(&cp);
	cp_free(&c);
}

/* What main's sleep from 3 ms waited for, as a caller may know it (the
 * GIL's holder): the worker, for that sleep only. */
struct held {
	int calls;
	uint32_t answer;
};

static uint32_t worker_held_it(void *ctx, size_t task, uint64_t start, uint64_t end)
{
	struct held *h = ctx;

	h->calls++;
	return task == 0 && start == 3 * MS && end == 22100 * US ? h->answer : 0;
}

/* (2b) The same, but the timer ends main's sleep (no waker): with the
 * caller's answer the walk goes on in the worker at the wakeup instant. */
TEST(critpath_sleep_waited_for_a_holder)
{
	struct mpx_cpath cp;
	struct cps c;
	struct held h = { 0, 200 };

	worker_scenario(&c, 0);					/* its timeout */

	ASSERT_EQ(critpath__build_with(&c.m, 0, 0, 30 * MS, worker_held_it, &h, &cp), 0);
	CHECK_PATH(&cp,
		{ 0, 1 * MS, 0, TS_RUN, RUN, -1, 200 },
		{ 1 * MS, 2 * MS, 1, TS_RQW, RUN, -1, 100 },
		/* the worker up to main's wakeup, then main */
		{ 2 * MS, 22100 * US, 1, TS_RUN, RUN, -1, 100 },
		{ 22100 * US, 23 * MS, 0, TS_RQW, RUN, -1, 0 },
		{ 23 * MS, 30 * MS, 0, TS_RUN, RUN, -1, 0 });
	ASSERT_EQ(h.calls, 1);
	critpath__free(&cp);

	/* No answer: the sleep is a wait, as without the callback. */
	h = (struct held){ 0, 0 };
	ASSERT_EQ(critpath__build_with(&c.m, 0, 5 * MS, 30 * MS, worker_held_it, &h, &cp), 0);
	CHECK_PATH(&cp,
		{ 5 * MS, 22100 * US, 0, TS_SLP, WAIT, 5, 0 },
		{ 22100 * US, 23 * MS, 0, TS_RQW, RUN, -1, 0 },
		{ 23 * MS, 30 * MS, 0, TS_RUN, RUN, -1, 0 });
	ASSERT_EQ(h.calls, 1);
	critpath__free(&cp);
	cp_free(&c);
}

/* (3) A waits for B, which waits for C. */
TEST(critpath_chain_of_three)
{
	struct mpx_cpath cp;
	struct cps c;

	cp_init(&c, 100, 0);
	cp_wake(&c, 0, 100, 0, 0);
	cp_in(&c, 0, 100);
	cp_fork(&c, 1 * MS, 100, 200);
	scn__wakeup_new(&c.s, 1 * MS, 200);
	cp_in(&c, 1500 * US, 200);
	cp_fork(&c, 2 * MS, 100, 300);
	scn__wakeup_new(&c.s, 2 * MS, 300);
	cp_in(&c, 2500 * US, 300);
	cp_out(&c, 3 * MS, 100, MPX_TASK_INTERRUPTIBLE, 11);	/* A waits on B */
	cp_out(&c, 4 * MS, 200, MPX_TASK_UNINTERRUPTIBLE, 12);	/* B waits on C */
	cp_wake(&c, 14 * MS, 200, 300, 14 * MS);
	cp_out(&c, 14 * MS, 300, MPX_TASK_INTERRUPTIBLE, 13);
	cp_in(&c, 14500 * US, 200);
	cp_wake(&c, 19600 * US, 100, 200, 19500 * US);
	cp_out(&c, 19600 * US, 200, MPX_TASK_INTERRUPTIBLE, 12);
	cp_in(&c, 20 * MS, 100);
	cp_model(&c, 25 * MS);

	ASSERT_EQ(critpath__build(&c.m, 0, 0, 25 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 0, 2 * MS, 0, TS_RUN, RUN, -1, 300 },
		{ 2 * MS, 2500 * US, 2, TS_RQW, RUN, -1, 200 },
		{ 2500 * US, 14 * MS, 2, TS_RUN, RUN, -1, 200 },
		{ 14 * MS, 14500 * US, 1, TS_RQW, RUN, -1, 100 },
		{ 14500 * US, 19500 * US, 1, TS_RUN, RUN, -1, 100 },
		{ 19500 * US, 19600 * US, 0, TS_SLP, WLAT, 11, 0 },
		{ 19600 * US, 20 * MS, 0, TS_RQW, RUN, -1, 0 },
		{ 20 * MS, 25 * MS, 0, TS_RUN, RUN, -1, 0 });
	critpath__free(&cp);

	/* From B, ending inside its wait for C: the path goes into C. */
	ASSERT_EQ(critpath__build(&c.m, 1, 1 * MS, 10 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 1 * MS, 2 * MS, 0, TS_RUN, RUN, -1, 300 },
		{ 2 * MS, 2500 * US, 2, TS_RQW, RUN, -1, 200 },
		{ 2500 * US, 10 * MS, 2, TS_RUN, RUN, -1, 200 });
	critpath__free(&cp);
	cp_free(&c);
}

/* (4) A pool of one worker runs 4 tasks that each sleep 20 ms; main waits. */
TEST(critpath_pool_serialises_sleeps)
{
	struct xseg x[32];
	struct mpx_cpath cp;
	uint64_t b = 1100 * US;
	struct cps c;
	size_t n = 0;
	int k;

	cp_init(&c, 100, 0);
	cp_wake(&c, 0, 100, 0, 0);
	cp_in(&c, 0, 100);
	cp_fork(&c, 1 * MS, 100, 200);
	scn__wakeup_new(&c.s, 1 * MS, 200);
	cp_in(&c, b, 200);
	cp_out(&c, 2 * MS, 100, MPX_TASK_INTERRUPTIBLE, 21);	/* result.get() */

	x[n++] = (struct xseg){ 0, 1 * MS, 0, TS_RUN, RUN, -1, 200 };
	x[n++] = (struct xseg){ 1 * MS, b, 1, TS_RQW, RUN, -1, 100 };
	for (k = 0; k < 4; k++) {
		cp_out(&c, b + 1 * MS, 200, MPX_TASK_INTERRUPTIBLE, 22);
		cp_wake(&c, b + 21 * MS, 200, 0, 0);		/* its timer */
		cp_in(&c, b + 21100 * US, 200);
		x[n++] = (struct xseg){ b, b + 1 * MS, 1, TS_RUN, RUN, -1, 100 };
		x[n++] = (struct xseg){ b + 1 * MS, b + 21 * MS, 1, TS_SLP, WAIT, 22, 100 };
		x[n++] = (struct xseg){ b + 21 * MS, b + 21100 * US, 1, TS_RQW, RUN, -1, 100 };
		b += 21100 * US;
	}
	cp_wake(&c, b + 1 * MS, 100, 200, b + 1 * MS);	/* the last result */
	cp_out(&c, b + 1 * MS, 200, MPX_TASK_INTERRUPTIBLE, 23);
	cp_in(&c, b + 1100 * US, 100);
	cp_model(&c, b + 2100 * US);
	x[n++] = (struct xseg){ b, b + 1 * MS, 1, TS_RUN, RUN, -1, 100 };
	x[n++] = (struct xseg){ b + 1 * MS, b + 1100 * US, 0, TS_RQW, RUN, -1, 0 };
	x[n++] = (struct xseg){ b + 1100 * US, b + 2100 * US, 0, TS_RUN, RUN, -1, 0 };
	ASSERT_EQ(b + 2100 * US, 87600 * US);

	ASSERT_EQ(critpath__build(&c.m, 0, 0, b + 2100 * US, &cp), 0);
	check_path(&cp, x, n);
	ASSERT_EQ(critpath__sum(&cp, 1, WAIT), 80 * MS);
	ASSERT_EQ(critpath__sum(&cp, MPX_CP_ANY, WAIT), 80 * MS);
	ASSERT_EQ(critpath__sum(&cp, 0, MPX_CP_ANY), 2100 * US);
	critpath__free(&cp);
	cp_free(&c);
}

/* (5) main forks a child (NEW without a waker), the child runs, exits and
 * wakes main in wait4(). */
TEST(critpath_fork_child_wakes_parent)
{
	struct mpx_cpath cp;
	struct cps c;

	cp_init(&c, 100, 0);
	cp_wake(&c, 0, 100, 0, 0);
	cp_in(&c, 0, 100);
	cp_fork(&c, 1 * MS, 100, 200);
	scn__wakeup_new(&c.s, 1010 * US, 200);
	cp_in(&c, 1500 * US, 200);
	cp_out(&c, 2 * MS, 100, MPX_TASK_INTERRUPTIBLE, 31);
	cp_wake(&c, 10 * MS, 100, 200, 9990 * US);	/* exit_notify() */
	cp_exit(&c, 10050 * US, 200);
	cp_in(&c, 10100 * US, 100);
	cp_model(&c, 12 * MS);

	ASSERT_EQ(critpath__build(&c.m, 0, 0, 12 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 0, 1 * MS, 0, TS_RUN, RUN, -1, 200 },
		/* fork to sched_wakeup_new: the parent's doing */
		{ 1 * MS, 1010 * US, 1, TS_NEW, WLAT, -1, 100 },
		{ 1010 * US, 1500 * US, 1, TS_RQW, RUN, -1, 100 },
		{ 1500 * US, 9990 * US, 1, TS_RUN, RUN, -1, 100 },
		{ 9990 * US, 10 * MS, 0, TS_SLP, WLAT, 31, 0 },
		{ 10 * MS, 10100 * US, 0, TS_RQW, RUN, -1, 0 },
		{ 10100 * US, 12 * MS, 0, TS_RUN, RUN, -1, 0 });
	critpath__free(&cp);

	/*
	 * From the child past its death: the time after it is unknown (state
	 * DEAD), then its life, then its parent before its birth.
	 */
	ASSERT_EQ(critpath__build(&c.m, 1, 500 * US, 12 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 500 * US, 1 * MS, 0, TS_RUN, RUN, -1, 200 },
		{ 1 * MS, 1010 * US, 1, TS_NEW, WLAT, -1, 0 },
		{ 1010 * US, 1500 * US, 1, TS_RQW, RUN, -1, 0 },
		{ 1500 * US, 10050 * US, 1, TS_RUN, RUN, -1, 0 },
		{ 10050 * US, 12 * MS, 1, MPX_TS_DEAD, UNK, -1, 0 });
	critpath__free(&cp);
	cp_free(&c);
}

/*
 * (5b) main sleeps on a timer 30 times while its worker runs, then waits
 * for the worker.  The walk leaves main late in its life and comes back to
 * it 60 intervals earlier, at the worker's birth: main's first stretch,
 * not one of the later ones near where it left.
 */
TEST(critpath_back_to_a_task_far_earlier)
{
	struct mpx_cpath cp;
	struct cps c;
	uint64_t t;
	int k;

	cp_init(&c, 100, 0);
	cp_wake(&c, 0, 100, 0, 0);
	cp_in(&c, 0, 100);
	cp_fork(&c, 1 * MS, 100, 200);
	scn__wakeup_new(&c.s, 1 * MS, 200);
	cp_in(&c, 2 * MS, 200);
	for (k = 0; k < 30; k++) {
		t = 3 * MS + (uint64_t)k * MS;
		cp_out(&c, t, 100, MPX_TASK_INTERRUPTIBLE, 7);
		cp_wake(&c, t + 500 * US, 100, 0, 0);
		cp_in(&c, t + 600 * US, 100);
	}
	cp_out(&c, 33 * MS, 100, MPX_TASK_INTERRUPTIBLE, 5);
	cp_wake(&c, 40100 * US, 100, 200, 40 * MS);
	cp_out(&c, 40200 * US, 200, MPX_TASK_INTERRUPTIBLE, 6);
	cp_in(&c, 41 * MS, 100);
	cp_model(&c, 50 * MS);

	ASSERT_TRUE(c.m.ntasks == 2 && c.m.tasks[0].niv > 60);
	ASSERT_EQ(critpath__build(&c.m, 0, 0, 50 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 0, 1 * MS, 0, TS_RUN, RUN, -1, 200 },
		{ 1 * MS, 2 * MS, 1, TS_RQW, RUN, -1, 100 },
		{ 2 * MS, 40 * MS, 1, TS_RUN, RUN, -1, 100 },
		{ 40 * MS, 40100 * US, 0, TS_SLP, WLAT, 5, 0 },
		{ 40100 * US, 41 * MS, 0, TS_RQW, RUN, -1, 0 },
		{ 41 * MS, 50 * MS, 0, TS_RUN, RUN, -1, 0 });
	critpath__free(&cp);

	/* Ending inside main's timer sleeps: the walk stays in main. */
	ASSERT_EQ(critpath__build(&c.m, 0, 20 * MS, 21 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 20 * MS, 20500 * US, 0, TS_SLP, WAIT, 7, 0 },
		{ 20500 * US, 20600 * US, 0, TS_RQW, RUN, -1, 0 },
		{ 20600 * US, 21 * MS, 0, TS_RUN, RUN, -1, 0 });
	critpath__free(&cp);
	cp_free(&c);
}

/* (6) tid 300 is recycled: each wakeup must go to the 300 alive then. */
TEST(critpath_tid_reuse)
{
	struct mpx_cpath cp;
	struct cps c;

	cp_init(&c, 100, 0);
	cp_wake(&c, 0, 100, 0, 0);
	cp_in(&c, 0, 100);
	cp_fork(&c, 1 * MS, 100, 300);				/* old 300: index 1 */
	scn__wakeup_new(&c.s, 1 * MS, 300);
	cp_in(&c, 1100 * US, 300);
	cp_out(&c, 2 * MS, 100, MPX_TASK_INTERRUPTIBLE, 41);
	cp_wake(&c, 5 * MS, 100, 300, 5 * MS);
	cp_in(&c, 5200 * US, 100);
	cp_exit(&c, 5500 * US, 300);
	cp_fork(&c, 6 * MS, 100, 300);				/* new 300: index 2 */
	scn__wakeup_new(&c.s, 6050 * US, 300);
	cp_in(&c, 6100 * US, 300);
	cp_out(&c, 7 * MS, 100, MPX_TASK_INTERRUPTIBLE, 42);
	cp_wake(&c, 9 * MS, 100, 300, 9 * MS);
	cp_out(&c, 9 * MS, 300, MPX_TASK_INTERRUPTIBLE, 43);
	cp_in(&c, 9100 * US, 100);
	cp_model(&c, 10 * MS);

	if (!ASSERT_EQ(c.m.ntasks, 3))
		goto out;
	ASSERT_EQ(c.m.tasks[1].tid, 300);
	ASSERT_EQ(c.m.tasks[2].tid, 300);
	ASSERT_EQ(c.m.tasks[1].end_ns, 5500 * US);

	ASSERT_EQ(critpath__build(&c.m, 0, 0, 10 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 0, 1 * MS, 0, TS_RUN, RUN, -1, 300 },
		{ 1 * MS, 1100 * US, 1, TS_RQW, RUN, -1, 100 },
		{ 1100 * US, 5 * MS, 1, TS_RUN, RUN, -1, 100 },		/* the old one */
		{ 5 * MS, 5200 * US, 0, TS_RQW, RUN, -1, 300 },
		{ 5200 * US, 6 * MS, 0, TS_RUN, RUN, -1, 300 },
		{ 6 * MS, 6050 * US, 2, TS_NEW, WLAT, -1, 100 },
		{ 6050 * US, 6100 * US, 2, TS_RQW, RUN, -1, 100 },
		{ 6100 * US, 9 * MS, 2, TS_RUN, RUN, -1, 100 },		/* the new one */
		{ 9 * MS, 9100 * US, 0, TS_RQW, RUN, -1, 0 },
		{ 9100 * US, 10 * MS, 0, TS_RUN, RUN, -1, 0 });
	critpath__free(&cp);
out:
	cp_free(&c);
}

/* (7) A and B each claim to have woken the other at the same instant. */
TEST(critpath_waker_cycle_terminates)
{
	struct mpx_cpath cp;
	struct cps c;

	cp_init(&c, 100, 0);
	cp_wake(&c, 0, 100, 0, 0);
	cp_in(&c, 0, 100);
	cp_fork(&c, 500 * US, 100, 200);
	scn__wakeup_new(&c.s, 500 * US, 200);
	cp_in(&c, 600 * US, 200);
	cp_out(&c, 1 * MS, 100, MPX_TASK_INTERRUPTIBLE, 51);
	cp_out(&c, 1 * MS, 200, MPX_TASK_INTERRUPTIBLE, 52);
	cp_wake(&c, 5 * MS, 100, 200, 5 * MS);
	cp_wake(&c, 5 * MS, 200, 100, 5 * MS);
	cp_in(&c, 6 * MS, 100);
	cp_in(&c, 7 * MS, 200);
	cp_model(&c, 8 * MS);

	ASSERT_EQ(critpath__build(&c.m, 0, 0, 8 * MS, &cp), 0);
	/*
	 * The walk bounces A -> B -> A ... at 5 ms without moving back, gives
	 * up after 64 jumps (an even number: back in A) and calls A's wait
	 * unknown, keeping its state and reason.
	 */
	CHECK_PATH(&cp,
		{ 0, 1 * MS, 0, TS_RUN, RUN, -1, 200 },
		{ 1 * MS, 5 * MS, 0, TS_SLP, UNK, 51, 200 },
		{ 5 * MS, 6 * MS, 0, TS_RQW, RUN, -1, 0 },
		{ 6 * MS, 8 * MS, 0, TS_RUN, RUN, -1, 0 });
	critpath__free(&cp);
	cp_free(&c);
}

/* Edges: empty and bad requests, time before birth, a waking before the
 * switch-out, a model never finished. */
TEST(critpath_edges)
{
	struct mpx_cpath cp;
	struct cps c;

	cp_init(&c, 100, 1 * MS);
	cp_wake(&c, 1 * MS, 100, 0, 0);
	cp_in(&c, 1 * MS, 100);
	cp_fork(&c, 2 * MS, 100, 200);
	scn__wakeup_new(&c.s, 2 * MS, 200);
	cp_in(&c, 2 * MS, 200);
	/* B calls try_to_wake_up at 2.9 ms while A is still switching out at
	 * 3 ms; the wakeup lands at 3.2 ms. */
	cp_out(&c, 3 * MS, 100, MPX_TASK_UNINTERRUPTIBLE, 61);
	cp_wake(&c, 3200 * US, 100, 200, 2900 * US);
	cp_in(&c, 3300 * US, 100);
	cp_out(&c, 4 * MS, 200, MPX_TASK_INTERRUPTIBLE, 62);
	scn__apply(&c.s, &c.m);		/* no model__finish(): still open */

	ASSERT_EQ(critpath__build(&c.m, 5, 0, 1 * MS, &cp), -EINVAL);
	critpath__free(&cp);
	ASSERT_EQ(critpath__build(&c.m, 0, 2 * MS, 2 * MS, &cp), 0);
	ASSERT_EQ(cp.n, 0);
	critpath__free(&cp);

	/* Before the root's birth: unknown, there is no parent to follow. */
	ASSERT_EQ(critpath__build(&c.m, 0, 0, 5 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 0, 1 * MS, 0, MPX_TS_UNKNOWN, UNK, -1, 200 },
		{ 1 * MS, 2 * MS, 0, TS_RUN, RUN, -1, 200 },
		{ 2 * MS, 3 * MS, 1, TS_RUN, RUN, -1, 100 },
		/* B entered at A's switch-out, not at its earlier waking */
		{ 3 * MS, 3200 * US, 0, MPX_TS_DSLEEP, WLAT, 61, 0 },
		{ 3200 * US, 3300 * US, 0, TS_RQW, RUN, -1, 0 },
		{ 3300 * US, 5 * MS, 0, TS_RUN, RUN, -1, 0 });
	critpath__free(&cp);

	/* B still asleep in its open stretch, with no waker yet. */
	ASSERT_EQ(critpath__build(&c.m, 1, 3 * MS, 6 * MS, &cp), 0);
	CHECK_PATH(&cp,
		{ 3 * MS, 4 * MS, 1, TS_RUN, RUN, -1, 0 },
		{ 4 * MS, 6 * MS, 1, TS_SLP, WAIT, 62, 0 });
	critpath__free(&cp);
	cp_free(&c);
}
