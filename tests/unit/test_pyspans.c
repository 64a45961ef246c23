// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Python spans from synthetic MPX_EV_PY / MPX_EV_GIL records. */
#include <string.h>

#include "analysis.h"
#include "events_builder.h"
#include "pyspans.h"
#include "run.h"
#include "testlib.h"

#define ROOT 100
#define THR 101

static struct mpx_py mk_py(uint64_t ts, uint32_t tid, uint32_t kind, const char *name,
			   int32_t val, uint64_t arg)
{
	struct mpx_py e = {
		.hdr = mk_hdr(MPX_EV_PY, sizeof(struct mpx_py), ts, 0),
		.arg = arg, .tid = tid, .pid = ROOT, .kind = kind, .val = val,
	};

	if (name)
		mk_name(e.name, sizeof(e.name), name);
	return e;
}

static struct mpx_gil mk_gil(uint64_t start, uint64_t end, uint32_t tid)
{
	return (struct mpx_gil){
		.hdr = mk_hdr(MPX_EV_GIL, sizeof(struct mpx_gil), end, 0),
		.start_ns = start, .tid = tid, .pid = ROOT,
	};
}

static void imp(struct scn *s, uint64_t ts, uint32_t tid, const char *name, bool done)
{
	SCN_ADD(s, mk_py(ts, tid, done ? MPX_PY_IMPORT_DONE : MPX_PY_IMPORT_START, name,
			 done, 0));
}

/* A model with the root seeded at 500 and the events of s applied. */
static void build(struct scn *s, struct mpx_model *m, struct mpx_pyspans *ps, uint64_t end)
{
	model__init(m);
	model__seed_root(m, ROOT, ROOT, 1, "python3", 500, NULL);
	scn__apply(s, m);
	model__finish(m, end);
	ASSERT_EQ(pyspans__build(ps, &s->eb, m), 0);
}

static const struct mpx_pyspan *find(const struct mpx_pyspans *ps, int kind, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n[kind]; i++)
		if (!strcmp(ps->s[kind][i].name, name))
			return &ps->s[kind][i];
	ASSERT_TRUE(!"span not found");
	return NULL;
}

TEST(pyspans_nested_imports_inclusive_and_exclusive)
{
	const struct mpx_pyspan *a, *b, *c;
	struct mpx_pyspans ps;
	struct mpx_model m;
	struct scn s;

	scn__init(&s);
	imp(&s, 1000, ROOT, "multiprocessing.pool", false);
	imp(&s, 2000, ROOT, "queue", false);
	imp(&s, 5000, ROOT, "queue", true);
	imp(&s, 6000, ROOT, "multiprocessing.connection", false);
	imp(&s, 6500, ROOT, "struct", false);
	imp(&s, 6700, ROOT, "struct", true);
	imp(&s, 7000, ROOT, "multiprocessing.connection", true);
	imp(&s, 10000, ROOT, "multiprocessing.pool", true);
	imp(&s, 12000, ROOT, "json", false);
	imp(&s, 12500, ROOT, "json", true);
	build(&s, &m, &ps, 20000);

	a = find(&ps, MPX_PS_IMPORT, "multiprocessing.pool");
	b = find(&ps, MPX_PS_IMPORT, "queue");
	c = find(&ps, MPX_PS_IMPORT, "multiprocessing.connection");
	if (a && b && c) {
		ASSERT_EQ(a->end - a->start, 9000);
		ASSERT_EQ(a->excl_ns, 9000 - 3000 - 1000);
		ASSERT_EQ(a->depth, 0);
		ASSERT_EQ(b->excl_ns, 3000);
		ASSERT_EQ(b->depth, 1);
		ASSERT_EQ(c->excl_ns, 1000 - 200);
		ASSERT_EQ(find(&ps, MPX_PS_IMPORT, "struct")->depth, 2);
		ASSERT_FALSE(a->open);
		ASSERT_EQ(a->arg, 1);
	}
	ASSERT_EQ(ps.task[0].nimports, 5);
	/* Outermost only: nested time is not counted twice. */
	ASSERT_EQ(ps.task[0].import_ns, 9000 + 500);
	ASSERT_EQ(pyspans__import_in(&ps, 0, 0, 11000, &a), 9000);
	ASSERT_STREQ(a ? a->name : "", "multiprocessing.pool");
	ASSERT_EQ(pyspans__import_in(&ps, 0, 9000, 12250, NULL), 1000 + 250);
	pyspans__free(&ps);
	model__free(&m);
	scn__free(&s);
}

