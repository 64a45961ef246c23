// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Trace files (src/tracefile.c): a runset written and read back is the
 * same runset, replayed the same way; and the reader refuses truncated,
 * corrupt and hostile input with one line, without crashing or allocating
 * for what the file only claims.  Hostile payloads are built here by hand
 * from the format description in src/tracefile.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "events_builder.h"
#include "run.h"
#include "testlib.h"
#include "tracefile.h"

#define ROOT 100
#define KID 101

/* ---- helpers ------------------------------------------------------------ */

struct tmpdir {
	char dir[64];
	char path[128];
};

static bool tmpdir__make(struct tmpdir *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/mpx-tf-XXXXXX");
	if (!mkdtemp(t->dir))
		return false;
	snprintf(t->path, sizeof(t->path), "%s/t.mpxt", t->dir);
	return true;
}

static void tmpdir__remove(struct tmpdir *t)
{
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", t->path);
	unlink(tmp);
	unlink(t->path);
	rmdir(t->dir);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	FILE *f = fopen(path, "rb");
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/*
 * A command run: the root seeded at 1000 (as trace__run does), forks a
 * child, sleeps in a named wait, both exit; one loss; analysed at 9000.
 */
static void make_runset(struct mpx_runset *rs)
{
	struct mpx_kcounters base = kc(500, 20, 3);
	struct mpx_run *r;
	struct scn s;

	memset(rs, 0, sizeof(*rs));
	r = runset__add(rs, MPX_MODE_NONE, 0);
	if (!ASSERT_NOT_NULL(r))
		return;
	snprintf(r->info.command, sizeof(r->info.command), "sh -c 'sleep 1 | cat'");
	snprintf(r->info.kernel, sizeof(r->info.kernel), "6.18.0-test");
	r->info.attach = "tp_btf";
	r->info.ncpus = 2;
	r->info.exited = true;
	r->info.exit_status = 3 << 8;
	r->info.lost_events = 1;
	r->info.startup_ns = 12345;
	r->exit_code = 3;
	model__seed_root(&r->m, ROOT, ROOT, 42, "mpxtrace", 1000, &base);
	reasons__add(&r->m.reasons, 7, "pipe_read in read()");
	reasons__add(&r->m.reasons, 3, "do_wait in wait4()");
	model__add_lost(&r->m, KID, 1);

	scn__init(&s);
	/* Before t0: skipped by the replay, but kept in the file. */
	scn__in(&s, 900, ROOT);
	scn__wakeup(&s, 1000, ROOT);
	scn__in(&s, 1100, ROOT);
	scn__fork(&s, 1500, ROOT, KID, 0, "sh");
	scn__wakeup_new(&s, 1600, KID);
	scn__out(&s, 2000, ROOT, MPX_TASK_INTERRUPTIBLE, kc(1500, 30, 4));
	scn__in(&s, 2100, KID);
	scn__exec(&s, 2200, KID, KID, "cat", "/usr/bin/cat");
	scn__exit(&s, 4000, KID, kc(1900, 100, 1), 0);
	scn__out(&s, 4100, KID, MPX_TASK_DEAD, kc(1900, 100, 1));
	scn__wakeup_by(&s, 4200, ROOT, KID);
	scn__in(&s, 4300, ROOT);
	scn__exit(&s, 5000, ROOT, kc(2200, 130, 5), 3 << 8);
	scn__out(&s, 5100, ROOT, MPX_TASK_DEAD, kc(2200, 130, 5));
	/* Move the records into the run (arrival order kept). */
	evbuf__free(&r->eb);
	r->eb = s.eb;
	run__analyze(r, 9000);
	r->info.events = r->eb.n;
	r->done = true;
}

/* ---- a payload built by hand from the format in tracefile.h ---------- */

struct pb {
	unsigned char b[8192];
	size_t n;
};

static void pb_put(struct pb *p, const void *v, size_t len)
{
	if (p->n + len <= sizeof(p->b))
		memcpy(p->b + p->n, v, len);
	p->n += len;
}

static void pb_u8(struct pb *p, uint8_t v) { pb_put(p, &v, 1); }
static void pb_u32(struct pb *p, uint32_t v) { pb_put(p, &v, 4); }
static void pb_u64(struct pb *p, uint64_t v) { pb_put(p, &v, 8); }

static void pb_str(struct pb *p, const char *s)
{
	if (!s) {
		pb_u32(p, 0xffffffffu);
		return;
	}
	pb_u32(p, (uint32_t)strlen(s));
	pb_put(p, s, strlen(s));
}

/* Open a section; pb_end() patches its length. */
static size_t pb_sec(struct pb *p, const char *tag)
{
	size_t at;

	pb_put(p, tag, 4);
	pb_u32(p, 0);
	at = p->n;
	pb_u64(p, 0);
	return at;
}

static void pb_end(struct pb *p, size_t at)
{
	uint64_t len = p->n - at - 8;

	memcpy(p->b + at, &len, 8);
}

static void pb_meta(struct pb *p, uint32_t nruns)
{
	size_t at = pb_sec(p, "META");

	pb_str(p, "test");
	pb_u32(p, nruns);
	pb_u8(p, 0);			/* builtin */
	pb_u32(p, 0);			/* work.mode */
	pb_u32(p, 0);			/* work.runtime */
	pb_u32(p, 0); pb_u32(p, 0); pb_u32(p, 0); pb_u32(p, 0);
	pb_u64(p, 0);			/* work.bytes */
	pb_str(p, NULL); pb_str(p, NULL); pb_str(p, NULL);
	pb_str(p, NULL);		/* note */
	pb_end(p, at);
}

static void pb_run(struct pb *p, const char *command)
{
	size_t at = pb_sec(p, "RUN ");

	pb_u32(p, 0);			/* mode */
	pb_u32(p, 0);			/* repeat */
	pb_u32(p, 0);			/* exit code */
	pb_u8(p, 1);			/* done */
	pb_str(p, command);
	pb_str(p, "raw_tp");
	pb_str(p, "6.18");
	pb_u32(p, 2);			/* ncpus */
	pb_u8(p, 1);			/* exited */
	pb_u32(p, 0);			/* exit status */
	pb_u8(p, 0);			/* interrupted */
	pb_u64(p, 0); pb_u64(p, 0); pb_u64(p, 0); pb_u64(p, 0);
	pb_u64(p, 2);			/* events */
	pb_u64(p, 77);			/* startup */
	pb_u8(p, 1);			/* analyzed */
	pb_u64(p, 5000);		/* end_ns */
	pb_u8(p, 1);			/* seeded */
	pb_u32(p, ROOT); pb_u32(p, ROOT); pb_u32(p, 1);
	pb_str(p, "mpxtrace");
	pb_u64(p, 1000);		/* t0 */
	pb_u8(p, 0);			/* have_k */
	pb_u64(p, 0); pb_u64(p, 0); pb_u64(p, 0); pb_u64(p, 0);
	pb_end(p, at);
}

static void pb_waits(struct pb *p, int32_t id1, int32_t id2)
{
	size_t at = pb_sec(p, "WAIT");

	pb_u32(p, 2);
	pb_u32(p, (uint32_t)id1);
	pb_str(p, "pipe_read in read()");
	pb_u32(p, (uint32_t)id2);
	pb_str(p, "futex_wait in futex()");
	pb_end(p, at);
}

static void pb_lost(struct pb *p)
{
	size_t at = pb_sec(p, "LOST");

	pb_u32(p, 0);
	pb_end(p, at);
}

/* The root's exact RSS (--rss=exact): peak 4 MiB, of it 3 anon, 1 file. */
static void pb_rssx(struct pb *p, uint64_t anon)
{
	size_t at = pb_sec(p, "RSSX");

	pb_u32(p, 1);
	pb_u32(p, ROOT);
	pb_u64(p, 4 << 20);
	pb_u64(p, anon);
	pb_u64(p, 1 << 20);
	pb_u64(p, 0);
	pb_u64(p, 2 << 20);
	pb_end(p, at);
}

/* The root goes to sleep in stack 5 and exits. */
static void pb_events(struct pb *p)
{
	size_t at = pb_sec(p, "EVTS");
	struct mpx_switch sw = mk_switch(2000, 0, ROOT, ROOT, MPX_TASK_INTERRUPTIBLE,
					 kc(0, 0, 0), 0, 0);
	struct mpx_exit ex = mk_exit(3000, 0, ROOT, ROOT, kc(0, 0, 0), 0);

	sw.stack_id = 5;
	pb_u64(p, 2);
	pb_put(p, &sw, sizeof(sw));
	pb_put(p, &ex, sizeof(ex));
	pb_end(p, at);
}

/* One run; rssx_anon < 0: no "RSSX" (format 1), else its anon figure. */
static void pb_file(struct pb *p, int64_t rssx_anon)
{
	p->n = 0;
	pb_meta(p, 1);
	pb_run(p, "sleep 1");
	pb_waits(p, 5, 9);
	pb_lost(p);
	if (rssx_anon >= 0)
		pb_rssx(p, (uint64_t)rssx_anon);
	pb_events(p);
}

static void pb_good(struct pb *p)
{
	pb_file(p, 3 << 20);
}

/* Header (format version) + zlib stream of the payload; payload_len as given. */
static unsigned char *wrap_v(const void *payload, size_t len, uint64_t payload_len,
			     size_t *filelen, uint32_t version)
{
	uLongf zlen = compressBound(len);
	unsigned char *f = malloc(MPX_TF_HDR_LEN + zlen);
	uint32_t v;

	if (!f)
		return NULL;
	memcpy(f, MPX_TF_MAGIC, 8);
	v = version;
	memcpy(f + 8, &v, 4);
	v = MPX_EVENTS_VERSION;
	memcpy(f + 12, &v, 4);
	v = MPX_TF_ENDIAN;
	memcpy(f + 16, &v, 4);
	v = 0;
	memcpy(f + 20, &v, 4);
	memcpy(f + 24, &payload_len, 8);
	if (compress2(f + MPX_TF_HDR_LEN, &zlen, payload, len, 6) != Z_OK) {
		free(f);
		return NULL;
	}
	*filelen = MPX_TF_HDR_LEN + zlen;
	return f;
}

static unsigned char *wrap(const void *payload, size_t len, uint64_t payload_len,
			   size_t *filelen)
{
	return wrap_v(payload, len, payload_len, filelen, MPX_TF_VERSION);
}

/* Read buf; expect failure with one line containing want (NULL: any). */
static void expect_reject(const void *buf, size_t len, const char *want)
{
	struct mpx_runset rs = {};
	char err[512] = "";

	ASSERT_TRUE(tracefile__read_mem(buf, len, &rs, err, sizeof(err)) < 0);
	ASSERT_TRUE(err[0] != '\0');
	ASSERT_TRUE(strchr(err, '\n') == NULL);
	if (want && !strstr(err, want))
		ASSERT_STREQ(err, want);
	ASSERT_EQ(rs.n, 0);
	ASSERT_TRUE(rs.runs == NULL && rs.strs == NULL);
}

static void expect_payload_reject(const struct pb *p, const char *want)
{
	size_t flen = 0;
	unsigned char *f = wrap(p->b, p->n, p->n, &flen);

	if (ASSERT_NOT_NULL(f))
		expect_reject(f, flen, want);
	free(f);
}

/* ---- round trip ------------------------------------------------------- */

TEST(tracefile_round_trip_rebuilds_the_run)
{
	struct mpx_runset a, b = {};
	struct tmpdir td;
	struct stat st;
	char err[512] = "";
	size_t i, j;

	if (!ASSERT_TRUE(tmpdir__make(&td)))
		return;
	make_runset(&a);
	ASSERT_EQ(tracefile__write(td.path, &a, err, sizeof(err)), 0);
	ASSERT_STREQ(err, "");
	/* 0600, and no temporary left behind. */
	if (ASSERT_EQ(stat(td.path, &st), 0))
		ASSERT_EQ(st.st_mode & 07777, 0600);
	{
		char tmp[160];

		snprintf(tmp, sizeof(tmp), "%s.tmp", td.path);
		ASSERT_EQ(access(tmp, F_OK), -1);
	}
	ASSERT_EQ(tracefile__read(td.path, &b, err, sizeof(err)), 0);
	ASSERT_STREQ(err, "");
	if (!ASSERT_EQ(b.n, 1))
		goto out;

	const struct mpx_run *x = &a.runs[0], *y = &b.runs[0];

	ASSERT_EQ(b.builtin, false);
	ASSERT_EQ(y->mode, MPX_MODE_NONE);
	ASSERT_EQ(y->exit_code, 3);
	ASSERT_EQ(y->done, true);
	ASSERT_STREQ(y->info.command, x->info.command);
	ASSERT_STREQ(y->info.kernel, x->info.kernel);
	ASSERT_STREQ(y->info.attach, "tp_btf");
	ASSERT_EQ(y->info.ncpus, 2);
	ASSERT_EQ(y->info.exit_status, 3 << 8);
	ASSERT_EQ(y->info.lost_events, 1);
	ASSERT_EQ(y->info.events, x->eb.n);
	ASSERT_EQ(y->info.startup_ns, 12345);
	ASSERT_EQ(y->end_ns, 9000);
	ASSERT_EQ(y->seed.tid, ROOT);
	ASSERT_EQ(y->seed.ppid, 42);
	ASSERT_EQ(y->seed.k.run_delay, 20);
	/* The records, in arrival order, and the replayed model. */
	if (ASSERT_EQ(y->eb.n, x->eb.n) && ASSERT_EQ(y->eb.len, x->eb.len))
		ASSERT_EQ(memcmp(y->eb.data, x->eb.data, x->eb.len), 0);
	ASSERT_STREQ(reasons__get(&y->m.reasons, 7), "pipe_read in read()");
	ASSERT_STREQ(reasons__get(&y->m.reasons, 3), "do_wait in wait4()");
	ASSERT_EQ(y->m.nlost, 1);
	ASSERT_EQ(y->m.t0, 1000);
	if (ASSERT_EQ(y->m.ntasks, x->m.ntasks)) {
		for (i = 0; i < x->m.ntasks; i++) {
			const struct mpx_task *s = &x->m.tasks[i], *t = &y->m.tasks[i];

			ASSERT_EQ(t->tid, s->tid);
			ASSERT_EQ(t->start_ns, s->start_ns);
			ASSERT_EQ(t->end_ns, s->end_ns);
			ASSERT_EQ(t->lost_events, s->lost_events);
			ASSERT_EQ(t->have_base, s->have_base);
			ASSERT_STREQ(t->comm, s->comm);
			for (j = 0; j < MPX_B_MAX; j++)
				ASSERT_EQ(t->bucket[j], s->bucket[j]);
		}
	}
	ASSERT_EQ(x->m.tasks[1].lost_events, 1);

	/* Written again, the file is the same bytes. */
	{
		unsigned char *f1, *f2;
		size_t l1, l2;

		f1 = slurp(td.path, &l1);
		ASSERT_EQ(tracefile__write(td.path, &b, err, sizeof(err)), 0);
		f2 = slurp(td.path, &l2);
		if (ASSERT_NOT_NULL(f1) && ASSERT_NOT_NULL(f2) && ASSERT_EQ(l1, l2))
			ASSERT_EQ(memcmp(f1, f2, l1), 0);
		free(f1);
		free(f2);
	}
out:
	runset__free(&a);
	runset__free(&b);
	tmpdir__remove(&td);
}

TEST(tracefile_round_trip_builtin_and_unanalysed_runs)
{
	struct mpx_runset a = {}, b = {};
	struct tmpdir td;
	char err[512] = "";
	struct mpx_run *r;

	if (!ASSERT_TRUE(tmpdir__make(&td)))
		return;
	a.builtin = true;
	a.work.mode = MPX_MODE_BOTH;
	a.work.runtime = MPX_RT_NATIVE;
	a.work.tasks = 4;
	a.work.kind = "sleep";
	a.note = "python3 not found: native runtime";
	r = runset__add(&a, MPX_MODE_PROCESS, 0);
	/* A run that failed before it was seeded, and one after. */
	r = runset__add(&a, MPX_MODE_POOL, 0);
	if (ASSERT_NOT_NULL(r))
		model__seed_root(&r->m, ROOT, ROOT, 1, NULL, 10, NULL);
	ASSERT_EQ(tracefile__write(td.path, &a, err, sizeof(err)), 0);
	ASSERT_EQ(tracefile__read(td.path, &b, err, sizeof(err)), 0);
	ASSERT_STREQ(err, "");
	if (ASSERT_EQ(b.n, 2)) {
		ASSERT_EQ(b.builtin, true);
		ASSERT_EQ(b.work.mode, MPX_MODE_BOTH);
		ASSERT_EQ(b.work.runtime, MPX_RT_NATIVE);
		ASSERT_EQ(b.work.tasks, 4);
		ASSERT_STREQ(b.work.kind, "sleep");
		ASSERT_TRUE(b.work.start_method == NULL);
		ASSERT_STREQ(b.note, a.note);
		ASSERT_EQ(b.runs[0].mode, MPX_MODE_PROCESS);
		ASSERT_EQ(b.runs[0].m.ntasks, 0);
		ASSERT_EQ(b.runs[0].analyzed, false);
		ASSERT_EQ(b.runs[0].done, false);
		ASSERT_EQ(b.runs[1].mode, MPX_MODE_POOL);
		ASSERT_EQ(b.runs[1].m.ntasks, 1);
		ASSERT_EQ(b.runs[1].m.tasks[0].ncomms, 0);
		ASSERT_EQ(b.runs[1].m.t0, 10);
	}
	runset__free(&a);
	runset__free(&b);
	tmpdir__remove(&td);
}

TEST(tracefile_write_failure_leaves_nothing)
{
	struct mpx_runset a;
	char err[512] = "";

	make_runset(&a);
	ASSERT_EQ(tracefile__write("/nonexistent-dir/t.mpxt", &a, err, sizeof(err)),
		  -ENOENT);
	ASSERT_TRUE(strstr(err, "/nonexistent-dir/t.mpxt") != NULL);
	ASSERT_TRUE(strchr(err, '\n') == NULL);
	runset__free(&a);
}

/* ---- the documented format -------------------------------------------- */

TEST(tracefile_reads_a_hand_built_file)
{
	struct mpx_runset rs = {};
	char err[512] = "";
	struct pb p;
	size_t flen = 0;
	unsigned char *f;
	const struct mpx_task *t;

	pb_good(&p);
	f = wrap(p.b, p.n, p.n, &flen);
	if (!ASSERT_NOT_NULL(f))
		return;
	ASSERT_EQ(tracefile__read_mem(f, flen, &rs, err, sizeof(err)), 0);
	ASSERT_STREQ(err, "");
	if (ASSERT_EQ(rs.n, 1) && ASSERT_EQ(rs.runs[0].m.ntasks, 1)) {
		t = &rs.runs[0].m.tasks[0];
		ASSERT_STREQ(rs.runs[0].info.command, "sleep 1");
		ASSERT_STREQ(rs.runs[0].info.attach, "raw_tp");
		ASSERT_EQ(rs.runs[0].info.startup_ns, 77);
		ASSERT_EQ(rs.runs[0].eb.n, 2);
		ASSERT_STREQ(t->comm, "mpxtrace");
		ASSERT_EQ(t->tid, ROOT);
		ASSERT_EQ(t->ppid, 1);
		/* Barrier from t0 (1000) until the switch-out, then asleep in
		 * stack 5 until the exit. */
		ASSERT_EQ(t->start_ns, 1000);
		ASSERT_TRUE(t->exited);
		ASSERT_STREQ(reasons__get(&rs.runs[0].m.reasons, 5), "pipe_read in read()");
		/* The exact RSS, on the process once the events are replayed. */
		ASSERT_TRUE(t->have_exact);
		ASSERT_EQ(t->exact_peak, 4 << 20);
		ASSERT_EQ(t->exact_anon, 3 << 20);
		ASSERT_EQ(t->exact_last, 2 << 20);
	}
	runset__free(&rs);
	free(f);
}

/* Format 1 (no exact RSS section) still reads; a corrupt entry does not. */
TEST(tracefile_reads_format_1_and_checks_exact_rss)
{
	struct mpx_runset rs = {};
	char err[512] = "";
	unsigned char *f;
	size_t flen = 0;
	struct pb p;

	pb_file(&p, -1);
	f = wrap_v(p.b, p.n, p.n, &flen, 1);
	if (!ASSERT_NOT_NULL(f))
		return;
	ASSERT_EQ(tracefile__read_mem(f, flen, &rs, err, sizeof(err)), 0);
	if (ASSERT_EQ(rs.n, 1) && ASSERT_EQ(rs.runs[0].m.ntasks, 1))
		ASSERT_FALSE(rs.runs[0].m.tasks[0].have_exact);
	runset__free(&rs);
	free(f);
	/* Format 2 without the section, format 1 with it: refused. */
	f = wrap_v(p.b, p.n, p.n, &flen, 2);
	if (ASSERT_NOT_NULL(f))
		expect_reject(f, flen, "RSSX");
	free(f);
	pb_good(&p);
	f = wrap_v(p.b, p.n, p.n, &flen, 1);
	if (ASSERT_NOT_NULL(f))
		expect_reject(f, flen, NULL);
	free(f);
	/* More anonymous memory than the peak: not a kernel's figure. */
	pb_file(&p, 5 << 20);
	f = wrap(p.b, p.n, p.n, &flen);
	if (ASSERT_NOT_NULL(f))
		expect_reject(f, flen, "exact RSS of pid");
	free(f);
}

/* ---- truncated and corrupt files --------------------------------------- */

TEST(tracefile_rejects_every_truncation)
{
	struct mpx_runset a;
	struct tmpdir td;
	char err[512] = "";
	unsigned char *f;
	size_t len, cut;

	if (!ASSERT_TRUE(tmpdir__make(&td)))
		return;
	make_runset(&a);
	ASSERT_EQ(tracefile__write(td.path, &a, err, sizeof(err)), 0);
	f = slurp(td.path, &len);
	if (ASSERT_NOT_NULL(f) && ASSERT_TRUE(len > MPX_TF_HDR_LEN)) {
		for (cut = 0; cut < len; cut++)
			expect_reject(f, cut, NULL);
		expect_reject(f, 0, "not an mpxtrace trace file");
		expect_reject(f, 5, "truncated");
		expect_reject(f, len - 1, NULL);
	}
	free(f);
	runset__free(&a);
	tmpdir__remove(&td);
}

/*
 * A flipped bit is refused, or is one deflate ignores (padding, an
 * equivalent code): then what is read back is the same run.
 */
static void expect_reject_or_same(const void *buf, size_t len, const struct mpx_run *want)
{
	struct mpx_runset rs = {};
	char err[512] = "";
	const struct mpx_run *r;

	if (tracefile__read_mem(buf, len, &rs, err, sizeof(err)) < 0) {
		ASSERT_TRUE(err[0] != '\0' && strchr(err, '\n') == NULL);
		ASSERT_EQ(rs.n, 0);
		return;
	}
	if (!ASSERT_EQ(rs.n, 1))
		goto out;
	r = &rs.runs[0];
	ASSERT_STREQ(r->info.command, want->info.command);
	ASSERT_EQ(r->end_ns, want->end_ns);
	ASSERT_EQ(r->m.reasons.n, want->m.reasons.n);
	if (ASSERT_EQ(r->eb.len, want->eb.len))
		ASSERT_EQ(memcmp(r->eb.data, want->eb.data, want->eb.len), 0);
out:
	runset__free(&rs);
}

TEST(tracefile_rejects_every_flipped_byte)
{
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };
	struct mpx_runset a;
	struct tmpdir td;
	char err[512] = "";
	unsigned char *f;
	size_t len, i, k;

	if (!ASSERT_TRUE(tmpdir__make(&td)))
		return;
	make_runset(&a);
	ASSERT_EQ(tracefile__write(td.path, &a, err, sizeof(err)), 0);
	f = slurp(td.path, &len);
	if (ASSERT_NOT_NULL(f)) {
		/* Every header field is checked exactly; zlib's header check and
		 * Adler-32 catch the rest. */
		for (i = 0; i < len; i++) {
			for (k = 0; k < ARRAY_SIZE(flips); k++) {
				f[i] ^= flips[k];
				if (i < MPX_TF_HDR_LEN || flips[k] == 0xff)
					expect_reject(f, len, NULL);
				else
					expect_reject_or_same(f, len, &a.runs[0]);
				f[i] ^= flips[k];
			}
		}
	}
	free(f);
	runset__free(&a);
	tmpdir__remove(&td);
}

