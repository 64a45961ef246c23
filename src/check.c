// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdlib.h>
#include <string.h>

#include "check.h"

/*
 * Deviation in percent of the kernel's figure, floored at the figure where
 * 1% equals the 200 us floor (20 ms): so pct <= 1.0 exactly when in bounds,
 * and a 10 us miss on a 20 us figure does not read as 50%.
 */
/* A sum of the per-task lag and steal totals, which a corrupt trace can
 * make as large as it likes, as a deviation. */
static int64_t sat64(__int128 v)
{
	return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

static double pct(int64_t dev, uint64_t ref)
{
	double d = dev < 0 ? -(double)dev : (double)dev;
	uint64_t floor_ref = (uint64_t)((double)MPX_CHECK_FLOOR_NS * 100.0 / MPX_CHECK_PCT);

	return 100.0 * d / (double)(ref > floor_ref ? ref : floor_ref);
}

static bool in_bounds(int64_t dev, uint64_t ref)
{
	uint64_t a = dev < 0 ? (uint64_t)-dev : (uint64_t)dev;
	uint64_t bound = (uint64_t)((double)ref * MPX_CHECK_PCT / 100.0);

	if (bound < MPX_CHECK_FLOOR_NS)
		bound = MPX_CHECK_FLOOR_NS;
	return a <= bound;
}

void check__task(const struct mpx_task *t, struct mpx_task_check *c)
{
	const struct mpx_kcounters *end;
	uint64_t on, rq;
	int64_t rq_dev;

	memset(c, 0, sizeof(*c));
	if (!t->have_base || !(t->have_final || t->have_exit))
		return;
	end = t->have_final ? &t->k_final : &t->k_exit;
	if (end->sum_exec_runtime < t->k_base.sum_exec_runtime ||
	    end->run_delay < t->k_base.run_delay)
		return;
	c->valid = true;
	c->kernel_exec_ns = end->sum_exec_runtime - t->k_base.sum_exec_runtime;
	c->kernel_run_delay_ns = end->run_delay - t->k_base.run_delay;
	on = t->bucket[MPX_B_ONCPU];
	rq = t->bucket[MPX_B_RUNQ_WAKEUP] + t->bucket[MPX_B_RUNQ_PREEMPT];
	c->raw_oncpu_dev_ns = (int64_t)on - (int64_t)c->kernel_exec_ns;
	c->raw_runq_dev_ns = (int64_t)rq - (int64_t)c->kernel_run_delay_ns;
	/* The kernel's exec: on + clock lag at switch-in - lag at switch-out
	 * - steal.  Its run_delay: run-queue - lag at switch-in + lag at the
	 * switch-outs that left the task runnable (re-enqueued on the lagging
	 * clock); fork-to-first-wakeup is not in it (run_delay starts at the
	 * enqueue). */
	c->oncpu_dev_ns = sat64((__int128)c->raw_oncpu_dev_ns + t->clk_in_ns -
				t->clk_out_ns - t->steal_ns);
	c->runq_dev_ns = sat64((__int128)c->raw_runq_dev_ns - t->clk_in_ns +
			       t->clk_out_preempt_ns - t->new_ns + t->sleep_as_rd_ns);
	c->oncpu_dev_pct = pct(c->oncpu_dev_ns, c->kernel_exec_ns);
	c->runq_dev_pct = pct(c->runq_dev_ns, c->kernel_run_delay_ns);
	/* Time the events could not place (a lost switch-out and switch-in)
	 * may have been spent waiting to run: a run-queue shortfall up to it
	 * is explained, not wrong. */
	rq_dev = c->runq_dev_ns;
	if (rq_dev < 0) {
		uint64_t un = t->bucket[MPX_B_UNACCOUNTED], mag = 0 - (uint64_t)rq_dev;

		rq_dev = un >= mag ? 0 : rq_dev + (int64_t)un;
	}
	c->in_bounds = in_bounds(c->oncpu_dev_ns, c->kernel_exec_ns) &&
		       in_bounds(rq_dev, c->kernel_run_delay_ns);
	/* Delay accounting counts from try_to_block_task() with in_iowait to
	 * the wakeup: our blkio intervals.  Only when it was on (a task that
	 * blocked in IO and shows no delay had it off). */
	/*
	 * A figure longer than the task's life means delay accounting was
	 * switched on in the middle of one of its waits (blkio_start was never
	 * set, so the kernel added the whole clock): no oracle then.
	 */
	if (!t->delayed_io_blocks && end->blkio_delay >= t->k_base.blkio_delay &&
	    end->blkio_delay - t->k_base.blkio_delay <= t->end_ns - t->start_ns &&
	    (end->blkio_delay > t->k_base.blkio_delay || !t->bucket[MPX_B_BLKIO])) {
		uint64_t a, bound;

		c->blkio_valid = true;
		c->kernel_blkio_ns = end->blkio_delay - t->k_base.blkio_delay;
		c->blkio_dev_ns = (int64_t)t->bucket[MPX_B_BLKIO] - (int64_t)c->kernel_blkio_ns;
		a = c->blkio_dev_ns < 0 ? (uint64_t)-c->blkio_dev_ns : (uint64_t)c->blkio_dev_ns;
		bound = (uint64_t)((double)c->kernel_blkio_ns * MPX_CHECK_BLKIO_PCT / 100.0);
		if (bound < MPX_CHECK_BLKIO_FLOOR_NS)
			bound = MPX_CHECK_BLKIO_FLOOR_NS;
		c->blkio_in_bounds = a <= bound;
	}
}

static int64_t mag(int64_t v)
{
	return v < 0 ? -v : v;
}

void check__model(const struct mpx_model *m, struct mpx_check *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];
		struct mpx_task_check tc;

		c->reconciled_ns += t->reconciled_ns;
		c->missed_switches += t->missed_in + t->missed_out;
		c->unaccounted_ns += t->bucket[MPX_B_UNACCOUNTED];
		check__task(t, &tc);
		if (!tc.valid)
			continue;
		if (t->delayed_io_blocks && t->bucket[MPX_B_BLKIO])
			c->blkio_delayed++;
		c->tasks_checked++;
		if (!tc.in_bounds)
			c->tasks_out_of_bounds++;
		if (tc.blkio_valid && tc.kernel_blkio_ns) {
			double bp = 100.0 * (double)mag(tc.blkio_dev_ns) /
				    (double)tc.kernel_blkio_ns;

			c->blkio_checked++;
			if (!tc.blkio_in_bounds)
				c->blkio_out_of_bounds++;
			if (mag(tc.blkio_dev_ns) > mag(c->max_blkio_dev_ns))
				c->max_blkio_dev_ns = tc.blkio_dev_ns;
			if (bp > c->max_blkio_dev_pct)
				c->max_blkio_dev_pct = bp;
		}
		if (mag(tc.oncpu_dev_ns) > mag(c->max_oncpu_dev_ns)) {
			c->max_oncpu_dev_ns = tc.oncpu_dev_ns;
			c->worst_oncpu_tid = t->tid;
		}
		if (mag(tc.runq_dev_ns) > mag(c->max_runq_dev_ns)) {
			c->max_runq_dev_ns = tc.runq_dev_ns;
			c->worst_runq_tid = t->tid;
		}
		if (mag(tc.raw_oncpu_dev_ns) > mag(c->max_raw_oncpu_dev_ns))
			c->max_raw_oncpu_dev_ns = tc.raw_oncpu_dev_ns;
		if (mag(tc.raw_runq_dev_ns) > mag(c->max_raw_runq_dev_ns))
			c->max_raw_runq_dev_ns = tc.raw_runq_dev_ns;
		c->wake_charge_ns += t->wake_charge_ns;
		c->unexec_ns += t->unexec_ns;
		if (tc.oncpu_dev_pct > c->max_oncpu_dev_pct)
			c->max_oncpu_dev_pct = tc.oncpu_dev_pct;
		if (tc.runq_dev_pct > c->max_runq_dev_pct)
			c->max_runq_dev_pct = tc.runq_dev_pct;
	}
	c->pass = c->tasks_checked > 0 && c->tasks_out_of_bounds == 0 &&
		  c->blkio_out_of_bounds == 0;
}
