// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Lifetime accounting (src/account.c) and the self-check (src/check.c),
 * from synthetic event streams whose right answer is known by construction.
 *
 * Each scenario is a timeline in ns.  The kernel counters given at
 * switch-outs and exits are what the kernel would report for that timeline:
 * sum_exec_runtime and run_delay cumulative, pcount +1 per arrival on a CPU.
 */
#include <string.h>

#include "check.h"
#include "events_builder.h"
#include "evbuf.h"
#include "model.h"
#include "testlib.h"

#define PARENT	10	/* never forked in the trace: only a parent id */
#define CHILD	20

#define S_RUN	MPX_TASK_RUNNING
#define S_INT	MPX_TASK_INTERRUPTIBLE
#define S_UNINT	MPX_TASK_UNINTERRUPTIBLE
#define S_DEAD	MPX_TASK_DEAD

static uint64_t bucket_sum(const struct mpx_task *t)
{
	uint64_t sum = 0;
	int b;

	for (b = 0; b < MPX_B_MAX; b++)
		sum += t->bucket[b];
	return sum;
}

/* Exact buckets, in ns. */
#define ASSERT_BUCKETS(t, oncpu, runq_wakeup, runq_preempt, sleep, dsleep, unacc) ({ \
	ASSERT_EQ((t)->bucket[MPX_B_ONCPU], oncpu);				\
	ASSERT_EQ((t)->bucket[MPX_B_RUNQ_WAKEUP], runq_wakeup);			\
	ASSERT_EQ((t)->bucket[MPX_B_RUNQ_PREEMPT], runq_preempt);		\
	ASSERT_EQ((t)->bucket[MPX_B_SLEEP], sleep);				\
	ASSERT_EQ((t)->bucket[MPX_B_DSLEEP], dsleep);				\
	ASSERT_EQ((t)->bucket[MPX_B_UNACCOUNTED], unacc);			\
})

/* Lifetime [start, end], closed, and the buckets sum to it exactly. */
#define ASSERT_LIFETIME(t, start, end) ({					\
	ASSERT_TRUE((t)->ended);						\
	ASSERT_EQ((t)->start_ns, start);					\
	ASSERT_EQ((t)->end_ns, end);						\
	ASSERT_EQ(bucket_sum(t), (t)->end_ns - (t)->start_ns);			\
})

/* No event was lost or repaired. */
#define ASSERT_CLEAN(t) ({							\
	ASSERT_EQ((t)->reconciled_ns, 0);					\
	ASSERT_EQ((t)->missed_in, 0);						\
	ASSERT_EQ((t)->missed_out, 0);						\
})

/* The self-check agrees with the kernel to the ns. */
#define ASSERT_CHECK_EXACT(t, kexec, kdelay) ({					\
	struct mpx_task_check ___c;						\
										\
	check__task((t), &___c);						\
	ASSERT_TRUE(___c.valid);						\
	ASSERT_TRUE(___c.in_bounds);						\
	ASSERT_EQ(___c.kernel_exec_ns, kexec);					\
	ASSERT_EQ(___c.kernel_run_delay_ns, kdelay);				\
	ASSERT_EQ(___c.oncpu_dev_ns, 0);					\
	ASSERT_EQ(___c.runq_dev_ns, 0);						\
})

static void setup(struct scn *s, struct mpx_model *m)
{
	scn__init(s);
	model__init(m);
}

static void teardown(struct scn *s, struct mpx_model *m)
{
	model__free(m);
	scn__free(s);
}

/* The newest task of tid, or NULL (with a failure) when there is none. */
static struct mpx_task *task(struct mpx_model *m, uint32_t tid)
{
	struct mpx_task *t = model__find(m, tid);

	ASSERT_NOT_NULL(t);
	return t;
}

/*
 * CHILD's whole life through every bucket.  fork and wakeup_new share a
 * timestamp: the kernel emits them back to back in kernel_clone(), and its
 * run_delay starts at the enqueue just before sched_wakeup_new (see
 * new_task_waits_as_runq_wakeup for a gap between them).
 */
static void build_full_life(struct scn *s)
{
	scn__fork(s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(s, 1000, CHILD);
	scn__in(s, 3000, CHILD);				/* runq_wakeup 2000 */
	scn__out(s, 13000, CHILD, S_RUN, kc(10000, 2000, 1));	/* oncpu 10000 */
	scn__in(s, 14500, CHILD);				/* runq_preempt 1500 */
	scn__out(s, 20500, CHILD, S_INT, kc(16000, 3500, 2));	/* oncpu 6000 */
	scn__wakeup(s, 50500, CHILD);				/* sleep 30000 */
	scn__in(s, 51000, CHILD);				/* runq_wakeup 500 */
	scn__out(s, 55000, CHILD, S_UNINT, kc(20000, 4000, 3));	/* oncpu 4000 */
	scn__wakeup(s, 75000, CHILD);				/* dsleep 20000 */
	scn__in(s, 75800, CHILD);				/* runq_wakeup 800 */
	scn__exit(s, 78000, CHILD, kc(22200, 4800, 4), 3 << 8);
	scn__out(s, 79000, CHILD, S_DEAD, kc(23200, 4800, 4));	/* oncpu 3200 */
}

static void assert_full_life(struct mpx_task *t)
{
	ASSERT_BUCKETS(t, 23200, 3300, 1500, 30000, 20000, 0);
	ASSERT_LIFETIME(t, 1000, 79000);
	ASSERT_CLEAN(t);
	ASSERT_EQ(t->nswitch_invol, 1);
	ASSERT_EQ(t->nswitch_vol, 2);
	ASSERT_EQ(t->nwakeups, 3);	/* wakeup_new + 2 */
	ASSERT_EQ(t->races, 0);
	ASSERT_EQ(t->wake_charge_ns, 0);
	ASSERT_EQ(t->unexec_ns, 0);
	ASSERT_TRUE(t->exited);
	ASSERT_TRUE(t->dead);
	ASSERT_FALSE(t->alive_at_end);
	ASSERT_EQ(t->exit_ns, 78000);
	ASSERT_EQ(t->exit_code, 3 << 8);
	ASSERT_CHECK_EXACT(t, 23200, 4800);
}

TEST(fork_to_death_through_every_bucket)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	build_full_life(&s);
	scn__apply(&s, &m);
	model__finish(&m, 100000);	/* no effect: the life is closed */

	ASSERT_EQ(m.ntasks, 1);
	t = task(&m, CHILD);
	if (t) {
		assert_full_life(t);
		ASSERT_EQ(t->pid, CHILD);
		ASSERT_EQ(t->ppid, PARENT);
		ASSERT_EQ(t->parent_tid, PARENT);
		ASSERT_FALSE(t->is_thread);
		ASSERT_STREQ(t->comm, "child");
	}
	ASSERT_EQ(m.orphan_events, 0);
	ASSERT_EQ(m.stale_events, 0);
	teardown(&s, &m);
}

