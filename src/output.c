// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_writer.h"
#include "output.h"
#include "pyreport.h"
#include "util.h"

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static const char *role_of(const void *ctx, size_t i)
{
	const struct mpx_run_analysis *ra = ctx;

	return ra->roles[i].name;
}

/* ---- text ------------------------------------------------------------- */

void output__wrap(FILE *f, const char *lead, int indent, const char *s)
{
	int col = fprintf(f, "%s", lead);

	while (*s) {
		const char *e = s;
		int len;

		while (*e && *e != ' ')
			e++;
		len = (int)(e - s);
		if (col > indent && col + 1 + len > 79) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		col += fprintf(f, "%.*s", len, s);
		s = e;
		while (*s == ' ')
			s++;
	}
	fputc('\n', f);
}

static void phases_line(const struct mpx_run_analysis *ra, FILE *f)
{
	int p;

	for (p = 0; p < ra->nph; p++)
		fprintf(f, "%s%s %.2f", p ? ", " : "", ra->ph[p].name,
			ms((int64_t)(ra->ph[p].end - ra->ph[p].start)));
	if (ra->markers)
		fprintf(f, "; teardown %.2f ms after",
			ms((int64_t)(ra->teardown.end - ra->teardown.start)));
	fputc('\n', f);
	if (ra->setup_top_import[0][0] && ra->nph)
		fprintf(f, "      %s: import %.2f, other %.2f, fork %.2f, threads %.2f ms\n",
			ra->ph[0].name, ms((int64_t)ra->setup_import_ns),
			ms((int64_t)(ra->setup_before_fork_ns > ra->setup_import_ns ?
				     ra->setup_before_fork_ns - ra->setup_import_ns : 0)),
			ms((int64_t)ra->setup_fork_ns), ms((int64_t)ra->setup_threads_ns));
}

/* The critical path, folded into the longest few stretches. */
static void cp_text(const struct mpx_run_analysis *ra, FILE *f)
{
	size_t i, shown = 0;

	fprintf(f, "  critical path, %.2f ms in %zu stretches; the longest:\n",
		ms((int64_t)(ra->end - ra->begin)), ra->cp.n);
	for (i = 0; i < ra->cp.n && shown < 6; i++) {
		const struct mpx_cp_seg *s = &ra->cp.seg[i];
		const char *r = analysis__seg_reason(ra, s);

		if (s->end - s->start < (ra->end - ra->begin) / 20)
			continue;
		shown++;
		fprintf(f, "    %+8.2f ms %7.2f ms  %-14.14s %s%s%.30s",
			ms((int64_t)(s->start - ra->begin)), ms((int64_t)(s->end - s->start)),
			ra->roles[s->task].name, mpx_bucket_name(critpath__bucket(s)),
			r ? ": " : "", r ? r : "");
		if (ra->cp_gil_waiter && ra->cp_gil_waiter[i])
			fprintf(f, " (tid %u waits for its GIL)", ra->cp_gil_waiter[i]);
		fputc('\n', f);
	}
	if (!shown)
		fprintf(f, "    none longer than a twentieth of it (-j lists them all)\n");
}

