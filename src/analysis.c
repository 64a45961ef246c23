// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Roles, phases, critical path and the process-vs-pool explanation.
 *
 * Everything here reads the model of a finished run; nothing knows whether
 * the kernel or a trace file produced it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "util.h"

const char *mpx_role_class_name(enum mpx_role_class c)
{
	static const char *const n[MPX_RC_MAX] = {
		"main", "helper threads", "task processes", "services", "other",
	};
	return c < MPX_RC_MAX ? n[c] : "?";
}

const char *mpx_phase_class_name(enum mpx_phase_class c)
{
	static const char *const n[MPX_PC_MAX] = {
		"setup", "dispatch", "execution", "collection", "teardown", "run", "startup",
	};
	return c < MPX_PC_MAX ? n[c] : "?";
}

const char *mpx_verdict_name(enum mpx_verdict v)
{
	switch (v) {
	case MPX_V_SUPPORTED: return "supported";
	case MPX_V_NOT_SUPPORTED: return "not supported";
	case MPX_V_PARTLY: return "partly supported";
	default: return "not tested here";
	}
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static uint64_t overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	uint64_t s = a0 > b0 ? a0 : b0, e = a1 < b1 ? a1 : b1;

	return e > s ? e - s : 0;
}

static size_t root_index(const struct mpx_model *m)
{
	size_t i;

	for (i = 0; i < m->ntasks; i++)
		if (m->tasks[i].is_root)
			return i;
	return 0;
}

/* ---- roles ------------------------------------------------------------ */

static bool is_python(const struct mpx_task *t)
{
	return strstr(t->filename, "python") != NULL;
}

/* Pool's helper threads, by name (3.14 names its threads) or by order. */
static const char *pool_thread_name(const struct mpx_task *t, unsigned int k)
{
	static const char *const order[] = {
		"worker-handler", "task-handler", "result-handler",
	};

	if (strstr(t->comm, "handle_w") || strstr(t->comm, "_handle_wor"))
		return order[0];
	if (strstr(t->comm, "handle_t") || strstr(t->comm, "_handle_tas"))
		return order[1];
	if (strstr(t->comm, "handle_r") || strstr(t->comm, "_handle_res"))
		return order[2];
	return k < 3 ? order[k] : NULL;
}

/*
 * pid << 32 | index of the tasks that are process leaders of class cls
 * (with "forkserver" in their name, for a service), sorted: a task's
 * leader found by binary search.  NULL when out of memory: then scan.
 */
static uint64_t *leaders_by_pid(const struct mpx_model *m, const struct mpx_role *roles,
				enum mpx_role_class cls, size_t *n)
{
	uint64_t *v = calloc(m->ntasks + 1, sizeof(*v));
	size_t i;

	*n = 0;
	if (!v || m->ntasks > UINT32_MAX) {
		free(v);
		return NULL;
	}
	for (i = 0; i < m->ntasks; i++)
		if (!m->tasks[i].is_thread && roles[i].cls == cls &&
		    (cls != MPX_RC_SERVICE || strstr(roles[i].name, "forkserver")))
			v[(*n)++] = (uint64_t)m->tasks[i].pid << 32 | i;
	if (mpx_sort_by_u64(v, *n, sizeof(*v))) {
		free(v);
		return NULL;
	}
	return v;
}

/* The last (highest index) of those with this pid, or -1. */
static long leader_of(const uint64_t *v, size_t n, uint32_t pid)
{
	size_t k = mpx_lower_bound_u64(v, n, (uint64_t)pid << 32);
	long last = -1;

	for (; k < n && v[k] >> 32 == pid; k++)
		last = (long)(v[k] & UINT32_MAX);
	return last;
}

int analysis__roles(const struct mpx_run *run, struct mpx_role *roles)
{
	const struct mpx_model *m = &run->m;
	size_t ri = root_index(m), i, j, nlead;
	uint32_t root_pid = m->ntasks ? m->tasks[ri].pid : 0;
	unsigned int ntask = 0, nthread = 0;
	uint64_t first_task_start = 0, *lead;
	bool python = m->ntasks && is_python(&m->tasks[ri]);

	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];
		struct mpx_role *r = &roles[i];

		memset(r, 0, sizeof(*r));
		r->cls = MPX_RC_OTHER;
		if (i == ri) {
			r->cls = MPX_RC_MAIN;
			snprintf(r->name, sizeof(r->name), "main");
		} else if (!t->is_thread && (strstr(t->args, "forkserver") ||
					     strstr(t->args, "resource_tracker"))) {
			r->cls = MPX_RC_SERVICE;
			snprintf(r->name, sizeof(r->name), "%s",
				 strstr(t->args, "forkserver") ? "forkserver" :
								 "resource-tracker");
		}
	}
	/* Task processes: made by main or by a fork server, in fork order. */
	lead = leaders_by_pid(m, roles, MPX_RC_SERVICE, &nlead);
	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];
		bool by_server = false;

		if (roles[i].cls != MPX_RC_OTHER || t->is_thread)
			continue;
		if (lead)
			by_server = leader_of(lead, nlead, t->ppid) >= 0;
		for (j = 0; !lead && j < m->ntasks; j++)
			if (roles[j].cls == MPX_RC_SERVICE && m->tasks[j].pid == t->ppid &&
			    strstr(roles[j].name, "forkserver"))
				by_server = true;
		if (t->ppid != root_pid && !by_server)
			continue;
		roles[i].cls = MPX_RC_TASK;
		snprintf(roles[i].name, sizeof(roles[i].name), "%s-%u",
			 run->mode == MPX_MODE_POOL ? "worker" : "child", ++ntask);
		if (!first_task_start)
			first_task_start = t->start_ns;
	}
	/* Threads of the main process; threads of task processes. */
	free(lead);
	lead = leaders_by_pid(m, roles, MPX_RC_TASK, &nlead);
	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];
		const char *pn;
		long l;

		if (roles[i].cls != MPX_RC_OTHER || !t->is_thread)
			continue;
		if (t->pid == root_pid) {
			roles[i].cls = MPX_RC_HELPER;
			pn = NULL;
			if (python && run->mode == MPX_MODE_POOL &&
			    (!first_task_start || t->start_ns > first_task_start))
				pn = pool_thread_name(t, nthread);
			if (pn)
				snprintf(roles[i].name, sizeof(roles[i].name), "%s", pn);
			else
				snprintf(roles[i].name, sizeof(roles[i].name), "thread-%u",
					 nthread + 1);
			nthread++;
			continue;
		}
		l = lead ? leader_of(lead, nlead, t->pid) : -1;
		if (l >= 0)
			snprintf(roles[i].name, sizeof(roles[i].name), "%.14s/thread",
				 roles[l].name);
		for (j = 0; !lead && j < m->ntasks; j++)
			if (!m->tasks[j].is_thread && m->tasks[j].pid == t->pid &&
			    roles[j].cls == MPX_RC_TASK)
				snprintf(roles[i].name, sizeof(roles[i].name), "%.14s/thread",
					 roles[j].name);
	}
	free(lead);
	for (i = 0; i < m->ntasks; i++)
		if (!roles[i].name[0])
			snprintf(roles[i].name, sizeof(roles[i].name), "%.15s",
				 m->tasks[i].comm);
	return 0;
}

/* ---- phases ----------------------------------------------------------- */

static bool find_mark(const struct mpx_run *run, uint32_t pid, const char *name,
		      uint64_t *ts)
{
	const struct evbuf *eb = &run->eb;
	char want[MPX_COMM_LEN];
	size_t i;

	snprintf(want, sizeof(want), MPX_MARK_PREFIX "%s", name);
	for (i = 0; i < eb->n && eb->per_type[MPX_EV_COMM]; i++) {
		const struct mpx_hdr *h = evbuf__get(eb, i);
		const struct mpx_comm *e = (const void *)h;

		if (h->type == MPX_EV_COMM && e->pid == pid &&
		    !strncmp(e->comm, want, MPX_COMM_LEN)) {
			*ts = h->ts;
			return true;
		}
	}
	return false;
}

static void add_phase(struct mpx_run_analysis *ra, const char *name,
		      enum mpx_phase_class cls, uint64_t s, uint64_t e)
{
	struct mpx_phase *p;