/*
 * Fork to wakeup_new: the model counts it as runq_wakeup (model.h,
 * MPX_TS_NEW), the kernel's run_delay starts at the enqueue.  The check
 * compares like with like: the gap is a raw deviation only.
 */
TEST(new_task_waits_as_runq_wakeup)
{
	struct mpx_task_check c;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1500, CHILD);			/* new 500 */
	scn__in(&s, 4000, CHILD);				/* runq_wakeup 2500 */
	scn__out(&s, 9000, CHILD, S_DEAD, kc(5000, 2500, 1));	/* oncpu 5000 */
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 5000, 3000, 0, 0, 0, 0);
		ASSERT_LIFETIME(t, 1000, 9000);
		check__task(t, &c);
		ASSERT_TRUE(c.valid);
		ASSERT_EQ(c.oncpu_dev_ns, 0);
		ASSERT_EQ(t->new_ns, 500);
		ASSERT_EQ(c.raw_runq_dev_ns, 500);
		ASSERT_EQ(c.runq_dev_ns, 0);
		ASSERT_TRUE(c.in_bounds);
	}
	teardown(&s, &m);
}

/* Woken while still running: the switch-out goes straight to the run queue. */
TEST(wakeup_before_switch_out_race)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);				/* runq_wakeup 1000 */
	scn__wakeup_by(&s, 6000, CHILD, PARENT);		/* still running */
	scn__out(&s, 7000, CHILD, S_INT, kc(5000, 1000, 1));	/* oncpu 5000 */
	scn__in(&s, 9000, CHILD);				/* runq_wakeup 2000 */
	scn__out(&s, 10000, CHILD, S_DEAD, kc(6000, 3000, 2));	/* oncpu 1000 */
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 6000, 3000, 0, 0, 0, 0);
		ASSERT_LIFETIME(t, 1000, 10000);
		ASSERT_EQ(t->races, 1);
		ASSERT_EQ(t->nswitch_vol, 1);
		ASSERT_CLEAN(t);
		ASSERT_CHECK_EXACT(t, 6000, 3000);
	}
	teardown(&s, &m);
}

/* A wakeup of a running task (ttwu_runnable) long before a later sleep must
 * not turn that sleep into run-queue time. */
TEST(stale_wakeup_while_running_keeps_next_sleep)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);
	scn__wakeup_by(&s, 3000, CHILD, PARENT);		/* running: no effect */
	scn__out(&s, 100000, CHILD, S_INT, kc(98000, 1000, 1));	/* sleeps */
	scn__wakeup(&s, 120000, CHILD);				/* sleep 20000 */
	scn__in(&s, 121000, CHILD);
	scn__out(&s, 122000, CHILD, S_DEAD, kc(99000, 2000, 2));
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 99000, 2000, 0, 20000, 0, 0);
		ASSERT_EQ(t->races, 0);
		ASSERT_LIFETIME(t, 1000, 122000);
	}
	teardown(&s, &m);
}

/* Preempted after sched_process_exit: still run-queue time, and the life
 * ends at the final switch, not at the exit. */
TEST(exit_while_runnable)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);				/* runq_wakeup 1000 */
	scn__exit(&s, 5000, CHILD, kc(3000, 1000, 1), 0);
	scn__out(&s, 6000, CHILD, S_RUN, kc(4000, 1000, 1));	/* oncpu 4000 */
	scn__in(&s, 8000, CHILD);				/* runq_preempt 2000 */
	scn__out(&s, 9000, CHILD, S_DEAD, kc(5000, 3000, 2));	/* oncpu 1000 */
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 5000, 1000, 2000, 0, 0, 0);
		ASSERT_LIFETIME(t, 1000, 9000);
		ASSERT_EQ(t->exit_ns, 5000);
		ASSERT_TRUE(t->exited);
		ASSERT_TRUE(t->dead);
		ASSERT_EQ(t->nswitch_invol, 1);
		ASSERT_CLEAN(t);
		ASSERT_CHECK_EXACT(t, 5000, 3000);
	}
	teardown(&s, &m);
}

/* Any record of include/events.h, for copying records between buffers. */
union any_event {
	struct mpx_hdr hdr;
	struct mpx_switch sw;
	struct mpx_wakeup wk;
	struct mpx_fork fk;
	struct mpx_exec ex;
	struct mpx_exit xt;
	struct mpx_comm cm;
};

/*
 * Re-add the records of in to out as several CPUs would deliver them: runs
 * of equal timestamps (one CPU's back-to-back events) move as a whole, in
 * a fixed pseudo-random order, each run stamped with its own CPU.
 */