static void summary(const struct mpx_analysis *an, FILE *f)
{
	const struct mpx_runset *rs = an->rs;
	const struct mpx_workload_opts *w = &rs->work;
	const struct mpx_explanation *ex = &an->ex;
	size_t i;
	int k;

	fprintf(f, "mpxtrace: %s: %u %s task%s, %s",
		w->mode == MPX_MODE_BOTH ? "Process vs Pool" :
		w->mode == MPX_MODE_POOL ? "Pool" : "Process",
		w->tasks, w->kind, w->tasks == 1 ? "" : "s",
		w->runtime == MPX_RT_NATIVE ? "native C" : "Python multiprocessing");
	if (w->runtime != MPX_RT_NATIVE)
		fprintf(f, " (%s)", w->start_method);
	fprintf(f, ", %d CPUs\n", an->n ? an->ra[0].run->info.ncpus : 0);
	if (rs->note)
		fprintf(f, "  note: %s\n", rs->note);
	fputc('\n', f);
	for (i = 0; i < an->n; i++) {
		const struct mpx_run_analysis *ra = &an->ra[i];

		if (an->have_expl && (int)i != ex->a && (int)i != ex->b)
			continue;
		fprintf(f, "  %-8s %8.2f ms  %s\n", mpx_mode_name(ra->run->mode),
			ms((int64_t)(ra->end - ra->begin)),
			ra->run->info.interrupted ? "until interrupted (partial: no last result)" :
			"first start to last result (as the post times it)");
		fprintf(f, "      ");
		phases_line(ra, f);
		fprintf(f, "      memory: tree peak %.1f MiB RSS (%.1f MiB if fork-shared pages "
			"count once)\n", (double)ra->footprint_peak / 256.0,
			(double)ra->footprint_cow_peak / 256.0);
	}
	if (w->mode == MPX_MODE_BOTH && !an->have_expl && an->n == 1)
		fprintf(f, "  %-8s not run%s\n",
			mpx_mode_name(an->ra[0].run->mode == MPX_MODE_POOL ? MPX_MODE_PROCESS :
				      MPX_MODE_POOL), an->ra[0].run->info.interrupted ?
			": mpxtrace was interrupted before it" : "");
	if (an->have_expl && (ex->nruns[0] > 1 || ex->nruns[1] > 1))
		for (k = 0; k < 2; k++)
			fprintf(f, "  %s over %d runs: median %.2f ms, min %.2f, max %.2f\n",
				k ? "pool" : "process", ex->nruns[k], ms((int64_t)ex->med_ns[k]),
				ms((int64_t)ex->min_ns[k]), ms((int64_t)ex->max_ns[k]));
	if (!an->have_expl)
		return;

	fputs("\nWhy:\n", f);
	for (k = 0; k < ex->nsentences; k++) {
		char lead[16];

		snprintf(lead, sizeof(lead), "  %d. ", k + 1);
		output__wrap(f, lead, 5, ex->sentence[k]);
	}

	fprintf(f, "\nWhere the %+.2f ms come from (critical path, pool minus process):\n",
		ms(ex->delta_ns));
	fprintf(f, "  %9s  %-10s  %-14s  %-13s %8s %8s\n", "delta ms", "phase", "role",
		"state", "process", "pool");
	for (k = 0; k < ex->ncontrib && k < 10; k++) {
		const struct mpx_contrib *c = &ex->contrib[k];

		fprintf(f, "  %+9.2f  %-10s  %-14s  %-13s %8.2f %8.2f\n", ms(c->ns),
			mpx_phase_class_name(c->phase), mpx_role_class_name(c->role),
			mpx_bucket_name(c->bucket), ms(c->a_ns), ms(c->b_ns));
	}
	{
		int64_t rest = ex->contrib_rest_ns;

		for (; k < ex->ncontrib; k++)
			rest += ex->contrib[k].ns;
		fprintf(f, "  %+9.2f  (everything else)\n", ms(rest));
	}

	fputs("\nThe post's claims, against this run:\n", f);
	for (k = 0; k < MPX_NCLAIMS; k++) {
		const struct mpx_claim *c = &ex->claims[k];

		char lead[16], buf[1024];

		snprintf(lead, sizeof(lead), "  %d. ", k + 1);
		snprintf(buf, sizeof(buf), "\"%s\": %s. %c%s.", c->claim,
			 mpx_verdict_name(c->verdict), toupper((unsigned char)c->evidence[0]),
			 c->evidence + 1);
		output__wrap(f, lead, 5, buf);
		snprintf(buf, sizeof(buf), "test with: mpxtrace %s", c->test_with);
		output__wrap(f, "     ", 5, buf);
	}
}

void output__text(const struct mpx_analysis *an, FILE *f, bool wide)
{
	const struct mpx_runset *rs = an->rs;
	size_t i;

	if (rs->builtin)
		summary(an, f);
	for (i = 0; i < an->n; i++) {
		const struct mpx_run_analysis *ra = &an->ra[i];

		if (rs->builtin && an->have_expl && (int)i != an->ex.a && (int)i != an->ex.b)
			continue;
		if (rs->builtin)
			fprintf(f, "\n==== %s run %d ====================================="
				"=====================\n", mpx_mode_name(ra->run->mode),
				ra->run->repeat + 1);
		report__text(&ra->rep, f, wide, role_of, ra);
		fputc('\n', f);
		pyreport__text(ra, f);
		if (rs->builtin || ra->py_phases)
			cp_text(ra, f);
	}
}

