// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdlib.h>
#include <string.h>

#include "pyreport.h"
#include "output.h"

#define PY_TEXT_TASKS	12	/* tasks shown in the text section */
#define PY_TEXT_ITEMS	3	/* imports / phase marks per task */

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static bool active(const struct mpx_pytask *t)
{
	return t->nimports || t->ngc || t->naudit || t->ngil || t->ncalls;
}

void pyreport__probes(const struct mpx_pyspans *py, char *buf, size_t sz)
{
	const uint32_t usdt = MPX_PYP_IMPORT | MPX_PYP_GC | MPX_PYP_AUDIT;
	size_t len;

	buf[0] = '\0';
	if (!py->probes_known)
		return;
	len = (size_t)snprintf(buf, sz, "%s: ", py->binary[0] ? py->binary : "?");
	if ((py->attached & usdt) == usdt)
		len += (size_t)snprintf(buf + len, sz > len ? sz - len : 0,
					"imports, GC, audit events");
	else if (py->attached & usdt)
		len += (size_t)snprintf(buf + len, sz > len ? sz - len : 0, "%s%s%s",
					py->attached & MPX_PYP_IMPORT ? "imports " : "",
					py->attached & MPX_PYP_GC ? "GC " : "",
					py->attached & MPX_PYP_AUDIT ? "audit events" : "");
	else
		len += (size_t)snprintf(buf + len, sz > len ? sz - len : 0,
					"no USDT probes (no imports, GC or audit events)");
	if (py->attached & MPX_PYP_FUNC)
		len += (size_t)snprintf(buf + len, sz > len ? sz - len : 0, ", calls");
	else if (py->missing & MPX_PYP_FUNC)
		len += (size_t)snprintf(buf + len, sz > len ? sz - len : 0, ", no calls");
	if (py->attached & MPX_PYP_GIL_TAKE)
		snprintf(buf + len, sz > len ? sz - len : 0, ", GIL waits");
	else if (py->attached & MPX_PYP_GIL_RESTORE)
		snprintf(buf + len, sz > len ? sz - len : 0, ", GIL waits after blocking "
			 "calls only (no take_gil symbol)");
	else
		snprintf(buf + len, sz > len ? sz - len : 0, ", no GIL waits");
}

/* The task's n longest outermost imports, longest first. */
static size_t top_imports(const struct mpx_pyspans *py, size_t task,
			  const struct mpx_pyspan **out, size_t n)
{
	size_t i, k, got = 0;

	for (i = 0; i < py->n[MPX_PS_IMPORT]; i++) {
		const struct mpx_pyspan *s = &py->s[MPX_PS_IMPORT][i];

		if (s->task != task || s->depth)
			continue;
		for (k = got < n ? got++ : n; k > 0; k--) {
			const struct mpx_pyspan *o = out[k - 1];

			if (o->end - o->start >= s->end - s->start)
				break;
			if (k < n)
				out[k] = o;
		}
		if (k < n)
			out[k] = s;
	}
	return got;
}

#define ADD(...) (len += (size_t)snprintf(buf + len, len < sizeof(buf) ? \
					  sizeof(buf) - len : 0, __VA_ARGS__))

