// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pyspans.h"
#include "util.h"

/* Open spans of one task and kind: indexes into ps->s[kind]. */
struct stack {
	size_t *ix;
	size_t n, cap;
	uint64_t *child;	/* inclusive time of closed children, per level */
	size_t ccap;
};

struct builder {
	struct mpx_pyspans *ps;
	const struct mpx_model *m;
	struct pid_ix *pids;		/* every task by pid */
	struct stack *st[MPX_PS_MAX];	/* per task, imports and calls */
	int err;
};

static int task_of(const struct mpx_model *m, uint32_t tid)
{
	const struct mpx_task *t = model__find((struct mpx_model *)m, tid);

	return t ? (int)(t - m->tasks) : -1;
}

static void copy_name(char *dst, const char *src)
{
	memcpy(dst, src, MPX_PYNAME_LEN);
	dst[MPX_PYNAME_LEN] = '\0';
}

static struct mpx_pyspan *add_span(struct builder *b, enum mpx_pyspan_kind k, uint32_t task,
				   uint64_t start)
{
	struct mpx_pyspans *ps = b->ps;
	struct mpx_pyspan *s;

	if (mpx_grow((void **)&ps->s[k], &ps->cap[k], ps->n[k] + 1, sizeof(*s))) {
		b->err = -ENOMEM;
		return NULL;
	}
	s = &ps->s[k][ps->n[k]++];
	memset(s, 0, sizeof(*s));
	s->task = task;
	s->start = s->end = start;
	return s;
}

static int push(struct stack *st, size_t ix)
{
	if (mpx_grow((void **)&st->ix, &st->cap, st->n + 1, sizeof(*st->ix)) ||
	    mpx_grow((void **)&st->child, &st->ccap, st->n + 1, sizeof(*st->child)))
		return -ENOMEM;
	st->ix[st->n] = ix;
	st->child[st->n] = 0;
	st->n++;
	return 0;
}

/* Close the innermost open span of st at ts. */
static void pop(struct mpx_pyspans *ps, enum mpx_pyspan_kind k, struct stack *st, uint64_t ts,
		bool open)
{
	struct mpx_pyspan *s = &ps->s[k][st->ix[--st->n]];
	uint64_t incl;

	s->end = ts > s->start ? ts : s->start;
	s->open = open;
	incl = s->end - s->start;
	s->excl_ns = incl > st->child[st->n] ? incl - st->child[st->n] : 0;
	if (st->n)
		st->child[st->n - 1] += incl;
}

static void on_start(struct builder *b, enum mpx_pyspan_kind k, int task,
		     const struct mpx_py *e)
{
	struct stack *st = &b->st[k][task];
	struct mpx_pyspan *s = add_span(b, k, (uint32_t)task, e->hdr.ts);

	if (!s)
		return;
	copy_name(s->name, e->name);
	s->val = e->val;
	s->depth = (uint16_t)(st->n < 0xffff ? st->n : 0xffff);
	if (push(st, b->ps->n[k] - 1))
		b->err = -ENOMEM;
}

/*
 * The done of the innermost span of that name; spans opened inside it and
 * never closed (an exception unwound them) are closed with it.  A done
 * without a start (a fork inherited the start) is ignored.
 */
static void on_done(struct builder *b, enum mpx_pyspan_kind k, int task, const struct mpx_py *e)
{
	struct stack *st = &b->st[k][task];
	struct mpx_pyspans *ps = b->ps;
	char name[MPX_PYNAME_LEN + 1];
	size_t i;

	copy_name(name, e->name);
	for (i = st->n; i > 0; i--)
		if (!strcmp(ps->s[k][st->ix[i - 1]].name, name))
			break;
	if (!i)
		return;
	while (st->n > i)
		pop(ps, k, st, e->hdr.ts, true);
	if (k == MPX_PS_IMPORT)
		ps->s[k][st->ix[st->n - 1]].arg = e->val;
	pop(ps, k, st, e->hdr.ts, false);
}

