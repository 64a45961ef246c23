// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "summset.h"
#include "util.h"

_Static_assert(MPX_SB_ONCPU == MPX_B_ONCPU && MPX_SB_RUNQ_WAKEUP == MPX_B_RUNQ_WAKEUP &&
	       MPX_SB_RUNQ_PREEMPT == MPX_B_RUNQ_PREEMPT && MPX_SB_SLEEP == MPX_B_SLEEP &&
	       MPX_SB_DSLEEP == MPX_B_DSLEEP && MPX_SB_BLKIO == MPX_B_BLKIO &&
	       MPX_SB_UNACCOUNTED == MPX_B_UNACCOUNTED && MPX_SB_MAX == MPX_B_MAX,
	       "summary buckets follow enum mpx_bucket");
_Static_assert(MPX_SS_NEW == MPX_TS_NEW && MPX_SS_RUNNING == MPX_TS_RUNNING &&
	       MPX_SS_RUNQ_WAKEUP == MPX_TS_RUNQ_WAKEUP &&
	       MPX_SS_RUNQ_PREEMPT == MPX_TS_RUNQ_PREEMPT && MPX_SS_SLEEP == MPX_TS_SLEEP &&
	       MPX_SS_DSLEEP == MPX_TS_DSLEEP && MPX_SS_DEAD == MPX_TS_DEAD &&
	       MPX_SS_BLKIO == MPX_TS_BLKIO, "summary states follow enum mpx_tstate");

int summset__add(struct mpx_summset *ss, const struct mpx_summ *s)
{
	if (mpx_grow((void **)&ss->v, &ss->cap, ss->n + 1, sizeof(*ss->v)))
		return -ENOMEM;
	ss->v[ss->n++] = *s;
	return 0;
}

void summset__free(struct mpx_summset *ss)
{
	free(ss->v);
	memset(ss, 0, sizeof(*ss));
}

static int by_start(const void *a, const void *b)
{
	const struct mpx_summ *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void fill(struct mpx_task *t, const struct mpx_summ *s, uint64_t end_ns)
{
	uint64_t end;
	int b;

	t->pid = s->pid;
	if (!t->is_root) {
		t->ppid = s->ppid;
		t->parent_tid = s->parent_tid;
		t->is_thread = s->flags & MPX_SU_THREAD;
		/* A new task starts with zeroed schedstat counters. */
		t->have_base = true;
	}
	if (s->comm[0]) {
		memcpy(t->comm, s->comm, MPX_COMM_LEN);
		t->comm[MPX_COMM_LEN - 1] = '\0';
		if (!t->ncomms || strcmp(t->comms[t->ncomms - 1], t->comm))
			memcpy(t->comms[t->ncomms < MPX_MAX_COMMS ? t->ncomms++ :
					MPX_MAX_COMMS - 1], t->comm, MPX_COMM_LEN);
	}
	memcpy(t->filename, s->filename, sizeof(t->filename));
	t->filename[sizeof(t->filename) - 1] = '\0';
	for (b = 0; b < MPX_B_MAX; b++)
		t->bucket[b] = s->bucket[b];
	t->state = (enum mpx_tstate)s->state;
	t->state_ns = s->state_ns;
	if (s->flags & MPX_SU_DEAD) {
		t->dead = true;
		end = s->end_ns;
	} else {
		/* The open state runs to the end: the exit when the final
		 * switch was not seen (as model__finish does), else now. */
		if (s->flags & MPX_SU_EXITED)
			end = s->exit_ns > s->state_ns ? s->exit_ns : s->state_ns;
		else if (s->flags & MPX_SU_FREED)
			end = s->end_ns > s->state_ns ? s->end_ns : s->state_ns;
		else
			end = end_ns > s->state_ns ? end_ns : s->state_ns;
		t->alive_at_end = !(s->flags & (MPX_SU_EXITED | MPX_SU_FREED));
		t->bucket[mpx_state_bucket(t->state)] += end - s->state_ns;
		if (t->state == MPX_TS_NEW)
			t->new_ns += end - s->state_ns;
	}
	t->end_ns = end;
	t->state = MPX_TS_DEAD;
	t->ended = true;
	t->exited = s->flags & MPX_SU_EXITED;
	t->exit_ns = s->exit_ns;
	t->exit_code = s->exit_code;
	if (s->flags & MPX_SU_EXITED) {
		t->k_exit = s->k_exit;
		t->have_exit = true;
		t->nvcsw = s->nvcsw;
		t->nivcsw = s->nivcsw;
		t->blkio_count = s->blkio_count;
		t->min_flt = s->min_flt;
		t->maj_flt = s->maj_flt;
		if (s->flags & MPX_SU_GROUP_DEAD)
			t->maxrss = s->maxrss;
	}
	if (s->flags & MPX_SU_DEAD) {
		t->k_final = s->k_final;
		t->have_final = true;
	}
	t->new_ns += s->new_ns;
	t->nswitch_vol = s->nvol;
	t->nswitch_invol = s->ninvol;
	t->nwakeups = s->nwakeups;
	t->io_requests = (uint32_t)s->io_requests;
	t->io_bytes = s->io_bytes;
	t->io_queue_ns = s->io_queue_ns;
	t->io_device_ns = s->io_device_ns;
	t->deferred_requests = (uint32_t)s->deferred_requests;
	t->deferred_bytes = s->deferred_bytes;
	t->reconciled_ns = s->reconciled_ns;
	t->missed_in = s->missed_in;
	t->missed_out = s->missed_out;
	t->races = s->races;
	t->wake_charge_ns = s->wake_charge_ns;
	t->unexec_ns = s->unexec_ns;
	t->steal_ns = s->steal_ns;
	t->clk_in_ns = s->clk_in_ns;
	t->clk_out_ns = s->clk_out_ns;
	t->clk_out_preempt_ns = s->clk_out_preempt_ns;
	t->sleep_as_rd_ns = s->sleep_as_rd_ns;
	t->delayed_io_blocks = s->delayed_io_blocks;
}

int summary__apply(struct mpx_model *m, struct mpx_summset *ss, uint64_t end_ns)
{
	size_t i, ri = m->ntasks;
	bool root_done = false;

	m->summary = true;
	for (i = 0; i < m->ntasks; i++)
		if (m->tasks[i].is_root)
			ri = i;
	if (ss->n)
		qsort(ss->v, ss->n, sizeof(*ss->v), by_start);
	for (i = 0; i < ss->n; i++) {
		const struct mpx_summ *s = &ss->v[i];
		struct mpx_task *t;

		if ((s->flags & MPX_SU_ROOT) && ri < m->ntasks && !root_done &&
		    m->tasks[ri].tid == s->tid) {
			t = &m->tasks[ri];
			root_done = true;
		} else {
			t = model__add_task(m, s->tid, s->start_ns);
			if (!t)
				return -ENOMEM;
		}
		fill(t, s, end_ns);
		if (s->start_ns && (!m->first_ns || s->start_ns < m->first_ns))
			m->first_ns = s->start_ns;
		if (t->end_ns > m->last_ns)
			m->last_ns = t->end_ns;
	}
	return 0;
}