TEST(pyspans_unwound_import_closes_with_its_parent)
{
	const struct mpx_pyspan *a, *b;
	struct mpx_pyspans ps;
	struct mpx_model m;
	struct scn s;

	scn__init(&s);
	imp(&s, 1000, ROOT, "pkg", false);
	imp(&s, 2000, ROOT, "pkg.missing", false);	/* raised: no done */
	imp(&s, 4000, ROOT, "pkg", true);
	imp(&s, 4500, ROOT, "never_started", true);	/* inherited over fork */
	imp(&s, 5000, ROOT, "tail", false);		/* open at the end */
	build(&s, &m, &ps, 8000);

	a = find(&ps, MPX_PS_IMPORT, "pkg");
	b = find(&ps, MPX_PS_IMPORT, "pkg.missing");
	if (a && b) {
		ASSERT_EQ(b->end, 4000);
		ASSERT_TRUE(b->open);
		ASSERT_EQ(a->excl_ns, 3000 - 2000);
		ASSERT_FALSE(a->open);
	}
	ASSERT_EQ(ps.n[MPX_PS_IMPORT], 3);
	b = find(&ps, MPX_PS_IMPORT, "tail");
	if (b) {
		ASSERT_TRUE(b->open);
		ASSERT_EQ(b->end, m.tasks[0].end_ns);
	}
	pyspans__free(&ps);
	model__free(&m);
	scn__free(&s);
}

TEST(pyspans_gc_audit_and_probe_record)
{
	const struct mpx_pyspan *g;
	struct mpx_pyspans ps;
	struct mpx_model m;
	struct scn s;

	scn__init(&s);
	SCN_ADD(&s, mk_py(500, ROOT, MPX_PY_PROBES, "/usr/bin/python3", MPX_PYP_GIL_TAKE,
			  MPX_PYP_IMPORT | MPX_PYP_GC | MPX_PYP_AUDIT | MPX_PYP_GIL_RESTORE));
	SCN_ADD(&s, mk_py(1000, ROOT, MPX_PY_GC_START, NULL, 2, 0));
	SCN_ADD(&s, mk_py(1800, ROOT, MPX_PY_GC_DONE, NULL, 0, 1150));
	SCN_ADD(&s, mk_py(2000, ROOT, MPX_PY_GC_START, NULL, 0, 0));
	SCN_ADD(&s, mk_py(2100, ROOT, MPX_PY_GC_DONE, NULL, 0, 3));
	SCN_ADD(&s, mk_py(3000, ROOT, MPX_PY_AUDIT, "os.fork", 0, 0));
	SCN_ADD(&s, mk_py(3100, ROOT, MPX_PY_AUDIT, "open", 0, 0));
	SCN_ADD(&s, mk_py(3200, 999, MPX_PY_AUDIT, "open", 0, 0));	/* unknown task */
	build(&s, &m, &ps, 5000);

	ASSERT_TRUE(ps.probes_known);
	ASSERT_EQ(ps.attached, MPX_PYP_IMPORT | MPX_PYP_GC | MPX_PYP_AUDIT | MPX_PYP_GIL_RESTORE);
	ASSERT_EQ(ps.missing, MPX_PYP_GIL_TAKE);
	ASSERT_STREQ(ps.binary, "/usr/bin/python3");
	ASSERT_EQ(ps.n[MPX_PS_GC], 2);
	g = &ps.s[MPX_PS_GC][0];
	ASSERT_EQ(g->val, 2);
	ASSERT_EQ(g->arg, 1150);
	ASSERT_EQ(g->end - g->start, 800);
	ASSERT_EQ(ps.task[0].gc_ns, 900);
	ASSERT_EQ(ps.naudit, 2);
	ASSERT_EQ(ps.task[0].naudit, 2);
	ASSERT_TRUE(pyspans__audit_is_phase(ps.audit[0].name));
	ASSERT_FALSE(pyspans__audit_is_phase(ps.audit[1].name));
	pyspans__free(&ps);
	model__free(&m);
	scn__free(&s);
}

