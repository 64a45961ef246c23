// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The HTML page (src/report_html.c) on small command runs known by
 * construction:
 *
 *	hostile:  main (100) forks a child named  </script><b>  at 2 us and a
 *		  thread named  a&"q'  at 3 us; the command line holds < &,
 *		  quotes and </script><b>.  Nothing of them may reach the page
 *		  as markup.
 *	pingpong: main and a child take turns on one CPU every microsecond,
 *		  preempting each other, for more intervals than the page
 *		  draws: they must merge into at most MPX_HTML_MAX_SEGS
 *		  segments that still tile each task's life.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "events_builder.h"
#include "report_html.h"
#include "run.h"
#include "testlib.h"

#define US 1000ull

struct html_run {
	struct mpx_runset rs;
	struct mpx_analysis an;
	char dir[64];
	char *page;
};

static uint64_t exec_ns[3], in_ns[3], pcount[3];

static void h_in(struct scn *s, uint64_t ts, uint32_t tid)
{
	in_ns[tid - 100] = ts;
	pcount[tid - 100]++;
	scn__in(s, ts, tid);
}

static void h_out(struct scn *s, uint64_t ts, uint32_t tid, uint32_t state)
{
	exec_ns[tid - 100] += ts - in_ns[tid - 100];
	scn__out(s, ts, tid, state, kc(exec_ns[tid - 100], 0, pcount[tid - 100]));
}