TEST(tracefile_rejects_bad_headers)
{
	struct pb p;
	unsigned char *f;
	size_t flen = 0;
	uint32_t v;
	uint64_t big;

	pb_good(&p);
	f = wrap(p.b, p.n, p.n, &flen);
	if (!ASSERT_NOT_NULL(f))
		return;
	v = __builtin_bswap32(MPX_TF_ENDIAN);
	memcpy(f + 16, &v, 4);
	expect_reject(f, flen, "other byte order");
	v = MPX_TF_ENDIAN;
	memcpy(f + 16, &v, 4);
	v = MPX_TF_VERSION + 1;
	memcpy(f + 8, &v, 4);
	expect_reject(f, flen, "trace file format 3");
	v = MPX_TF_VERSION;
	memcpy(f + 8, &v, 4);
	v = MPX_EVENTS_VERSION + 1;
	memcpy(f + 12, &v, 4);
	expect_reject(f, flen, "event records of version");
	v = MPX_EVENTS_VERSION;
	memcpy(f + 12, &v, 4);
	v = 1;
	memcpy(f + 20, &v, 4);
	expect_reject(f, flen, "flags");
	v = 0;
	memcpy(f + 20, &v, 4);
	/* A payload the compressed bytes cannot hold: refused up front. */
	big = (uint64_t)MPX_TF_MAX_PAYLOAD + 1;
	memcpy(f + 24, &big, 8);
	expect_reject(f, flen, "corrupt header");
	/* One the bytes that follow cannot hold: cut short, or corrupt. */
	big = (uint64_t)flen * 4096;
	memcpy(f + 24, &big, 8);
	expect_reject(f, flen, "truncated or corrupt");
	big = p.n + 1;
	memcpy(f + 24, &big, 8);
	expect_reject(f, flen, "1 bytes after the last run");
	big = p.n - 1;
	memcpy(f + 24, &big, 8);
	expect_reject(f, flen, NULL);
	free(f);

	/* Bytes after the zlib stream. */
	f = wrap(p.b, p.n, p.n, &flen);
	if (ASSERT_NOT_NULL(f)) {
		unsigned char *g = malloc(flen + 3);

		if (ASSERT_NOT_NULL(g)) {
			memcpy(g, f, flen);
			memcpy(g + flen, "xyz", 3);
			expect_reject(g, flen + 3, "bytes after the compressed payload");
		}
		free(g);
	}
	free(f);
	expect_reject("GIF89a....", 10, "not an mpxtrace trace file");
}