static void add_shuffled(const struct evbuf *in, struct evbuf *out)
{
	size_t run_start[65], nruns = 0, order[64], i, j;
	uint32_t x = 2463534242u;	/* xorshift32 seed */

	for (i = 0; i < in->n; i++) {
		if (i && evbuf__get(in, i)->ts == evbuf__get(in, i - 1)->ts)
			continue;
		if (!ASSERT_TRUE(nruns < ARRAY_SIZE(order)))
			return;
		run_start[nruns++] = i;
	}
	run_start[nruns] = in->n;
	for (i = 0; i < nruns; i++)
		order[i] = i;
	for (i = nruns - 1; i > 0; i--) {
		size_t k, tmp;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = x % (i + 1);
		tmp = order[i];
		order[i] = order[k];
		order[k] = tmp;
	}
	for (i = 0; i < nruns; i++) {
		for (j = run_start[order[i]]; j < run_start[order[i] + 1]; j++) {
			const struct mpx_hdr *h = evbuf__get(in, j);
			union any_event e;

			memcpy(&e, h, h->size);
			e.hdr.cpu = (uint16_t)(order[i] % 4);
			ASSERT_EQ(evbuf__add(out, &e, h->size), 0);
		}
	}
}

static bool is_sorted(const struct evbuf *b)
{
	size_t i;

	for (i = 1; i < b->n; i++)
		if (evbuf__get(b, i - 1)->ts > evbuf__get(b, i)->ts)
			return false;
	return true;
}

TEST(out_of_order_cpus_sorted_same_result)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct evbuf shuffled;
	struct scn s;
	size_t i;

	setup(&s, &m);
	evbuf__init(&shuffled);
	build_full_life(&s);
	add_shuffled(&s.eb, &shuffled);
	ASSERT_EQ(shuffled.n, s.eb.n);
	ASSERT_FALSE(is_sorted(&shuffled));

	evbuf__sort(&shuffled);
	ASSERT_TRUE(is_sorted(&shuffled));
	/* fork and wakeup_new share a timestamp: the fork came first. */
	ASSERT_EQ(evbuf__get(&shuffled, 0)->type, MPX_EV_FORK);
	ASSERT_EQ(evbuf__get(&shuffled, 1)->type, MPX_EV_WAKEUP);
	for (i = 0; i < shuffled.n; i++)
		model__apply(&m, evbuf__get(&shuffled, i));

	ASSERT_EQ(m.ntasks, 1);
	t = task(&m, CHILD);
	if (t)
		assert_full_life(t);
	evbuf__free(&shuffled);
	teardown(&s, &m);
}

/* A tid dies and is handed out again: two tasks, each with its own life. */
TEST(pid_reuse_two_tasks)
{
	struct mpx_model m;
	struct mpx_task *first, *second;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "first");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);
	scn__exit(&s, 4000, CHILD, kc(2000, 1000, 1), 0);
	scn__out(&s, 5000, CHILD, S_DEAD, kc(3000, 1000, 1));

	scn__fork(&s, 10000, PARENT, CHILD, 0, "second");
	scn__wakeup_new(&s, 10000, CHILD);
	scn__in(&s, 10500, CHILD);
	scn__out(&s, 12000, CHILD, S_INT, kc(1500, 500, 1));
	scn__apply(&s, &m);
	model__finish(&m, 20000);

	if (!ASSERT_EQ(m.ntasks, 2))
		goto out;
	first = &m.tasks[0];
	second = &m.tasks[1];
	ASSERT_TRUE(model__find(&m, CHILD) == second);

	ASSERT_STREQ(first->comm, "first");
	ASSERT_BUCKETS(first, 3000, 1000, 0, 0, 0, 0);
	ASSERT_LIFETIME(first, 1000, 5000);
	ASSERT_TRUE(first->dead);
	ASSERT_CHECK_EXACT(first, 3000, 1000);

	ASSERT_STREQ(second->comm, "second");
	ASSERT_BUCKETS(second, 1500, 500, 0, 8000, 0, 0);
	ASSERT_LIFETIME(second, 10000, 20000);
	ASSERT_TRUE(second->alive_at_end);
	ASSERT_FALSE(second->exited);
	ASSERT_EQ(m.orphan_events, 0);
out:
	teardown(&s, &m);
}

/* Events for a dead tid whose new fork was not seen: adopted as a new task. */
TEST(events_after_death_adopt_new_task)
{
	struct mpx_model m;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);
	scn__out(&s, 5000, CHILD, S_DEAD, kc(3000, 1000, 1));
	scn__wakeup(&s, 8000, CHILD);
	scn__in(&s, 9000, CHILD);
	scn__apply(&s, &m);
	model__finish(&m, 10000);

	if (!ASSERT_EQ(m.ntasks, 2))
		goto out;
	ASSERT_EQ(m.orphan_events, 1);
	ASSERT_BUCKETS(&m.tasks[0], 3000, 1000, 0, 0, 0, 0);
	ASSERT_LIFETIME(&m.tasks[0], 1000, 5000);
	ASSERT_BUCKETS(&m.tasks[1], 1000, 1000, 0, 0, 0, 0);
	ASSERT_LIFETIME(&m.tasks[1], 8000, 10000);
	ASSERT_EQ(m.tasks[1].pid, CHILD);
	ASSERT_TRUE(m.tasks[1].alive_at_end);
	ASSERT_TRUE(model__find(&m, CHILD) == &m.tasks[1]);
out:
	teardown(&s, &m);
}

/*
 * A switch-in the kernel did not report: the task looks queued from its
 * wakeup to its switch-out, the kernel's sum_exec_runtime says it ran X ns.
 */
TEST(missed_switch_in_reconciled)
{
	const uint64_t X = 8000;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);				/* runq_wakeup 1000 */
	scn__out(&s, 5000, CHILD, S_INT, kc(3000, 1000, 1));	/* oncpu 3000 */
	scn__wakeup(&s, 10000, CHILD);				/* sleep 5000 */
	/* switch-in at 12000 lost: runq_wakeup 2000, oncpu X */
	scn__out(&s, 20000, CHILD, S_INT, kc(3000 + X, 3000, 2));
	scn__wakeup(&s, 30000, CHILD);				/* sleep 10000 */
	scn__in(&s, 30500, CHILD);				/* runq_wakeup 500 */
	scn__out(&s, 31000, CHILD, S_DEAD, kc(11500, 3500, 3));	/* oncpu 500 */
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 3000 + X + 500, 1000 + 2000 + 500, 0, 15000, 0, 0);
		ASSERT_LIFETIME(t, 1000, 31000);
		ASSERT_EQ(t->reconciled_ns, X);
		ASSERT_EQ(t->missed_in, 1);
		ASSERT_EQ(t->missed_out, 0);
		ASSERT_CHECK_EXACT(t, 11500, 3500);
	}
	teardown(&s, &m);
}