/* The task's line, if it has anything worth a line (false: nothing printed). */
static bool task_text(const struct mpx_run_analysis *ra, size_t i, FILE *f)
{
	const struct mpx_pyspans *py = &ra->py;
	const struct mpx_pytask *t = &py->task[i];
	const struct mpx_pyspan *top[PY_TEXT_ITEMS];
	char buf[1024], lead[40];
	size_t n, k, j, len = 0, marks = 0;
	uint64_t gc_max = 0;
	int gc_gen = -1;

	buf[0] = '\0';
	if (t->nimports)
		ADD("%u imports, %.2f ms;", t->nimports, ms((int64_t)t->import_ns));
	if (t->ngc) {
		for (k = 0; k < py->n[MPX_PS_GC]; k++) {
			const struct mpx_pyspan *s = &py->s[MPX_PS_GC][k];

			if (s->task == i && s->end - s->start >= gc_max) {
				gc_max = s->end - s->start;
				gc_gen = s->val;
			}
		}
		ADD(" GC %u pauses, %.2f ms (longest %.2f, generation %d);", t->ngc,
		    ms((int64_t)t->gc_ns), ms((int64_t)gc_max), gc_gen);
	}
	if (t->ngil)
		ADD(" GIL wait %.2f ms in %u, longest %.2f;", ms((int64_t)t->gil_ns), t->ngil,
		    ms((int64_t)t->gil_max_ns));
	if (t->futex_gil_ns >= 10000 || t->futex_other_ns >= 10000)
		ADD(" futex sleep %.2f ms in GIL waits, %.2f ms other;",
		    ms((int64_t)t->futex_gil_ns), ms((int64_t)t->futex_other_ns));
	if (t->ncalls)
		ADD(" %u calls recorded;", t->ncalls);
	n = top_imports(py, i, top, PY_TEXT_ITEMS);
	for (k = 0; k < n; k++)
		ADD("%s %.40s %.2f ms (own %.2f)%s", k ? "" : " longest imports:", top[k]->name,
		    ms((int64_t)(top[k]->end - top[k]->start)), ms((int64_t)top[k]->excl_ns),
		    k + 1 == n ? ";" : ",");
	for (j = 0; j < py->naudit && marks <= PY_TEXT_ITEMS * 2; j++) {
		const struct mpx_pyaudit *a = &py->audit[j];

		if (a->task != i || !pyspans__audit_is_phase(a->name))
			continue;
		if (marks == PY_TEXT_ITEMS * 2)
			ADD(" ...");
		else
			ADD("%s %.24s at %+.2f ms", marks ? "," : " audit:", a->name,
			    ms((int64_t)a->ts - (int64_t)ra->begin));
		marks++;
	}
	if (len && buf[len - 1] == ';')
		buf[len - 1] = '\0';
	if (!buf[0])
		return false;
	snprintf(lead, sizeof(lead), "  %-14.14s %7u ", ra->roles[i].name,
		 ra->run->m.tasks[i].tid);
	output__wrap(f, lead, 6, buf[0] == ' ' ? buf + 1 : buf);
	return true;
}
#undef ADD

/* A Python command's phases and explanation, like the built-in runs'. */
static void phases_text(const struct mpx_run_analysis *ra, FILE *f)
{
	const struct mpx_task *mt = &ra->run->m.tasks[ra->pp.task];
	char lead[24];
	int p;

	fprintf(f, "  phases of %s (pid %u) from its Python spans, %.2f ms:\n", mt->comm,
		mt->pid, ms((int64_t)(ra->end - ra->begin)));
	for (p = 0; p < ra->nph; p++) {
		const struct mpx_phase *ph = &ra->ph[p];
		char head[64], rest[160] = "";
		int n = 0;

		snprintf(head, sizeof(head), "    %-10s %+9.2f %8.2f ms", ph->name,
			 ms((int64_t)(ph->start - ra->begin)), ms((int64_t)(ph->end - ph->start)));
		if (ph->nstarts)
			n = snprintf(rest, sizeof(rest), " %u start%s%s", ph->nstarts,
				     ph->nstarts == 1 ? "" : "s", ph->import_ns ? ";" : "");
		if (ph->import_ns && n >= 0 && (size_t)n < sizeof(rest))
			snprintf(rest + n, sizeof(rest) - (size_t)n,
				 " imports %.2f ms, longest %.36s %.2f", ms((int64_t)ph->import_ns),
				 ph->top_import, ms((int64_t)ph->top_import_ns));
		/* Past 80 columns the rest goes under it, whole. */
		if (strlen(head) + strlen(rest) > 79)
			fprintf(f, "%s\n       %s\n", head, rest);
		else
			fprintf(f, "%s%s\n", head, rest);
	}
	if (ra->pp.folded)
		fprintf(f, "    (%u phases folded into the last script phase)\n", ra->pp.folded);
	fputs("  Why:\n", f);
	for (p = 0; p < ra->npy_sentences; p++) {
		snprintf(lead, sizeof(lead), "    %d. ", p + 1);
		output__wrap(f, lead, 7, ra->py_sentence[p]);
	}
}