	if (ra->nph >= MPX_MAX_PHASES)
		return;
	p = &ra->ph[ra->nph++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->cls = cls;
	p->start = s;
	p->end = e > s ? e : s;
}

int analysis__phases(struct mpx_run_analysis *ra)
{
	const struct mpx_run *run = ra->run;
	const struct mpx_model *m = &run->m;
	const struct mpx_task *main_t = m->ntasks ? &m->tasks[ra->main_idx] : NULL;
	uint32_t pid = main_t ? main_t->pid : 0;
	uint64_t b, s1 = 0, s2 = 0, e;

	ra->nph = 0;
	ra->markers = false;
	if (main_t && find_mark(run, pid, "begin", &b) && find_mark(run, pid, "end", &e) &&
	    e > b) {
		if (run->mode == MPX_MODE_POOL && find_mark(run, pid, "pool", &s1) &&
		    find_mark(run, pid, "submitted", &s2) && b <= s1 && s1 <= s2 && s2 <= e) {
			add_phase(ra, "setup", MPX_PC_SETUP, b, s1);
			add_phase(ra, "dispatch", MPX_PC_DISPATCH, s1, s2);
			add_phase(ra, "wait", MPX_PC_COLLECTION, s2, e);
			ra->markers = true;
		} else if (run->mode != MPX_MODE_POOL && find_mark(run, pid, "started", &s1) &&
			   b <= s1 && s1 <= e) {
			add_phase(ra, "start", MPX_PC_SETUP, b, s1);
			add_phase(ra, "join", MPX_PC_COLLECTION, s1, e);
			ra->markers = true;
		}
	}
	if (ra->markers) {
		ra->begin = b;
		ra->end = e;
		snprintf(ra->teardown.name, sizeof(ra->teardown.name), "teardown");
		ra->teardown.cls = MPX_PC_TEARDOWN;
		ra->teardown.start = e;
		ra->teardown.end = main_t->end_ns > e ? main_t->end_ns : e;
		return 0;
	}
	/* No markers: the whole run, from release to the last task's end. */
	ra->begin = m->t0;
	ra->end = m->t0 + model__wall_ns(m);
	add_phase(ra, "run", MPX_PC_RUN, ra->begin, ra->end);
	memset(&ra->teardown, 0, sizeof(ra->teardown));
	return 0;
}

/* ---- phases of a Python command -------------------------------------- */

/* The audit event CPython raises as it starts the script's first line. */
static bool audit_run(const char *n)
{
	return !strcmp(n, "cpython.run_file") || !strcmp(n, "cpython.run_command") ||
	       !strcmp(n, "cpython.run_module") || !strcmp(n, "cpython.run_stdin") ||
	       !strcmp(n, "cpython.run_interactivehook");
}

static int start_audit(const char *n)
{
	if (!strcmp(n, "os.fork") || !strcmp(n, "os.forkpty"))
		return MPX_PP_FORK;
	if (!strcmp(n, "subprocess.Popen") || !strncmp(n, "os.posix_spawn", 14) ||
	    !strcmp(n, "os.spawn") || !strcmp(n, "os.system"))
		return MPX_PP_SPAWN;
	return -1;
}

static bool blocked_state(uint8_t st)
{
	return st == MPX_TS_SLEEP || st == MPX_TS_DSLEEP || st == MPX_TS_BLKIO;
}

/* The Python process's main thread: the first that started a script, else
 * the first process with a Python span; -1: none. */
static int py_main(const struct mpx_run_analysis *ra)
{
	const struct mpx_model *m = &ra->run->m;
	const struct mpx_pyspans *py = &ra->py;
	size_t i;

	for (i = 0; i < py->naudit; i++)
		if (audit_run(py->audit[i].name) && !m->tasks[py->audit[i].task].is_thread)
			return (int)py->audit[i].task;
	/* Without USDT probes, GIL waits still say which process is Python. */
	for (i = 0; i < m->ntasks && i < py->ntasks; i++) {
		const struct mpx_pytask *t = &py->task[i];
		const struct mpx_task *l;

		if (!t->nimports && !t->naudit && !t->ngc && !t->ngil)
			continue;
		l = model__find((struct mpx_model *)m, m->tasks[i].pid);
		if (l && !l->is_thread)
			return (int)(l - m->tasks);
	}
	return -1;
}

struct pstart {
	uint64_t s, e;
	int kind;
	uint32_t n;
};

static int cmp_pstart(const void *a, const void *b)
{
	const struct pstart *x = a, *y = b;

	return x->s < y->s ? -1 : x->s > y->s;
}

/* End of a thread start: the wait of the starting thread that the new one
 * ended (threading's start handshake), if that is its next wait. */
static uint64_t handshake_end(const struct mpx_task *mt, const struct mpx_task *t)
{
	size_t k;

	for (k = 0; k < mt->niv; k++) {
		const struct mpx_ival *v = &mt->iv[k];

		if (v->start < t->start_ns || !blocked_state(v->state))
			continue;
		return v->waker_tid == t->tid ? v->end : t->start_ns;
	}
	return t->start_ns;
}

/* Nothing between two starts: main neither imported nor blocked in (a, b),
 * but for waits a thread it started ended (thread starts: the handshake,
 * the GIL the new thread held). */
static bool gap_clear(const struct mpx_run_analysis *ra, size_t task, uint64_t a, uint64_t b,
		      bool threads)
{
	struct mpx_model *m = (struct mpx_model *)&ra->run->m;
	const struct mpx_task *mt = &m->tasks[task];
	size_t k;

	if (b <= a)
		return true;
	if (pyspans__import_in(&ra->py, (uint32_t)task, a, b, NULL))
		return false;
	for (k = 0; k < mt->niv; k++) {
		const struct mpx_ival *v = &mt->iv[k];
		const struct mpx_task *w;

		if (!blocked_state(v->state) || !overlap(v->start, v->end, a, b))
			continue;
		if (threads && 2 * pyspans__gil_in(&ra->py, (uint32_t)task, v->start, v->end) >
			       v->end - v->start)
			continue;	/* the GIL, which a new thread holds */
		w = threads && v->waker_tid ? model__find(m, v->waker_tid) : NULL;
		if (!w || !w->is_thread || w->pid != mt->pid || w->parent_tid != mt->tid ||
		    w->start_ns > v->start)
			return false;
	}
	return true;
}

/* Imports of task inside each phase, with the longest. */
static void phase_imports(struct mpx_run_analysis *ra, size_t task)
{
	int p;

	for (p = 0; p < ra->nph; p++) {
		struct mpx_phase *ph = &ra->ph[p];
		const struct mpx_pyspan *l;

		ph->import_ns = pyspans__import_in(&ra->py, (uint32_t)task, ph->start, ph->end,
						   &l);
		ph->top_import_ns = l ? overlap(l->start, l->end, ph->start, ph->end) : 0;
		snprintf(ph->top_import, sizeof(ph->top_import), "%s", l ? l->name : "");
	}
}

/* Imports of task (any depth counted, outermost timed) in [a, b): total,
 * count, the two longest outermost. */
static uint64_t imports_in(const struct mpx_run_analysis *ra, size_t task, uint64_t a,
			   uint64_t b, uint32_t *count, char top[][MPX_PYNAME_LEN + 1],
			   uint64_t *top_ns, int ntop)
{
	size_t i;
	int k;

	*count = 0;
	for (i = 0; i < ra->py.n[MPX_PS_IMPORT]; i++) {
		const struct mpx_pyspan *s = &ra->py.s[MPX_PS_IMPORT][i];
		uint64_t o = overlap(s->start, s->end, a, b);

		if (s->task != task || !o)
			continue;
		(*count)++;
		if (s->depth)
			continue;
		for (k = 0; k < ntop && o <= top_ns[k]; k++)
			;
		if (k == ntop)
			continue;
		memmove(&top_ns[k + 1], &top_ns[k], (size_t)(ntop - k - 1) * sizeof(*top_ns));
		memmove(top[k + 1], top[k], (size_t)(ntop - k - 1) * sizeof(top[0]));
		top_ns[k] = o;
		snprintf(top[k], sizeof(top[0]), "%s", s->name);
	}
	return pyspans__import_in(&ra->py, (uint32_t)task, a, b, NULL);
}

static void py_add(struct mpx_phase *ph, int *n, const char *name, enum mpx_phase_class cls,
		   uint64_t s, uint64_t e, uint32_t nstarts)
{
	struct mpx_phase *p = &ph[(*n)++];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->cls = cls;
	p->start = s;
	p->end = e > s ? e : s;
	p->nstarts = nstarts;
}

struct why {
	int32_t id;
	uint64_t ns;
};

int analysis__py_phases(struct mpx_run_analysis *ra)
{
	static const char *const kind_name[MPX_PP_MAX] = { "fork", "subprocess", "threads" };
	const struct mpx_model *m = &ra->run->m;
	const struct mpx_pyspans *py = &ra->py;
	struct mpx_pyphases *pp = &ra->pp;
	const struct mpx_task *mt;
	struct pstart *ev = NULL;
	struct mpx_phase *raw = NULL;
	size_t nev = 0, cap = 0, i, k, ai = 0;
	uint64_t s0, s1, cur, prev_child = 0;
	int main_i, n = 0, keep, p;
	struct why why[16];
	int nwhy = 0;

	ra->py_phases = false;
	if (ra->markers || !py->any || (main_i = py_main(ra)) < 0)
		return 0;
	memset(pp, 0, sizeof(*pp));
	pp->task = (size_t)main_i;
	mt = &m->tasks[main_i];
	for (i = 0; i < py->naudit; i++) {
		const struct mpx_pyaudit *a = &py->audit[i];

		if (a->task != (uint32_t)main_i)
			continue;
		if (!pp->run_ns && audit_run(a->name))
			pp->run_ns = a->ts;
		else if (pp->run_ns && !pp->fin_ns &&
			 !strcmp(a->name, "cpython.PyInterpreterState_Clear"))
			pp->fin_ns = a->ts;
	}
	/* The command itself starts the interpreter from its release, unless
	 * it exec'd something else first (a pyenv shim, a shell script that
	 * execs the interpreter); a Python started by it, from its exec. */
	pp->launched = !mt->is_root || mt->nexecs > 1;
	pp->exec_ns = !pp->launched ? ra->begin : mt->exec_ns > mt->start_ns ? mt->exec_ns :
		      mt->start_ns;
	s0 = pp->run_ns ? pp->run_ns : pp->exec_ns;
	s1 = pp->fin_ns ? pp->fin_ns : ra->end;

	/* Starts by main in the script: children and threads, each from its
	 * audit event (processes) or clone (threads) to the kernel's creation
	 * of the task (processes) or the end of the start handshake (threads). */
	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];
		struct pstart e = { t->start_ns, t->start_ns, MPX_PP_FORK, 1 };