static void on_gc(struct builder *b, int task, const struct mpx_py *e)
{
	struct stack *st = &b->st[MPX_PS_GC][task];
	struct mpx_pyspans *ps = b->ps;
	struct mpx_pyspan *s;

	if (e->kind == MPX_PY_GC_START) {
		/* GC does not nest: a start while one is open replaces it. */
		st->n = 0;
		s = add_span(b, MPX_PS_GC, (uint32_t)task, e->hdr.ts);
		if (s && push(st, ps->n[MPX_PS_GC] - 1))
			b->err = -ENOMEM;
		if (s)
			s->val = e->val;
		return;
	}
	if (!st->n)
		return;
	ps->s[MPX_PS_GC][st->ix[0]].arg = (int64_t)e->arg;
	pop(ps, MPX_PS_GC, st, e->hdr.ts, false);
}

static void on_py(struct builder *b, const struct mpx_py *e)
{
	struct mpx_pyspans *ps = b->ps;
	int task;

	if (e->kind == MPX_PY_PROBES) {
		struct mpx_pyinterp *in = &ps->interp[ps->ninterp];

		/* The first names the run's interpreter; all add their probes. */
		if (!ps->probes_known) {
			ps->missing = (uint32_t)e->val;
			copy_name(ps->binary, e->name);
		}
		ps->probes_known = true;
		ps->attached |= (uint32_t)e->arg;
		ps->missing &= ~(uint32_t)e->arg;
		if (ps->ninterp == MPX_PY_MAX_INTERP)
			return;
		ps->ninterp++;
		memset(in, 0, sizeof(*in));
		in->ts = e->hdr.ts;
		in->tid = e->tid;
		in->attached = (uint32_t)e->arg;
		in->missing = (uint32_t)e->val;
		copy_name(in->binary, e->name);
		task = task_of(b->m, e->tid);
		in->late = e->hdr.ts > b->m->t0;
		if (in->late && task >= 0)
			in->exec_ns = b->m->tasks[task].exec_ns;
		return;
	}
	task = task_of(b->m, e->tid);
	if (task < 0)
		return;
	ps->any = true;
	switch (e->kind) {
	case MPX_PY_IMPORT_START:
		on_start(b, MPX_PS_IMPORT, task, e);
		break;
	case MPX_PY_IMPORT_DONE:
		on_done(b, MPX_PS_IMPORT, task, e);
		break;
	case MPX_PY_FUNC_ENTRY:
		on_start(b, MPX_PS_CALL, task, e);
		break;
	case MPX_PY_FUNC_RETURN:
		on_done(b, MPX_PS_CALL, task, e);
		break;
	case MPX_PY_GC_START:
	case MPX_PY_GC_DONE:
		on_gc(b, task, e);
		break;
	case MPX_PY_AUDIT:
		if (mpx_grow((void **)&ps->audit, &ps->audit_cap, ps->naudit + 1,
			     sizeof(*ps->audit))) {
			b->err = -ENOMEM;
			return;
		}
		ps->audit[ps->naudit].ts = e->hdr.ts;
		ps->audit[ps->naudit].task = (uint32_t)task;
		copy_name(ps->audit[ps->naudit].name, e->name);
		ps->naudit++;
		break;
	default:
		break;
	}
}

struct pid_ix {
	uint32_t pid, task;
};

static int cmp_pid_ix(const void *a, const void *b)
{
	const struct pid_ix *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->task < y->task ? -1 : x->task > y->task;
}