/*
 * A switch-out the kernel did not report: the task looks on CPU through a
 * stretch the kernel says it was queued (pcount +2, sum_exec_runtime +6000
 * for 10000 ns of traced running).  That time goes to unaccounted.
 */
TEST(missed_switch_out_to_unaccounted)
{
	struct mpx_task_check c;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);				/* runq_wakeup 1000 */
	/* switch-out at 4000 lost (preempted), queued 4000 ns */
	scn__in(&s, 8000, CHILD);
	scn__out(&s, 12000, CHILD, S_INT, kc(6000, 5000, 2));
	scn__wakeup(&s, 20000, CHILD);				/* sleep 8000 */
	scn__in(&s, 20000, CHILD);
	scn__out(&s, 21000, CHILD, S_DEAD, kc(7000, 5000, 3));	/* oncpu 1000 */
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 7000, 1000, 0, 8000, 0, 4000);
		ASSERT_LIFETIME(t, 1000, 21000);
		ASSERT_EQ(t->reconciled_ns, 4000);
		ASSERT_EQ(t->missed_out, 1);
		ASSERT_EQ(t->missed_in, 0);
		check__task(t, &c);
		ASSERT_EQ(c.oncpu_dev_ns, 0);
		/* The lost queue wait is unaccounted, not run-queue time. */
		ASSERT_EQ(c.runq_dev_ns, -4000);
		ASSERT_TRUE(c.in_bounds);
	}
	teardown(&s, &m);
}

/*
 * The kernel charges the wake-to-switch latency to exec time (check.h):
 * its sum_exec_runtime grows by the traced run + 5000 ns, and its
 * run_delay by the traced wait - 5000 ns.  Buckets keep tracepoint time.
 */
TEST(kernel_charges_wake_latency)
{
	struct mpx_task_check c;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 11000, CHILD);				/* runq_wakeup 10000 */
	scn__out(&s, 31000, CHILD, S_INT, kc(20000 + 5000, 10000 - 5000, 1));
	scn__wakeup(&s, 40000, CHILD);				/* sleep 9000 */
	scn__in(&s, 42000, CHILD);				/* runq_wakeup 2000 */
	scn__out(&s, 45000, CHILD, S_DEAD, kc(25000 + 3000, 5000 + 2000, 2));
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 23000, 12000, 0, 9000, 0, 0);
		ASSERT_LIFETIME(t, 1000, 45000);
		ASSERT_EQ(t->wake_charge_ns, 5000);
		ASSERT_EQ(t->unexec_ns, 0);
		ASSERT_CLEAN(t);
		check__task(t, &c);
		ASSERT_TRUE(c.valid);
		ASSERT_EQ(c.kernel_exec_ns, 28000);
		ASSERT_EQ(c.kernel_run_delay_ns, 7000);
		ASSERT_EQ(c.raw_oncpu_dev_ns, -5000);
		ASSERT_EQ(c.raw_runq_dev_ns, 5000);
		/* Moved to the kernel's definition: oncpu + charge, runq - charge. */
		ASSERT_EQ(c.oncpu_dev_ns, 0);
		ASSERT_EQ(c.runq_dev_ns, c.raw_runq_dev_ns - (int64_t)t->wake_charge_ns);
		ASSERT_EQ(c.runq_dev_ns, 0);
		ASSERT_TRUE(c.in_bounds);
	}
	teardown(&s, &m);
}

/* The kernel counts less than the traced run (steal time): unexec_ns. */
TEST(kernel_counts_less_unexec)
{
	struct mpx_task_check c;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);				/* runq_wakeup 1000 */
	scn__out(&s, 12000, CHILD, S_DEAD, kc(10000 - 3000, 1000, 1));
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 10000, 1000, 0, 0, 0, 0);
		ASSERT_LIFETIME(t, 1000, 12000);
		ASSERT_EQ(t->unexec_ns, 3000);
		ASSERT_EQ(t->wake_charge_ns, 0);
		ASSERT_CLEAN(t);
		check__task(t, &c);
		ASSERT_EQ(c.raw_oncpu_dev_ns, 3000);
		ASSERT_EQ(c.oncpu_dev_ns, 0);
		ASSERT_EQ(c.runq_dev_ns, 0);
	}
	teardown(&s, &m);
}

#define LEADER	200
#define WORKER	201

/*
 * A non-leader thread execs: the kernel gives it the leader's tid
 * (de_thread), after the old leader died.  Its task carries on under the
 * new tid, as the process leader, with its comm history.
 */