		if (i == (size_t)main_i || t->parent_tid != mt->tid || t->start_ns < s0 ||
		    t->start_ns >= s1)
			continue;
		if (t->is_thread) {
			if (t->pid != mt->pid)
				continue;
			e.kind = MPX_PP_THREAD;
			e.e = handshake_end(mt, t);
		} else {
			/* The latest start audit since the previous child. */
			for (k = ai; k < py->naudit && py->audit[k].ts <= t->start_ns; k++) {
				const struct mpx_pyaudit *a = &py->audit[k];
				int sk = start_audit(a->name);

				if (a->task == (uint32_t)main_i && sk >= 0 && a->ts > prev_child &&
				    a->ts >= s0) {
					e.s = a->ts;
					e.kind = sk;
				}
			}
			prev_child = t->start_ns;
		}
		if (mpx_grow((void **)&ev, &cap, nev + 1, sizeof(*ev))) {
			free(ev);
			return -ENOMEM;
		}
		ev[nev++] = e;
	}
	if (nev > 1)
		qsort(ev, nev, sizeof(*ev), cmp_pstart);
	/* Bursts: starts of one kind with nothing else between them. */
	for (i = 0, k = 0; i < nev; i++) {
		if (k && ev[k - 1].kind == ev[i].kind &&
		    gap_clear(ra, (size_t)main_i, ev[k - 1].e, ev[i].s,
			      ev[i].kind == MPX_PP_THREAD)) {
			ev[k - 1].e = ev[i].e > ev[k - 1].e ? ev[i].e : ev[k - 1].e;
			ev[k - 1].n++;
			continue;
		}
		ev[k++] = ev[i];
	}
	nev = k;
	raw = calloc(2 * nev + 5, sizeof(*raw));
	if (!raw) {
		free(ev);
		return -ENOMEM;
	}
	if (pp->launched && pp->exec_ns > ra->begin)
		py_add(raw, &n, "launch", MPX_PC_RUN, ra->begin, pp->exec_ns, 0);
	if (pp->run_ns)
		py_add(raw, &n, "startup", MPX_PC_STARTUP, pp->exec_ns, pp->run_ns, 0);
	cur = s0;
	for (i = 0; i < nev; i++) {
		uint64_t e = ev[i].e < s1 ? ev[i].e : s1;

		if (ev[i].s < cur)
			ev[i].s = cur;
		pp->nstarts[ev[i].kind] += ev[i].n;
		pp->start_ns[ev[i].kind] += e > ev[i].s ? e - ev[i].s : 0;
		if (e <= ev[i].s)
			continue;	/* a thread start with no handshake seen */
		if (ev[i].s > cur)
			py_add(raw, &n, "script", MPX_PC_RUN, cur, ev[i].s, 0);
		py_add(raw, &n, kind_name[ev[i].kind], MPX_PC_SETUP, ev[i].s, e, ev[i].n);
		cur = e;
	}
	if (s1 > cur || !n)
		py_add(raw, &n, "script", MPX_PC_RUN, cur, s1, 0);
	if (pp->fin_ns && ra->end > pp->fin_ns)
		py_add(raw, &n, "exit", MPX_PC_TEARDOWN, pp->fin_ns, ra->end, 0);
	/* Too many: the middle folded into one script phase. */
	keep = n <= MPX_MAX_PHASES ? n : MPX_MAX_PHASES - 2;
	ra->nph = 0;
	for (p = 0; p < keep; p++)
		ra->ph[ra->nph++] = raw[p];
	if (keep < n) {
		bool exit_last = pp->fin_ns && !strcmp(raw[n - 1].name, "exit");
		int last = exit_last ? n - 2 : n - 1;

		py_add(ra->ph, &ra->nph, "script", MPX_PC_RUN, raw[keep].start, raw[last].end, 0);
		for (p = keep; p <= last; p++)
			ra->ph[ra->nph - 1].nstarts += raw[p].nstarts;
		pp->folded = (uint32_t)(last - keep + 1);
		if (exit_last)
			ra->ph[ra->nph++] = raw[n - 1];
	}
	phase_imports(ra, (size_t)main_i);
	/* Facts: imports in start-up and in the script, GC, main's waits. */
	if (pp->run_ns) {
		uint64_t top_ns[1] = { 0 };
		char top[1][MPX_PYNAME_LEN + 1] = { "" };

		pp->startup_import_ns = imports_in(ra, (size_t)main_i, pp->exec_ns, pp->run_ns,
						   &pp->startup_nimports, top, top_ns, 1);
		memcpy(pp->startup_top, top[0], sizeof(pp->startup_top));
		pp->startup_top_ns = top_ns[0];
	}
	pp->script_import_ns = imports_in(ra, (size_t)main_i, s0, s1, &pp->script_nimports,
					  pp->script_top, pp->script_top_ns, 2);
	for (i = 0; i < py->n[MPX_PS_GC]; i++)
		if (py->s[MPX_PS_GC][i].task == (uint32_t)main_i)
			pp->gc_ns += overlap(py->s[MPX_PS_GC][i].start, py->s[MPX_PS_GC][i].end,
					     s0, s1);
	for (k = 0; k < mt->niv; k++) {
		const struct mpx_ival *v = &mt->iv[k];
		uint64_t o = blocked_state(v->state) ? overlap(v->start, v->end, s0, s1) : 0;
		int w;

		for (p = 0; o && p < ra->nph; p++)
			if (ra->ph[p].cls == MPX_PC_SETUP) {
				uint64_t x = overlap(v->start, v->end, ra->ph[p].start,
						     ra->ph[p].end);

				o -= x < o ? x : o;
			}
		if (!o)
			continue;
		pp->blocked_ns += o;
		for (w = 0; w < nwhy && why[w].id != v->reason; w++)
			;
		if (w == nwhy && nwhy < 16)
			why[nwhy++] = (struct why){ v->reason, 0 };
		if (w < nwhy)
			why[w].ns += o;
	}
	for (p = 0, k = 0; p < nwhy; p++)
		if (why[p].ns > why[k].ns)
			k = (size_t)p;
	pp->blocked_reason = nwhy ? reasons__get(&m->reasons, why[k].id) : NULL;
	ra->py_phases = true;
	free(raw);
	free(ev);
	return 0;
}

/* The class a stretch of critical path counts as: task processes running
 * inside a hand-over or collection phase are the tasks' own execution. */
static enum mpx_phase_class seg_class(const struct mpx_phase *p, enum mpx_role_class rc)
{
	if (rc == MPX_RC_TASK && p->cls != MPX_PC_SETUP && p->cls != MPX_PC_RUN &&
	    p->cls != MPX_PC_TEARDOWN)
		return MPX_PC_EXECUTION;
	if (rc == MPX_RC_TASK && p->cls == MPX_PC_SETUP && !strcmp(p->name, "start"))
		return MPX_PC_EXECUTION;	/* a Process runs its task at once */
	return p->cls;
}

static int add_total(struct mpx_run_analysis *ra, size_t *cap, enum mpx_phase_class pc,
		     enum mpx_role_class rc, enum mpx_bucket b, const char *reason,
		     int64_t ns)
{
	size_t i;

	for (i = 0; i < ra->ncpt; i++) {
		struct mpx_cp_total *t = &ra->cpt[i];

		if (t->phase == pc && t->role == rc && t->bucket == b &&
		    (t->reason == reason || (t->reason && reason && !strcmp(t->reason, reason)))) {
			t->ns += ns;
			return 0;
		}
	}
	if (mpx_grow((void **)&ra->cpt, cap, ra->ncpt + 1, sizeof(*ra->cpt)))
		return -ENOMEM;
	ra->cpt[ra->ncpt++] = (struct mpx_cp_total){ pc, rc, b, reason, ns };
	return 0;
}

#define MPX_GIL_REASON "GIL wait"

const char *analysis__seg_reason(const struct mpx_run_analysis *ra,
				 const struct mpx_cp_seg *s)
{
	if (s->kind != MPX_CP_WAIT)
		return NULL;
	if (ra->py.n[MPX_PS_GIL] &&
	    2 * pyspans__gil_in(&ra->py, s->task, s->start, s->end) > s->end - s->start)
		return MPX_GIL_REASON;
	return reasons__get(&ra->run->m.reasons, s->reason);
}

/* Critical path totals, each segment split at the phase boundaries (and
 * waits at the edges of GIL waits). */