void pyreport__text(const struct mpx_run_analysis *ra, FILE *f)
{
	const struct mpx_pyspans *py = &ra->py;
	char probes[MPX_PYNAME_LEN + 200];
	size_t r, shown = 0, more = 0;

	if (!py->probes_known && !py->any)
		return;
	pyreport__probes(py, probes, sizeof(probes));
	{
		char head[sizeof(probes) + 16];

		snprintf(head, sizeof(head), "probes of %s", probes[0] ? probes : "unknown");
		output__wrap(f, "  Python,", 4, head);
	}
	for (r = 0; r < py->ninterp; r++) {
		const struct mpx_pyinterp *in = &py->interp[r];
		char line[MPX_PYNAME_LEN + 200];

		if (r && !in->late)
			snprintf(line, sizeof(line), "also %s, named in the command", in->binary);
		else if (in->late && in->exec_ns && in->ts > in->exec_ns)
			snprintf(line, sizeof(line), "probes attached to %s %.1f ms after tid %u "
				 "exec'd it: its imports and other spans before that are missing",
				 in->binary, ms((int64_t)(in->ts - in->exec_ns)), in->tid);
		else if (in->late)
			snprintf(line, sizeof(line), "probes attached to %s at %+.1f ms, when tid "
				 "%u exec'd it: its spans before that are missing", in->binary,
				 ms((int64_t)(in->ts - ra->begin)), in->tid);
		else
			continue;
		output__wrap(f, "  ", 4, line);
	}
	for (r = 0; r < ra->rep.nrows; r++) {
		size_t i = (size_t)(ra->rep.rows[r].t - ra->run->m.tasks);

		if (i >= py->ntasks || !active(&py->task[i]))
			continue;
		if (shown == PY_TEXT_TASKS) {
			more++;
			continue;
		}
		if (task_text(ra, i, f))
			shown++;
	}
	if (more)
		fprintf(f, "  ... and %zu more tasks with Python activity (-j lists them)\n",
			more);
	else if (!shown)
		fprintf(f, "  no Python activity seen\n");
	if (ra->py_phases)
		phases_text(ra, f);
	fputc('\n', f);
}

void pyreport__phase_json(const struct mpx_phase *p, struct json_writer *w)
{
	if (p->nstarts)
		jw_kv_u64(w, "starts", p->nstarts);
	if (!p->import_ns)
		return;
	jw_kv_u64(w, "import_ns", p->import_ns);
	jw_kv_string(w, "longest_import", p->top_import);
	jw_kv_u64(w, "longest_import_ns", p->top_import_ns);
}

void pyreport__facts_json(const struct mpx_run_analysis *ra, struct json_writer *w)
{
	static const char *const kind[MPX_PP_MAX] = { "fork", "subprocess", "thread" };
	const struct mpx_pyphases *pp = &ra->pp;
	char key[48];
	int k;

	if (!ra->py_phases)
		return;
	jw_kv_u64(w, "py_main_tid", ra->run->m.tasks[pp->task].tid);
	jw_kv_u64(w, "py_exec_ns", pp->exec_ns);
	if (pp->run_ns) {
		jw_kv_u64(w, "py_script_start_ns", pp->run_ns);
		jw_kv_u64(w, "py_startup_ns", pp->run_ns - pp->exec_ns);
		jw_kv_u64(w, "py_startup_import_ns", pp->startup_import_ns);
		jw_kv_u64(w, "py_startup_imports", pp->startup_nimports);
		jw_kv_string(w, "py_startup_longest_import", pp->startup_top);
		jw_kv_u64(w, "py_startup_longest_import_ns", pp->startup_top_ns);
	}
	if (pp->fin_ns)
		jw_kv_u64(w, "py_teardown_start_ns", pp->fin_ns);
	jw_kv_u64(w, "py_script_import_ns", pp->script_import_ns);
	jw_kv_u64(w, "py_script_imports", pp->script_nimports);
	jw_kv_string(w, "py_script_longest_import", pp->script_top[0]);
	jw_kv_u64(w, "py_script_longest_import_ns", pp->script_top_ns[0]);
	for (k = 0; k < MPX_PP_MAX; k++) {
		snprintf(key, sizeof(key), "py_%s_starts", kind[k]);
		jw_kv_u64(w, key, pp->nstarts[k]);
		snprintf(key, sizeof(key), "py_%s_start_ns", kind[k]);
		jw_kv_u64(w, key, pp->start_ns[k]);
	}
	jw_kv_u64(w, "py_script_gc_ns", pp->gc_ns);
	jw_kv_u64(w, "py_script_blocked_ns", pp->blocked_ns);
	jw_kv_u64(w, "py_phases_folded", pp->folded);
}

