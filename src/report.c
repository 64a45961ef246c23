// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "report.h"
#include "util.h"

struct tree {
	long *parent;
	bool *done;
	uint64_t *bytid;	/* tid << 32 | index of every task, sorted */
	size_t *child;		/* children of i: child[first[i], first[i + 1]) */
	size_t *first;		/* ... in index order */
};

/* Newest task with this tid that started no later than ts. */
static long find_at(const struct mpx_model *m, const struct tree *tr, uint32_t tid,
		    uint64_t ts)
{
	size_t k = mpx_lower_bound_u64(tr->bytid, m->ntasks, (uint64_t)tid << 32);
	long best = -1;

	for (; k < m->ntasks && tr->bytid[k] >> 32 == tid; k++) {
		size_t i = (size_t)(tr->bytid[k] & UINT32_MAX);

		if (m->tasks[i].start_ns <= ts)
			best = (long)i;
	}
	return best;
}

/* Parent in the displayed tree: a thread hangs under its process leader,
 * a process under the leader of the process that forked it. */
static long tree_parent(const struct mpx_model *m, const struct tree *tr, size_t i)
{
	const struct mpx_task *t = &m->tasks[i];
	long p;

	if (t->is_root)
		return -1;
	if (t->is_thread) {
		p = find_at(m, tr, t->pid, t->start_ns);
		if (p >= 0 && (size_t)p != i)
			return p;
	}
	p = find_at(m, tr, t->ppid, t->start_ns);
	if (p >= 0 && (size_t)p != i && (!t->is_thread || m->tasks[p].pid != t->pid))
		return p;
	p = find_at(m, tr, t->parent_tid, t->start_ns);
	return p >= 0 && (size_t)p != i ? p : -1;
}

static void visit(struct mpx_report *r, struct tree *tr, size_t i, int depth)
{
	const struct mpx_model *m = r->m;
	struct mpx_task_row *row;
	size_t c, j;
	int pass;

	if (tr->done[i])
		return;
	tr->done[i] = true;
	row = &r->rows[r->nrows++];
	row->t = &m->tasks[i];
	row->depth = depth;
	row->life_ns = row->t->end_ns - row->t->start_ns;
	check__task(row->t, &row->chk);
	/* Threads of this process first, then child processes; each in
	 * start order (tasks are stored in start order). */
	for (pass = 0; pass < 2; pass++)
		for (c = tr->first[i]; c < tr->first[i + 1]; c++) {
			j = tr->child[c];
			if (m->tasks[j].is_thread == !pass)
				visit(r, tr, j, depth + 1);
		}
}

static void tree_free(struct tree *tr)
{
	free(tr->parent);
	free(tr->done);
	free(tr->bytid);
	free(tr->child);
	free(tr->first);
}

int report__build(struct mpx_report *r, const struct mpx_run_info *run,
		  const struct mpx_model *m)
{
	struct tree tr;
	size_t i;
	int b;

	memset(r, 0, sizeof(*r));
	r->run = run;
	r->m = m;
	check__model(m, &r->check);
	r->wall_ns = model__wall_ns(m);
	r->rows = calloc(m->ntasks ? m->ntasks : 1, sizeof(*r->rows));
	tr.parent = calloc(m->ntasks ? m->ntasks : 1, sizeof(*tr.parent));
	tr.done = calloc(m->ntasks ? m->ntasks : 1, sizeof(*tr.done));
	tr.bytid = calloc(m->ntasks ? m->ntasks : 1, sizeof(*tr.bytid));
	tr.child = calloc(m->ntasks ? m->ntasks : 1, sizeof(*tr.child));
	tr.first = calloc(m->ntasks + 2, sizeof(*tr.first));
	if (!r->rows || !tr.parent || !tr.done || !tr.bytid || !tr.child || !tr.first ||
	    m->ntasks > UINT32_MAX) {
		tree_free(&tr);
		report__free(r);
		return -ENOMEM;
	}
	for (i = 0; i < m->ntasks; i++)
		tr.bytid[i] = (uint64_t)m->tasks[i].tid << 32 | i;
	if (mpx_sort_by_u64(tr.bytid, m->ntasks, sizeof(*tr.bytid))) {
		tree_free(&tr);
		report__free(r);
		return -ENOMEM;
	}
	for (i = 0; i < m->ntasks; i++)
		tr.parent[i] = tree_parent(m, &tr, i);
	/* Each task's children, in index order. */
	for (i = 0; i < m->ntasks; i++)
		if (tr.parent[i] >= 0)
			tr.first[tr.parent[i] + 2]++;
	for (i = 2; i < m->ntasks + 2; i++)
		tr.first[i] += tr.first[i - 1];
	for (i = 0; i < m->ntasks; i++)
		if (tr.parent[i] >= 0)
			tr.child[tr.first[tr.parent[i] + 1]++] = i;
	for (i = 0; i < m->ntasks; i++) {
		if (m->tasks[i].is_thread)
			r->nthreads++;
		else
			r->nprocs++;
		for (b = 0; b < MPX_B_MAX; b++)
			r->total[b] += m->tasks[i].bucket[b];
	}
	/* Roots of the displayed forest: the seeded root, then anything
	 * whose parent is unknown (adopted tasks). */
	for (i = 0; i < m->ntasks; i++)
		if (tr.parent[i] < 0)
			visit(r, &tr, i, 0);
	/* Cycles cannot happen (parents start earlier), but be safe. */
	for (i = 0; i < m->ntasks; i++)
		visit(r, &tr, i, 0);
	tree_free(&tr);
	return 0;
}