static int cp_totals(struct mpx_run_analysis *ra)
{
	const struct mpx_model *m = &ra->run->m;
	size_t cap = 0, i;
	int p;

	for (i = 0; i < ra->cp.n; i++) {
		const struct mpx_cp_seg *s = &ra->cp.seg[i];
		enum mpx_role_class rc = ra->roles[s->task].cls;
		enum mpx_bucket b = critpath__bucket(s);
		const char *reason = NULL;

		if (s->kind == MPX_CP_WAIT)
			reason = reasons__get(&m->reasons, s->reason);
		for (p = 0; p < ra->nph; p++) {
			uint64_t a0 = s->start > ra->ph[p].start ? s->start : ra->ph[p].start;
			uint64_t a1 = s->end < ra->ph[p].end ? s->end : ra->ph[p].end;
			uint64_t o = overlap(s->start, s->end, ra->ph[p].start, ra->ph[p].end);
			uint64_t g = 0;

			/* A wait inside a GIL wait is one: named so. */
			if (o && s->kind == MPX_CP_WAIT && ra->py.n[MPX_PS_GIL])
				g = pyspans__gil_in(&ra->py, s->task, a0, a1);
			if (g && add_total(ra, &cap, seg_class(&ra->ph[p], rc), rc, b,
					   MPX_GIL_REASON, (int64_t)g))
				return -ENOMEM;
			ra->cp_gil_ns += g;
			if (o > g && add_total(ra, &cap, seg_class(&ra->ph[p], rc), rc, b,
					       reason, (int64_t)(o - g)))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The GIL wait of task holding [a, b], its start; 0 if none. */
static uint64_t gil_wait_around(const struct mpx_pyspans *ps, uint32_t task, uint64_t a,
				uint64_t b)
{
	const struct mpx_pyspan *g = ps->s[MPX_PS_GIL];
	size_t k;

	for (k = pyspans__gil_first(ps, task, b);
	     k < ps->n[MPX_PS_GIL] && g[k].task == task && g[k].start <= a; k++)
		if (b <= g[k].end)
			return g[k].start ? g[k].start : 1;
	return 0;
}

/*
 * For the critical path: a sleep of a thread inside its GIL wait that no
 * traced task woke, the wait's timed wait having run out (every 5 ms) just
 * as the holder let go, so the holder's signal found it awake.  What it
 * waited for is the holder: of the other threads of its process, the one
 * whose last GIL take (a GIL wait's end) before the sleep's end is the
 * latest.  (Takes with no wait are not recorded: a thread that took the
 * GIL so later is missed.)
 */
static uint32_t gil_waited(void *ctx, size_t task, uint64_t start, uint64_t end)
{
	const struct mpx_run_analysis *ra = ctx;
	const struct mpx_model *m = &ra->run->m;
	const struct mpx_pyspan *g = ra->py.s[MPX_PS_GIL];
	size_t n = ra->py.n[MPX_PS_GIL], i, hi;
	uint64_t best = 0;
	uint32_t holder = 0;

	if (!gil_wait_around(&ra->py, (uint32_t)task, start, end))
		return 0;
	/* Spans are in (task, start) order: each other task's last before end. */
	for (i = 0; i < n; i = pyspans__gil_bound(&ra->py, i, g[i].task, UINT64_MAX)) {
		uint32_t t = g[i].task;

		if (t == task || m->tasks[t].pid != m->tasks[task].pid)
			continue;
		for (hi = pyspans__gil_bound(&ra->py, i, t, end); hi > i && g[hi - 1].end > end; hi--)
			;	/* one still open at end: it waits itself */
		if (hi > i && g[hi - 1].end > best) {
			best = g[hi - 1].end;
			holder = m->tasks[t].tid;
		}
	}
	return holder;
}

/*
 * Where the walk left a thread inside its GIL wait (from the GIL take's
 * entry to its return) for another - the thread that gave the GIL up and
 * woke it, or the holder when the wait timed out (gil_waited) - the path
 * runs in other threads from the wait's start to that hand-off: time the
 * waiting thread could not go on because another held the GIL.
 */
static int cp_gil_holder(struct mpx_run_analysis *ra)
{
	size_t i, j;

	if (!ra->py.n[MPX_PS_GIL] || !ra->cp.n)
		return 0;
	ra->cp_gil_waiter = calloc(ra->cp.n, sizeof(*ra->cp_gil_waiter));
	if (!ra->cp_gil_waiter)
		return -ENOMEM;
	for (i = 1; i < ra->cp.n; i++) {
		const struct mpx_cp_seg *s = &ra->cp.seg[i];
		uint64_t b0;

		if (ra->cp.seg[i - 1].task == s->task)
			continue;
		b0 = gil_wait_around(&ra->py, s->task, s->start, s->start);
		/* The waker's stretch before the wakeup, back to the wait's start. */
		for (j = i; b0 && j > 0; j--) {
			const struct mpx_cp_seg *w = &ra->cp.seg[j - 1];

			if (w->end <= b0 || w->task == s->task)
				break;
			if (ra->cp_gil_waiter[j - 1])
				continue;	/* counted for another waiter */
			/* The path's own thread running is its work, not a delay,
			 * though a thread it waited for earlier waited for it. */
			if (w->task != ra->main_idx)
				ra->cp_gil_holder_ns += overlap(w->start, w->end, b0, s->start);
			ra->cp_gil_waiter[j - 1] = ra->run->m.tasks[s->task].tid;
		}
	}
	return 0;
}

/* ---- facts ------------------------------------------------------------ */

/* An interval's start or end, ordered by time, ends before starts at the
 * same instant: the time shifted left, the low bit set for a start. */
struct edge {
	uint64_t key;
};

static uint64_t edge_t(struct edge e)
{
	return e.key >> 1;
}

static int edge_d(struct edge e)
{
	return e.key & 1 ? +1 : -1;
}

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static void sort_edges(struct edge *e, size_t n)
{
	if (mpx_sort_by_u64(e, n, sizeof(*e)))
		qsort(e, n, sizeof(*e), cmp_edge);
}

/* Most intervals open at once. */
static uint32_t peak(struct edge *e, size_t n)
{
	int cur = 0, best = 0;
	size_t i;

	sort_edges(e, n);
	for (i = 0; i < n; i++) {
		cur += edge_d(e[i]);
		if (cur > best)
			best = cur;
	}
	return (uint32_t)best;
}

/* Times are ns since boot (a trace file refuses 2^60 or more): the shift
 * keeps them whole. */
static bool push_edge(struct edge **e, size_t *n, size_t *cap, uint64_t s, uint64_t t)
{
	if (t <= s || mpx_grow((void **)e, cap, *n + 2, sizeof(**e)))
		return false;
	(*e)[(*n)++] = (struct edge){ s << 1 | 1 };
	(*e)[(*n)++] = (struct edge){ t << 1 };
	return true;
}

/* A wait that is the multiprocessing machinery itself, not a task's own. */
static bool ipc_wait(const char *reason)
{
	return reason && (strstr(reason, "futex") || strstr(reason, "pipe_read") ||
			  strstr(reason, "poll") || strstr(reason, "do_wait") ||
			  strstr(reason, "unix_stream") || strstr(reason, "epoll") ||
			  strstr(reason, "barrier"));
}

/* The last reason task_wait() named, and whether it was ipc_wait(). */
struct ipc_memo {
	int32_t id;
	bool ipc;
};

static bool task_wait(const struct mpx_model *m, const struct mpx_ival *v,
		      struct ipc_memo *memo)
{
	if (v->state != MPX_TS_SLEEP && v->state != MPX_TS_DSLEEP &&
	    v->state != MPX_TS_BLKIO)
		return false;
	if (v->reason != memo->id) {
		memo->ipc = ipc_wait(reasons__get(&m->reasons, v->reason));
		memo->id = v->reason;
	}
	return !memo->ipc;
}

static bool same_proc_as_task(const struct mpx_run_analysis *ra, size_t i)
{
	return ra->roles[i].cls == MPX_RC_TASK;
}

/* The setup phase of main in Python terms: imports, then forks, then threads. */
static void python_setup(struct mpx_run_analysis *ra, uint64_t first_fork)
{
	const struct mpx_model *m = &ra->run->m;
	const struct mpx_phase *ph = NULL;
	uint64_t first_thread = 0, a, f, t;
	size_t i;
	int p;

	for (p = 0; p < ra->nph && !ph; p++)
		if (ra->ph[p].cls == MPX_PC_SETUP)
			ph = &ra->ph[p];
	if (!ph || !m->ntasks)
		return;
	for (i = 0; i < m->ntasks; i++)
		if (ra->roles[i].cls == MPX_RC_HELPER && m->tasks[i].start_ns >= ph->start &&
		    (!first_thread || m->tasks[i].start_ns < first_thread))
			first_thread = m->tasks[i].start_ns;
	a = ph->start;
	f = first_fork > a && first_fork < ph->end ? first_fork : ph->end;
	t = first_thread > f && first_thread < ph->end ? first_thread : ph->end;
	ra->setup_before_fork_ns = f - a;
	ra->setup_fork_ns = t - f;
	ra->setup_threads_ns = ph->end - t;
	ra->setup_import_ns = pyspans__import_in(&ra->py, (uint32_t)ra->main_idx, a, ph->end,
						 NULL);
	for (i = 0; i < ra->py.n[MPX_PS_IMPORT]; i++) {
		const struct mpx_pyspan *s = &ra->py.s[MPX_PS_IMPORT][i];
		uint64_t o = overlap(s->start, s->end, a, ph->end);
		int k;

		if (s->task != ra->main_idx || !o)
			continue;
		ra->setup_nimports++;
		if (s->depth)
			continue;
		/* The two longest outermost imports. */
		for (k = 0; k < 2 && o <= ra->setup_top_import_ns[k]; k++)
			;
		if (k == 0) {
			ra->setup_top_import_ns[1] = ra->setup_top_import_ns[0];
			memcpy(ra->setup_top_import[1], ra->setup_top_import[0],
			       sizeof(ra->setup_top_import[0]));
		}
		if (k < 2) {
			ra->setup_top_import_ns[k] = o;
			snprintf(ra->setup_top_import[k], sizeof(ra->setup_top_import[k]), "%s",
				 s->name);
		}
		if (k == 0) {
			const struct mpx_task *mt = &m->tasks[ra->main_idx];
			size_t j;

			ra->setup_top_import_cpu_ns = 0;
			for (j = 0; j < mt->niv; j++)
				if (mt->iv[j].state == MPX_TS_RUNNING)
					ra->setup_top_import_cpu_ns +=
						overlap(mt->iv[j].start, mt->iv[j].end,
							s->start > a ? s->start : a,
							s->end < ph->end ? s->end : ph->end);
		}
	}
}

static void facts(struct mpx_run_analysis *ra)
{
	const struct mpx_model *m = &ra->run->m;
	struct edge *e = NULL, *w = NULL;
	size_t n = 0, cap = 0, nw = 0, wcap = 0, i, k;
	uint64_t b = ra->begin, end = ra->end, first_fork = 0;
	const struct mpx_task *mt = m->ntasks ? &m->tasks[ra->main_idx] : NULL;
	struct ipc_memo memo = { INT32_MIN, false };	/* no reason has that id */

	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];
		bool task = same_proc_as_task(ra, i);

		if (task) {
			ra->ntask_procs++;
			ra->task_preemptions += (uint32_t)t->nswitch_invol;
			if (!first_fork || t->start_ns < first_fork)
				first_fork = t->start_ns;
			push_edge(&e, &n, &cap, t->start_ns > b ? t->start_ns : b,
				  t->end_ns < end ? t->end_ns : end);
		}
		if (ra->roles[i].cls == MPX_RC_HELPER)
			ra->nhelpers++;
		for (k = 0; k < t->niv; k++) {
			const struct mpx_ival *v = &t->iv[k];
			uint64_t o = overlap(v->start, v->end, b, end);

			if (!o)
				continue;
			if (v->state == MPX_TS_RUNQ_WAKEUP || v->state == MPX_TS_RUNQ_PREEMPT ||
			    v->state == MPX_TS_NEW)
				ra->runq_total_ns += o;
			if (!task)
				continue;
			if (v->state == MPX_TS_RUNNING)
				ra->task_oncpu_ns += o;
			if (task_wait(m, v, &memo)) {
				ra->task_blocked_ns += o;
				if (v->flags & MPX_IV_IOWAIT)
					ra->task_io_ns += o;
				push_edge(&w, &nw, &wcap, v->start > b ? v->start : b,
					  v->end < end ? v->end : end);
			}
		}
	}
	ra->peak_task_procs = n ? peak(e, n) : 0;
	/* Other tasks on CPU while some task process was in its own wait. */
	if (nw) {
		size_t nu = 0, p, q;
		int depth = 0;
		uint64_t us = 0;

		ra->peak_blocked_tasks = peak(w, nw);	/* sorts w */
		/* The union of those waits: disjoint [start, end) pairs, written
		 * over the edges already read (a pair takes two edges or more). */
		for (k = 0; k < nw; k++) {
			struct edge x = w[k];

			if (depth == 0 && edge_d(x) > 0)
				us = edge_t(x);
			depth += edge_d(x);
			if (depth == 0 && edge_d(x) < 0) {
				w[2 * nu].key = us;
				w[2 * nu + 1].key = edge_t(x);
				nu++;
			}
		}
		/* Each task's intervals and the union, both in time order. */
		for (i = 0; i < m->ntasks; i++) {
			const struct mpx_task *t = &m->tasks[i];

			for (k = 0, p = 0; k < t->niv; k++) {
				const struct mpx_ival *v = &t->iv[k];

				if (v->state != MPX_TS_RUNNING)
					continue;
				while (p < nu && w[2 * p + 1].key <= v->start)
					p++;
				for (q = p; q < nu && w[2 * q].key < v->end; q++)
					ra->others_oncpu_while_tasks_blocked_ns +=
						overlap(v->start, v->end, w[2 * q].key,
							w[2 * q + 1].key);
			}
		}
	}
	/* Runnable (running or queued) tasks at once. */
	n = 0;
	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];

		for (k = 0; k < t->niv; k++) {
			const struct mpx_ival *v = &t->iv[k];

			if (v->state == MPX_TS_RUNNING || v->state == MPX_TS_RUNQ_WAKEUP ||
			    v->state == MPX_TS_RUNQ_PREEMPT)
				push_edge(&e, &n, &cap, v->start > b ? v->start : b,
					  v->end < end ? v->end : end);
		}
	}
	ra->peak_runnable = n ? peak(e, n) : 0;
	/* Main on CPU from begin to its first fork of a task process. */
	if (mt && first_fork > b)
		for (k = 0; k < mt->niv; k++)
			if (mt->iv[k].state == MPX_TS_RUNNING)
				ra->main_cpu_before_fork_ns +=
					overlap(mt->iv[k].start, mt->iv[k].end, b, first_fork);
	if (!ra->py_phases)
		python_setup(ra, first_fork);
	/* Did task processes first run in the order they were forked? */
	{
		uint64_t last_first_run = 0;

		for (i = 0; i < m->ntasks; i++) {
			const struct mpx_task *t = &m->tasks[i];
			uint64_t fr = 0;

			if (!same_proc_as_task(ra, i))
				continue;
			for (k = 0; k < t->niv; k++)
				if (t->iv[k].state == MPX_TS_RUNNING) {
					fr = t->iv[k].start;
					break;
				}
			if (fr && fr < last_first_run)
				ra->fork_order_violations++;
			if (fr > last_first_run)
				last_first_run = fr;
		}
	}
	free(e);
	free(w);
}

