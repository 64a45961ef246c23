// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The exports (src/perfetto.c, src/csv.c) on one small command run whose
 * timeline is known by construction:
 *
 *	main (100)	released at 1 us, runs from 1.5 us, forks child at 2 us,
 *			waits in wait4() from 3 us, woken by the child
 *			(sched_waking at 1499 us, sched_wakeup at 1500 us),
 *			runs from 1600 us, exits at 2000 us
 *	child (101)	named  we,"ird  (a comma and a quote for the CSV), new
 *			from 2 us, woken at 2.5 us, runs from 3.5 us, wakes main,
 *			exits at 1500.123 us
 *
 * The kernel counters at each switch-out follow the timeline, so that
 * reconciliation moves nothing and the intervals are the ones above.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "analysis.h"
#include "csv.h"
#include "events_builder.h"
#include "perfetto.h"
#include "run.h"
#include "testlib.h"

#define US 1000ull

struct exp_run {
	struct mpx_runset rs;
	struct mpx_analysis an;
	char dir[64];
};

static uint64_t exec_ns[2], in_ns[2], pcount[2];

static void in(struct scn *s, uint64_t ts, uint32_t tid)
{
	in_ns[tid - 100] = ts;
	pcount[tid - 100]++;
	scn__in(s, ts, tid);
}

static void out(struct scn *s, uint64_t ts, uint32_t tid, uint32_t state, int32_t stack)
{
	struct mpx_switch e;

	exec_ns[tid - 100] += ts - in_ns[tid - 100];
	e = mk_switch(ts, 0, tid, scn__pid(s, tid), state,
		      kc(exec_ns[tid - 100], 0, pcount[tid - 100]), 0, 0);
	e.stack_id = stack;
	SCN_ADD(s, e);
}

static void die(struct scn *s, uint64_t ts, uint32_t tid)
{
	scn__exit(s, ts, tid, kc(exec_ns[tid - 100] + ts - in_ns[tid - 100], 0,
				 pcount[tid - 100]), 0);
	out(s, ts, tid, MPX_TASK_DEAD, -1);
}

static bool exp_setup(struct exp_run *x)
{
	struct mpx_kcounters k0 = kc(0, 0, 0);
	struct mpx_wakeup wk;
	struct mpx_run *run;
	struct scn s;

	memset(x, 0, sizeof(*x));
	memset(exec_ns, 0, sizeof(exec_ns));
	memset(pcount, 0, sizeof(pcount));
	snprintf(x->dir, sizeof(x->dir), "/tmp/mpx-unit-XXXXXX");
	if (!ASSERT_NOT_NULL(mkdtemp(x->dir)))
		return false;
	run = runset__add(&x->rs, MPX_MODE_NONE, 0);
	if (!ASSERT_NOT_NULL(run))
		return false;
	snprintf(run->info.command, sizeof(run->info.command), "main");
	run->done = true;
	run->exit_code = 0;
	ASSERT_EQ(reasons__add(&run->m.reasons, 7, "do_wait in wait4()"), 0);
	ASSERT_NOT_NULL(model__seed_root(&run->m, 100, 100, 1, "main", 0, &k0));
	run->m.t0 = 1 * US;

	scn__init(&s);
	scn__wakeup(&s, 1 * US, 100);
	in(&s, 1500, 100);
	scn__fork(&s, 2 * US, 100, 101, 0, "we,\"ird");
	scn__wakeup_new(&s, 2500, 101);
	out(&s, 3 * US, 100, MPX_TASK_INTERRUPTIBLE, 7);
	in(&s, 3500, 101);
	wk = mk_wakeup(1500 * US, 0, 100, 100, 101, 0);
	wk.waking_ts = 1499 * US;
	SCN_ADD(&s, wk);
	die(&s, 1500123, 101);
	in(&s, 1600 * US, 100);
	die(&s, 2000 * US, 100);
	scn__apply(&s, &run->m);
	scn__free(&s);
	model__finish(&run->m, 2000 * US);
	return ASSERT_EQ(analysis__run(&x->an, &x->rs), 0);
}

