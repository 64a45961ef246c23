// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The timeline as Chrome trace-event JSON (see perfetto.h): an object with
 * a "traceEvents" array; "X" slices with ts and dur in microseconds, here
 * written exactly to the nanosecond ("12.345"); "M" metadata naming
 * processes and threads; "s"/"f" flow arrows; "C" counters; "i" instants.
 *
 * Choices that make Perfetto's JSON importer show what we mean:
 *  - pids are synthetic, one per (run, pid), so that the runs of
 *    --mode=both and --repeat never share a process group (a pid recycled
 *    inside one run stays one group; its tasks keep tracks of their own).
 *    tids are the real ones when unique over the whole file, else
 *    synthetic: the importer keys threads by tid and would split a track
 *    whose tid shows up again under another pid (a recycled tid, a later
 *    run).  Real ids stay in the names.
 *  - No "displayTimeUnit": some importers read "ms"/"ns" there as the unit
 *    of ts, where the format says it only sets how times are shown.
 *  - Events are written sorted by timestamp; at equal timestamps slices
 *    come first (longest first, so that an enclosing slice opens before
 *    what it holds), then flows.  So a flow end bound to its enclosing
 *    slice ("bp":"e") at the instant a slice starts binds to that slice,
 *    not to the one that just ended there.
 *  - Flows are version 1 ("s"/"f" paired by id): one slice can start or
 *    end any number of them, where a v2 bind_id allows one per slice.
 *  - Zero-length intervals are left out: they show nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "json_writer.h"
#include "perfetto.h"
#include "util.h"

#ifndef MPX_VERSION
#define MPX_VERSION "0.1.0"
#endif

/* Above any real pid or tid (pid_max is at most 2^22). */
#define PF_PID_BASE	100000000u
#define PF_TID_BASE	200000000u

enum pf_kind {
	PF_IV,		/* a: task, b: its interval */
	PF_PHASE,	/* b: phase index; PF_TEARDOWN: the teardown */
	PF_CP,		/* b: critical path segment */
	PF_EXIT,	/* a: task */
	PF_FLOW_S,	/* a: task whose track it is on, b: flow id */
	PF_FLOW_F,
	PF_COUNTER,	/* b: runnable tasks */
	PF_RSS,		/* a: process leader task, b: its RSS in pages */
	PF_TREE_RSS,	/* b: the tree's RSS in pages */
	PF_REQ,		/* a: lane, b: request index */
	PF_PY,		/* a: task, b: span index in py.s[py_kind] */
	PF_PY_AUDIT,	/* a: task, b: index in py.audit */
};

#define PF_LANES 8	/* block request lanes per run (queue depth shown) */

#define PF_TEARDOWN MPX_MAX_PHASES

/* Order of events at one timestamp. */
enum pf_tie {
	PF_T_SLICE,
	PF_T_FLOW,
	PF_T_INSTANT,
	PF_T_COUNTER,
};

struct pf_ev {
	uint64_t ts, dur;
	uint32_t run, a, b;
	uint32_t seq;		/* insertion order: ties end here */
	uint8_t kind, tie;
	bool fork;		/* a fork flow, else a wakeup */
	uint8_t py_kind;	/* PF_PY: enum mpx_pyspan_kind */
};

/* A process of one run: the group its tasks' tracks are in. */
struct pf_proc {
	uint32_t pid;		/* first: sorted with cmp_u32 */
	uint32_t spid;
	uint32_t leader;	/* task index: its first non-thread task */
};

struct pf_run {
	uint32_t *spid, *stid;	/* per task: synthetic pid, track tid */
	uint32_t *order;	/* per task: position in the report's rows */
	uint32_t *pytid;	/* per task: its Python track, 0: none */
	struct pf_proc *proc;
	size_t nproc;
	uint32_t main_pid, main_tid, phase_tid, cp_tid;
	uint32_t lane_tid[PF_LANES];	/* block requests, one track per lane */
	int nlanes;
};

struct pf {
	const struct mpx_analysis *an;
	struct pf_run *r;
	struct pf_ev *ev;
	size_t n, cap;
	uint32_t next_pid, next_tid, next_flow;
	int err;
};

/*
 * A task's name as printable ASCII: comm is the program's to set, and
 * Perfetto's JSON tokenizer refuses control characters and \u escapes.
 */
static const char *clean_comm(const struct mpx_task *t, char *buf, size_t sz)
{
	size_t i;

	for (i = 0; i + 1 < sz && t->comm[i]; i++)
		buf[i] = t->comm[i] >= 0x20 && t->comm[i] < 0x7f ? t->comm[i] : '?';
	buf[i] = '\0';
	return buf;
}

static const char *role_name(const struct mpx_run_analysis *ra, size_t i)
{
	return ra->roles && ra->roles[i].name[0] ? ra->roles[i].name : "task";
}

static bool blocked(uint8_t state)
{
	return state == MPX_TS_SLEEP || state == MPX_TS_DSLEEP || state == MPX_TS_BLKIO ||
	       state == MPX_TS_UNKNOWN;
}