/*
 * Memory footprint of the tree over time: the RSS samples of every process
 * summed while it lives.  A forked child shares its parent's pages until
 * either writes them, and RSS counts those in both; the COW-adjusted sum
 * counts each child only above the RSS it had when first seen (its share
 * of the parent), which undercounts pages it later writes over.
 */
struct memev {
	uint64_t ts;
	uint32_t proc;		/* index into the process table */
	uint64_t rss;		/* new value; UINT64_MAX: the process ended */
};

static int cmp_memev(const void *a, const void *b)
{
	const struct memev *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static void footprint(struct mpx_run_analysis *ra, mpx_footprint_fn fn, void *ctx)
{
	const struct mpx_model *m = &ra->run->m;
	struct memev *ev = NULL;
	size_t nev = 0, cap = 0, i;
	uint64_t *cur, *first, sum = 0, cow = 0, tsum = 0;
	uint32_t *pid_of;
	uint64_t *bypid;	/* pid << 32 | index of every RSS sample, sorted */
	bool *task;
	size_t np = 0;

	cur = calloc(m->ntasks + 1, sizeof(*cur));
	first = calloc(m->ntasks + 1, sizeof(*first));
	pid_of = calloc(m->ntasks + 1, sizeof(*pid_of));
	task = calloc(m->ntasks + 1, sizeof(*task));
	bypid = calloc(m->nrss + 1, sizeof(*bypid));
	if (!cur || !first || !pid_of || !task || !bypid || m->nrss > UINT32_MAX)
		goto out;
	for (i = 0; i < m->nrss; i++)
		bypid[i] = (uint64_t)m->rss[i].pid << 32 | i;
	if (mpx_sort_by_u64(bypid, m->nrss, sizeof(*bypid)))
		goto out;
	/* One slot per process leader. */
	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];
		size_t j, k;

		if (t->is_thread)
			continue;
		pid_of[np] = t->pid;
		task[np] = ra->roles[i].cls == MPX_RC_TASK;
		first[np] = UINT64_MAX;
		/* Its pid's samples, in the order taken. */
		for (k = mpx_lower_bound_u64(bypid, m->nrss, (uint64_t)t->pid << 32);
		     k < m->nrss && bypid[k] >> 32 == t->pid; k++) {
			j = (size_t)(bypid[k] & UINT32_MAX);
			if (m->rss[j].ts >= t->start_ns &&
			    m->rss[j].ts >= t->exec_ns &&
			    m->rss[j].ts <= t->end_ns &&
			    !mpx_grow((void **)&ev, &cap, nev + 1, sizeof(*ev)))
				ev[nev++] = (struct memev){ m->rss[j].ts, (uint32_t)np,
							    m->rss[j].file + m->rss[j].anon +
							    m->rss[j].shmem };
		}
		if (!mpx_grow((void **)&ev, &cap, nev + 1, sizeof(*ev)))
			ev[nev++] = (struct memev){ t->end_ns, (uint32_t)np, UINT64_MAX };
		np++;
	}
	if (nev)		/* none in a run whose command never started */
		qsort(ev, nev, sizeof(*ev), cmp_memev);
	for (i = 0; i < nev; i++) {
		uint32_t p = ev[i].proc;
		uint64_t v = ev[i].rss == UINT64_MAX ? 0 : ev[i].rss;
		uint64_t oc = cur[p] > first[p] && first[p] != UINT64_MAX ? cur[p] - first[p] : 0;
		uint64_t nc;

		if (ev[i].rss != UINT64_MAX && first[p] == UINT64_MAX)
			first[p] = p == 0 ? 0 : v;	/* the root owns its pages */
		nc = v > first[p] && first[p] != UINT64_MAX ? v - first[p] : 0;
		sum = sum - cur[p] + v;
		cow = cow - oc + nc;
		if (task[p])
			tsum = tsum - cur[p] + v;
		cur[p] = v;
		if (sum > ra->footprint_peak)
			ra->footprint_peak = sum;
		if (cow > ra->footprint_cow_peak)
			ra->footprint_cow_peak = cow;
		if (tsum > ra->task_rss_peak)
			ra->task_rss_peak = tsum;
		if (fn)
			fn(ctx, ev[i].ts, sum, cow);
	}
out:
	free(ev);
	free(cur);
	free(first);
	free(pid_of);
	free(task);
	free(bypid);
}

void analysis__footprint_series(const struct mpx_run_analysis *ra, mpx_footprint_fn fn,
				void *ctx)
{
	/* The same walk that found the peaks, on a copy whose peaks it may
	 * overwrite. */
	struct mpx_run_analysis copy = *ra;

	footprint(&copy, fn, ctx);
}

/* ---- a Python command's explanation ------------------------------------ */

static void py_say(struct mpx_run_analysis *ra, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void py_say(struct mpx_run_analysis *ra, const char *fmt, ...)
{
	va_list ap;

	if (ra->npy_sentences >= (int)(sizeof(ra->py_sentence) / sizeof(ra->py_sentence[0])))
		return;
	va_start(ap, fmt);
	vsnprintf(ra->py_sentence[ra->npy_sentences++], sizeof(ra->py_sentence[0]), fmt, ap);
	va_end(ap);
}

#define PY_ADD(...) (len += (size_t)snprintf(buf + len, len < sizeof(buf) ? \
					     sizeof(buf) - len : 0, __VA_ARGS__))

/* Only what the spans show: start-up to the first line, the script's
 * imports, starts, GC and waits, the interpreter's teardown, GIL waits. */