TEST(pyspans_gil_waits_split_futex_sleep)
{
	struct mpx_switch sw;
	struct mpx_pyspans ps;
	struct mpx_model m;
	struct scn s;
	size_t t;

	scn__init(&s);
	scn__fork(&s, 1000, ROOT, THR, MPX_FORK_THREAD, "python3");
	scn__wakeup_new(&s, 1000, THR);
	scn__in(&s, 1000, THR);
	/* Sleeps 2000..6000 in a futex, inside a GIL wait 1500..6500. */
	sw = mk_switch(2000, 0, THR, ROOT, MPX_TASK_INTERRUPTIBLE, kc(1000, 0, 1), 0, 0);
	sw.stack_id = 7;
	SCN_ADD(&s, sw);
	scn__wakeup(&s, 6000, THR);
	scn__in(&s, 6000, THR);
	/* Sleeps 7000..9000 in a futex outside any GIL wait. */
	sw = mk_switch(7000, 0, THR, ROOT, MPX_TASK_INTERRUPTIBLE, kc(2000, 0, 2), 0, 0);
	sw.stack_id = 7;
	SCN_ADD(&s, sw);
	scn__wakeup(&s, 9000, THR);
	scn__in(&s, 9000, THR);
	scn__out(&s, 10000, THR, MPX_TASK_DEAD, kc(3000, 0, 3));
	SCN_ADD(&s, mk_gil(1500, 6500, THR));
	SCN_ADD(&s, mk_gil(9200, 9300, THR));
	scn__fork(&s, 1200, ROOT, 300, 0, "python3");
	scn__wakeup_new(&s, 1200, 300);
	SCN_ADD(&s, mk_gil(1300, 1900, 300));
	model__init(&m);
	model__seed_root(&m, ROOT, ROOT, 1, "python3", 500, NULL);
	reasons__add(&m.reasons, 7, "futex_wait in futex()");
	scn__apply(&s, &m);
	model__finish(&m, 20000);
	ASSERT_EQ(pyspans__build(&ps, &s.eb, &m), 0);

	t = (size_t)(model__find(&m, THR) - m.tasks);
	ASSERT_EQ(ps.n[MPX_PS_GIL], 2);
	ASSERT_EQ(ps.task[t].ngil, 2);
	ASSERT_EQ(ps.task[t].gil_ns, 5000 + 100);
	ASSERT_EQ(ps.task[t].gil_max_ns, 5000);
	ASSERT_EQ(ps.task[t].futex_gil_ns, 4000);
	ASSERT_EQ(ps.task[t].futex_other_ns, 2000);
	ASSERT_EQ(pyspans__gil_in(&ps, (uint32_t)t, 6000, 9250), 500 + 50);
	ASSERT_EQ(ps.task[0].gil_ns, 0);
	/* A process of one thread waits for no GIL: its take is CPU wait. */
	t = (size_t)(model__find(&m, 300) - m.tasks);
	ASSERT_EQ(ps.task[t].ngil, 0);
	pyspans__free(&ps);
	model__free(&m);
	scn__free(&s);
}

/* Thousands of rounds of a GIL wait holding one futex sleep, then a futex
 * sleep outside any GIL wait: each sleep split by its own round's wait. */