TEST(exec_by_thread_rekeys)
{
	struct mpx_model m;
	struct mpx_task *leader, *worker;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, LEADER, 0, "python3");
	scn__wakeup_new(&s, 1000, LEADER);
	scn__in(&s, 1500, LEADER);
	scn__fork(&s, 2000, LEADER, WORKER, MPX_FORK_THREAD, "python3");
	scn__wakeup_new(&s, 2000, WORKER);
	s.cpu = 1;
	scn__in(&s, 2500, WORKER);				/* runq_wakeup 500 */
	s.cpu = 0;
	scn__exit(&s, 3000, LEADER, kc(1500, 500, 1), 0);
	scn__out(&s, 3100, LEADER, S_DEAD, kc(1600, 500, 1));
	s.cpu = 1;
	scn__exec(&s, 4000, LEADER, WORKER, "worker", "/usr/bin/worker");
	scn__rename(&s, 5000, LEADER, "worker-main");
	scn__rename(&s, 6000, LEADER, "worker-main");		/* same name */
	scn__exit(&s, 7000, LEADER, kc(4500, 500, 1), 0);
	scn__out(&s, 7100, LEADER, S_DEAD, kc(4600, 500, 1));	/* oncpu 4600 */
	scn__apply(&s, &m);

	if (!ASSERT_EQ(m.ntasks, 2))
		goto out;
	leader = &m.tasks[0];
	worker = &m.tasks[1];
	ASSERT_TRUE(model__find(&m, LEADER) == worker);
	ASSERT_TRUE(model__find(&m, WORKER) == NULL);
	ASSERT_EQ(m.orphan_events, 0);

	ASSERT_LIFETIME(leader, 1000, 3100);
	ASSERT_EQ(leader->ncomms, 1);

	ASSERT_EQ(worker->tid, LEADER);
	ASSERT_EQ(worker->pid, LEADER);
	ASSERT_EQ(worker->ppid, PARENT);	/* the leader's parent */
	ASSERT_FALSE(worker->is_thread);
	ASSERT_STREQ(worker->filename, "/usr/bin/worker");
	ASSERT_STREQ(worker->comm, "worker-main");
	if (ASSERT_EQ(worker->ncomms, 3)) {
		ASSERT_STREQ(worker->comms[0], "python3");
		ASSERT_STREQ(worker->comms[1], "worker");
		ASSERT_STREQ(worker->comms[2], "worker-main");
	}
	ASSERT_BUCKETS(worker, 4600, 500, 0, 0, 0, 0);
	ASSERT_LIFETIME(worker, 2000, 7100);
	ASSERT_CHECK_EXACT(worker, 4600, 500);
out:
	teardown(&s, &m);
}

/* Same, with the old leader's end never seen: the exec closes it. */
TEST(exec_by_thread_ends_open_leader)
{
	struct mpx_model m;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, LEADER, 0, "app");
	scn__fork(&s, 2000, LEADER, WORKER, MPX_FORK_THREAD, "app");
	scn__exec(&s, 4000, LEADER, WORKER, "tool", "/bin/tool");
	scn__apply(&s, &m);
	model__finish(&m, 9000);

	if (!ASSERT_EQ(m.ntasks, 2))
		goto out;
	ASSERT_LIFETIME(&m.tasks[0], 1000, 4000);
	ASSERT_FALSE(m.tasks[0].alive_at_end);
	ASSERT_LIFETIME(&m.tasks[1], 2000, 9000);
	ASSERT_TRUE(m.tasks[1].alive_at_end);
	ASSERT_EQ(m.tasks[1].tid, LEADER);
	ASSERT_TRUE(model__find(&m, LEADER) == &m.tasks[1]);
out:
	teardown(&s, &m);
}

/* More names than MPX_MAX_COMMS: the first and the newest are kept. */
TEST(comm_history_keeps_first_and_newest)
{
	static const char *const names[] = { "b", "c", "c", "d", "e" };
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;
	size_t i;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "a");
	for (i = 0; i < ARRAY_SIZE(names); i++)
		scn__rename(&s, 2000 + i, CHILD, names[i]);
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t && ASSERT_EQ(t->ncomms, MPX_MAX_COMMS)) {
		ASSERT_STREQ(t->comms[0], "a");
		ASSERT_STREQ(t->comms[1], "c");
		ASSERT_STREQ(t->comms[2], "d");
		ASSERT_STREQ(t->comms[3], "e");
		ASSERT_STREQ(t->comm, "e");
	}
	teardown(&s, &m);
}

#define RUNNER	30
#define EXITER	40

TEST(finish_closes_open_lifetimes)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, RUNNER, 0, "runner");
	scn__wakeup_new(&s, 1000, RUNNER);
	scn__in(&s, 2000, RUNNER);			/* runs to the end */
	scn__fork(&s, 1000, PARENT, EXITER, 0, "exiter");
	scn__wakeup_new(&s, 1000, EXITER);
	s.cpu = 1;
	scn__in(&s, 1500, EXITER);
	scn__exit(&s, 5000, EXITER, kc(3500, 500, 1), 0);	/* final switch lost */
	scn__apply(&s, &m);
	model__finish(&m, 10000);

	t = task(&m, RUNNER);
	if (t) {
		ASSERT_BUCKETS(t, 8000, 1000, 0, 0, 0, 0);
		ASSERT_LIFETIME(t, 1000, 10000);
		ASSERT_TRUE(t->alive_at_end);
		ASSERT_FALSE(t->exited);
	}
	t = task(&m, EXITER);
	if (t) {
		ASSERT_BUCKETS(t, 3500, 500, 0, 0, 0, 0);
		ASSERT_LIFETIME(t, 1000, 5000);
		ASSERT_FALSE(t->alive_at_end);
		ASSERT_TRUE(t->exited);
		ASSERT_FALSE(t->dead);
		ASSERT_CHECK_EXACT(t, 3500, 500);	/* from the exit counters */
	}
	teardown(&s, &m);
}

#define ROOT	10