/* ---- JSON ------------------------------------------------------------- */

static void phase_json(struct json_writer *w, const struct mpx_phase *p)
{
	jw_start_object(w);
	jw_kv_string(w, "name", p->name);
	jw_kv_string(w, "class", mpx_phase_class_name(p->cls));
	jw_kv_u64(w, "start_ns", p->start);
	jw_kv_u64(w, "end_ns", p->end);
	jw_kv_u64(w, "duration_ns", p->end - p->start);
	pyreport__phase_json(p, w);
	jw_end_object(w);
}

#define MPX_JSON_CP_MAX 10000

static void run_json(struct json_writer *w, const struct mpx_run_analysis *ra,
		     const struct mpx_runset *rs)
{
	const struct mpx_model *m = &ra->run->m;
	size_t i, shown;
	uint64_t cut;
	int p;

	jw_kv_string(w, "mode", mpx_mode_name(ra->run->mode));
	if (m->summary) {
		/* Totals only: no phases, critical path or facts to give. */
		report__json_fields(&ra->rep, w, role_of, ra);
		return;
	}
	if (rs->builtin) {
		jw_kv_string(w, "runtime", rs->work.runtime == MPX_RT_NATIVE ? "native" : "python");
		jw_kv_u64(w, "repeat", (uint64_t)ra->run->repeat);
	}
	jw_kv_bool(w, "markers", ra->markers);
	jw_kv_u64(w, "footprint_peak_bytes", ra->footprint_peak * 4096);
	jw_kv_u64(w, "begin_ns", ra->begin);
	jw_kv_u64(w, "end_ns", ra->end);
	jw_kv_u64(w, "measured_ns", ra->end - ra->begin);
	jw_key(w, "phases");
	jw_start_array(w);
	for (p = 0; p < ra->nph; p++)
		phase_json(w, &ra->ph[p]);
	jw_end_array(w);
	if (ra->markers) {
		jw_key(w, "teardown");
		phase_json(w, &ra->teardown);
	}
	/* A long command run has a segment per switch: past MPX_JSON_CP_MAX,
	 * the longest ones (the totals below still cover every segment). */
	cut = 0;
	if (ra->cp.n > MPX_JSON_CP_MAX) {
		uint64_t *d = malloc(ra->cp.n * sizeof(*d));

		if (d) {
			for (i = 0; i < ra->cp.n; i++)
				d[i] = ra->cp.seg[i].end - ra->cp.seg[i].start;
			cut = mpx_kth_largest_u64(d, ra->cp.n, MPX_JSON_CP_MAX);
			free(d);
		}
	}
	jw_kv_u64(w, "critical_path_segments", ra->cp.n);
	jw_kv_bool(w, "critical_path_truncated", cut > 0);
	jw_key(w, "critical_path");
	jw_start_array(w);
	for (i = 0, shown = 0; i < ra->cp.n; i++) {
		const struct mpx_cp_seg *s = &ra->cp.seg[i];
		const char *r;

		if (cut && (s->end - s->start < cut || shown >= MPX_JSON_CP_MAX))
			continue;
		shown++;
		r = analysis__seg_reason(ra, s);
		jw_start_object(w);
		jw_kv_u64(w, "tid", m->tasks[s->task].tid);
		jw_kv_string(w, "role", ra->roles[s->task].name);
		jw_kv_string(w, "kind", critpath__kind_name(s->kind));
		jw_kv_string(w, "bucket", mpx_bucket_name(critpath__bucket(s)));
		jw_kv_u64(w, "start_ns", s->start);
		jw_kv_u64(w, "end_ns", s->end);
		jw_kv_u64(w, "duration_ns", s->end - s->start);
		if (s->kind == MPX_CP_WAIT && r)
			jw_kv_string(w, "reason", r);
		if (s->via_tid)
			jw_kv_u64(w, "via_tid", s->via_tid);
		if (ra->cp_gil_waiter && ra->cp_gil_waiter[i])
			jw_kv_u64(w, "gil_waiter_tid", ra->cp_gil_waiter[i]);
		jw_end_object(w);
	}
	jw_end_array(w);
	jw_key(w, "critical_path_totals");
	jw_start_array(w);
	for (i = 0; i < ra->ncpt; i++) {
		const struct mpx_cp_total *t = &ra->cpt[i];

		jw_start_object(w);
		jw_kv_string(w, "phase", mpx_phase_class_name(t->phase));
		jw_kv_string(w, "role", mpx_role_class_name(t->role));
		jw_kv_string(w, "bucket", mpx_bucket_name(t->bucket));
		if (t->reason)
			jw_kv_string(w, "reason", t->reason);
		jw_kv_s64(w, "ns", t->ns);
		jw_end_object(w);
	}
	jw_end_array(w);
	jw_key(w, "facts");
	jw_start_object(w);
	jw_kv_u64(w, "task_processes", ra->ntask_procs);
	jw_kv_u64(w, "helper_threads", ra->nhelpers);
	jw_kv_u64(w, "peak_task_processes", ra->peak_task_procs);
	jw_kv_u64(w, "peak_blocked_tasks", ra->peak_blocked_tasks);
	jw_kv_u64(w, "peak_runnable", ra->peak_runnable);
	jw_kv_u64(w, "runq_total_ns", ra->runq_total_ns);
	jw_kv_u64(w, "main_cpu_before_first_fork_ns", ra->main_cpu_before_fork_ns);
	jw_kv_u64(w, "task_oncpu_ns", ra->task_oncpu_ns);
	jw_kv_u64(w, "task_blocked_ns", ra->task_blocked_ns);
	jw_kv_u64(w, "task_blockio_ns", ra->task_io_ns);
	jw_kv_u64(w, "others_oncpu_while_tasks_blocked_ns",
		  ra->others_oncpu_while_tasks_blocked_ns);
	jw_kv_u64(w, "footprint_peak_bytes", ra->footprint_peak * 4096);
	jw_kv_u64(w, "footprint_cow_peak_bytes", ra->footprint_cow_peak * 4096);
	jw_kv_u64(w, "task_rss_peak_bytes", ra->task_rss_peak * 4096);
	jw_kv_u64(w, "fork_order_violations", ra->fork_order_violations);
	jw_kv_u64(w, "task_preemptions", ra->task_preemptions);
	if (ra->setup_top_import[0][0]) {
		jw_kv_u64(w, "setup_import_ns", ra->setup_import_ns);
		jw_kv_u64(w, "setup_before_fork_ns", ra->setup_before_fork_ns);
		jw_kv_u64(w, "setup_fork_ns", ra->setup_fork_ns);
		jw_kv_u64(w, "setup_threads_ns", ra->setup_threads_ns);
		jw_kv_string(w, "setup_longest_import", ra->setup_top_import[0]);
		jw_kv_u64(w, "setup_longest_import_ns", ra->setup_top_import_ns[0]);
	}
	jw_kv_u64(w, "critical_path_gil_wait_ns", ra->cp_gil_ns);
	jw_kv_u64(w, "critical_path_gil_holder_ns", ra->cp_gil_holder_ns);
	pyreport__facts_json(ra, w);
	jw_end_object(w);
	pyreport__run_json(ra, w);
	{
		struct mpx_report rep = ra->rep;	/* + each task's Python keys */

		rep.task_json = pyreport__task_json;
		rep.task_json_ctx = ra;
		report__json_fields(&rep, w, role_of, ra);
	}
}