void report__free(struct mpx_report *r)
{
	free(r->rows);
	r->rows = NULL;
	r->nrows = 0;
}

void report__status_str(int status, char *buf, size_t sz)
{
	if (WIFEXITED(status))
		snprintf(buf, sz, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sz, "killed by SIG%s%s", sigabbrev_np(WTERMSIG(status)) ?: "?",
			 WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, sz, "status 0x%x", status);
}

static int cmp_wait(const void *a, const void *b)
{
	const struct mpx_wait_total *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

size_t report__task_waits(const struct mpx_model *m, const struct mpx_task *t,
			  struct mpx_wait_total *out, size_t max)
{
	struct mpx_wait_total *all = NULL;
	size_t n = 0, cap = 0, i, j, last = 0;
	const char *last_r = NULL;	/* all[last] is where last_r went */

	for (i = 0; i < t->niv; i++) {
		const struct mpx_ival *v = &t->iv[i];
		const char *r;

		if (v->state != MPX_TS_SLEEP && v->state != MPX_TS_DSLEEP &&
		    v->state != MPX_TS_BLKIO)
			continue;
		r = reasons__get(&m->reasons, v->reason);
		/* A task mostly waits again where it waited before. */
		j = n && r == last_r ? last : 0;
		for (; j < n; j++)
			if (all[j].reason == r || (r && all[j].reason && !strcmp(all[j].reason, r)))
				break;
		last = j;
		last_r = r;
		if (j == n) {
			if (mpx_grow((void **)&all, &cap, n + 1, sizeof(*all)))
				break;
			memset(&all[n], 0, sizeof(all[n]));
			all[n++].reason = r;
		}
		all[j].ns += v->end - v->start;
		all[j].count++;
		all[j].iowait |= v->flags & MPX_IV_IOWAIT;
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_wait);
	if (n > max)
		n = max;
	if (n)
		memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

/* Length of [s, e) covered by the union of intervals in v (sorted by start). */
struct span {
	uint64_t s, e;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->s < y->s ? -1 : x->s > y->s;
}

static uint64_t covered(const struct span *v, size_t n, uint64_t s, uint64_t e)
{
	uint64_t sum = 0, cs = 0, ce = 0;
	size_t i;

	for (i = 0; i <= n; i++) {
		if (i < n && v[i].s <= ce) {
			if (v[i].e > ce)
				ce = v[i].e;
			continue;
		}
		if (ce > cs) {
			uint64_t a = cs > s ? cs : s, b = ce < e ? ce : e;

			if (b > a)
				sum += b - a;
		}
		if (i < n) {
			cs = v[i].s;
			ce = v[i].e;
		}
	}
	return sum;
}

/*
 * The interval of t holding time ts (start < ts <= end), t->niv if none:
 * a task's intervals are in time order and disjoint, so a binary search
 * (a linear scan per request made a long trace's report quadratic).
 */
static size_t iv_at(const struct mpx_task *t, uint64_t ts)
{
	size_t a = model__iv_search(t, ts);

	return a < t->niv && t->iv[a].start < ts ? a : t->niv;
}

void report__task_io(const struct mpx_model *m, const struct mpx_task *t,
		     struct mpx_task_io *io)
{
	size_t idx = (size_t)(t - m->tasks), i, nq = 0, nd = 0;
	struct span *q = NULL, *d = NULL;
	size_t qcap = 0, dcap = 0;

	memset(io, 0, sizeof(*io));
	io->blkio_ns = t->bucket[MPX_B_BLKIO];
	if (!t->io_requests)
		return;
	for (i = 0; i < m->nreqs; i++) {
		const struct mpx_req *r = &m->reqs[i];
		size_t k;

		if (r->task != (int32_t)idx || !r->issue)
			continue;
		if (!mpx_grow((void **)&q, &qcap, nq + 1, sizeof(*q)))
			q[nq++] = (struct span){ r->start, r->issue };
		if (!mpx_grow((void **)&d, &dcap, nd + 1, sizeof(*d)))
			d[nd++] = (struct span){ r->issue, r->complete };
		k = iv_at(t, r->complete);
		if (k < t->niv && t->iv[k].state == MPX_TS_BLKIO)
			io->requests_waited++;
	}
	/* q gets the device spans too: queue time is what the union of
	 * both covers beyond the device spans. */
	for (i = 0; i < nd; i++)
		if (!mpx_grow((void **)&q, &qcap, nq + 1, sizeof(*q)))
			q[nq++] = d[i];
	if (nq)
		qsort(q, nq, sizeof(*q), cmp_span);
	if (nd)
		qsort(d, nd, sizeof(*d), cmp_span);
	for (i = 0; i < t->niv; i++) {
		const struct mpx_ival *v = &t->iv[i];
		uint64_t dev, any;

		if (v->state != MPX_TS_BLKIO)
			continue;
		dev = covered(d, nd, v->start, v->end);
		any = covered(q, nq, v->start, v->end);
		io->blkio_device_ns += dev;
		io->blkio_queue_ns += any - dev;
	}
	free(q);
	free(d);
}