TEST(threads_share_pid_and_ppid)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	model__seed_root(&m, ROOT, ROOT, 1, "sh", 500, NULL);
	scn__fork(&s, 1000, ROOT, 300, 0, "proc");
	scn__fork(&s, 2000, 300, 301, MPX_FORK_THREAD, "t1");
	scn__fork(&s, 3000, 301, 302, MPX_FORK_THREAD, "t2");	/* by a thread */
	scn__fork(&s, 4000, 301, 400, 0, "sub");		/* process by a thread */
	scn__apply(&s, &m);

	t = task(&m, 300);
	if (t) {
		ASSERT_FALSE(t->is_thread);
		ASSERT_EQ(t->pid, 300);
		ASSERT_EQ(t->ppid, ROOT);
	}
	t = task(&m, 301);
	if (t) {
		ASSERT_TRUE(t->is_thread);
		ASSERT_EQ(t->pid, 300);
		ASSERT_EQ(t->ppid, ROOT);
		ASSERT_EQ(t->parent_tid, 300);
	}
	t = task(&m, 302);
	if (t) {
		ASSERT_TRUE(t->is_thread);
		ASSERT_EQ(t->pid, 300);
		ASSERT_EQ(t->ppid, ROOT);
		ASSERT_EQ(t->parent_tid, 301);
	}
	t = task(&m, 400);
	if (t) {
		ASSERT_FALSE(t->is_thread);
		ASSERT_EQ(t->pid, 400);
		ASSERT_EQ(t->ppid, 300);
		ASSERT_EQ(t->parent_tid, 301);
	}
	teardown(&s, &m);
}

/* The root's counters are not zero when tracing starts: check the deltas. */
TEST(seed_root_checks_against_base)
{
	const struct mpx_kcounters base = kc(1000000, 200000, 50);
	struct mpx_task_check c;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	t = model__seed_root(&m, ROOT, ROOT, 1, "bash", 1000, &base);
	ASSERT_NOT_NULL(t);
	scn__wakeup(&s, 2000, ROOT);				/* sleep 1000 */
	scn__in(&s, 2500, ROOT);				/* runq_wakeup 500 */
	scn__out(&s, 12500, ROOT, S_INT, kc(1010000, 200500, 51));
	scn__wakeup(&s, 20000, ROOT);				/* sleep 7500 */
	scn__in(&s, 20200, ROOT);				/* runq_wakeup 200 */
	scn__exit(&s, 25000, ROOT, kc(1014800, 200700, 52), 0);
	scn__out(&s, 25300, ROOT, S_DEAD, kc(1015100, 200700, 52));
	scn__apply(&s, &m);

	ASSERT_EQ(m.root_tid, ROOT);
	ASSERT_EQ(m.t0, 1000);
	t = task(&m, ROOT);
	if (t) {
		ASSERT_TRUE(t->is_root);
		ASSERT_STREQ(t->comm, "bash");
		ASSERT_BUCKETS(t, 15100, 700, 0, 8500, 0, 0);
		ASSERT_LIFETIME(t, 1000, 25300);
		ASSERT_CLEAN(t);
		ASSERT_EQ(t->wake_charge_ns, 0);
		ASSERT_CHECK_EXACT(t, 15100, 700);
	}
	ASSERT_EQ(model__wall_ns(&m), 24300);
	teardown(&s, &m);

	/* Without a base there is nothing to compare with. */
	setup(&s, &m);
	model__seed_root(&m, ROOT, ROOT, 1, "bash", 1000, NULL);
	scn__out(&s, 2000, ROOT, S_DEAD, kc(1001000, 200000, 51));
	scn__apply(&s, &m);
	t = task(&m, ROOT);
	if (t) {
		check__task(t, &c);
		ASSERT_FALSE(c.valid);
	}
	teardown(&s, &m);
}

/* ---- wakeups rebuilt from the switch-in (MPX_SW_QUEUED) --------------- */

/* tid switches in at ts; it was put on this run queue at rq clock `queued`
 * (the switch's clock is rq_clock) after waiting run_delay in all; waking_ts
 * and waker from its last sched_waking (0: none). */
static void scn__in_queued(struct scn *s, uint64_t ts, uint32_t tid, uint64_t rq_clock,
			   uint64_t queued, uint64_t run_delay, uint64_t waking_ts,
			   uint32_t waker)
{
	struct mpx_switch e = mk_switch(ts, s->cpu, 0, 0, 0, kc(0, 0, 0), tid,
					scn__pid(s, tid));

	e.flags |= MPX_SW_QUEUED;
	e.rq_clock = rq_clock;
	e.next_queued = queued;
	e.next_run_delay = run_delay;
	e.next_waking_ts = waking_ts;
	e.next_waker_tid = waker;
	scn__add(s, &e, sizeof(e));
}

/* The blocked interval of t that ends at ts. */
static const struct mpx_ival *iv_ending(const struct mpx_task *t, uint64_t ts)
{
	size_t i;

	for (i = 0; i < t->niv; i++)
		if (t->iv[i].end == ts)
			return &t->iv[i];
	return NULL;
}

/* Without a sched_wakeup record: the enqueue time the switch-in carries
 * starts the woken wait, and the last sched_waking names the waker. */
TEST(wakeup_rebuilt_from_enqueue_time)
{
	const struct mpx_ival *v;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);				/* runq_wakeup 1000 */
	scn__out(&s, 7000, CHILD, S_INT, kc(5000, 1000, 1));	/* oncpu 5000 */
	/* Queued 1500 before this switch (rq clock 500000 - 498500): woken
	 * at 11500 by PARENT, whose sched_waking came at 11400. */
	scn__in_queued(&s, 13000, CHILD, 500000, 498500, 1000, 11400, PARENT);
	scn__out(&s, 14000, CHILD, S_DEAD, kc(6000, 2500, 2));	/* oncpu 1000 */
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 6000, 2500, 0, 4500, 0, 0);
		ASSERT_EQ(t->nwakeups, 2);
		ASSERT_EQ(t->last_waker_tid, PARENT);
		v = iv_ending(t, 11500);
		if (ASSERT_NOT_NULL(v)) {
			ASSERT_EQ(v->state, MPX_TS_SLEEP);
			ASSERT_EQ(v->waker_tid, PARENT);
			ASSERT_EQ(v->waking_ns, 11400);
		}
		ASSERT_CLEAN(t);
		ASSERT_CHECK_EXACT(t, 6000, 2500);
	}
	teardown(&s, &m);
}

/* Moved to another CPU while queued: the kernel added the first CPU's wait
 * to run_delay and queued it again here; the wait is both. */