static void explanation_json(struct json_writer *w, const struct mpx_analysis *an)
{
	const struct mpx_explanation *ex = &an->ex;
	int k;

	jw_key(w, "explanation");
	jw_start_object(w);
	jw_kv_u64(w, "process_run", (uint64_t)ex->a);
	jw_kv_u64(w, "pool_run", (uint64_t)ex->b);
	jw_kv_s64(w, "delta_ns", ex->delta_ns);
	jw_key(w, "contributions");
	jw_start_array(w);
	for (k = 0; k < ex->ncontrib; k++) {
		const struct mpx_contrib *c = &ex->contrib[k];

		jw_start_object(w);
		jw_kv_string(w, "phase", mpx_phase_class_name(c->phase));
		jw_kv_string(w, "role", mpx_role_class_name(c->role));
		jw_kv_string(w, "bucket", mpx_bucket_name(c->bucket));
		jw_kv_s64(w, "ns", c->ns);
		jw_kv_s64(w, "process_ns", c->a_ns);
		jw_kv_s64(w, "pool_ns", c->b_ns);
		jw_end_object(w);
	}
	jw_end_array(w);
	jw_kv_s64(w, "contributions_rest_ns", ex->contrib_rest_ns);
	jw_key(w, "sentences");
	jw_start_array(w);
	for (k = 0; k < ex->nsentences; k++)
		jw_string(w, ex->sentence[k]);
	jw_end_array(w);
	jw_key(w, "claims");
	jw_start_array(w);
	for (k = 0; k < MPX_NCLAIMS; k++) {
		jw_start_object(w);
		jw_kv_string(w, "claim", ex->claims[k].claim);
		jw_kv_string(w, "verdict", mpx_verdict_name(ex->claims[k].verdict));
		jw_kv_string(w, "evidence", ex->claims[k].evidence);
		jw_kv_string(w, "test_with", ex->claims[k].test_with);
		jw_end_object(w);
	}
	jw_end_array(w);
	jw_key(w, "spread");
	jw_start_object(w);
	for (k = 0; k < 2; k++) {
		jw_key(w, k ? "pool" : "process");
		jw_start_object(w);
		jw_kv_u64(w, "runs", (uint64_t)ex->nruns[k]);
		jw_kv_u64(w, "median_ns", ex->med_ns[k]);
		jw_kv_u64(w, "min_ns", ex->min_ns[k]);
		jw_kv_u64(w, "max_ns", ex->max_ns[k]);
		jw_end_object(w);
	}
	jw_end_object(w);
	jw_end_object(w);
}