/* ---- hostile payloads: counts and lengths beyond what is there ------------ */

TEST(tracefile_rejects_hostile_counts)
{
	struct pb p;
	size_t at;

	/* Four billion runs, and 4096 runs in a few bytes. */
	p.n = 0;
	pb_meta(&p, 0xffffffffu);
	expect_payload_reject(&p, "number of runs is 4294967295");
	p.n = 0;
	pb_meta(&p, MPX_TF_MAX_RUNS);
	expect_payload_reject(&p, "cannot fit");

	/* 2^40 records announced, two present. */
	p.n = 0;
	pb_meta(&p, 1);
	pb_run(&p, "x");
	pb_waits(&p, 1, 2);
	pb_lost(&p);
	pb_rssx(&p, 0);
	at = pb_sec(&p, "EVTS");
	pb_u64(&p, 1ull << 40);
	pb_end(&p, at);
	expect_payload_reject(&p, "records cannot fit");

	/* A billion wait reasons. */
	p.n = 0;
	pb_meta(&p, 1);
	pb_run(&p, "x");
	at = pb_sec(&p, "WAIT");
	pb_u32(&p, 1000000000u);
	pb_end(&p, at);
	expect_payload_reject(&p, "number of reasons");

	/* A section longer than the payload: the run's, after META's. */
	pb_good(&p);
	{
		uint64_t meta_len, huge = ~0ull;

		memcpy(&meta_len, p.b + 8, 8);
		memcpy(p.b + 16 + meta_len + 8, &huge, 8);
	}
	expect_payload_reject(&p, "left in the payload");
}