static void exp_free(struct exp_run *x)
{
	char cmd[128];

	analysis__free(&x->an);
	runset__free(&x->rs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	if (system(cmd))
		printf("    could not remove %s\n", x->dir);
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re"), *m;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	if (m) {
		while ((c = fgetc(f)) != EOF)
			fputc(c, m);
		fclose(m);
	}
	fclose(f);
	return buf;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static bool is_file(const char *path, mode_t *mode)
{
	struct stat st;

	if (stat(path, &st))
		return false;
	if (mode)
		*mode = st.st_mode & 07777;
	return S_ISREG(st.st_mode);
}

TEST(perfetto_timeline_of_a_command)
{
	struct exp_run x;
	char path[128], tmp[140];
	const struct mpx_task *mt, *ct;
	mode_t mode = 0;
	size_t i, shown = 0;
	char *j;

	if (!exp_setup(&x))
		return;
	mt = &x.rs.runs[0].m.tasks[0];
	ct = &x.rs.runs[0].m.tasks[1];
	ASSERT_EQ(x.rs.runs[0].m.ntasks, 2);
	snprintf(path, sizeof(path), "%s/t.json", x.dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT_EQ(perfetto__check(path), 0);
	ASSERT_FALSE(is_file(tmp, NULL));
	ASSERT_EQ(perfetto__write(&x.an, path), 0);
	ASSERT_TRUE(is_file(path, &mode));
	ASSERT_EQ(mode, 0600);
	ASSERT_FALSE(is_file(tmp, NULL));
	j = slurp(path);
	if (!ASSERT_NOT_NULL(j))
		goto out;
	ASSERT_TRUE(starts_with(j, "{\"traceEvents\":[{"));
	/* Names: the run's process, each task's track, the run's tracks. */
	ASSERT_TRUE(strstr(j, "\"name\":\"command run 1: main [100]\""));
	ASSERT_TRUE(strstr(j, "\"name\":\"command run 1: we,\\\"ird [101]\""));
	ASSERT_TRUE(strstr(j, "\"name\":\"main main 100\""));
	ASSERT_TRUE(strstr(j, "\"name\":\"child-1 we,\\\"ird 101\""));
	ASSERT_TRUE(strstr(j, "\"name\":\"phases\""));
	ASSERT_TRUE(strstr(j, "\"name\":\"critical path\""));
	/* A slice per interval with a length, exact to the ns (base: 0). */
	for (i = 0; i < mt->niv; i++)
		shown += mt->iv[i].end > mt->iv[i].start;
	for (i = 0; i < ct->niv; i++)
		shown += ct->iv[i].end > ct->iv[i].start;
	ASSERT_EQ(count(j, "\"cat\":\"sched\",\"pid\""), shown);
	ASSERT_TRUE(strstr(j, "{\"ph\":\"X\",\"name\":\"running\",\"cat\":\"sched\","
			      "\"pid\":100000001,\"tid\":101,\"ts\":3.500,\"dur\":1496.623}"));
	ASSERT_TRUE(strstr(j, "\"name\":\"sleep: do_wait in wait4()\",\"cat\":\"sched\","
			      "\"pid\":100000000,\"tid\":100,\"ts\":3.000,\"dur\":1497.000,"
			      "\"args\":{\"reason\":\"do_wait in wait4()\",\"waker_tid\":101}"));
	ASSERT_TRUE(strstr(j, "\"name\":\"runnable (woken)\",\"cat\":\"sched\","
			      "\"pid\":100000000,\"tid\":100,\"ts\":1500.000,\"dur\":100.000}"));
	ASSERT_TRUE(strstr(j, "\"name\":\"new\",\"cat\":\"sched\",\"pid\":100000001,"
			      "\"tid\":101,\"ts\":2.000,\"dur\":0.500}"));
	ASSERT_TRUE(strstr(j, "\"name\":\"runnable (woken)\",\"cat\":\"sched\","
			      "\"pid\":100000001,\"tid\":101,\"ts\":2.500,\"dur\":1.000}"));
	ASSERT_TRUE(strstr(j, "{\"ph\":\"X\",\"name\":\"run\",\"cat\":\"phase\","
			      "\"pid\":100000000,\"tid\":200000000,\"ts\":1.000,"
			      "\"dur\":1999.000,\"args\":{\"class\":\"run\"}}"));
	/* The wakeup and the fork: one arrow each, from their sources (ids
	 * in task order, a task's fork before its wakeups). */
	ASSERT_EQ(count(j, "\"ph\":\"s\""), 2);
	ASSERT_EQ(count(j, "\"ph\":\"f\""), 2);
	ASSERT_TRUE(strstr(j, "{\"ph\":\"s\",\"name\":\"fork\",\"cat\":\"fork\","
			      "\"pid\":100000000,\"tid\":100,\"id\":2,\"ts\":2.000}"));
	ASSERT_TRUE(strstr(j, "{\"ph\":\"f\",\"name\":\"fork\",\"cat\":\"fork\","
			      "\"pid\":100000001,\"tid\":101,\"id\":2,\"bp\":\"e\",\"ts\":2.000}"));
	ASSERT_TRUE(strstr(j, "{\"ph\":\"s\",\"name\":\"wakeup\",\"cat\":\"wakeup\","
			      "\"pid\":100000001,\"tid\":101,\"id\":1,\"ts\":1499.000}"));
	ASSERT_TRUE(strstr(j, "{\"ph\":\"f\",\"name\":\"wakeup\",\"cat\":\"wakeup\","
			      "\"pid\":100000000,\"tid\":100,\"id\":1,\"bp\":\"e\",\"ts\":1500.000}"));
	/* Exits as instants; the runnable count is 2 from the child's wakeup
	 * (not its fork: new is not runnable yet) and ends at 0. */
	ASSERT_EQ(count(j, "\"ph\":\"i\",\"name\":\"exit 0\""), 2);
	ASSERT_TRUE(strstr(j, "\"name\":\"runnable tasks\",\"cat\":\"counter\",\"pid\":100000000,"
			      "\"tid\":100,\"ts\":2.500,\"args\":{\"value\":2}"));
	ASSERT_TRUE(strstr(j, "\"ts\":2000.000,\"args\":{\"value\":0}"));
	/* The critical path: main's run, the child's, main's again. */
	ASSERT_TRUE(strstr(j, "\"name\":\"child-1: oncpu\",\"cat\":\"critical_path\""));
	ASSERT_EQ(count(j, "\"cat\":\"critical_path\""), x.an.ra[0].cp.n);
	ASSERT_TRUE(strstr(j, "\"otherData\":{\"producer\":\"mpxtrace "));
	ASSERT_FALSE(strstr(j, "displayTimeUnit"));
	free(j);
out:
	exp_free(&x);
}

TEST(perfetto_gzip_same_document)
{
	struct exp_run x;
	char plain[128], gzp[128], buf[4096];
	char *j = NULL, *z = NULL;
	size_t zlen = 0;
	FILE *m;
	gzFile g;
	int n;

	if (!exp_setup(&x))
		return;
	snprintf(plain, sizeof(plain), "%s/t.json", x.dir);
	snprintf(gzp, sizeof(gzp), "%s/t.json.gz", x.dir);
	ASSERT_EQ(perfetto__write(&x.an, plain), 0);
	ASSERT_EQ(perfetto__write(&x.an, gzp), 0);
	j = slurp(plain);
	z = slurp(gzp);
	if (!ASSERT_NOT_NULL(j) || !ASSERT_NOT_NULL(z))
		goto out;
	ASSERT_TRUE((unsigned char)z[0] == 0x1f && (unsigned char)z[1] == 0x8b);
	free(z);
	z = NULL;
	g = gzopen(gzp, "rb");
	m = open_memstream(&z, &zlen);
	if (!ASSERT_NOT_NULL(g) || !ASSERT_NOT_NULL(m))
		goto out;
	while ((n = gzread(g, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, m);
	gzclose(g);
	fclose(m);
	ASSERT_STREQ(z, j);
out:
	free(j);
	free(z);
	exp_free(&x);
}

TEST(perfetto_bad_paths)
{
	struct exp_run x;
	char path[128];

	if (!exp_setup(&x))
		return;
	ASSERT_EQ(perfetto__check("/nonexistent-mpx/t.json"), -ENOENT);
	ASSERT_EQ(perfetto__write(&x.an, "/nonexistent-mpx/t.json"), -ENOENT);
	ASSERT_EQ(perfetto__check(x.dir), -EISDIR);
	snprintf(path, sizeof(path), "%s/t.json", x.dir);
	ASSERT_EQ(csv__check(path), 0);		/* a new directory */
	ASSERT_EQ(perfetto__write(&x.an, path), -EISDIR);
	exp_free(&x);
}

TEST(csv_tables_of_a_command)
{
	struct exp_run x;
	char dir[128], path[160];
	const struct mpx_task *mt;
	char *t = NULL, *w = NULL, *c = NULL, want[512];
	mode_t mode = 0;
	struct stat st;

	if (!exp_setup(&x))
		return;
	mt = &x.rs.runs[0].m.tasks[0];
	snprintf(dir, sizeof(dir), "%s/csv", x.dir);
	ASSERT_EQ(csv__write(&x.an, dir), 0);
	ASSERT_TRUE(!stat(dir, &st) && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	snprintf(path, sizeof(path), "%s/tasks.csv", dir);
	ASSERT_TRUE(is_file(path, &mode));
	ASSERT_EQ(mode, 0600);
	t = slurp(path);
	snprintf(path, sizeof(path), "%s/waits.csv", dir);
	w = slurp(path);
	snprintf(path, sizeof(path), "%s/critical_path.csv", dir);
	c = slurp(path);
	if (!ASSERT_NOT_NULL(t) || !ASSERT_NOT_NULL(w) || !ASSERT_NOT_NULL(c))
		goto out;
	ASSERT_TRUE(starts_with(t, "run,mode,tid,pid,ppid,role,comm,start_ns,end_ns,lifetime_ns,"
			     "oncpu_ns,runq_wakeup_ns,runq_preempt_ns,sleep_ns,dsleep_other_ns,"
			     "blkio_ns,unaccounted_ns,dsleep_ns,switches_voluntary,"
			     "switches_involuntary,wakeups,kernel_sum_exec_runtime_ns,"
			     "kernel_run_delay_ns\n"));
	ASSERT_EQ(count(t, "\n"), 3);
	snprintf(want, sizeof(want), "\n0,command,100,100,1,main,main,0,2000000,2000000,%llu,",
		 (unsigned long long)mt->bucket[MPX_B_ONCPU]);
	ASSERT_TRUE(strstr(t, want));
	ASSERT_TRUE(strstr(t, "\n0,command,101,101,100,child-1,\"we,\"\"ird\",2000,1500123,"
			      "1498123,1496623,1500,0,0,0,0,0,0,"));
	ASSERT_TRUE(strstr(w, "run,tid,role,reason,ns,count,iowait\n"));
	ASSERT_TRUE(strstr(w, "\n0,100,main,do_wait in wait4(),1497000,1,0\n"));
	ASSERT_TRUE(starts_with(c, "run,tid,role,kind,bucket,reason,start_ns,end_ns,duration_ns,"
			     "via_tid\n"));
	ASSERT_EQ(count(c, "\n"), x.an.ra[0].cp.n + 1);
	ASSERT_TRUE(strstr(c, "\n0,101,child-1,run,oncpu,,3500,1499000,1495500,100\n"));
	ASSERT_EQ(csv__check("/proc/version"), -ENOTDIR);
	ASSERT_EQ(csv__write(&x.an, "/nonexistent-mpx/a/b"), -ENOENT);
out:
	free(t);
	free(w);
	free(c);
	exp_free(&x);
}

TEST(csv_field_quoting)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\r", "\"cr\r\"" },
		{ "spaces kept", "spaces kept" },
	};
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		f = open_memstream(&buf, &len);
		if (!ASSERT_NOT_NULL(f))
			return;
		csv__field(f, cases[i].in, true);
		fclose(f);
		ASSERT_STREQ(buf, cases[i].out);
		free(buf);
		buf = NULL;
	}
	f = open_memstream(&buf, &len);
	if (!ASSERT_NOT_NULL(f))
		return;
	csv__field(f, "a", true);
	csv__field(f, NULL, false);
	csv__field(f, "b", false);
	fclose(f);
	ASSERT_STREQ(buf, "a,,b");
	free(buf);
}