void output__json(const struct mpx_analysis *an, FILE *f)
{
	const struct mpx_runset *rs = an->rs;
	const struct mpx_workload_opts *wo = &rs->work;
	struct json_writer *w = jw_new(f, isatty(fileno(f)));
	size_t i;

	if (!w)
		return;
	jw_start_object(w);
	if (!rs->builtin && an->n == 1) {
		/* A command: the run's keys at the top. */
		run_json(w, &an->ra[0], rs);
	} else {
		jw_key(w, "workload");
		jw_start_object(w);
		jw_kv_string(w, "runtime", wo->runtime == MPX_RT_NATIVE ? "native" : "python");
		jw_kv_u64(w, "tasks", wo->tasks);
		if (wo->workers) {
			jw_kv_u64(w, "workers", wo->workers);
		} else {
			/* Pool()'s default: the workers the pool run forked. */
			uint32_t nw = 0;
			size_t r;

			for (r = 0; r < an->n; r++)
				if (an->ra[r].run->mode == MPX_MODE_POOL && an->ra[r].ntask_procs > nw)
					nw = an->ra[r].ntask_procs;
			if (nw)
				jw_kv_u64(w, "workers", nw);
			jw_kv_bool(w, "workers_default", true);
		}
		jw_kv_string(w, "task", wo->kind ? wo->kind : "");
		jw_kv_u64(w, "task_bytes", wo->bytes);
		jw_kv_u64(w, "task_ms", wo->ms);
		jw_kv_string(w, "start_method", wo->start_method ? wo->start_method : "");
		jw_kv_u64(w, "repeat", wo->repeat);
		if (rs->note)
			jw_kv_string(w, "note", rs->note);
		jw_end_object(w);
		jw_key(w, "runs");
		jw_start_array(w);
		for (i = 0; i < an->n; i++) {
			jw_start_object(w);
			run_json(w, &an->ra[i], rs);
			jw_end_object(w);
		}
		jw_end_array(w);
		if (an->have_expl)
			explanation_json(w, an);
	}
	jw_end_object(w);
	fputc('\n', f);
	jw_free(w);
}