static void py_explain(struct mpx_run_analysis *ra)
{
	static const char *const what[MPX_PP_MAX] = { "process", "subprocess", "thread" };
	const struct mpx_pyphases *pp = &ra->pp;
	const struct mpx_task *mt = &ra->run->m.tasks[pp->task];
	uint64_t s0 = pp->run_ns ? pp->run_ns : pp->exec_ns;
	uint64_t s1 = pp->fin_ns ? pp->fin_ns : ra->end;
	const struct mpx_pyinterp *late = NULL;
	char buf[400];
	size_t len = 0;
	uint32_t i;
	int k, parts = 0;

	/* Probes attached when this process exec'd its interpreter. */
	for (i = 0; i < ra->py.ninterp; i++)
		if (ra->py.interp[i].late && ra->py.interp[i].tid == mt->tid)
			late = &ra->py.interp[i];
	buf[0] = '\0';
	PY_ADD("Of %.1f ms, ", ms((int64_t)(ra->end - ra->begin)));
	if (pp->launched && mt->is_root && pp->exec_ns > ra->begin)
		PY_ADD("%.1f ms passed before the command exec'd %s, ",
		       ms((int64_t)(pp->exec_ns - ra->begin)), mt->comm);
	else if (pp->launched && pp->exec_ns > ra->begin)
		PY_ADD("%.1f ms passed before %s started (pid %u), ",
		       ms((int64_t)(pp->exec_ns - ra->begin)), mt->comm, mt->pid);
	if (pp->run_ns) {
		PY_ADD("%.1f ms is interpreter start-up before the script's first line",
		       ms((int64_t)(pp->run_ns - pp->exec_ns)));
		if (pp->startup_top[0])
			PY_ADD(" (%.1f ms of it importing %u module%s, the longest %s %.1f ms)",
			       ms((int64_t)pp->startup_import_ns), pp->startup_nimports,
			       pp->startup_nimports == 1 ? "" : "s",
			       pp->startup_top, ms((int64_t)pp->startup_top_ns));
		PY_ADD("%s %.1f ms the script", pp->fin_ns ? "," : " and", ms((int64_t)(s1 - s0)));
	} else if (late && late->ts > pp->exec_ns) {
		PY_ADD("%s ran %.1f ms from its exec; its probes were attached %.1f ms after "
		       "the exec, so its start-up and what it imported before that are not "
		       "seen", mt->comm, ms((int64_t)(s1 - s0)),
		       ms((int64_t)(late->ts - pp->exec_ns)));
	} else {
		PY_ADD("the script ran %.1f ms (%s)", ms((int64_t)(s1 - s0)),
		       ra->py.attached & MPX_PYP_AUDIT ? "its start was not seen: no "
		       "cpython.run_* audit event" : "the interpreter has no USDT probes: "
		       "its start-up and imports are not seen");
	}
	if (pp->fin_ns)
		PY_ADD(" and %.1f ms from the interpreter clearing its state to the end",
		       ms((int64_t)(ra->end - pp->fin_ns)));
	PY_ADD(".");
	if (pp->run_ns && late && late->ts > pp->exec_ns)
		PY_ADD(" Its probes were attached %.1f ms after the exec, so what it did "
		       "before that (imports, GC pauses) is not seen.",
		       ms((int64_t)(late->ts - pp->exec_ns)));
	py_say(ra, "%s", buf);

	len = 0;
	buf[0] = '\0';
	PY_ADD("In the script, main spent");
	if (pp->script_top[0][0]) {
		PY_ADD(" %.1f ms importing %u module%s (%.1f ms importing %s", ms((int64_t)
		       pp->script_import_ns), pp->script_nimports,
		       pp->script_nimports == 1 ? "" : "s",
		       ms((int64_t)pp->script_top_ns[0]), pp->script_top[0]);
		if (pp->script_top[1][0])
			PY_ADD(", %.1f ms %s", ms((int64_t)pp->script_top_ns[1]),
			       pp->script_top[1]);
		PY_ADD(")");
		parts++;
	}
	for (k = 0; k < MPX_PP_MAX; k++) {
		if (!pp->nstarts[k])
			continue;
		PY_ADD("%s %.1f ms starting %u %s%s", parts ? "," : "",
		       ms((int64_t)pp->start_ns[k]), pp->nstarts[k], what[k],
		       pp->nstarts[k] == 1 ? "" : k == MPX_PP_FORK ? "es" :
		       k == MPX_PP_SPAWN ? "es" : "s");
		parts++;
	}
	if (pp->gc_ns >= 10000) {
		PY_ADD("%s %.1f ms in GC pauses", parts ? "," : "", ms((int64_t)pp->gc_ns));
		parts++;
	}
	if (pp->blocked_ns >= 10000) {
		PY_ADD("%s %.1f ms blocked%s%s%s", parts ? " and" : "", ms((int64_t)pp->blocked_ns),
		       pp->blocked_reason ? " (mostly " : "",
		       pp->blocked_reason ? pp->blocked_reason : "",
		       pp->blocked_reason ? ")" : "");
		parts++;
	}
	PY_ADD(".");
	if (parts)
		py_say(ra, "%s", buf);

	/* What the script imported right before each burst of starts (as
	 * Pool() imports multiprocessing.pool before forking its workers). */
	len = 0;
	buf[0] = '\0';
	for (k = 1, parts = 0; k < ra->nph && parts < 3; k++) {
		const struct mpx_phase *a = &ra->ph[k - 1], *b = &ra->ph[k];

		if (b->cls != MPX_PC_SETUP || a->cls != MPX_PC_RUN || a->top_import_ns < 500000)
			continue;
		PY_ADD("%s %.1f ms importing %s in the %.1f ms before %u %s start%s at %+.1f ms",
		       parts ? ";" : "The script's imports before its starts:",
		       ms((int64_t)a->top_import_ns), a->top_import, ms((int64_t)(a->end - a->start)),
		       b->nstarts, !strcmp(b->name, "threads") ? "thread" :
		       !strcmp(b->name, "fork") ? "process" : "subprocess",
		       b->nstarts == 1 ? "" : "s", ms((int64_t)(b->start - ra->begin)));
		parts++;
	}
	if (parts) {
		PY_ADD(".");
		py_say(ra, "%s", buf);
	}
	if (ra->cp_gil_holder_ns >= 100000)
		py_say(ra, "The GIL held up the critical path %.2f ms: a thread on it waited "
		       "for the GIL while another thread held it (the path runs in that "
		       "thread then)%s.", ms((int64_t)ra->cp_gil_holder_ns),
		       ra->cp_gil_ns >= 10000 ? ", plus the GIL waits named on it" : "");
	if (ra->cp_gil_ns >= 100000)
		py_say(ra, "GIL waits named on the critical path: %.2f ms (futex sleep inside "
		       "the interpreter's GIL take, not IO or a lock of the program).",
		       ms((int64_t)ra->cp_gil_ns));
}
#undef PY_ADD

/* ---- one run ---------------------------------------------------------- */

static int analyse_run(struct mpx_run_analysis *ra, const struct mpx_run *run)
{
	const struct mpx_model *m = &run->m;
	int err;

	ra->run = run;
	err = report__build(&ra->rep, &run->info, m);
	if (err)
		return err;
	ra->roles = calloc(m->ntasks ? m->ntasks : 1, sizeof(*ra->roles));
	if (!ra->roles)
		return -ENOMEM;
	analysis__roles(run, ra->roles);
	ra->main_idx = root_index(m);
	err = pyspans__build(&ra->py, &run->eb, m);
	if (err)
		return err;
	analysis__phases(ra);
	err = analysis__py_phases(ra);
	if (err)
		return err;
	if (ra->markers && ra->py.any)
		phase_imports(ra, ra->main_idx);
	/* The run's wall time is the measured interval when it is marked. */
	if (ra->markers)
		ra->rep.wall_ns = ra->end - ra->begin;
	if (m->ntasks && !m->summary) {	/* summary mode has no intervals */
		err = critpath__build_with(m, ra->main_idx, ra->begin, ra->end,
					   ra->py.n[MPX_PS_GIL] ? gil_waited : NULL, ra, &ra->cp);
		if (err)
			return err;
		err = cp_totals(ra);
		if (err)
			return err;
		err = cp_gil_holder(ra);
		if (err)
			return err;
	}
	facts(ra);
	footprint(ra, NULL, NULL);
	if (ra->py_phases)
		py_explain(ra);
	return 0;
}

/* ---- explanation ------------------------------------------------------ */