static bool runnable(uint8_t state)
{
	return state == MPX_TS_RUNNING || state == MPX_TS_RUNQ_WAKEUP ||
	       state == MPX_TS_RUNQ_PREEMPT;
}

static struct pf_ev *push(struct pf *pf, uint8_t kind, uint32_t run, uint64_t ts)
{
	struct pf_ev *e;

	if (pf->err)
		return NULL;
	if (mpx_grow((void **)&pf->ev, &pf->cap, pf->n + 1, sizeof(*pf->ev))) {
		pf->err = -ENOMEM;
		return NULL;
	}
	e = &pf->ev[pf->n];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->run = run;
	e->ts = ts;
	e->seq = (uint32_t)pf->n++;
	switch (kind) {
	case PF_FLOW_S:
	case PF_FLOW_F:
		e->tie = PF_T_FLOW;
		break;
	case PF_EXIT:
	case PF_PY_AUDIT:
		e->tie = PF_T_INSTANT;
		break;
	case PF_COUNTER:
	case PF_RSS:
	case PF_TREE_RSS:
		e->tie = PF_T_COUNTER;
		break;
	default:
		e->tie = PF_T_SLICE;
	}
	return e;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct pf_ev *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->tie != y->tie)
		return x->tie < y->tie ? -1 : 1;
	if (x->dur != y->dur)
		return x->dur > y->dur ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- ids ---------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Tasks by (pid, report order): consecutive equal pids are one process. */
struct pf_key {
	uint32_t pid, order, task;
	bool thread;
};