TEST(pyspans_futex_split_many_rounds)
{
	enum { N = 3000 };
	uint64_t exec = 0, b;
	struct mpx_switch sw;
	struct mpx_pyspans ps;
	struct mpx_model m;
	struct scn s;
	uint32_t pc = 1;
	size_t t, k;

	scn__init(&s);
	scn__fork(&s, 1000, ROOT, THR, MPX_FORK_THREAD, "python3");
	scn__wakeup_new(&s, 1000, THR);
	scn__in(&s, 1000, THR);
	for (k = 0, b = 2000; k < N; k++, b += 100) {
		/* On CPU from the last switch-in (b - 10, or 1000) to b + 20. */
		exec += k ? 30 : 1020;
		sw = mk_switch(b + 20, 0, THR, ROOT, MPX_TASK_INTERRUPTIBLE,
			       kc(exec, 0, pc), 0, 0);
		sw.stack_id = 7;
		SCN_ADD(&s, sw);
		scn__wakeup(&s, b + 50, THR);
		scn__in(&s, b + 50, THR);
		pc++;
		exec += 20;
		sw = mk_switch(b + 70, 0, THR, ROOT, MPX_TASK_INTERRUPTIBLE,
			       kc(exec, 0, pc), 0, 0);
		sw.stack_id = 7;
		SCN_ADD(&s, sw);
		scn__wakeup(&s, b + 90, THR);
		scn__in(&s, b + 90, THR);
		pc++;
		SCN_ADD(&s, mk_gil(b + 10, b + 60, THR));
	}
	scn__out(&s, b + 20, THR, MPX_TASK_DEAD, kc(exec + 30, 0, pc));
	model__init(&m);
	model__seed_root(&m, ROOT, ROOT, 1, "python3", 500, NULL);
	reasons__add(&m.reasons, 7, "futex_wait in futex()");
	scn__apply(&s, &m);
	model__finish(&m, b + 1000);
	ASSERT_EQ(pyspans__build(&ps, &s.eb, &m), 0);

	t = (size_t)(model__find(&m, THR) - m.tasks);
	ASSERT_EQ(ps.task[t].ngil, N);
	ASSERT_EQ(ps.task[t].gil_ns, N * 50);
	ASSERT_EQ(ps.task[t].futex_gil_ns, N * 30);
	ASSERT_EQ(ps.task[t].futex_other_ns, N * 20);
	pyspans__free(&ps);
	model__free(&m);
	scn__free(&s);
}

static void audit(struct scn *s, uint64_t ts, const char *name)
{
	SCN_ADD(s, mk_py(ts, ROOT, MPX_PY_AUDIT, name, 0, 0));
}

/*
 * A Python command's phases from its spans: start-up up to cpython.run_file,
 * the script, two forks in a row (each from its os.fork audit), a thread
 * start to the end of its handshake, the exit from the interpreter's clear.
 */