static uint64_t wall(const struct mpx_run_analysis *ra)
{
	return ra->end - ra->begin;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Index of the run with the median wall time among runs of mode. */
static int median_run(const struct mpx_analysis *an, enum mpx_mode mode,
		      uint64_t *med, uint64_t *mn, uint64_t *mx, int *count)
{
	uint64_t v[1024];
	size_t i, n = 0;
	int best = -1;
	uint64_t bestd = UINT64_MAX;

	for (i = 0; i < an->n && n < 1024; i++)
		if (an->ra[i].run->mode == mode && an->ra[i].markers)
			v[n++] = wall(&an->ra[i]);
	*count = (int)n;
	if (!n)
		return -1;
	qsort(v, n, sizeof(v[0]), cmp_u64);
	*med = v[(n - 1) / 2];
	*mn = v[0];
	*mx = v[n - 1];
	for (i = 0; i < an->n; i++) {
		uint64_t wl;

		if (an->ra[i].run->mode != mode || !an->ra[i].markers)
			continue;
		wl = wall(&an->ra[i]);
		if ((wl > *med ? wl - *med : *med - wl) < bestd) {
			bestd = wl > *med ? wl - *med : *med - wl;
			best = (int)i;
		}
	}
	return best;
}

static int64_t cp_sum(const struct mpx_run_analysis *ra, int pc, int rc, int b)
{
	int64_t s = 0;
	size_t i;

	for (i = 0; i < ra->ncpt; i++)
		if ((pc < 0 || (int)ra->cpt[i].phase == pc) &&
		    (rc < 0 || (int)ra->cpt[i].role == rc) &&
		    (b < 0 || (int)ra->cpt[i].bucket == b))
			s += ra->cpt[i].ns;
	return s;
}

/* How long the run's phases of class pc lasted (the text report's figures). */
static int64_t phase_sum(const struct mpx_run_analysis *ra, enum mpx_phase_class pc)
{
	int64_t s = 0;
	int p;

	for (p = 0; p < ra->nph; p++)
		if (ra->ph[p].cls == pc)
			s += (int64_t)(ra->ph[p].end - ra->ph[p].start);
	return s;
}

static int cmp_contrib(const void *a, const void *b)
{
	const struct mpx_contrib *x = a, *y = b;
	int64_t ax = x->ns < 0 ? -x->ns : x->ns, ay = y->ns < 0 ? -y->ns : y->ns;

	return ax < ay ? 1 : ax > ay ? -1 : 0;
}

static void contributions(struct mpx_explanation *ex, const struct mpx_run_analysis *a,
			  const struct mpx_run_analysis *b)
{
	struct mpx_contrib all[MPX_PC_MAX * MPX_RC_MAX * MPX_B_MAX];
	int n = 0, pc, rc, bk, i;

	for (pc = 0; pc < MPX_PC_MAX; pc++)
		for (rc = 0; rc < MPX_RC_MAX; rc++)
			for (bk = 0; bk < MPX_B_MAX; bk++) {
				int64_t x = cp_sum(a, pc, rc, bk), y = cp_sum(b, pc, rc, bk);

				if (!x && !y)
					continue;
				all[n++] = (struct mpx_contrib){ pc, rc, bk, y - x, x, y };
			}
	qsort(all, n, sizeof(all[0]), cmp_contrib);
	ex->ncontrib = n < MPX_MAX_CONTRIB ? n : MPX_MAX_CONTRIB;
	memcpy(ex->contrib, all, ex->ncontrib * sizeof(all[0]));
	ex->contrib_rest_ns = 0;
	for (i = ex->ncontrib; i < n; i++)
		ex->contrib_rest_ns += all[i].ns;
}

static const char *bucket_words(enum mpx_bucket b)
{
	switch (b) {
	case MPX_B_ONCPU: return "on CPU";
	case MPX_B_RUNQ_WAKEUP: return "waiting for a CPU after a wakeup";
	case MPX_B_RUNQ_PREEMPT: return "waiting for a CPU after preemption";
	case MPX_B_SLEEP: return "sleeping";
	case MPX_B_DSLEEP: return "in uninterruptible sleep";
	case MPX_B_BLKIO: return "waiting for block IO";
	default: return "unaccounted";
	}
}

/* The longest wait reason on the critical path for (phase, role, bucket). */
static const char *top_reason(const struct mpx_run_analysis *ra, enum mpx_phase_class pc,
			      enum mpx_role_class rc, enum mpx_bucket b)
{
	const char *best = NULL;
	int64_t bn = 0;
	size_t i;

	for (i = 0; i < ra->ncpt; i++)
		if (ra->cpt[i].phase == pc && ra->cpt[i].role == rc && ra->cpt[i].bucket == b &&
		    ra->cpt[i].reason && ra->cpt[i].ns > bn) {
			bn = ra->cpt[i].ns;
			best = ra->cpt[i].reason;
		}
	return best;
}

static void say(struct mpx_explanation *ex, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct mpx_explanation *ex, const char *fmt, ...)
{
	va_list ap;

	if (ex->nsentences >= MPX_MAX_SENTENCES)
		return;
	va_start(ap, fmt);
	vsnprintf(ex->sentence[ex->nsentences++], sizeof(ex->sentence[0]), fmt, ap);
	va_end(ap);
}

static void sentences(struct mpx_analysis *an)
{
	struct mpx_explanation *ex = &an->ex;
	const struct mpx_run_analysis *a = &an->ra[ex->a], *b = &an->ra[ex->b];
	const struct mpx_workload_opts *w = &an->rs->work;
	int64_t d = ex->delta_ns, setup_b, setup_a, len_b, len_a, exec_a, exec_b, rq_a, rq_b;
	const char *before;	/* what setup does before the first fork */
	const struct mpx_contrib *top = NULL;
	int i;

	say(ex, "Pool is %.1f ms %s than Process (%.1f vs %.1f ms from the first "
	    "start to the last result, %u %s task%s, %u pool workers, %s).",
	    ms(d < 0 ? -d : d), d >= 0 ? "slower" : "faster", ms((int64_t)wall(b)),
	    ms((int64_t)wall(a)), w->tasks, w->kind, w->tasks == 1 ? "" : "s",
	    b->ntask_procs, w->runtime == MPX_RT_NATIVE ? "native C" : "Python multiprocessing");

	setup_b = cp_sum(b, MPX_PC_SETUP, -1, -1);
	setup_a = cp_sum(a, MPX_PC_SETUP, -1, -1);
	/* The phases' lengths, as the report's table has them (the critical
	 * path's setup may leave part of a phase to a child). */
	len_b = phase_sum(b, MPX_PC_SETUP);
	len_a = phase_sum(a, MPX_PC_SETUP);
	before = w->start_method && !strcmp(w->start_method, "forkserver") ?
		 "the fork server, queues, locks" : "queues, locks";
	if (b->setup_top_import[0][0]) {
		char imports[2 * MPX_PYNAME_LEN + 128];
		uint64_t imp = b->setup_import_ns;

		/* One import that is most of it by name, else the two longest;
		 * all of the imports' time either way, so the parts add up. */
		if ((b->setup_top_import_ns[0] * 3 >= imp * 2 || !b->setup_top_import[1][0]) &&
		    b->setup_nimports > 1)
			snprintf(imports, sizeof(imports), "%.1f ms importing %s (%.1f ms of it on "
				 "CPU) and %.1f ms importing %u other module%s",
				 ms((int64_t)b->setup_top_import_ns[0]), b->setup_top_import[0],
				 ms((int64_t)b->setup_top_import_cpu_ns),
				 ms((int64_t)(imp > b->setup_top_import_ns[0] ?
					      imp - b->setup_top_import_ns[0] : 0)),
				 b->setup_nimports - 1, b->setup_nimports == 2 ? "" : "s");
		else if (b->setup_top_import_ns[0] * 3 >= imp * 2 || !b->setup_top_import[1][0])
			snprintf(imports, sizeof(imports), "%.1f ms importing %s (%.1f ms of it on "
				 "CPU)", ms((int64_t)imp), b->setup_top_import[0],
				 ms((int64_t)b->setup_top_import_cpu_ns));
		else
			snprintf(imports, sizeof(imports), "%.1f ms importing %u modules (%.1f "
				 "ms importing %s, %.1f ms %s)", ms((int64_t)imp),
				 b->setup_nimports, ms((int64_t)b->setup_top_import_ns[0]),
				 b->setup_top_import[0], ms((int64_t)b->setup_top_import_ns[1]),
				 b->setup_top_import[1]);
		say(ex, "Creating the pool took %.1f ms: %s, %.1f ms more before forking its "
		    "first worker (%s), %.1f ms forking %u workers and %.1f ms "
		    "starting %u helper threads; Process mode spent %.1f ms starting %u "
		    "processes.", ms(len_b), imports,
		    ms((int64_t)(b->setup_before_fork_ns > imp ? b->setup_before_fork_ns - imp :
				 0)), before,
		    ms((int64_t)b->setup_fork_ns), b->ntask_procs,
		    ms((int64_t)b->setup_threads_ns), b->nhelpers, ms(len_a), a->ntask_procs);
	} else if (w->runtime == MPX_RT_NATIVE) {
		say(ex, "Creating the pool took %.1f ms: main ran %.1f ms on CPU before forking "
		    "its first worker, then forked %u workers; Process mode spent %.1f ms "
		    "starting %u processes.", ms(len_b), ms((int64_t)b->main_cpu_before_fork_ns),
		    b->ntask_procs, ms(len_a), a->ntask_procs);
	} else {
		say(ex, "Creating the pool took %.1f ms: main ran %.1f ms on CPU before forking "
		    "its first worker (imports, %s), then forked %u workers and "
		    "started %u helper threads; Process mode spent %.1f ms starting %u "
		    "processes.", ms(len_b), ms((int64_t)b->main_cpu_before_fork_ns),
		    before,
		    b->ntask_procs, b->nhelpers, ms(len_a), a->ntask_procs);
	}

	for (i = 0; i < ex->ncontrib; i++)
		if ((d >= 0) == (ex->contrib[i].ns >= 0) && ex->contrib[i].phase != MPX_PC_SETUP) {
			top = &ex->contrib[i];
			break;
		}
	/* Only a difference worth a sentence: a tenth of the gap, 0.5 ms. */
	if (top && (llabs(top->ns) * 10 < llabs(d) || llabs(top->ns) < 500000))
		top = NULL;
	if (top) {
		const char *r = top_reason(top->ns >= 0 ? b : a, top->phase, top->role,
					   top->bucket);

		say(ex, "Beyond setup, the largest difference is %s time of %s %s: "
		    "%.1f ms in pool vs %.1f ms in process%s%s%s.",
		    mpx_phase_class_name(top->phase), mpx_role_class_name(top->role),
		    bucket_words(top->bucket), ms(top->b_ns), ms(top->a_ns),
		    r ? " (mostly " : "", r ? r : "", r ? ")" : "");
	}

	exec_a = cp_sum(a, MPX_PC_EXECUTION, -1, -1);
	exec_b = cp_sum(b, MPX_PC_EXECUTION, -1, -1);
	if (!a->task_blocked_ns && !b->task_blocked_ns)
		say(ex, "The tasks themselves: %.1f vs %.1f ms of their work on the critical "
		    "path (pool vs process), %.1f vs %.1f ms on CPU; they never blocked in "
		    "waits of their own, so IO plays no part here.", ms(exec_b), ms(exec_a),
		    ms((int64_t)b->task_oncpu_ns), ms((int64_t)a->task_oncpu_ns));
	else
		say(ex, "The tasks themselves: %.1f vs %.1f ms of their work on the critical "
		    "path; they spent %.1f vs %.1f ms on CPU and %.1f vs %.1f ms in their own "
		    "waits (%.1f vs %.1f ms of it block IO), with at most %u vs %u of them "
		    "waiting at once (pool vs process).", ms(exec_b), ms(exec_a),
		    ms((int64_t)b->task_oncpu_ns), ms((int64_t)a->task_oncpu_ns),
		    ms((int64_t)b->task_blocked_ns), ms((int64_t)a->task_blocked_ns),
		    ms((int64_t)b->task_io_ns), ms((int64_t)a->task_io_ns),
		    b->peak_blocked_tasks, a->peak_blocked_tasks);

	rq_a = cp_sum(a, -1, -1, MPX_B_RUNQ_WAKEUP) + cp_sum(a, -1, -1, MPX_B_RUNQ_PREEMPT);
	rq_b = cp_sum(b, -1, -1, MPX_B_RUNQ_WAKEUP) + cp_sum(b, -1, -1, MPX_B_RUNQ_PREEMPT);
	say(ex, "Waiting for a CPU on the critical path: %.1f ms in pool vs %.1f ms in "
	    "process, with up to %u vs %u tasks runnable at once on %d CPUs.",
	    ms(rq_b), ms(rq_a), b->peak_runnable, a->peak_runnable, b->run->info.ncpus);

	/* GIL waits on the critical path (uprobes on the GIL's take path). */
	if (b->cp_gil_ns >= 100000 || a->cp_gil_ns >= 100000)
		say(ex, "Threads waiting for the GIL held up the critical path %.2f ms in pool "
		    "vs %.2f ms in process (futex sleep inside the interpreter's GIL take, "
		    "not IO or a lock of the program).", ms((int64_t)b->cp_gil_ns),
		    ms((int64_t)a->cp_gil_ns));

	/* What to do about it. */
	if (d > 0 && setup_b - setup_a >= d / 2)
		say(ex, "For so few tasks the pool's one-off setup dominates: create the Pool "
		    "once and reuse it across batches (or use Process for one small batch); "
		    "the pool's per-task hand-off is cheap once it exists.");
	else if (d > 0 && b->peak_blocked_tasks < a->peak_blocked_tasks &&
		 b->task_blocked_ns > (uint64_t)exec_b / 2)
		say(ex, "The pool runs at most %u tasks at once, so their waits queue up "
		    "behind each other: for waiting-bound tasks raise the pool size "
		    "(--workers, Pool(processes=N)) toward the number of tasks.",
		    b->ntask_procs);
	else if (d < 0)
		say(ex, "Process pays a fork, an exit and a reap for every task and puts up "
		    "to %u runnable tasks on %d CPUs; for many short tasks keep a Pool.",
		    a->peak_runnable, a->run->info.ncpus);
	else if (d > 0 && rq_b - rq_a >= d / 2)
		say(ex, "Most of the gap is waiting for a CPU: %.1f ms more on the pool's "
		    "critical path, up to %u tasks runnable at once on %d CPUs (workers, the "
		    "pool's helper threads and main compete for them); the ranked "
		    "contributions below say whose waits.", ms(rq_b - rq_a), b->peak_runnable,
		    b->run->info.ncpus);
	else
		say(ex, "Neither setup nor waits for a CPU explain most of the gap; see the "
		    "ranked contributions below.");
}

static void claims(struct mpx_analysis *an)
{
	struct mpx_explanation *ex = &an->ex;
	const struct mpx_run_analysis *a = &an->ra[ex->a], *b = &an->ra[ex->b];
	const struct mpx_workload_opts *w = &an->rs->work;
	struct mpx_claim *c = ex->claims;
	bool blocking = !strcmp(w->kind, "sleep") || !strcmp(w->kind, "fsync") ||
			!strcmp(w->kind, "direct") || !strcmp(w->kind, "read-cold");

	c[0].claim = "Both Process and Pool use a FIFO scheduler";
	if (a->fork_order_violations || a->task_preemptions || b->task_preemptions) {
		c[0].verdict = MPX_V_NOT_SUPPORTED;
		snprintf(c[0].evidence, sizeof(c[0].evidence),
			 "the kernel, not Python, schedules: %u child processes first ran out "
			 "of fork order, task processes were preempted %u (process) and %u "
			 "(pool) times while runnable", a->fork_order_violations,
			 a->task_preemptions, b->task_preemptions);
	} else {
		c[0].verdict = MPX_V_NOT_TESTED;
		snprintf(c[0].evidence, sizeof(c[0].evidence),
			 "this run cannot tell: %u tasks never competed for a CPU (0 "
			 "preemptions, children ran in fork order)", w->tasks);
	}
	snprintf(c[0].test_with, sizeof(c[0].test_with),
		 "--mode=both --task=cpu --task-ms 20 --tasks 8");

	c[1].claim = "Process keeps all the memory, Pool only that of running tasks";
	c[1].verdict = a->peak_task_procs > b->peak_task_procs &&
		       a->task_rss_peak > b->task_rss_peak ? MPX_V_PARTLY :
		       a->task_rss_peak > b->task_rss_peak * 11 / 10 ? MPX_V_PARTLY :
		       MPX_V_NOT_TESTED;
	snprintf(c[1].evidence, sizeof(c[1].evidence),
		 "nothing is kept: each process frees its memory at exit. What differs is "
		 "concurrency: task processes peaked at %.1f MiB RSS together in process "
		 "mode (%u alive at once) vs %.1f MiB in pool mode (%u); the whole tree "
		 "peaked at %.1f vs %.1f MiB (%.1f vs %.1f MiB counting pages shared "
		 "after fork once)", (double)a->task_rss_peak / 256.0, a->peak_task_procs,
		 (double)b->task_rss_peak / 256.0, b->peak_task_procs,
		 (double)a->footprint_peak / 256.0, (double)b->footprint_peak / 256.0,
		 (double)a->footprint_cow_peak / 256.0, (double)b->footprint_cow_peak / 256.0);
	snprintf(c[1].test_with, sizeof(c[1].test_with),
		 "--mode=both --task=mem --task-bytes 64M --tasks 8");

	c[2].claim = "Pool does not schedule another task until a task's IO completes; "
		     "Process halts on IO";
	if (b->task_blocked_ns && b->others_oncpu_while_tasks_blocked_ns) {
		c[2].verdict = MPX_V_NOT_SUPPORTED;
		snprintf(c[2].evidence, sizeof(c[2].evidence),
			 "while pool workers were blocked in their tasks' waits (%.2f ms), "
			 "other tasks ran %.2f ms on CPU: the kernel runs whatever is runnable. "
			 "What is true: a worker runs one task at a time, so at most %u (pool) "
			 "vs %u (process) task waits overlapped",
			 ms((int64_t)b->task_blocked_ns),
			 ms((int64_t)b->others_oncpu_while_tasks_blocked_ns),
			 b->peak_blocked_tasks, a->peak_blocked_tasks);
	} else {
		c[2].verdict = MPX_V_NOT_TESTED;
		snprintf(c[2].evidence, sizeof(c[2].evidence),
			 "the tasks barely blocked (%.2f ms in pool, %.2f ms in process): "
			 "nothing here could show it", ms((int64_t)b->task_blocked_ns),
			 ms((int64_t)a->task_blocked_ns));
	}
	snprintf(c[2].test_with, sizeof(c[2].test_with),
		 "--mode=both --task=sleep --task-ms 50 --tasks 8 --workers 2");

	c[3].claim = "Process for few tasks or long IO; Pool for many tasks, short IO, "
		     "memory saving";
	if (w->tasks <= (unsigned int)a->run->info.ncpus && !blocking) {
		c[3].verdict = ex->delta_ns > 0 ? MPX_V_PARTLY : MPX_V_NOT_SUPPORTED;
		snprintf(c[3].evidence, sizeof(c[3].evidence),
			 "few short tasks (%u on %d CPUs): Process was %s by %.1f ms, %s; "
			 "the many-tasks and long-IO halves need other runs",
			 w->tasks, a->run->info.ncpus, ex->delta_ns > 0 ? "faster" : "slower",
			 ms(ex->delta_ns < 0 ? -ex->delta_ns : ex->delta_ns),
			 ex->delta_ns > 0 ? "because Pool pays its setup once per batch" :
					    "against the claim");
		snprintf(c[3].test_with, sizeof(c[3].test_with),
			 "--mode=both --tasks 64 (many); --task=sleep --task-ms 50 --tasks 8 "
			 "(long waits)");
	} else {
		c[3].verdict = MPX_V_PARTLY;
		snprintf(c[3].evidence, sizeof(c[3].evidence),
			 "%u %s tasks: %s was faster by %.1f ms; the rule is really about "
			 "setup paid once vs per task, and concurrency (%u workers vs %u "
			 "processes)", w->tasks, w->kind, ex->delta_ns > 0 ? "Process" : "Pool",
			 ms(ex->delta_ns < 0 ? -ex->delta_ns : ex->delta_ns), b->ntask_procs,
			 a->peak_task_procs);
		snprintf(c[3].test_with, sizeof(c[3].test_with),
			 "--mode=both --tasks 2 (few) and --tasks 64 (many)");
	}
}

static void explain(struct mpx_analysis *an)
{
	struct mpx_explanation *ex = &an->ex;

	memset(ex, 0, sizeof(*ex));
	ex->a = median_run(an, MPX_MODE_PROCESS, &ex->med_ns[0], &ex->min_ns[0],
			   &ex->max_ns[0], &ex->nruns[0]);
	ex->b = median_run(an, MPX_MODE_POOL, &ex->med_ns[1], &ex->min_ns[1],
			   &ex->max_ns[1], &ex->nruns[1]);
	if (ex->a < 0 || ex->b < 0)
		return;
	an->have_expl = true;
	ex->delta_ns = (int64_t)wall(&an->ra[ex->b]) - (int64_t)wall(&an->ra[ex->a]);
	contributions(ex, &an->ra[ex->a], &an->ra[ex->b]);
	sentences(an);
	claims(an);
}

int analysis__run(struct mpx_analysis *an, const struct mpx_runset *rs)
{
	size_t i;
	int err;

	memset(an, 0, sizeof(*an));
	an->rs = rs;
	an->ra = calloc(rs->n ? rs->n : 1, sizeof(*an->ra));
	if (!an->ra)
		return -ENOMEM;
	an->n = rs->n;
	for (i = 0; i < rs->n; i++) {
		err = analyse_run(&an->ra[i], &rs->runs[i]);
		if (err)
			return err;
	}
	if (rs->builtin)
		explain(an);
	return 0;
}

void analysis__free(struct mpx_analysis *an)
{
	size_t i;

	for (i = 0; an->ra && i < an->n; i++) {
		report__free(&an->ra[i].rep);
		free(an->ra[i].roles);
		critpath__free(&an->ra[i].cp);
		free(an->ra[i].cpt);
		free(an->ra[i].cp_gil_waiter);
		pyspans__free(&an->ra[i].py);
	}
	free(an->ra);
	memset(an, 0, sizeof(*an));
}