static int cmp_key(const void *a, const void *b)
{
	const struct pf_key *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_proc_order(const void *a, const void *b, void *arg)
{
	const struct pf_proc *x = a, *y = b;
	const uint32_t *order = arg;

	return order[x->leader] < order[y->leader] ? -1 : order[x->leader] > order[y->leader];
}

/* Real tids seen once over all runs keep their number. */
static bool tid_unique(const uint32_t *all, size_t n, uint32_t tid)
{
	const uint32_t *p = bsearch(&tid, all, n, sizeof(*all), cmp_u32);

	if (!p)
		return false;
	return !((p > all && p[-1] == tid) || (p + 1 < all + n && p[1] == tid));
}

static int assign_run(struct pf *pf, size_t ri, const uint32_t *all, size_t nall)
{
	const struct mpx_run_analysis *ra = &pf->an->ra[ri];
	const struct mpx_model *m = &ra->run->m;
	struct pf_run *r = &pf->r[ri];
	struct pf_key *k;
	size_t i, j, n = m->ntasks;

	r->spid = calloc(n, sizeof(*r->spid));
	r->stid = calloc(n, sizeof(*r->stid));
	r->order = calloc(n, sizeof(*r->order));
	r->proc = calloc(n, sizeof(*r->proc));
	k = calloc(n, sizeof(*k));
	if (!r->spid || !r->stid || !r->order || !r->proc || !k) {
		free(k);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		r->order[i] = (uint32_t)(n + i);	/* not in the rows: last */
	for (i = 0; i < ra->rep.nrows; i++)
		r->order[ra->rep.rows[i].t - m->tasks] = (uint32_t)i;
	for (i = 0; i < n; i++)
		k[i] = (struct pf_key){ m->tasks[i].pid, r->order[i], (uint32_t)i,
					m->tasks[i].is_thread };
	qsort(k, n, sizeof(*k), cmp_key);
	for (i = 0; i < n; i = j) {
		struct pf_proc *p = &r->proc[r->nproc++];

		p->pid = k[i].pid;
		p->leader = k[i].task;
		for (j = i; j < n && k[j].pid == k[i].pid; j++)
			if (!k[j].thread && m->tasks[p->leader].is_thread)
				p->leader = k[j].task;
	}
	/* Process groups in report order (the root's first). */
	qsort_r(r->proc, r->nproc, sizeof(*r->proc), cmp_proc_order, r->order);
	for (i = 0; i < r->nproc; i++)
		r->proc[i].spid = PF_PID_BASE + pf->next_pid++;
	/* Back in pid order, to find each task's. */
	qsort(r->proc, r->nproc, sizeof(*r->proc), cmp_u32);
	free(k);
	for (i = 0; i < n; i++) {
		const struct mpx_task *t = &m->tasks[i];
		const struct pf_proc *p = bsearch(&t->pid, r->proc, r->nproc,
						  sizeof(*r->proc), cmp_u32);

		r->spid[i] = p ? p->spid : r->proc[0].spid;
		r->stid[i] = tid_unique(all, nall, t->tid) ? t->tid :
			     PF_TID_BASE + pf->next_tid++;
	}
	r->pytid = calloc(n ? n : 1, sizeof(*r->pytid));
	if (!r->pytid)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct mpx_pytask *pt = i < ra->py.ntasks ? &ra->py.task[i] : NULL;

		if (pt && (pt->nimports || pt->ngc || pt->ngil || pt->naudit || pt->ncalls))
			r->pytid[i] = PF_TID_BASE + pf->next_tid++;
	}
	r->main_pid = r->spid[ra->main_idx];
	r->main_tid = r->stid[ra->main_idx];
	r->phase_tid = PF_TID_BASE + pf->next_tid++;
	r->cp_tid = PF_TID_BASE + pf->next_tid++;
	for (i = 0; i < PF_LANES; i++)
		r->lane_tid[i] = PF_TID_BASE + pf->next_tid++;
	return 0;
}

static int assign_ids(struct pf *pf)
{
	const struct mpx_analysis *an = pf->an;
	uint32_t *all = NULL;
	size_t nall = 0, i, j;
	int err = 0;

	for (i = 0; i < an->n; i++)
		nall += an->ra[i].run->m.ntasks;
	all = calloc(nall ? nall : 1, sizeof(*all));
	pf->r = calloc(an->n ? an->n : 1, sizeof(*pf->r));
	if (!all || !pf->r) {
		free(all);
		return -ENOMEM;
	}
	for (i = 0, nall = 0; i < an->n; i++)
		for (j = 0; j < an->ra[i].run->m.ntasks; j++)
			all[nall++] = an->ra[i].run->m.tasks[j].tid;
	qsort(all, nall, sizeof(*all), cmp_u32);
	for (i = 0; i < an->n && !err; i++)
		if (an->ra[i].run->m.ntasks)
			err = assign_run(pf, i, all, nall);
	free(all);
	return err;
}

/* ---- events ------------------------------------------------------------- */

/* Every task of a run by (tid, start): who had a tid at an instant. */
struct tid_ent {
	uint32_t tid, idx;
	uint64_t start;
};

static int cmp_tid_ent(const void *a, const void *b)
{
	const struct tid_ent *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The task with tid alive at ts, not self; -1: none traced. */
static long task_at(const struct mpx_model *m, const struct tid_ent *byt, uint32_t tid,
		    uint64_t ts, size_t self)
{
	size_t lo = 0, hi = m->ntasks;
	const struct mpx_task *t;

	if (!tid)
		return -1;
	/* First entry past (tid, ts). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (byt[mid].tid < tid || (byt[mid].tid == tid && byt[mid].start <= ts))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || byt[lo - 1].tid != tid)
		return -1;
	t = &m->tasks[byt[lo - 1].idx];
	if (byt[lo - 1].idx == self || ts > t->end_ns)
		return -1;
	return byt[lo - 1].idx;
}

/* The first interval from k on that shows (has a length); niv: none. */
static size_t next_shown(const struct mpx_task *t, size_t k)
{
	while (k < t->niv && t->iv[k].end <= t->iv[k].start)
		k++;
	return k;
}

static void flow(struct pf *pf, uint32_t run, bool fork, uint32_t from, uint64_t from_ts,
		 uint32_t to, uint64_t to_ts)
{
	uint32_t id = ++pf->next_flow;
	struct pf_ev *e;

	e = push(pf, PF_FLOW_S, run, from_ts);
	if (e) {
		e->a = from;
		e->b = id;
		e->fork = fork;
	}
	e = push(pf, PF_FLOW_F, run, to_ts);
	if (e) {
		e->a = to;
		e->b = id;
		e->fork = fork;
	}
}

static void task_events(struct pf *pf, uint32_t ri, const struct mpx_model *m,
			const struct tid_ent *byt, size_t i)
{
	const struct mpx_task *t = &m->tasks[i];
	uint64_t last = 0;
	size_t j, k;
	long w;

	/* Its intervals, kept in order even if the model were not. */
	for (j = 0; j < t->niv; j++) {
		const struct mpx_ival *v = &t->iv[j];
		uint64_t s = v->start > last ? v->start : last;
		struct pf_ev *e;

		if (v->end <= s)
			continue;
		e = push(pf, PF_IV, ri, s);
		if (e) {
			e->dur = v->end - s;
			e->a = (uint32_t)i;
			e->b = (uint32_t)j;
		}
		last = v->end;
	}
	if (!last)
		return;
	if (t->exited) {
		uint64_t ts = t->exit_ns;
		struct pf_ev *e;

		if (ts < t->iv[0].start)
			ts = t->iv[0].start;
		if (ts > last)
			ts = last;
		e = push(pf, PF_EXIT, ri, ts);
		if (e)
			e->a = (uint32_t)i;
	}
	/* Forked by a traced task: parent at the fork, to our first slice. */
	k = next_shown(t, 0);
	if (!t->is_root && k < t->niv) {
		w = task_at(m, byt, t->parent_tid, t->start_ns, i);
		if (w >= 0)
			flow(pf, ri, true, (uint32_t)w, t->start_ns, (uint32_t)i, t->iv[k].start);
	}
	/* Woken by a traced task: waker at sched_waking, to our next slice.
	 * A new task's wakeup is its fork's, drawn above. */
	for (j = 0; j < t->niv; j++) {
		const struct mpx_ival *v = &t->iv[j];
		uint64_t ts = v->waking_ns;

		if (!v->waker_tid || !blocked(v->state))
			continue;
		k = next_shown(t, j + 1);
		if (k >= t->niv)
			continue;
		/* As the critical path: no waking time or a later one means
		 * the wakeup itself; an earlier one is clamped to the wait. */
		if (!ts || ts > v->end)
			ts = v->end;
		if (ts < v->start)
			ts = v->start;
		w = task_at(m, byt, v->waker_tid, ts, i);
		if (w >= 0)
			flow(pf, ri, false, (uint32_t)w, ts, (uint32_t)i, t->iv[k].start);
	}
}

struct edge {
	uint64_t ts;
	int d;
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* Tasks running or waiting for a CPU, at every change. */
static void counter_events(struct pf *pf, uint32_t ri, const struct mpx_model *m)
{
	struct edge *e = NULL;
	size_t n = 0, cap = 0, i, j;
	int64_t v = 0, shown = -1;

	for (i = 0; i < m->ntasks; i++)
		for (j = 0; j < m->tasks[i].niv; j++) {
			const struct mpx_ival *iv = &m->tasks[i].iv[j];

			if (!runnable(iv->state) || iv->end <= iv->start)
				continue;
			if (mpx_grow((void **)&e, &cap, n + 2, sizeof(*e))) {
				free(e);
				pf->err = -ENOMEM;
				return;
			}
			e[n++] = (struct edge){ iv->start, 1 };
			e[n++] = (struct edge){ iv->end, -1 };
		}
	if (n)
		qsort(e, n, sizeof(*e), cmp_edge);
	for (i = 0; i < n; i = j) {
		struct pf_ev *ev;

		for (j = i; j < n && e[j].ts == e[i].ts; j++)
			v += e[j].d;
		if (v == shown)
			continue;
		ev = push(pf, PF_COUNTER, ri, e[i].ts);
		if (ev)
			ev->b = (uint32_t)(v < 0 ? 0 : v);
		shown = v;
	}
	free(e);
}

/* The leader task of process pid alive at ts, -1 if none. */
static long leader_at(const struct mpx_model *m, uint32_t pid, uint64_t ts)
{
	long best = -1;
	size_t i;

	for (i = 0; i < m->ntasks; i++)
		if (m->tasks[i].tid == pid && !m->tasks[i].is_thread &&
		    m->tasks[i].start_ns <= ts)
			best = (long)i;
	return best;
}

/* RSS per process, and of the whole tree, at every sample (pages). */
static void rss_events(struct pf *pf, uint32_t ri, const struct mpx_model *m)
{
	uint64_t *cur = calloc(m->ntasks + 1, sizeof(*cur)), tree = 0;
	struct pf_ev *e;
	size_t i;

	if (!cur) {
		pf->err = -ENOMEM;
		return;
	}
	for (i = 0; i < m->nrss; i++) {
		const struct mpx_rss_sample *r = &m->rss[i];
		uint64_t v = r->file + r->anon + r->shmem;
		long l = leader_at(m, r->pid, r->ts);

		/* Before an exec the samples are of the image it replaced. */
		if (l < 0 || r->ts < m->tasks[l].exec_ns)
			continue;
		e = push(pf, PF_RSS, ri, r->ts);
		if (e) {
			e->a = (uint32_t)l;
			e->b = (uint32_t)v;
		}
		tree = tree - cur[l] + v;
		cur[l] = v;
		e = push(pf, PF_TREE_RSS, ri, r->ts);
		if (e)
			e->b = (uint32_t)tree;
	}
	free(cur);
}

static int cmp_req_start(const void *a, const void *b, void *arg)
{
	const struct mpx_req *r = arg;
	uint64_t x = r[*(const uint32_t *)a].start, y = r[*(const uint32_t *)b].start;

	return x < y ? -1 : x > y;
}

/* Block requests as slices, on the first lane free at their start. */
static void req_events(struct pf *pf, uint32_t ri, const struct mpx_model *m)
{
	uint64_t lane_end[PF_LANES] = { 0 };
	struct pf_run *r = &pf->r[ri];
	uint32_t *byst = calloc(m->nreqs + 1, sizeof(*byst));
	struct pf_ev *e;
	size_t i;
	int l;

	if (!byst) {
		pf->err = -ENOMEM;
		return;
	}
	for (i = 0; i < m->nreqs; i++)
		byst[i] = (uint32_t)i;
	/* Completion order is how they arrive; lanes need start order. */
	qsort_r(byst, m->nreqs, sizeof(*byst), cmp_req_start, (void *)m->reqs);
	for (i = 0; i < m->nreqs; i++) {
		const struct mpx_req *q = &m->reqs[byst[i]];

		if (q->complete <= q->start)
			continue;
		for (l = 0; l < PF_LANES && lane_end[l] > q->start; l++)
			;
		if (l == PF_LANES)
			continue;	/* deeper than shown: left out */
		lane_end[l] = q->complete;
		if (l + 1 > r->nlanes)
			r->nlanes = l + 1;
		e = push(pf, PF_REQ, ri, q->start);
		if (e) {
			e->dur = q->complete - q->start;
			e->a = (uint32_t)l;
			e->b = byst[i];
		}
	}
	free(byst);
}

/* Python spans (imports, GC, calls, GIL waits) and audit events, on a
 * track of their own per task: they nest, the scheduler slices do not. */
static void py_events(struct pf *pf, uint32_t ri)
{
	const struct mpx_pyspans *py = &pf->an->ra[ri].py;
	struct pf_ev *e;
	size_t k, i;

	for (k = 0; k < MPX_PS_MAX; k++)
		for (i = 0; i < py->n[k]; i++) {
			const struct mpx_pyspan *s = &py->s[k][i];

			if (!pf->r[ri].pytid[s->task])
				continue;
			e = push(pf, PF_PY, ri, s->start);
			if (e) {
				e->dur = s->end - s->start;
				e->a = s->task;
				e->b = (uint32_t)i;
				e->py_kind = (uint8_t)k;
			}
		}
	for (i = 0; i < py->naudit; i++) {
		if (!pf->r[ri].pytid[py->audit[i].task])
			continue;
		e = push(pf, PF_PY_AUDIT, ri, py->audit[i].ts);
		if (e) {
			e->a = py->audit[i].task;
			e->b = (uint32_t)i;
		}
	}
}

static void run_events(struct pf *pf, uint32_t ri)
{
	const struct mpx_run_analysis *ra = &pf->an->ra[ri];
	const struct mpx_model *m = &ra->run->m;
	struct tid_ent *byt;
	struct pf_ev *e;
	size_t i;
	int p;

	byt = calloc(m->ntasks, sizeof(*byt));
	if (!byt) {
		pf->err = -ENOMEM;
		return;
	}
	for (i = 0; i < m->ntasks; i++)
		byt[i] = (struct tid_ent){ m->tasks[i].tid, (uint32_t)i, m->tasks[i].start_ns };
	qsort(byt, m->ntasks, sizeof(*byt), cmp_tid_ent);
	for (i = 0; i < m->ntasks; i++)
		task_events(pf, ri, m, byt, i);
	free(byt);

	for (p = 0; p <= ra->nph; p++) {
		const struct mpx_phase *ph = p < ra->nph ? &ra->ph[p] : &ra->teardown;

		if (p == ra->nph && !ra->markers)
			break;
		if (ph->end <= ph->start)
			continue;
		e = push(pf, PF_PHASE, ri, ph->start);
		if (e) {
			e->dur = ph->end - ph->start;
			e->b = p < ra->nph ? (uint32_t)p : PF_TEARDOWN;
		}
	}
	for (i = 0; i < ra->cp.n; i++) {
		const struct mpx_cp_seg *s = &ra->cp.seg[i];

		if (s->end <= s->start)
			continue;
		e = push(pf, PF_CP, ri, s->start);
		if (e) {
			e->dur = s->end - s->start;
			e->b = (uint32_t)i;
		}
	}
	counter_events(pf, ri, m);
	rss_events(pf, ri, m);
	req_events(pf, ri, m);
	py_events(pf, ri);
}

/* ---- JSON --------------------------------------------------------------- */

static void ts_dur(struct json_writer *w, const struct pf_ev *e, uint64_t base, bool dur)
{
	jw_kv_fixed(w, "ts", (int64_t)(e->ts - base), 3);
	if (dur)
		jw_kv_fixed(w, "dur", (int64_t)e->dur, 3);
}

static void meta(struct json_writer *w, const char *what, uint32_t pid, uint32_t tid,
		 const char *name, int64_t sort_index)
{
	jw_start_object(w);
	jw_kv_string(w, "ph", "M");
	jw_kv_string(w, "name", what);
	jw_kv_u64(w, "pid", pid);
	jw_kv_u64(w, "tid", tid);
	jw_kv_u64(w, "ts", 0);
	jw_key(w, "args");
	jw_start_object(w);
	if (name)
		jw_kv_string(w, "name", name);
	else
		jw_kv_s64(w, "sort_index", sort_index);
	jw_end_object(w);
	jw_end_object(w);
}

static void run_meta(struct json_writer *w, const struct pf *pf, size_t ri)
{
	const struct mpx_run_analysis *ra = &pf->an->ra[ri];
	const struct mpx_model *m = &ra->run->m;
	const struct pf_run *r = &pf->r[ri];
	char name[MPX_COMM_LEN + 96], comm[MPX_COMM_LEN + 1];
	size_t i;

	for (i = 0; i < r->nproc; i++) {
		const struct pf_proc *p = &r->proc[i];
		const struct mpx_task *t = &m->tasks[p->leader];

		snprintf(name, sizeof(name), "%s run %d: %s [%u]", mpx_mode_name(ra->run->mode),
			 ra->run->repeat + 1, clean_comm(t, comm, sizeof(comm)), p->pid);
		meta(w, "process_name", p->spid, r->stid[p->leader], name, 0);
		meta(w, "process_sort_index", p->spid, r->stid[p->leader], NULL,
		     (int64_t)(p->spid - PF_PID_BASE));
	}
	meta(w, "thread_name", r->main_pid, r->phase_tid, "phases", 0);
	meta(w, "thread_sort_index", r->main_pid, r->phase_tid, NULL, 0);
	meta(w, "thread_name", r->main_pid, r->cp_tid, "critical path", 0);
	meta(w, "thread_sort_index", r->main_pid, r->cp_tid, NULL, 1);
	for (i = 0; i < (size_t)r->nlanes; i++) {
		snprintf(name, sizeof(name), "block IO %zu", i + 1);
		meta(w, "thread_name", r->main_pid, r->lane_tid[i], name, 0);
		meta(w, "thread_sort_index", r->main_pid, r->lane_tid[i], NULL,
		     (int64_t)(100000 + i));
	}
	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];

		snprintf(name, sizeof(name), "%s %s %u", role_name(ra, i),
			 clean_comm(t, comm, sizeof(comm)), t->tid);
		meta(w, "thread_name", r->spid[i], r->stid[i], name, 0);
		meta(w, "thread_sort_index", r->spid[i], r->stid[i], NULL,
		     (int64_t)r->order[i] + 2);
		if (!r->pytid[i])
			continue;
		snprintf(name, sizeof(name), "%s %s %u python", role_name(ra, i),
			 clean_comm(t, comm, sizeof(comm)), t->tid);
		meta(w, "thread_name", r->spid[i], r->pytid[i], name, 0);
		meta(w, "thread_sort_index", r->spid[i], r->pytid[i], NULL,
		     (int64_t)r->order[i] + 2);
	}
}

static void begin_event(struct json_writer *w, const char *ph, const char *name,
			const char *cat, uint32_t pid, uint32_t tid)
{
	jw_start_object(w);
	jw_kv_string(w, "ph", ph);
	jw_kv_string(w, "name", name);
	jw_kv_string(w, "cat", cat);
	jw_kv_u64(w, "pid", pid);
	jw_kv_u64(w, "tid", tid);
}

static void iv_event(struct json_writer *w, const struct pf *pf, const struct pf_ev *e,
		     uint64_t base)
{
	const struct mpx_run_analysis *ra = &pf->an->ra[e->run];
	const struct mpx_model *m = &ra->run->m;
	const struct pf_run *r = &pf->r[e->run];
	const struct mpx_ival *v = &m->tasks[e->a].iv[e->b];
	const char *reason = reasons__get(&m->reasons, v->reason);
	char name[MPX_REASON_LEN + 32];
	bool io = (v->flags & MPX_IV_IOWAIT) || v->state == MPX_TS_BLKIO;

	switch (v->state) {
	case MPX_TS_RUNNING:
		snprintf(name, sizeof(name), "running");
		break;
	case MPX_TS_RUNQ_WAKEUP:
		snprintf(name, sizeof(name), "runnable (woken)");
		break;
	case MPX_TS_RUNQ_PREEMPT:
		snprintf(name, sizeof(name), "runnable (preempted)");
		break;
	case MPX_TS_SLEEP:
		snprintf(name, sizeof(name), "sleep: %s", reason ? reason : "?");
		break;
	case MPX_TS_DSLEEP:
	case MPX_TS_BLKIO:
		snprintf(name, sizeof(name), "D: %s%s", reason ? reason : "?", io ? " (io)" : "");
		break;
	case MPX_TS_NEW:
		snprintf(name, sizeof(name), "new");
		break;
	case MPX_TS_DEAD:
		snprintf(name, sizeof(name), "dead");
		break;
	default:
		snprintf(name, sizeof(name), "unknown");
	}
	begin_event(w, "X", name, "sched", r->spid[e->a], r->stid[e->a]);
	ts_dur(w, e, base, true);
	if (blocked(v->state) && (reason || v->waker_tid || (v->flags & MPX_IV_RECONCILED))) {
		jw_key(w, "args");
		jw_start_object(w);
		if (reason)
			jw_kv_string(w, "reason", reason);
		if (v->waker_tid)
			jw_kv_u64(w, "waker_tid", v->waker_tid);
		if (v->flags & MPX_IV_RECONCILED)
			jw_kv_bool(w, "reconciled", true);
		jw_end_object(w);
	}
	jw_end_object(w);
}

static void cp_event(struct json_writer *w, const struct pf *pf, const struct pf_ev *e,
		     uint64_t base)
{
	const struct mpx_run_analysis *ra = &pf->an->ra[e->run];
	const struct mpx_model *m = &ra->run->m;
	const struct mpx_cp_seg *s = &ra->cp.seg[e->b];
	const char *reason = analysis__seg_reason(ra, s);
	char name[64];

	snprintf(name, sizeof(name), "%s: %s", role_name(ra, s->task),
		 mpx_bucket_name(critpath__bucket(s)));
	begin_event(w, "X", name, "critical_path", pf->r[e->run].main_pid, pf->r[e->run].cp_tid);
	ts_dur(w, e, base, true);
	jw_key(w, "args");
	jw_start_object(w);
	jw_kv_u64(w, "tid", m->tasks[s->task].tid);
	jw_kv_string(w, "kind", critpath__kind_name(s->kind));
	if (reason)
		jw_kv_string(w, "reason", reason);
	if (s->via_tid)
		jw_kv_u64(w, "via_tid", s->via_tid);
	jw_end_object(w);
	jw_end_object(w);
}

/* Printable ASCII of a name the traced program chose. */
static const char *clean_name(const char *s, char *buf, size_t sz)
{
	size_t i;

	for (i = 0; i + 1 < sz && s[i]; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void py_event(struct json_writer *w, const struct pf *pf, const struct pf_ev *e,
		     uint64_t base)
{
	const struct mpx_pyspans *py = &pf->an->ra[e->run].py;
	const struct pf_run *r = &pf->r[e->run];
	char name[MPX_PYNAME_LEN + 32], clean[MPX_PYNAME_LEN + 1];
	const struct mpx_pyspan *s;

	if (e->kind == PF_PY_AUDIT) {
		snprintf(name, sizeof(name), "audit %s",
			 clean_name(py->audit[e->b].name, clean, sizeof(clean)));
		begin_event(w, "i", name, "python", r->spid[e->a], r->pytid[e->a]);
		jw_kv_string(w, "s", "t");
		ts_dur(w, e, base, false);
		jw_end_object(w);
		return;
	}
	s = &py->s[e->py_kind][e->b];
	clean_name(s->name, clean, sizeof(clean));
	switch (e->py_kind) {
	case MPX_PS_IMPORT:
		snprintf(name, sizeof(name), "import %s", clean);
		break;
	case MPX_PS_GC:
		snprintf(name, sizeof(name), "GC gen %d", s->val);
		break;
	case MPX_PS_CALL:
		snprintf(name, sizeof(name), "%s()", clean);
		break;
	default:
		snprintf(name, sizeof(name), "GIL wait");
	}
	begin_event(w, "X", name, "python", r->spid[e->a], r->pytid[e->a]);
	ts_dur(w, e, base, true);
	if (e->py_kind != MPX_PS_GIL) {
		jw_key(w, "args");
		jw_start_object(w);
		if (e->py_kind == MPX_PS_GC)
			jw_kv_s64(w, "collected", s->arg);
		else
			jw_kv_fixed(w, "self_us", (int64_t)s->excl_ns, 3);
		if (s->open)
			jw_kv_bool(w, "unfinished", true);
		jw_end_object(w);
	}
	jw_end_object(w);
}

static void event(struct json_writer *w, const struct pf *pf, const struct pf_ev *e,
		  uint64_t base)
{
	const struct mpx_run_analysis *ra = &pf->an->ra[e->run];
	const struct pf_run *r = &pf->r[e->run];
	const struct mpx_phase *ph;
	char name[64];

	switch (e->kind) {
	case PF_IV:
		iv_event(w, pf, e, base);
		return;
	case PF_CP:
		cp_event(w, pf, e, base);
		return;
	case PF_PY:
	case PF_PY_AUDIT:
		py_event(w, pf, e, base);
		return;
	case PF_PHASE:
		ph = e->b == PF_TEARDOWN ? &ra->teardown : &ra->ph[e->b];
		begin_event(w, "X", ph->name, "phase", r->main_pid, r->phase_tid);
		ts_dur(w, e, base, true);
		jw_key(w, "args");
		jw_start_object(w);
		jw_kv_string(w, "class", mpx_phase_class_name(ph->cls));
		jw_end_object(w);
		break;
	case PF_EXIT:
		report__status_str(ra->run->m.tasks[e->a].exit_code, name, sizeof(name));
		begin_event(w, "i", name, "exit", r->spid[e->a], r->stid[e->a]);
		jw_kv_string(w, "s", "t");
		ts_dur(w, e, base, false);
		break;
	case PF_FLOW_S:
	case PF_FLOW_F:
		begin_event(w, e->kind == PF_FLOW_S ? "s" : "f", e->fork ? "fork" : "wakeup",
			    e->fork ? "fork" : "wakeup", r->spid[e->a], r->stid[e->a]);
		jw_kv_u64(w, "id", e->b);
		if (e->kind == PF_FLOW_F)
			jw_kv_string(w, "bp", "e");
		ts_dur(w, e, base, false);
		break;
	case PF_COUNTER:
		begin_event(w, "C", "runnable tasks", "counter", r->main_pid, r->main_tid);
		ts_dur(w, e, base, false);
		jw_key(w, "args");
		jw_start_object(w);
		jw_kv_u64(w, "value", e->b);
		jw_end_object(w);
		break;
	case PF_RSS:
	case PF_TREE_RSS:
		begin_event(w, "C", e->kind == PF_RSS ? "RSS MiB" : "tree RSS MiB", "memory",
			    e->kind == PF_RSS ? r->spid[e->a] : r->main_pid,
			    e->kind == PF_RSS ? r->stid[e->a] : r->main_tid);
		ts_dur(w, e, base, false);
		jw_key(w, "args");
		jw_start_object(w);
		jw_kv_double(w, "value", (double)e->b / 256.0);
		jw_end_object(w);
		break;
	case PF_REQ: {
		const struct mpx_req *q = &ra->run->m.reqs[e->b];
		const struct mpx_model *m = &ra->run->m;

		snprintf(name, sizeof(name), "%s %u KiB", (q->op & 0xff) == 0 ? "read" :
			 (q->op & 0xff) == 1 ? "write" : "other", q->bytes / 1024);
		begin_event(w, "X", name, "block", r->main_pid, r->lane_tid[e->a]);
		ts_dur(w, e, base, true);
		jw_key(w, "args");
		jw_start_object(w);
		jw_kv_u64(w, "sector", q->sector);
		jw_kv_u64(w, "dev_major", q->dev >> 20);
		jw_kv_u64(w, "dev_minor", q->dev & 0xfffff);
		if (q->issue)
			jw_kv_double(w, "queue_us", (double)(q->issue - q->start) / 1e3);
		if (q->task >= 0)
			jw_kv_u64(w, "submitter_tid", m->tasks[q->task].tid);
		if (q->credit >= 0)
			jw_kv_u64(w, "deferred_for_tid", m->tasks[q->credit].tid);
		jw_end_object(w);
		break;
	}
	}
	jw_end_object(w);
}

static int emit(const struct pf *pf, FILE *f)
{
	struct json_writer *w = jw_new(f, false);
	uint64_t base = pf->n ? pf->ev[0].ts : 0;
	size_t i;

	if (!w)
		return -ENOMEM;
	jw_start_object(w);
	jw_key(w, "traceEvents");
	jw_start_array(w);
	for (i = 0; i < pf->an->n; i++)
		if (pf->r[i].spid)
			run_meta(w, pf, i);
	for (i = 0; i < pf->n; i++)
		event(w, pf, &pf->ev[i], base);
	jw_end_array(w);
	jw_key(w, "otherData");
	jw_start_object(w);
	jw_kv_string(w, "producer", "mpxtrace " MPX_VERSION);
	jw_kv_u64(w, "time_base_ns", base);
	jw_kv_string(w, "clock", "CLOCK_MONOTONIC; ts are microseconds after time_base_ns");
	jw_end_object(w);
	jw_end_object(w);
	fputc('\n', f);
	jw_free(w);
	return 0;
}

/* ---- files -------------------------------------------------------------- */

/* Once zlib failed a write, it fails the next ones without an errno:
 * they report the first one's (one file is written at a time). */
static int gz_errno;

static ssize_t gz_write(void *cookie, const char *buf, size_t n)
{
	int done;

	if (!n)
		return 0;
	errno = 0;
	done = gzwrite(cookie, buf, (unsigned int)(n > (1u << 30) ? 1u << 30 : n));
	if (done <= 0) {
		if (errno && !gz_errno)
			gz_errno = errno;
		errno = gz_errno ? gz_errno : EIO;
		return -1;
	}
	return done;
}

static int gz_close(void *cookie)
{
	int err;

	errno = 0;
	err = gzclose(cookie);
	if (err == Z_OK)
		return 0;
	if (err != Z_ERRNO || !errno)
		errno = gz_errno ? gz_errno : EIO;
	return EOF;
}

static bool gz_path(const char *path)
{
	size_t n = strlen(path);

	return n > 3 && !strcmp(path + n - 3, ".gz");
}

int perfetto__check(const char *path)
{
	struct stat st;

	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return -EISDIR;
	return mpx_check_out(path);
}

static void pf_free(struct pf *pf)
{
	size_t i;

	for (i = 0; pf->r && i < pf->an->n; i++) {
		free(pf->r[i].spid);
		free(pf->r[i].stid);
		free(pf->r[i].order);
		free(pf->r[i].proc);
		free(pf->r[i].pytid);
	}
	free(pf->r);
	free(pf->ev);
}

int perfetto__write(const struct mpx_analysis *an, const char *path)
{
	struct pf pf = { .an = an };
	char *tmp = NULL;
	FILE *f = NULL;
	gzFile gz = NULL;
	int fd = -1, err;
	size_t i;

	err = assign_ids(&pf);
	for (i = 0; !err && i < an->n; i++)
		if (an->ra[i].run->m.ntasks)
			run_events(&pf, (uint32_t)i);
	if (!err)
		err = pf.err;
	if (err)
		goto cleanup;
	if (pf.n)		/* none when the command never started */
		qsort(pf.ev, pf.n, sizeof(*pf.ev), cmp_ev);

	fd = mpx_open_tmp(path, &tmp);
	if (fd < 0) {
		err = fd;
		goto cleanup;
	}
	if (gz_path(path)) {
		static const cookie_io_functions_t io = { .write = gz_write, .close = gz_close };

		gz_errno = 0;
		gz = gzdopen(fd, "wb");
		if (!gz) {
			err = errno ? -errno : -ENOMEM;
			goto cleanup;
		}
		fd = -1;		/* gz owns it */
		f = fopencookie(gz, "w", io);
		if (!f) {
			err = -errno;
			goto cleanup;
		}
		gz = NULL;		/* f owns it */
	} else {
		f = fdopen(fd, "w");
		if (!f) {
			err = -errno;
			goto cleanup;
		}
		fd = -1;		/* f owns it */
	}
	errno = 0;
	err = emit(&pf, f);
	if (!err && (ferror(f) || fflush(f)))
		err = errno ? -errno : -EIO;
	errno = 0;
	if (fclose(f) && !err)
		err = errno ? -errno : -EIO;
	f = NULL;
	if (!err)
		err = mpx_commit_out(path, tmp);
cleanup:
	if (f)
		fclose(f);
	if (gz)
		gzclose(gz);
	if (fd >= 0)
		close(fd);
	if (err)
		mpx_abort_out(tmp);
	free(tmp);
	pf_free(&pf);
	return err;
}