static void h_exit(struct scn *s, uint64_t ts, uint32_t tid)
{
	scn__exit(s, ts, tid, kc(exec_ns[tid - 100] + ts - in_ns[tid - 100], 0,
				 pcount[tid - 100]), 0);
	h_out(s, ts, tid, MPX_TASK_DEAD);
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

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

/* Analyse the scenario's run and write its page to dir/p.html. */
static bool finish(struct html_run *x, struct scn *s, uint64_t end)
{
	struct mpx_run *run = &x->rs.runs[0];
	char path[128], tmp[140];
	struct stat st;

	scn__apply(s, &run->m);
	scn__free(s);
	model__finish(&run->m, end);
	if (!ASSERT_EQ(analysis__run(&x->an, &x->rs), 0))
		return false;
	snprintf(path, sizeof(path), "%s/p.html", x->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT_EQ(html__check(path), 0);
	ASSERT_EQ(access(tmp, F_OK), -1);
	if (!ASSERT_EQ(html__write(&x->an, path), 0))
		return false;
	ASSERT_EQ(access(tmp, F_OK), -1);
	if (ASSERT_EQ(stat(path, &st), 0))
		ASSERT_EQ(st.st_mode & 07777, 0600);
	x->page = slurp(path);
	return ASSERT_NOT_NULL(x->page);
}

static bool setup(struct html_run *x, const char *command)
{
	struct mpx_kcounters k0 = kc(0, 0, 0);
	struct mpx_run *run;

	memset(x, 0, sizeof(*x));
	memset(exec_ns, 0, sizeof(exec_ns));
	memset(pcount, 0, sizeof(pcount));
	snprintf(x->dir, sizeof(x->dir), "/tmp/mpx-unit-XXXXXX");
	if (!ASSERT_NOT_NULL(mkdtemp(x->dir)))
		return false;
	run = runset__add(&x->rs, MPX_MODE_NONE, 0);
	if (!ASSERT_NOT_NULL(run))
		return false;
	snprintf(run->info.command, sizeof(run->info.command), "%s", command);
	run->done = true;
	ASSERT_NOT_NULL(model__seed_root(&run->m, 100, 100, 1, "main", 0, &k0));
	run->m.t0 = 1 * US;
	return true;
}

static void teardown(struct html_run *x)
{
	char cmd[128];

	free(x->page);
	analysis__free(&x->an);
	runset__free(&x->rs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	if (system(cmd))
		printf("    could not remove %s\n", x->dir);
}

/*
 * Elements nest and close in order; <script> and <style> hold raw text up
 * to their end tag; every other '<' starts a tag.  Returns NULL or what is
 * wrong.
 */
static const char *well_formed(const char *p)
{
	static const char *const voids[] = { "meta", "br", "!DOCTYPE", NULL };
	char stack[64][16];
	int depth = 0;

	while ((p = strchr(p, '<'))) {
		char name[16];
		size_t n = 0;
		bool close = p[1] == '/';
		const char *q = p + 1 + close, *gt;
		int i;

		while (n + 1 < sizeof(name) && (q[n] == '!' || (q[n] >= 'a' && q[n] <= 'z') ||
						(q[n] >= 'A' && q[n] <= 'Z') ||
						(q[n] >= '0' && q[n] <= '9')))
			n++;
		if (!n)
			return "a '<' that starts no tag";
		memcpy(name, q, n);
		name[n] = '\0';
		gt = strchr(q, '>');
		if (!gt)
			return "a tag that never ends";
		/* Inside a tag only quoted attribute values may hold '<'. */
		if (memchr(q, '<', (size_t)(gt - q)))
			return "'<' inside a tag";
		p = gt + 1;
		if (close) {
			if (!depth || strcmp(stack[depth - 1], name))
				return "an end tag that closes nothing open";
			depth--;
			continue;
		}
		for (i = 0; voids[i] && strcmp(voids[i], name); i++)
			;
		if (voids[i])
			continue;
		if (!strcmp(name, "script") || !strcmp(name, "style")) {
			char end[24];

			snprintf(end, sizeof(end), "</%s>", name);
			p = strstr(p, end);
			if (!p)
				return "a script or style that never ends";
			p += strlen(end);
			continue;
		}
		if (depth == 64)
			return "nested too deep";
		snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
	}
	return depth ? "elements left open" : NULL;
}

/* The embedded JSON: between the data script's start and end tags. */
static char *data_of(const char *page)
{
	static const char open[] = "<script id=\"mpx-data\" type=\"application/json\">";
	const char *a = strstr(page, open), *b;

	if (!a)
		return NULL;
	a += strlen(open);
	b = strstr(a, "</script>");
	return b ? strndup(a, (size_t)(b - a)) : NULL;
}

/* The "seg" triples of task tid: how many, and whether they tile its life
 * (each starts where the last ended) from first to last. */
static size_t segs_of(const char *data, uint32_t tid, uint64_t *first, uint64_t *last,
		      bool *contiguous)
{
	char key[32];
	const char *p;
	size_t n = 0;
	uint64_t end = 0;

	snprintf(key, sizeof(key), "{\"tid\":%u,", tid);
	p = strstr(data, key);
	*contiguous = true;
	*first = *last = 0;
	if (!p || !(p = strstr(p, "\"seg\":[")))
		return 0;
	p += strlen("\"seg\":[");
	while (*p && *p != ']') {
		char *e;
		uint64_t s = strtoull(p, &e, 10), d = strtoull(e + 1, &e, 10);

		strtoull(e + 1, &e, 10);
		if (!n)
			*first = s;
		else if (s != end)
			*contiguous = false;
		end = s + d;
		n++;
		p = *e == ',' ? e + 1 : e;
	}
	*last = end;
	return n;
}

TEST(html_escapes_hostile_names)
{
	struct html_run x;
	struct scn s;
	const char *err;
	char *data = NULL;

	if (!setup(&x, "sh -c 'a < b && \"c\"' </script><b>"))
		goto out;
	scn__init(&s);
	scn__wakeup(&s, 1 * US, 100);
	h_in(&s, 1500, 100);
	scn__fork(&s, 2 * US, 100, 101, 0, "</script><b>");
	scn__fork(&s, 3 * US, 100, 102, MPX_FORK_THREAD, "a&\"q'");
	scn__wakeup_new(&s, 2500, 101);
	scn__wakeup_new(&s, 3500, 102);
	h_out(&s, 4 * US, 100, MPX_TASK_INTERRUPTIBLE);
	h_in(&s, 5 * US, 101);
	h_exit(&s, 50 * US, 101);
	h_in(&s, 50 * US, 102);
	h_exit(&s, 60 * US, 102);
	scn__wakeup(&s, 60 * US, 100);
	h_in(&s, 61 * US, 100);
	h_exit(&s, 100 * US, 100);
	if (!finish(&x, &s, 100 * US))
		goto out;

	ASSERT_EQ(strncmp(x.page, "<!DOCTYPE html>\n<html lang=\"en\">", 31), 0);
	ASSERT_STREQ(x.page + strlen(x.page) - 8, "</html>\n");
	err = well_formed(x.page);
	ASSERT_STREQ(err, NULL);
	/* Three scripts (error catcher, data, drawing), each ended once. */
	ASSERT_EQ(count(x.page, "<script"), 3);
	ASSERT_EQ(count(x.page, "</script>"), 3);
	ASSERT_EQ(count(x.page, "<b>"), 0);
	ASSERT_EQ(count(x.page, "a&\"q"), 0);
	/* As text: in the title, the heading and the text report. */
	ASSERT_EQ(count(x.page, "sh -c &#39;a &lt; b &amp;&amp; &quot;c&quot;&#39; "
			"&lt;/script&gt;&lt;b&gt;"), 3);
	/* Nothing fetched: no URLs but the SVG namespace the script names. */
	ASSERT_EQ(count(x.page, "http"), 1);
	ASSERT_EQ(count(x.page, "http://www.w3.org/2000/svg"), 1);
	ASSERT_EQ(count(x.page, " src="), 0);
	ASSERT_EQ(count(x.page, " href="), 0);
	ASSERT_EQ(count(x.page, "url("), 0);
	ASSERT_EQ(count(x.page, "@import"), 0);

	data = data_of(x.page);
	if (!ASSERT_NOT_NULL(data))
		goto out;
	ASSERT_EQ(count(data, "<"), 0);
	ASSERT_EQ(count(data, ">"), 0);
	ASSERT_EQ(count(data, "&"), 0);
	ASSERT_TRUE(strstr(data, "{\"tid\":101,\"role\":\"child-1\",\"comm\":"
			   "\"\\u003c/script\\u003e\\u003cb\\u003e\",\"thread\":false,"
			   "\"start_us\":1,\"end_us\":49,"));
	ASSERT_TRUE(strstr(data, "{\"tid\":102,\"role\":\"thread-1\",\"comm\":"
			   "\"a\\u0026\\\"q'\",\"thread\":true,"));
	/* The thread is in main's process; the child has one of its own. */
	ASSERT_TRUE(strstr(data, "\"procs\":[{\"pid\":100,\"comm\":\"main\",\"tasks\":"
			   "[{\"tid\":100,"));
	ASSERT_TRUE(strstr(data, "{\"pid\":101,\"comm\":\"\\u003c/script\\u003e\\u003cb"
			   "\\u003e\",\"tasks\":[{\"tid\":101,"));
	/*
	 * Every interval is drawn (none shorter than 1 us but new's 0.5 us,
	 * merged with the wait for a CPU after it): the child is new 2-2.5 us
	 * and waits to 5 us (one segment, runq_wakeup), runs to 50 us.  Times
	 * are microseconds after the release at 1 us.
	 */
	ASSERT_TRUE(strstr(data, "\"tid\":101,") &&
		    strstr(strstr(data, "\"tid\":101,"), "\"seg\":[1,1,1,2,2,1,4,45,0]"));
	ASSERT_TRUE(strstr(data, "\"resolution_ns\":1000,"));
	ASSERT_TRUE(strstr(data, "\"buckets\":[\"oncpu\",\"runq_wakeup\",\"runq_preempt\","));
out:
	free(data);
	teardown(&x);
}

TEST(html_merges_intervals_past_the_cap)
{
	enum { TURNS = 100000 };
	struct html_run x;
	uint64_t ts = 10 * US, first, last;
	size_t n100, n101;
	bool contig;
	char *data = NULL, *p;
	struct scn s;
	int i;

	if (!setup(&x, "pingpong"))
		goto out;
	scn__init(&s);
	scn__wakeup(&s, 1 * US, 100);
	h_in(&s, 1 * US, 100);
	scn__fork(&s, 2 * US, 100, 101, 0, "child");
	scn__wakeup_new(&s, 3 * US, 101);
	/* Turns of 1 us: the one running is preempted by the other. */
	for (i = 0; i < TURNS; i++, ts += US) {
		uint32_t prev = i % 2 ? 101 : 100, next = i % 2 ? 100 : 101;

		exec_ns[prev - 100] += ts - in_ns[prev - 100];
		in_ns[next - 100] = ts;
		pcount[next - 100]++;
		scn__switch(&s, ts, prev, MPX_TASK_RUNNING,
			    kc(exec_ns[prev - 100], 0, pcount[prev - 100]), next);
	}
	/* TURNS is even: main runs again; the child exits from the queue. */
	h_exit(&s, ts, 100);
	scn__exit(&s, ts + US, 101, kc(exec_ns[1], 0, pcount[1]), 0);
	if (!finish(&x, &s, ts + US))
		goto out;
	ASSERT_STREQ(well_formed(x.page), NULL);
	ASSERT_TRUE(x.rs.runs[0].m.tasks[0].niv + x.rs.runs[0].m.tasks[1].niv >
		    MPX_HTML_MAX_SEGS);
	data = data_of(x.page);
	if (!ASSERT_NOT_NULL(data))
		goto out;
	p = strstr(data, "\"segments\":");
	if (!ASSERT_NOT_NULL(p))
		goto out;
	n100 = segs_of(data, 100, &first, &last, &contig);
	/* Main: released at 1 us (0 after the origin), ends at TURNS + 10 us. */
	ASSERT_TRUE(contig);
	ASSERT_EQ(first, 0);
	ASSERT_EQ(last, TURNS + 9);
	n101 = segs_of(data, 101, &first, &last, &contig);
	ASSERT_TRUE(contig);
	ASSERT_EQ(first, 1);
	ASSERT_EQ(last, TURNS + 10);
	ASSERT_EQ(strtoull(p + strlen("\"segments\":"), NULL, 10), n100 + n101);
	ASSERT_TRUE(n100 + n101 <= MPX_HTML_MAX_SEGS);
	ASSERT_TRUE(n100 + n101 > 1000);
	ASSERT_TRUE(strstr(x.page, "intervals shown as"));
out:
	free(data);
	teardown(&x);
}

TEST(html_bad_paths)
{
	char dir[] = "/tmp/mpx-unit-XXXXXX";

	ASSERT_EQ(html__check("/nonexistent-mpx/p.html"), -ENOENT);
	if (!ASSERT_NOT_NULL(mkdtemp(dir)))
		return;
	ASSERT_EQ(html__check(dir), -EISDIR);
	rmdir(dir);
}
