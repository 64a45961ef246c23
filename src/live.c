// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <string.h>

#include "live.h"
#include "pyprobe.h"
#include "runner.h"
#include "trace.h"
#include "util.h"
#include "workload.h"

/* The Python probes of this session (NULL: none wanted). */
static struct pyprobe *py;

/* Which Python probes the run had, as a record at its start: a trace file
 * carries it, and the report says what was (not) seen. */
static void note_python(struct mpx_run *r)
{
	struct mpx_py rec = {};

	if (!py || !pyprobe__is_python(py) || !r->m.ntasks)
		return;
	pyprobe__record(py, &rec);
	rec.hdr.ts = r->m.t0;
	rec.tid = r->m.root_tid;
	rec.pid = r->m.tasks[0].pid;
	evbuf__add(&r->eb, &rec, sizeof(rec));
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

int live__execute(const struct mpx_opts *o, struct mpx_runset *rs)
{
	struct trace_session *s = NULL;
	struct mpx_workload w;
	bool have_w = false;
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
	err = trace__open(&s, &o->collect);
	if (err)
		goto cleanup;
	/* Native workloads run no Python; summary mode streams no spans. */
	if (!o->collect.summary && (!have_w || w.o.runtime == MPX_RT_PYTHON)) {
		uint64_t t0 = mpx_now_ns();

		py = trace__python(s, &o->py, have_w ? workload__argv(&w, MPX_MODE_PROCESS) :
				   o->argv);
		mpx_info("python probes set up in %.1f ms\n", (double)(mpx_now_ns() - t0) / 1e6);
		if (py && (o->py.off || !pyprobe__wanted_missing(py)))
			mpx_info("%s\n", pyprobe__note(py));
		else if (py)
			mpx_warn("%s", pyprobe__note(py));
	}
	if (have_w) {
		err = run_builtin(s, o, &w, rs);
	} else {
		struct mpx_run *r = runset__add(rs, MPX_MODE_NONE, 0);

		err = r ? trace_one(s, o, o->argv, r) : MPX_EXIT_ERROR;
	}
	if (py && o->py.functions && pyprobe__is_python(py)) {
		uint64_t calls, matched;

		pyprobe__func_stats(py, &calls, &matched);
		mpx_warn("--py-functions: %llu Python calls in the traced tree hit the "
			 "probes, %llu matched '%s' and were recorded",
			 (unsigned long long)calls, (unsigned long long)matched,
			 o->py.functions);
	}
cleanup:
	pyprobe__destroy(py);
	py = NULL;
	trace__close(s);
	if (have_w)
		workload__cleanup(&w);
	return err;
}
