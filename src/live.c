// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "collect.h"
#include "live.h"
#include "pyprobe.h"
#include "runner.h"
#include "trace.h"
#include "util.h"
#include "workload.h"

/* The Python probes of this session (NULL: none wanted). */
static struct pyprobe *py;

/*
 * More interpreters: those the command's words name (sh -c "python3 x",
 * env python3 ...), attached before the run, and those a traced task execs
 * that no probe covers yet, attached when the exec record arrives (the
 * interpreter's first moments before that are not seen; the record of the
 * attach says when).
 */
#define MAX_MORE_PY 8
static struct pyprobe *more_py[MAX_MORE_PY];
static int nmore_py, nmore_at_start;

struct exec_ctx {
	struct trace_session *s;
	const struct pyprobe_opts *o;
};

/* The probes already on the interpreter at bin, or NULL. */
static struct pyprobe *py_cover(const char *bin)
{
	int i;

	if (py && pyprobe__covers(py, bin))
		return py;
	for (i = 0; i < nmore_py; i++)
		if (pyprobe__covers(more_py[i], bin))
			return more_py[i];
	return NULL;
}

static void py_record(const struct pyprobe *p, struct evbuf *eb, uint64_t ts, uint32_t tid,
		      uint32_t pid)
{
	struct mpx_py rec = {};

	pyprobe__record(p, &rec);
	rec.hdr.ts = ts;
	rec.tid = tid;
	rec.pid = pid;
	evbuf__add(eb, &rec, sizeof(rec));
}

static void python_on_exec(void *ctx, const struct mpx_exec *e, struct evbuf *eb)
{
	const struct exec_ctx *x = ctx;
	char fn[MPX_FILENAME_LEN + 1], bin[PATH_MAX];
	struct pyprobe *p;

	memcpy(fn, e->filename, MPX_FILENAME_LEN);
	fn[MPX_FILENAME_LEN] = '\0';
	if (!pyprobe__exec_python(e->pid, fn, bin, sizeof(bin)))
		return;
	/* A Python whose probes are on: its own audit probe (the root's
	 * is on from its start). */
	p = py_cover(bin);
	if (p) {
		if (pyprobe__audit(p, e->pid) > 0)
			mpx_info("python: audit probe on pid %u, %.1f ms after it exec'd %s\n",
				 e->pid, (double)(mpx_now_ns() - e->hdr.ts) / 1e6, bin);
		return;
	}
	if (nmore_py == MAX_MORE_PY)
		return;
	p = trace__python(x->s, x->o, NULL, bin, e->pid);
	if (!p)
		return;
	if (!pyprobe__is_python(p)) {
		pyprobe__destroy(p);
		return;
	}
	more_py[nmore_py++] = p;
	/* Stamped when attached: its distance from the exec is what was missed. */
	py_record(p, eb, mpx_now_ns(), e->tid, e->pid);
	mpx_info("%s, %.1f ms after tid %u exec'd it\n", pyprobe__note(p),
		 (double)(mpx_now_ns() - e->hdr.ts) / 1e6, e->tid);
}

/* Which Python probes the run had, as a record at its start: a trace file
 * carries it, and the report says what was (not) seen. */
static void note_python(struct mpx_run *r)
{
	int i;

	if (!r->m.ntasks)
		return;
	if (py && pyprobe__is_python(py))
		py_record(py, &r->eb, r->m.t0, r->m.root_tid, r->m.tasks[0].pid);
	for (i = 0; i < nmore_at_start; i++)
		py_record(more_py[i], &r->eb, r->m.t0, r->m.root_tid, r->m.tasks[0].pid);
}

static int trace_one(struct trace_session *s, const struct mpx_opts *o,
		     char *const argv[], struct mpx_run *r)
{
	int out = o->work.mode ? MPX_STDOUT_NULL :
		  o->json && !o->output ? MPX_STDOUT_STDERR : MPX_STDOUT_KEEP;
	int err;

	err = trace__run(s, argv, o->as_root, out, &r->eb, &r->m, &r->info, &r->exit_code);
	if (err)
		return err;
	note_python(r);
	/* run__analyze notes the seed and end time a trace file needs. */
	run__analyze(r, mpx_now_ns());
	r->info.events = r->eb.n;
	r->info.rejected_records = r->eb.rejected;
	r->done = true;
	return 0;
}