TEST(pyspans_command_phases)
{
	static const struct {
		const char *name;
		uint64_t start, end;
		uint32_t starts;
	} want[] = {
		{ "startup", 500, 10000, 0 }, { "script", 10000, 20000, 0 },
		{ "fork", 20000, 21500, 2 }, { "script", 21500, 30000, 0 },
		{ "threads", 30000, 31000, 1 }, { "script", 31000, 40000, 0 },
		{ "exit", 40000, 45000, 0 },
	};
	const struct mpx_run_analysis *ra;
	struct mpx_kcounters k0 = kc(0, 0, 0);
	struct mpx_analysis an;
	struct mpx_runset rs;
	struct mpx_run *run;
	struct scn s;
	size_t p;

	memset(&rs, 0, sizeof(rs));
	run = runset__add(&rs, MPX_MODE_NONE, 0);
	if (!ASSERT_NOT_NULL(run))
		return;
	model__seed_root(&run->m, ROOT, ROOT, 1, "python3", 500, &k0);
	scn__init(&s);
	scn__wakeup(&s, 600, ROOT);
	scn__in(&s, 600, ROOT);
	imp(&s, 2000, ROOT, "site", false);
	imp(&s, 5000, ROOT, "site", true);
	audit(&s, 10000, "cpython.run_file");
	imp(&s, 12000, ROOT, "decimal", false);
	imp(&s, 15000, ROOT, "decimal", true);
	audit(&s, 20000, "os.fork");
	scn__fork(&s, 20500, ROOT, 102, 0, "python3");
	scn__wakeup_new(&s, 20500, 102);
	audit(&s, 21000, "os.fork");
	scn__fork(&s, 21500, ROOT, 103, 0, "python3");
	scn__wakeup_new(&s, 21500, 103);
	s.cpu = 1;
	scn__in(&s, 22000, 102);
	scn__exit(&s, 23000, 102, k0, 0);
	scn__out(&s, 23000, 102, MPX_TASK_DEAD, k0);
	scn__in(&s, 24000, 103);
	scn__exit(&s, 25000, 103, k0, 0);
	scn__out(&s, 25000, 103, MPX_TASK_DEAD, k0);
	s.cpu = 0;
	scn__fork(&s, 30000, ROOT, 101, MPX_FORK_THREAD, "python3");
	scn__wakeup_new(&s, 30000, 101);
	scn__switch(&s, 30200, ROOT, MPX_TASK_INTERRUPTIBLE, k0, 101);
	scn__wakeup_by(&s, 31000, ROOT, 101);
	s.cpu = 1;
	scn__in(&s, 31000, ROOT);
	s.cpu = 0;
	scn__exit(&s, 35000, 101, k0, 0);
	scn__out(&s, 35000, 101, MPX_TASK_DEAD, k0);
	audit(&s, 40000, "cpython.PyInterpreterState_Clear");
	s.cpu = 1;
	scn__exit(&s, 45000, ROOT, k0, 0);
	scn__out(&s, 45000, ROOT, MPX_TASK_DEAD, k0);
	scn__apply(&s, &run->m);
	model__finish(&run->m, 45000);
	/* The run keeps the (sorted) records: the spans are built from them. */
	evbuf__free(&run->eb);
	run->eb = s.eb;
	evbuf__init(&s.eb);
	run->done = true;
	if (!ASSERT_EQ(analysis__run(&an, &rs), 0))
		return;
	ra = &an.ra[0];
	ASSERT_TRUE(ra->py_phases);
	ASSERT_EQ(ra->nph, (int)(sizeof(want) / sizeof(want[0])));
	for (p = 0; p < sizeof(want) / sizeof(want[0]) && (int)p < ra->nph; p++) {
		ASSERT_STREQ(ra->ph[p].name, want[p].name);
		ASSERT_EQ(ra->ph[p].start, want[p].start);
		ASSERT_EQ(ra->ph[p].end, want[p].end);
		ASSERT_EQ(ra->ph[p].nstarts, want[p].starts);
	}
	ASSERT_EQ(ra->ph[0].import_ns, 3000);
	ASSERT_STREQ(ra->ph[1].top_import, "decimal");
	ASSERT_EQ(ra->pp.nstarts[MPX_PP_FORK], 2);
	ASSERT_EQ(ra->pp.start_ns[MPX_PP_FORK], 1500);
	ASSERT_EQ(ra->pp.nstarts[MPX_PP_THREAD], 1);
	ASSERT_EQ(ra->pp.start_ns[MPX_PP_THREAD], 1000);
	ASSERT_EQ(ra->pp.startup_import_ns, 3000);
	ASSERT_EQ(ra->pp.script_import_ns, 3000);
	ASSERT_TRUE(ra->npy_sentences >= 2);
	ASSERT_TRUE(strstr(ra->py_sentence[0], "is interpreter start-up before the script's "
			   "first line (0.0 ms of it importing 1 module, the longest site") !=
		    NULL);
	ASSERT_TRUE(strstr(ra->py_sentence[1], "importing decimal") != NULL);
	ASSERT_TRUE(strstr(ra->py_sentence[1], "starting 2 processes") != NULL);
	ASSERT_TRUE(strstr(ra->py_sentence[1], "starting 1 thread") != NULL);
	analysis__free(&an);
	runset__free(&rs);
	scn__free(&s);
}