/* Whether another thread of task's process lived during [s, e]. */
static bool other_thread(const struct builder *b, size_t task, uint64_t s, uint64_t e)
{
	const struct mpx_model *m = b->m;
	uint32_t pid = m->tasks[task].pid;
	size_t lo = 0, hi = m->ntasks, i;

	while (lo < hi) {	/* the first entry of pid */
		size_t mid = (lo + hi) / 2;

		if (b->pids[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < m->ntasks && b->pids[i].pid == pid; i++) {
		const struct mpx_task *o = &m->tasks[b->pids[i].task];

		if (b->pids[i].task != task && o->start_ns < e && o->end_ns > s)
			return true;
	}
	return false;
}

/*
 * A GIL wait: from entering the take to holding the GIL.  While its process
 * has no other thread nobody else can hold the GIL: the time is waiting for
 * a CPU (or a signal handler), not for the GIL.
 */
static void on_gil(struct builder *b, const struct mpx_gil *e)
{
	int task = task_of(b->m, e->tid);
	struct mpx_pyspan *s;

	if (task < 0 || e->start_ns > e->hdr.ts ||
	    !other_thread(b, (size_t)task, e->start_ns, e->hdr.ts))
		return;
	b->ps->any = true;
	s = add_span(b, MPX_PS_GIL, (uint32_t)task, e->start_ns);
	if (s)
		s->end = e->hdr.ts;
}

static int cmp_span(const void *a, const void *b)
{
	const struct mpx_pyspan *x = a, *y = b;

	if (x->task != y->task)
		return x->task < y->task ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->depth - y->depth;
}

static uint64_t overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	uint64_t s = a0 > b0 ? a0 : b0, e = a1 < b1 ? a1 : b1;

	return e > s ? e - s : 0;
}

/* Futex sleep of each task, split into inside and outside its GIL waits. */
static void split_futex(struct mpx_pyspans *ps, const struct mpx_model *m)
{
	const struct mpx_pyspan *g = ps->s[MPX_PS_GIL];
	size_t gi = 0, t, i, j;

	for (t = 0; t < m->ntasks && t < ps->ntasks; t++) {
		const struct mpx_task *tk = &m->tasks[t];
		size_t g0;

		while (gi < ps->n[MPX_PS_GIL] && g[gi].task < t)
			gi++;
		g0 = gi;
		int32_t last = INT32_MIN;	/* the last reason looked at ... */
		bool futex = false;		/* ... and whether it is a futex */

		for (i = 0; i < tk->niv; i++) {
			const struct mpx_ival *v = &tk->iv[i];
			const char *r;
			uint64_t in = 0;

			if (v->state != MPX_TS_SLEEP && v->state != MPX_TS_DSLEEP)
				continue;
			if (v->reason != last) {
				r = reasons__get(&m->reasons, v->reason);
				futex = r && strstr(r, "futex");
				last = v->reason;
			}
			if (!futex)
				continue;
			/* Waits over before this sleep are over before the next. */
			while (g0 < ps->n[MPX_PS_GIL] && g[g0].task == t && g[g0].end <= v->start)
				g0++;
			for (j = g0; j < ps->n[MPX_PS_GIL] && g[j].task == t &&
			     g[j].start < v->end; j++)
				in += overlap(v->start, v->end, g[j].start, g[j].end);
			ps->task[t].futex_gil_ns += in;
			ps->task[t].futex_other_ns += v->end - v->start - in;
		}
	}
}

static void totals(struct mpx_pyspans *ps)
{
	size_t k, i;

	for (k = 0; k < MPX_PS_MAX; k++)
		for (i = 0; i < ps->n[k]; i++) {
			const struct mpx_pyspan *s = &ps->s[k][i];
			struct mpx_pytask *t = &ps->task[s->task];
			uint64_t d = s->end - s->start;

			switch (k) {
			case MPX_PS_IMPORT:
				t->nimports++;
				if (!s->depth)
					t->import_ns += d;
				break;
			case MPX_PS_GC:
				t->ngc++;
				t->gc_ns += d;
				break;
			case MPX_PS_CALL:
				t->ncalls++;
				break;
			case MPX_PS_GIL:
				t->ngil++;
				t->gil_ns += d;
				if (d > t->gil_max_ns)
					t->gil_max_ns = d;
				break;
			}
		}
	for (i = 0; i < ps->naudit; i++)
		ps->task[ps->audit[i].task].naudit++;
}

int pyspans__build(struct mpx_pyspans *ps, const struct evbuf *eb, const struct mpx_model *m)
{
	struct builder b = { .ps = ps, .m = m };
	size_t i, k, t;

	memset(ps, 0, sizeof(*ps));
	ps->ntasks = m->ntasks;
	ps->task = calloc(m->ntasks ? m->ntasks : 1, sizeof(*ps->task));
	for (k = 0; k < MPX_PS_MAX; k++)
		b.st[k] = calloc(m->ntasks ? m->ntasks : 1, sizeof(*b.st[k]));
	b.pids = calloc(m->ntasks ? m->ntasks : 1, sizeof(*b.pids));
	if (!ps->task || !b.st[0] || !b.st[1] || !b.st[2] || !b.st[3] || !b.pids) {
		b.err = -ENOMEM;
		goto out;
	}
	for (t = 0; t < m->ntasks; t++)
		b.pids[t] = (struct pid_ix){ m->tasks[t].pid, (uint32_t)t };
	if (m->ntasks > 1)
		qsort(b.pids, m->ntasks, sizeof(*b.pids), cmp_pid_ix);
	/* Only Python and GIL records make spans: none, nothing to walk. */
	for (i = 0; i < eb->n && !b.err &&
	     (eb->per_type[MPX_EV_PY] || eb->per_type[MPX_EV_GIL]); i++) {
		const struct mpx_hdr *h = evbuf__get(eb, i);

		if (h->ts < m->t0 && !(h->type == MPX_EV_PY &&
				       ((const struct mpx_py *)h)->kind == MPX_PY_PROBES))
			continue;
		if (h->type == MPX_EV_PY)
			on_py(&b, (const void *)h);
		else if (h->type == MPX_EV_GIL)
			on_gil(&b, (const void *)h);
	}
	/* What is still open ends with its task. */
	for (k = 0; k < MPX_PS_MAX && !b.err; k++)
		for (t = 0; t < m->ntasks; t++)
			while (b.st[k][t].n)
				pop(ps, k, &b.st[k][t], m->tasks[t].end_ns, true);
	for (k = 0; k < MPX_PS_MAX && !b.err; k++)
		if (ps->n[k] > 1)
			qsort(ps->s[k], ps->n[k], sizeof(*ps->s[k]), cmp_span);
	if (!b.err) {
		totals(ps);
		split_futex(ps, m);
	}
out:
	free(b.pids);
	for (k = 0; k < MPX_PS_MAX; k++) {
		for (t = 0; b.st[k] && t < m->ntasks; t++) {
			free(b.st[k][t].ix);
			free(b.st[k][t].child);
		}
		free(b.st[k]);
	}
	if (b.err)
		pyspans__free(ps);
	return b.err;
}

void pyspans__free(struct mpx_pyspans *ps)
{
	size_t k;

	for (k = 0; k < MPX_PS_MAX; k++)
		free(ps->s[k]);
	free(ps->audit);
	free(ps->task);
	memset(ps, 0, sizeof(*ps));
}

uint64_t pyspans__import_in(const struct mpx_pyspans *ps, uint32_t task, uint64_t a,
			    uint64_t b, const struct mpx_pyspan **longest)
{
	uint64_t sum = 0, best = 0;
	size_t i;

	if (longest)
		*longest = NULL;
	for (i = 0; i < ps->n[MPX_PS_IMPORT]; i++) {
		const struct mpx_pyspan *s = &ps->s[MPX_PS_IMPORT][i];
		uint64_t o;

		if (s->task != task || s->depth)
			continue;
		o = overlap(s->start, s->end, a, b);
		sum += o;
		if (o > best) {
			best = o;
			if (longest)
				*longest = s;
		}
	}
	return sum;
}

size_t pyspans__gil_bound(const struct mpx_pyspans *ps, size_t lo, uint32_t task, uint64_t t0)
{
	const struct mpx_pyspan *g = ps->s[MPX_PS_GIL];
	size_t hi = ps->n[MPX_PS_GIL];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g[mid].task < task || (g[mid].task == task && g[mid].start < t0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t pyspans__gil_first(const struct mpx_pyspans *ps, uint32_t task, uint64_t t)
{
	uint64_t longest = task < ps->ntasks ? ps->task[task].gil_max_ns : 0;

	/* A wait that starts before t - longest ends before t. */
	return pyspans__gil_bound(ps, 0, task, t > longest ? t - longest : 0);
}

uint64_t pyspans__gil_in(const struct mpx_pyspans *ps, uint32_t task, uint64_t a, uint64_t b)
{
	const struct mpx_pyspan *g = ps->s[MPX_PS_GIL];
	uint64_t sum = 0;
	size_t i;

	for (i = pyspans__gil_first(ps, task, a);
	     i < ps->n[MPX_PS_GIL] && g[i].task == task && g[i].start < b; i++)
		sum += overlap(g[i].start, g[i].end, a, b);
	return sum;
}

bool pyspans__audit_is_phase(const char *name)
{
	static const char *const phase[] = {
		"os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
		"subprocess.Popen", "os.kill", "os.killpg", "socket.connect", "socket.bind",
		"_thread.start_new_thread", "os.startfile", "sys._current_frames", NULL,
	};
	size_t i;

	for (i = 0; phase[i]; i++)
		if (!strcmp(name, phase[i]))
			return true;
	return false;
}