/*
 * The interpreter a command runs can take long to find (pyenv's shim asks
 * `pyenv which`: 50 ms of shell scripts), and nothing in it needs the
 * tracing programs: a thread looks while the kernel loads them.
 */
struct py_find {
	pthread_t th;
	bool started, found;
	const char *arg0;
	char bin[PATH_MAX];
	char why[PATH_MAX + 64];
};

static void *py_find_run(void *arg)
{
	struct py_find *f = arg;

	f->found = pyprobe__resolve(f->arg0, f->bin, sizeof(f->bin), f->why, sizeof(f->why));
	return NULL;
}

static void py_find_start(struct py_find *f, const char *arg0)
{
	sigset_t all, old;

	f->arg0 = arg0;
	/* Signals stay with the main thread (SIGCHLD goes to its signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	f->started = !pthread_create(&f->th, NULL, py_find_run, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void py_find_join(struct py_find *f)
{
	if (f->started)
		pthread_join(f->th, NULL);
	f->started = false;
}

/* --mode: process and/or pool, alternating when repeated. */
static int run_builtin(struct trace_session *s, const struct mpx_opts *o,
		       struct mpx_workload *w, struct mpx_runset *rs)
{
	enum mpx_mode order[2];
	int nmodes = 0, rep, i, err;

	if (o->work.mode == MPX_MODE_BOTH) {
		order[nmodes++] = MPX_MODE_PROCESS;
		order[nmodes++] = MPX_MODE_POOL;
	} else {
		order[nmodes++] = o->work.mode;
	}
	for (rep = 0; rep < (int)w->o.repeat; rep++) {
		for (i = 0; i < nmodes; i++) {
			/* Alternate which mode goes first, so neither always
			 * runs on a cold cache. */
			enum mpx_mode mode = order[(i + rep) % nmodes];
			struct mpx_run *r;

			if (trace__stopped())
				return 0;
			r = runset__add(rs, mode, rep);
			if (!r)
				return MPX_EXIT_ERROR;
			mpx_info("run %zu: %s\n", rs->n, mpx_mode_name(mode));
			err = trace_one(s, o, workload__argv(w, mode), r);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * The root of each run, forked and held: the audit probe of each Python
 * found for the command on it, before it runs (the command, or a wrapper
 * that execs it: env, nice).  A Python exec'd by another process gets its
 * probe as its exec is read, which takes a while: attaching a uprobe waits
 * for an RCU grace period (0.3 ms here, at times tens of ms), and start-up
 * audit events come after ~10 ms.
 */
static void python_on_start(void *ctx, uint32_t pid)
{
	uint64_t t0 = mpx_now_ns();
	int i, n = 0;

	(void)ctx;
	if (py && pyprobe__is_python(py))
		n += pyprobe__audit(py, pid) > 0;
	for (i = 0; i < nmore_at_start; i++)
		n += pyprobe__audit(more_py[i], pid) > 0;
	if (n)
		mpx_info("python: audit probe on the command's process in %.1f ms\n",
			 (double)(mpx_now_ns() - t0) / 1e6);
}

/* A command that is no Python itself: the interpreters its words name. */
static void more_python(struct trace_session *s, const struct mpx_opts *o)
{
	char bins[MAX_MORE_PY][PATH_MAX];
	int n, i;

	if (py && pyprobe__is_python(py))
		return;
	n = pyprobe__scan_argv(o->argv, bins, MAX_MORE_PY);
	for (i = 0; i < n && nmore_py < MAX_MORE_PY; i++) {
		struct pyprobe *p = py_cover(bins[i]) ? NULL :
				    trace__python(s, &o->py, NULL, bins[i], 0);

		if (!p)
			continue;
		if (!pyprobe__is_python(p)) {
			pyprobe__destroy(p);
			continue;
		}
		mpx_info("%s (named in the command)\n", pyprobe__note(p));
		more_py[nmore_py++] = p;
	}
	nmore_at_start = nmore_py;
}

int live__execute(const struct mpx_opts *o, struct mpx_runset *rs)
{
	struct trace_session *s = NULL;
	struct py_find pf = {};
	struct mpx_workload w;
	char *const *py_argv;
	bool have_w = false, want_py;
	long uid, gid;
	int err;

	if (o->work.mode) {
		trace__workload_ids(o->as_root, &uid, &gid);
		err = workload__prepare(&w, &o->work, uid, gid);
		if (err)
			return err;
		have_w = true;
		rs->builtin = true;
		rs->work = w.o;
		rs->note = w.note;
		if (w.note)
			mpx_warn("%s", w.note);
	}
	/* Native workloads run no Python; summary mode streams no spans. */
	want_py = !o->collect.summary && (!have_w || w.o.runtime == MPX_RT_PYTHON);
	py_argv = have_w ? workload__argv(&w, MPX_MODE_PROCESS) : o->argv;
	if (want_py && !o->py.off && py_argv && py_argv[0])
		py_find_start(&pf, py_argv[0]);
	err = trace__open(&s, &o->collect);
	py_find_join(&pf);
	if (err)
		goto cleanup;
	if (want_py) {
		uint64_t t0 = mpx_now_ns();

		/* Found: its probes; else the note of why not, found again. */
		py = pf.found ? trace__python(s, &o->py, NULL, pf.bin, 0) :
		     trace__python(s, &o->py, py_argv, NULL, 0);
		mpx_info("python probes set up in %.1f ms\n", (double)(mpx_now_ns() - t0) / 1e6);
		if (py && (o->py.off || !pyprobe__wanted_missing(py)))
			mpx_info("%s\n", pyprobe__note(py));
		else if (py)
			mpx_warn("%s", pyprobe__note(py));
		if (!o->py.off) {
			static struct exec_ctx x;

			/* Then any Python a traced task execs. */
			x.s = s;
			x.o = &o->py;
			trace__on_start(s, python_on_start, NULL);
			trace__on_exec(s, python_on_exec, &x);
		}
		if (!have_w && !o->py.off)
			more_python(s, o);
	}
	if (have_w) {
		err = run_builtin(s, o, &w, rs);
	} else {
		struct mpx_run *r = runset__add(rs, MPX_MODE_NONE, 0);

		err = r ? trace_one(s, o, o->argv, r) : MPX_EXIT_ERROR;
	}
	if (py && o->py.functions && pyprobe__is_python(py)) {
		uint64_t st[4];

		pyprobe__func_stats(py, st);
		mpx_warn("--py-functions: %llu Python calls in the traced tree hit the "
			 "probes, %llu matched '%s' and were recorded",
			 (unsigned long long)st[0], (unsigned long long)st[1], o->py.functions);
		/* Returns that had no entry to pair with: the interpreter
		 * reported returns only (CPython 3.11 without a profiler). */
		if (st[3] > st[1])
			mpx_warn("--py-functions: %llu returns of matching functions came "
				 "without their entry: this interpreter reports function "
				 "entries only while a profile or trace function is set "
				 "(sys.setprofile), as CPython 3.11 does; those calls are "
				 "not in the report", (unsigned long long)(st[3] - st[1]));
	}
	if (py || nmore_py) {
		uint32_t skipped = pyprobe__audit_skipped(py);
		int i;

		for (i = 0; i < nmore_py; i++)
			skipped += pyprobe__audit_skipped(more_py[i]);
		if (skipped)
			mpx_warn("python: %u more processes ran the interpreter than the %d that "
				 "get an audit probe: their audit events are not in the report",
				 skipped, PYPROBE_MAX_AUDIT);
	}
	if (py && pyprobe__is_python(py) && bpf_stats_on()) {
		uint64_t st[2] = { 0, 0 };
		int i;

		pyprobe__prog_stats(py, st);
		for (i = 0; i < nmore_py; i++)
			pyprobe__prog_stats(more_py[i], st);
		/* Each run a uprobe's trap: its price is on top of this. */
		mpx_info("python probes' programs ran %llu times, %.2f ms "
			 "(kernel.bpf_stats_enabled)\n", (unsigned long long)st[0],
			 (double)st[1] / 1e6);
	}
cleanup:
	pyprobe__destroy(py);
	py = NULL;
	while (nmore_py > 0)
		pyprobe__destroy(more_py[--nmore_py]);
	nmore_at_start = 0;
	trace__close(s);
	if (have_w)
		workload__cleanup(&w);
	return err;
}