TEST(wakeup_rebuilt_across_a_move)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);
	scn__out(&s, 7000, CHILD, S_INT, kc(5000, 1000, 1));
	/* 700 on the first CPU, 800 here: woken at 11500. */
	scn__in_queued(&s, 13000, CHILD, 900000, 899200, 1700, 0, 0);
	scn__out(&s, 14000, CHILD, S_DEAD, kc(6000, 2500, 2));
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 6000, 2500, 0, 4500, 0, 0);
		ASSERT_EQ(t->last_waker_tid, 0);
		ASSERT_CHECK_EXACT(t, 6000, 2500);
	}
	teardown(&s, &m);
}

/* The switch's clock was stale (not updated after a wakeup preemption):
 * event time ahead of it by 400 ns more than the CPU's least offset.
 * The kernel's wait ends at the stale clock; the traced one at the switch. */
TEST(wakeup_rebuilt_with_a_stale_clock)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);
	scn__out(&s, 7000, CHILD, S_INT, kc(5000, 1000, 1));
	/* Another CPU-0 switch with a fresh clock: offset 100. */
	scn__in_queued(&s, 8000, PARENT, 7900, 0, 0, 0, 0);
	/* 13000 - 12500 = 500 = 100 + a lag of 400; queued 1000 before the
	 * stale clock: woken at 13000 - 1400. */
	scn__in_queued(&s, 13000, CHILD, 12500, 11500, 1000, 0, 0);
	scn__out(&s, 14000, CHILD, S_DEAD, kc(6000 + 400, 2000, 2));
	evbuf__sort(&s.eb);
	ASSERT_EQ(model__calibrate_clocks(&m, &s.eb), 0);
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 6000, 2400, 0, 4600, 0, 0);
		ASSERT_EQ(t->wake_charge_ns, 400);
	}
	teardown(&s, &m);
}

/* A sched_waking from before the run that preceded the sleep names no waker
 * of it; one during that run does (woken while it was getting off the CPU:
 * a wakeup of the running task, ttwu_runnable, would have left it running,
 * and a later sleep would have had a newer one); a preempted task's
 * switch-in rebuilds nothing; a wait longer than the gap starts with it. */
TEST(wakeup_rebuilt_only_for_a_sleep)
{
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);
	scn__out(&s, 100000, CHILD, S_INT, kc(98000, 1000, 1));
	scn__in_queued(&s, 121000, CHILD, 50000, 49000, 1000, 1500, PARENT);
	scn__out(&s, 122000, CHILD, S_RUN, kc(99000, 2000, 2));	/* preempted */
	scn__in_queued(&s, 123000, CHILD, 52000, 51000, 2000, 0, 0);
	scn__out(&s, 124000, CHILD, S_INT, kc(100000, 3000, 3));
	/* Woken while it was going to sleep (sched_waking 500 ns before the
	 * switch-out); queued "before" it (another CPU's clock): the wait
	 * starts at the switch-out. */
	scn__in_queued(&s, 125000, CHILD, 60000, 58000, 3000, 123500, PARENT + 1);
	scn__out(&s, 126000, CHILD, S_DEAD, kc(101000, 4000, 4));
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		/* runq_wakeup 1000 + 1000 + 1000, runq_preempt 1000,
		 * sleep 20000. */
		ASSERT_BUCKETS(t, 101000, 3000, 1000, 20000, 0, 0);
		ASSERT_EQ(t->nwakeups, 3);
		ASSERT_EQ(t->last_waker_tid, PARENT + 1);
		if (ASSERT_NOT_NULL(iv_ending(t, 120000)))
			ASSERT_EQ(iv_ending(t, 120000)->waker_tid, 0);
		if (ASSERT_NOT_NULL(iv_ending(t, 124000)))
			ASSERT_EQ(iv_ending(t, 124000)->waker_tid, 0);
	}
	teardown(&s, &m);
}

/* A woken task's switch-in, the one record that says when it was queued,
 * was lost: the run_delay the kernel counted meanwhile turns the end of the
 * sleep before the run into a woken wait. */
TEST(missed_switch_in_of_a_woken_task)
{
	const uint64_t X = 8000;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);				/* runq_wakeup 1000 */
	scn__out(&s, 5000, CHILD, S_INT, kc(3000, 1000, 1));	/* oncpu 3000 */
	/* woken by PARENT at 9900, queued at 10000, switched in at 12000
	 * (lost), ran X; the switch-out names the waker */
	{
		struct mpx_switch e = mk_switch(20000, s.cpu, CHILD, CHILD, S_INT,
						kc(3000 + X, 3000, 2), 0, 0);

		e.flags |= MPX_SW_PREV_WAKER;
		e.next_waker_tid = PARENT;
		e.next_waking_ts = 9900;
		scn__add(&s, &e, sizeof(e));
	}
	scn__in_queued(&s, 30500, CHILD, 70500, 70000, 3000, 0, 0);
	scn__out(&s, 31000, CHILD, S_DEAD, kc(11500, 3500, 3));	/* oncpu 500 */
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_BUCKETS(t, 3000 + X + 500, 1000 + 2000 + 500, 0, 15000, 0, 0);
		ASSERT_LIFETIME(t, 1000, 31000);
		ASSERT_EQ(t->reconciled_ns, X + 2000);
		ASSERT_EQ(t->nwakeups, 3);
		ASSERT_EQ(t->missed_in, 1);
		if (ASSERT_NOT_NULL(iv_ending(t, 10000))) {
			ASSERT_EQ(iv_ending(t, 10000)->state, MPX_TS_SLEEP);
			ASSERT_EQ(iv_ending(t, 10000)->waker_tid, PARENT);
			ASSERT_EQ(iv_ending(t, 10000)->waking_ns, 9900);
		}
		ASSERT_CHECK_EXACT(t, 11500, 3500);
	}
	teardown(&s, &m);
}

/* A lost switch-out and switch-in pair leaves its time unaccounted; the
 * kernel's run_delay holds the part of it the task waited to run.  The
 * self-check takes a run-queue shortfall up to the unaccounted time as
 * explained, and no more. */