TEST(tracefile_rejects_hostile_strings_and_records)
{
	struct pb p;
	char longcmd[1100];

	/* A command longer than the run's buffer. */
	memset(longcmd, 'a', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = '\0';
	p.n = 0;
	pb_meta(&p, 1);
	pb_run(&p, longcmd);
	expect_payload_reject(&p, "the command is 1099 bytes");

	/* A string length past the section's end: the command's, after the
	 * run's mode, repeat, exit code and done. */
	pb_good(&p);
	{
		uint64_t meta_len;
		uint32_t len = 1000;

		memcpy(&meta_len, p.b + 8, 8);
		memcpy(p.b + 16 + meta_len + 16 + 13, &len, 4);
	}
	expect_payload_reject(&p, "ends inside the command");

	/* A NUL inside a string. */
	pb_good(&p);
	{
		unsigned char *q = memmem(p.b, p.n, "sleep 1", 7);

		if (ASSERT_NOT_NULL(q))
			q[2] = '\0';
	}
	expect_payload_reject(&p, "NUL inside the command");

	/* A record whose size does not match its type. */
	pb_good(&p);
	{
		struct mpx_hdr h;
		unsigned char *q = p.b + p.n - sizeof(struct mpx_exit);

		memcpy(&h, q, sizeof(h));
		h.size += 8;
		memcpy(q, &h, sizeof(h));
	}
	expect_payload_reject(&p, "has type 5 and size");

	/* A kernel counter no kernel writes (the switch's exec time). */
	pb_good(&p);
	{
		unsigned char *q = p.b + p.n - sizeof(struct mpx_exit) -
				   sizeof(struct mpx_switch);
		uint64_t big = MPX_TF_MAX_U64;

		memcpy(q + offsetof(struct mpx_switch, prev_k), &big, 8);
	}
	expect_payload_reject(&p, "record 0 holds a time or count of 2^60");

	/* An unknown record type. */
	pb_good(&p);
	{
		struct mpx_hdr h;
		unsigned char *q = p.b + p.n - sizeof(struct mpx_exit);

		memcpy(&h, q, sizeof(h));
		h.type = 200;
		memcpy(q, &h, sizeof(h));
	}
	expect_payload_reject(&p, "has type 200");

	/* The same stack id twice, and a negative one. */
	p.n = 0;
	pb_meta(&p, 1);
	pb_run(&p, "x");
	pb_waits(&p, 4, 4);
	expect_payload_reject(&p, "stack id 4 twice");
	p.n = 0;
	pb_meta(&p, 1);
	pb_run(&p, "x");
	pb_waits(&p, -3, 4);
	expect_payload_reject(&p, "(negative)");

	/* Sections out of order, and an unknown tag. */
	p.n = 0;
	pb_meta(&p, 1);
	pb_run(&p, "x");
	pb_lost(&p);
	expect_payload_reject(&p, "expected the run 1 wait reasons section");

	/* A bool that is not 0 or 1, a mode out of range. */
	pb_good(&p);
	/* META's builtin: after the section head, "test" and nruns. */
	p.b[16 + 4 + 4 + 4] = 2;
	expect_payload_reject(&p, NULL);

	/* Bytes left over at the end of the payload. */
	pb_good(&p);
	pb_u32(&p, 0);
	expect_payload_reject(&p, "after the last run");
}