void pyreport__run_json(const struct mpx_run_analysis *ra, struct json_writer *w)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} sets[] = {
		{ MPX_PYP_IMPORT, "import" }, { MPX_PYP_GC, "gc" }, { MPX_PYP_AUDIT, "audit" },
		{ MPX_PYP_FUNC, "functions" }, { MPX_PYP_GIL_TAKE, "gil_take" },
		{ MPX_PYP_GIL_RESTORE, "gil_restore_thread" },
		{ MPX_PYP_GIL_COND, "gil_cond_wait" },
	};
	const struct mpx_pyspans *py = &ra->py;
	size_t i;
	int pass;

	if (ra->npy_sentences) {
		jw_key(w, "explanation");
		jw_start_object(w);
		jw_key(w, "sentences");
		jw_start_array(w);
		for (i = 0; i < (size_t)ra->npy_sentences; i++)
			jw_string(w, ra->py_sentence[i]);
		jw_end_array(w);
		jw_end_object(w);
	}
	if (!py->probes_known)
		return;
	jw_key(w, "python_probes");
	jw_start_object(w);
	jw_kv_string(w, "binary", py->binary);
	for (pass = 0; pass < 2; pass++) {
		jw_key(w, pass ? "unavailable" : "attached");
		jw_start_array(w);
		for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
			if ((pass ? py->missing : py->attached) & sets[i].bit)
				jw_string(w, sets[i].name);
		jw_end_array(w);
	}
	if (py->ninterp > 1 || (py->ninterp && py->interp[0].late)) {
		jw_key(w, "interpreters");
		jw_start_array(w);
		for (i = 0; i < py->ninterp; i++) {
			const struct mpx_pyinterp *in = &py->interp[i];

			jw_start_object(w);
			jw_kv_string(w, "binary", in->binary);
			jw_kv_bool(w, "late", in->late);
			jw_kv_u64(w, "attached_ns", in->ts);
			if (in->late) {
				jw_kv_u64(w, "tid", in->tid);
				jw_kv_u64(w, "exec_ns", in->exec_ns);
				jw_kv_u64(w, "after_exec_ns", in->exec_ns && in->ts > in->exec_ns ?
					  in->ts - in->exec_ns : 0);
			}
			jw_key(w, "attached");
			jw_start_array(w);
			for (pass = 0; pass < (int)(sizeof(sets) / sizeof(sets[0])); pass++)
				if (in->attached & sets[pass].bit)
					jw_string(w, sets[pass].name);
			jw_end_array(w);
			jw_end_object(w);
		}
		jw_end_array(w);
	}
	jw_end_object(w);
}

static void spans_json(struct json_writer *w, const char *key, const struct mpx_pyspans *py,
		       int kind, size_t task)
{
	size_t i;

	jw_key(w, key);
	jw_start_array(w);
	for (i = 0; i < py->n[kind]; i++) {
		const struct mpx_pyspan *s = &py->s[kind][i];

		if (s->task != task)
			continue;
		jw_start_object(w);
		if (kind == MPX_PS_IMPORT || kind == MPX_PS_CALL)
			jw_kv_string(w, kind == MPX_PS_IMPORT ? "module" : "function", s->name);
		jw_kv_u64(w, "start_ns", s->start);
		jw_kv_u64(w, "end_ns", s->end);
		jw_kv_u64(w, "duration_ns", s->end - s->start);
		switch (kind) {
		case MPX_PS_IMPORT:
		case MPX_PS_CALL:
			jw_kv_u64(w, "exclusive_ns", s->excl_ns);
			jw_kv_u64(w, "depth", s->depth);
			if (kind == MPX_PS_IMPORT)
				jw_kv_bool(w, "found", s->arg != 0);
			else
				jw_kv_s64(w, "line", s->val);
			break;
		case MPX_PS_GC:
			jw_kv_s64(w, "generation", s->val);
			jw_kv_s64(w, "collected", s->arg);
			break;
		}
		if (s->open)
			jw_kv_bool(w, "unfinished", true);
		jw_end_object(w);
	}
	jw_end_array(w);
}

void pyreport__task_json(const void *ctx, size_t task, struct json_writer *w)
{
	const struct mpx_run_analysis *ra = ctx;
	const struct mpx_pyspans *py = &ra->py;
	const struct mpx_pytask *t;
	size_t i;

	if (task >= py->ntasks || (!py->probes_known && !py->any))
		return;
	t = &py->task[task];
	spans_json(w, "py_imports", py, MPX_PS_IMPORT, task);
	spans_json(w, "py_gc", py, MPX_PS_GC, task);
	jw_key(w, "py_audit");
	jw_start_array(w);
	for (i = 0; i < py->naudit; i++) {
		if (py->audit[i].task != task)
			continue;
		jw_start_object(w);
		jw_kv_string(w, "event", py->audit[i].name);
		jw_kv_u64(w, "ts_ns", py->audit[i].ts);
		jw_end_object(w);
	}
	jw_end_array(w);
	if (py->attached & MPX_PYP_FUNC)
		spans_json(w, "py_calls", py, MPX_PS_CALL, task);
	jw_kv_u64(w, "py_import_ns", t->import_ns);
	jw_kv_u64(w, "py_gc_ns", t->gc_ns);
	jw_kv_u64(w, "gil_wait_ns", t->gil_ns);
	jw_kv_u64(w, "gil_waits", t->ngil);
	jw_kv_u64(w, "gil_wait_max_ns", t->gil_max_ns);
	jw_kv_u64(w, "futex_sleep_gil_ns", t->futex_gil_ns);
	jw_kv_u64(w, "futex_sleep_other_ns", t->futex_other_ns);
}