TEST(runq_shortfall_within_unaccounted_time)
{
	const uint64_t W = 1000000;	/* 1 ms waited, above the 200 us floor */
	struct mpx_task_check c;
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;
	int extra;

	for (extra = 0; extra < 2; extra++) {
		setup(&s, &m);
		scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
		scn__wakeup_new(&s, 1000, CHILD);
		scn__in(&s, 2000, CHILD);
		/* ran 2000-3000, slept to 5000 (switch-out lost), waited W,
		 * ran from 5000 + W (switch-in lost) to 6000 + W */
		scn__out(&s, 6000 + W, CHILD, S_DEAD,
			 kc(2000, 1000 + W + (extra ? 3 * W : 0), 2));
		scn__apply(&s, &m);
		t = task(&m, CHILD);
		if (t) {
			ASSERT_EQ(t->bucket[MPX_B_UNACCOUNTED], 2000 + W);
			check__task(t, &c);
			ASSERT_TRUE(c.valid);
			ASSERT_EQ(c.runq_dev_ns, -(int64_t)(W + (extra ? 3 * W : 0)));
			ASSERT_EQ(c.in_bounds, !extra);
		}
		teardown(&s, &m);
	}
}

/* The scheduler clock drifts against event time (~0.5 us a second here):
 * a lag is measured against the CPU's offset around that time, not the
 * least of the whole run. */
TEST(clock_lag_from_the_nearby_offset)
{
	const uint64_t T = 2000000000ull;	/* 2 s later: offset +1000 */
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);
	scn__out(&s, 7000, CHILD, S_INT, kc(5000, 1000, 1));
	/* Fresh clocks of CPU 0: offset 100 at the start, 1100 at T. */
	scn__in_queued(&s, 8000, PARENT, 7900, 0, 0, 0, 0);
	scn__in_queued(&s, T, PARENT, T - 1100, 0, 0, 0, 0);
	/* A stale clock 500 behind, 1000 after T: queued 2000 before it,
	 * so woken at T + 1000 - 500 - 2000. */
	scn__in_queued(&s, T + 1000, CHILD, T + 1000 - 1600, T + 1000 - 3600, 1000, 0, 0);
	scn__out(&s, T + 2000, CHILD, S_DEAD, kc(6000 + 500, 3000, 2));
	evbuf__sort(&s.eb);
	ASSERT_EQ(model__calibrate_clocks(&m, &s.eb), 0);
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_EQ(t->bucket[MPX_B_RUNQ_WAKEUP], 1000 + 2500);
		ASSERT_EQ(t->bucket[MPX_B_SLEEP], T + 1000 - 2500 - 7000);
		ASSERT_EQ(t->wake_charge_ns, 500);
	}
	teardown(&s, &m);
}

/* A stretch where a CPU's only switches had a stale clock (an idle CPU
 * whose switch-ins follow wakeups): its offset comes from the fresh
 * switches on either side, along the drift. */
TEST(clock_lag_across_stale_switches)
{
	const uint64_t T = 2000000000ull;	/* offset 100 at 8000, 1100 at T */
	const uint64_t H = T / 2 + 4000;	/* there about 600 */
	struct mpx_model m;
	struct mpx_task *t;
	struct scn s;

	setup(&s, &m);
	scn__fork(&s, 1000, PARENT, CHILD, 0, "child");
	scn__wakeup_new(&s, 1000, CHILD);
	scn__in(&s, 2000, CHILD);
	scn__out(&s, 7000, CHILD, S_INT, kc(5000, 1000, 1));
	scn__in_queued(&s, 8000, PARENT, 7900, 0, 0, 0, 0);
	scn__in_queued(&s, T, PARENT, T - 1100, 0, 0, 0, 0);
	/* At H the clock is 1000 behind: 400 more than the drift explains;
	 * queued 2000 before it. */
	scn__in_queued(&s, H, CHILD, H - 1000, H - 3000, 1000, 0, 0);
	scn__out(&s, H + 1000, CHILD, S_DEAD, kc(6000 + 400, 3000, 2));
	evbuf__sort(&s.eb);
	ASSERT_EQ(model__calibrate_clocks(&m, &s.eb), 0);
	scn__apply(&s, &m);

	t = task(&m, CHILD);
	if (t) {
		ASSERT_EQ(t->bucket[MPX_B_RUNQ_WAKEUP], 1000 + 2400);
		ASSERT_EQ(t->wake_charge_ns, 400);
	}
	teardown(&s, &m);
}

/* A task whose block IO wait began on a delayed dequeue has no oracle:
 * counted as not compared (the report says so), never as checked. */
TEST(check_counts_blkio_not_compared)
{
	struct mpx_task t[3];
	struct mpx_model m;
	struct mpx_check c;
	int i;

	memset(t, 0, sizeof(t));
	memset(&m, 0, sizeof(m));
	for (i = 0; i < 3; i++) {
		t[i].have_base = t[i].have_exit = true;
		t[i].k_exit.sum_exec_runtime = 1000000;
		t[i].bucket[MPX_B_ONCPU] = 1000000;
		t[i].start_ns = 0;
		t[i].end_ns = 20000000;
	}
	t[0].delayed_io_blocks = 1;		/* IO wait, no oracle */
	t[0].bucket[MPX_B_BLKIO] = 5000000;
	t[1].delayed_io_blocks = 1;		/* no IO wait: nothing to compare */
	t[2].bucket[MPX_B_BLKIO] = 4000000;	/* compared with the kernel's */
	t[2].k_exit.blkio_delay = 4050000;
	m.tasks = t;
	m.ntasks = 3;
	check__model(&m, &c);
	ASSERT_EQ(c.tasks_checked, 3);
	ASSERT_EQ(c.blkio_delayed, 1);
	ASSERT_EQ(c.blkio_checked, 1);
	ASSERT_EQ(c.max_blkio_dev_ns, -50000);
}
