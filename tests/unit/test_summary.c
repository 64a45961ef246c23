// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Summary mode's records (include/summary.h) turned into the task model. */
#include <string.h>

#include "check.h"
#include "summset.h"
#include "testlib.h"

#define MS 1000000ull

static struct mpx_summ rec(uint32_t tid, uint32_t pid, uint32_t ppid, uint64_t start)
{
	struct mpx_summ s;

	memset(&s, 0, sizeof(s));
	s.tid = tid;
	s.pid = pid;
	s.ppid = ppid;
	s.parent_tid = ppid;
	s.start_ns = s.state_ns = start;
	s.flags = MPX_SU_LAST;
	strcpy(s.comm, "child");
	return s;
}

/* A root seeded at t0, a child that ran to its final switch-out, one still
 * alive and one that exited without its final switch-out being seen. */
TEST(summary_apply_tasks_in_start_order)
{
	struct mpx_kcounters k0 = { .sum_exec_runtime = 5 * MS, .pcount = 3 };
	struct mpx_summset ss = {};
	struct mpx_summ r, a, b, c;
	struct mpx_model m;
	struct mpx_task *t;
	struct mpx_task_check chk;

	model__init(&m);
	model__seed_root(&m, 100, 100, 1, "mpxtrace", 1000 * MS, &k0);

	r = rec(100, 100, 1, 1000 * MS);
	r.flags |= MPX_SU_ROOT | MPX_SU_DEAD | MPX_SU_EXITED;
	strcpy(r.comm, "work");
	r.bucket[MPX_SB_ONCPU] = 10 * MS;
	r.bucket[MPX_SB_SLEEP] = 30 * MS;
	r.end_ns = 1040 * MS;
	r.k_final = (struct mpx_kcounters){ .sum_exec_runtime = 15 * MS, .pcount = 9 };
	r.k_exit = r.k_final;

	a = rec(101, 101, 100, 1005 * MS);	/* ran 20 ms, done */
	a.flags |= MPX_SU_DEAD | MPX_SU_EXITED;
	a.bucket[MPX_SB_ONCPU] = 20 * MS;
	a.end_ns = 1025 * MS;
	a.k_final = (struct mpx_kcounters){ .sum_exec_runtime = 20 * MS, .pcount = 1 };
	a.k_exit = a.k_final;

	b = rec(102, 100, 100, 1010 * MS);	/* a thread, still asleep */
	b.flags |= MPX_SU_THREAD;
	b.state = MPX_SS_SLEEP;
	b.state_ns = 1012 * MS;
	b.bucket[MPX_SB_ONCPU] = 2 * MS;

	c = rec(103, 103, 100, 1020 * MS);	/* exited, final switch missed */
	c.flags |= MPX_SU_EXITED;
	c.state = MPX_SS_RUNNING;
	c.state_ns = 1021 * MS;
	c.exit_ns = 1024 * MS;
	c.bucket[MPX_SB_RUNQ_WAKEUP] = 1 * MS;

	/* Drained in any order. */
	ASSERT_EQ(summset__add(&ss, &c), 0);
	ASSERT_EQ(summset__add(&ss, &a), 0);
	ASSERT_EQ(summset__add(&ss, &r), 0);
	ASSERT_EQ(summset__add(&ss, &b), 0);
	ASSERT_EQ(summary__apply(&m, &ss, 1050 * MS), 0);
	ASSERT_TRUE(m.summary);
	if (!ASSERT_EQ(m.ntasks, 4))
		goto out;

	t = &m.tasks[0];	/* the root filled in place, its base kept */
	ASSERT_EQ(t->tid, 100);
	ASSERT_TRUE(t->is_root);
	ASSERT_STREQ(t->comm, "work");
	ASSERT_EQ(t->end_ns - t->start_ns, 40 * MS);
	ASSERT_EQ(t->bucket[MPX_B_ONCPU], 10 * MS);
	check__task(t, &chk);
	ASSERT_TRUE(chk.valid);
	ASSERT_EQ(chk.kernel_exec_ns, 10 * MS);	/* 15 ms at the end - 5 at the seed */
	ASSERT_EQ(chk.oncpu_dev_ns, 0);

	t = &m.tasks[1];
	ASSERT_EQ(t->tid, 101);
	ASSERT_FALSE(t->is_thread);
	ASSERT_EQ(t->ppid, 100);
	ASSERT_TRUE(t->dead);
	ASSERT_FALSE(t->alive_at_end);
	check__task(t, &chk);
	ASSERT_TRUE(chk.valid && chk.in_bounds);

	t = &m.tasks[2];	/* open sleep charged up to the end */
	ASSERT_EQ(t->tid, 102);
	ASSERT_TRUE(t->is_thread);
	ASSERT_TRUE(t->alive_at_end);
	ASSERT_EQ(t->end_ns, 1050 * MS);
	ASSERT_EQ(t->bucket[MPX_B_SLEEP], 38 * MS);

	t = &m.tasks[3];	/* running until its exit */
	ASSERT_EQ(t->tid, 103);
	ASSERT_FALSE(t->alive_at_end);
	ASSERT_TRUE(t->exited);
	ASSERT_EQ(t->end_ns, 1024 * MS);
	ASSERT_EQ(t->bucket[MPX_B_ONCPU], 3 * MS);
	ASSERT_EQ(t->bucket[MPX_B_RUNQ_WAKEUP], 1 * MS);
out:
	summset__free(&ss);
	model__free(&m);
}
