// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The plumbing around the model: the event store (src/evbuf.c), the one
 * number parser (src/util.c), the JSON writer and the report's tree order.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events_builder.h"
#include "evbuf.h"
#include "json_writer.h"
#include "model.h"
#include "report.h"
#include "testlib.h"
#include "util.h"

/* ---- evbuf ------------------------------------------------------------- */

TEST(evbuf_add_rejects_malformed)
{
	/* Room for a record followed by junk: a too-long record. */
	union {
		struct mpx_switch sw;
		unsigned char bytes[sizeof(struct mpx_switch) + 8];
	} big = { 0 };
	struct mpx_switch sw = mk_switch(100, 0, 1, 1, 0, kc(0, 0, 0), 2, 2);
	struct mpx_wakeup wk = mk_wakeup(200, 0, 1, 1, 0, 0);
	struct mpx_hdr h;
	struct evbuf b;

	evbuf__init(&b);
	ASSERT_EQ(evbuf__add(&b, &sw, sizeof(sw)), 0);
	ASSERT_EQ(evbuf__add(&b, &wk, sizeof(wk)), 0);

	/* Size passed in differs from hdr.size. */
	ASSERT_EQ(evbuf__add(&b, &sw, sizeof(sw) - 8), -EINVAL);
	/* hdr.size agrees with the size passed, but not with the type. */
	big.sw = sw;
	big.sw.hdr.size = sizeof(big.bytes);
	ASSERT_EQ(evbuf__add(&b, &big, sizeof(big.bytes)), -EINVAL);
	/* A wakeup-sized record typed as a switch. */
	wk.hdr.type = MPX_EV_SWITCH;
	ASSERT_EQ(evbuf__add(&b, &wk, sizeof(wk)), -EINVAL);
	/* Unknown types. */
	h = mk_hdr(0, sizeof(h), 300, 0);
	ASSERT_EQ(evbuf__add(&b, &h, sizeof(h)), -EINVAL);
	h = mk_hdr(MPX_EV_TYPE_MAX, sizeof(h), 300, 0);
	ASSERT_EQ(evbuf__add(&b, &h, sizeof(h)), -EINVAL);
	sw.hdr.type = 99;
	ASSERT_EQ(evbuf__add(&b, &sw, sizeof(sw)), -EINVAL);
	/* Shorter than a header. */
	ASSERT_EQ(evbuf__add(&b, &h, 4), -EINVAL);

	ASSERT_EQ(b.rejected, 7);
	ASSERT_EQ(b.n, 2);
	ASSERT_EQ(b.per_type[MPX_EV_SWITCH], 1);
	ASSERT_EQ(b.per_type[MPX_EV_WAKEUP], 1);
	evbuf__free(&b);
}

/* Records of any size come back 8-byte aligned, as the model reads them. */
TEST(evbuf_records_aligned)
{
	struct mpx_comm cm = mk_comm(1, 0, 1, 1, "x");
	struct mpx_exec ex = mk_exec(2, 0, 1, 1, 1, "x", "/x");
	struct evbuf b;
	size_t i;

	evbuf__init(&b);
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(evbuf__add(&b, &cm, sizeof(cm)), 0);
		ASSERT_EQ(evbuf__add(&b, &ex, sizeof(ex)), 0);
	}
	for (i = 0; i < b.n; i++)
		if (!ASSERT_EQ((uintptr_t)evbuf__get(&b, i) % 8, 0))
			break;
	evbuf__free(&b);
}

/* Wakeups whose tid is their arrival number, to see the order after a sort. */
static void add_numbered(struct evbuf *b, const uint64_t *ts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct mpx_wakeup e = mk_wakeup(ts[i], (uint16_t)(i % 3), (uint32_t)i, 0, 0, 0);

		ASSERT_EQ(evbuf__add(b, &e, sizeof(e)), 0);
	}
}

static uint32_t tid_at(const struct evbuf *b, size_t i)
{
	return ((const struct mpx_wakeup *)evbuf__get(b, i))->tid;
}

TEST(evbuf_sort_equal_ts_keep_arrival_order)
{
	static const uint64_t ts[] = { 30, 10, 20, 10, 30, 10 };
	static const uint32_t want[] = { 1, 3, 5, 2, 0, 4 };
	uint64_t many[300];
	struct evbuf b;
	size_t i;

	evbuf__init(&b);
	add_numbered(&b, ts, ARRAY_SIZE(ts));
	evbuf__sort(&b);
	for (i = 0; i < ARRAY_SIZE(want); i++)
		ASSERT_EQ(tid_at(&b, i), want[i]);
	evbuf__free(&b);

	/* Enough for qsort to reorder: ties still in arrival order. */
	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = 1000 - i % 4;
	evbuf__init(&b);
	add_numbered(&b, many, ARRAY_SIZE(many));
	evbuf__sort(&b);
	for (i = 1; i < b.n; i++) {
		uint64_t prev = evbuf__get(&b, i - 1)->ts, cur = evbuf__get(&b, i)->ts;

		if (!ASSERT_TRUE(prev < cur ||
				 (prev == cur && tid_at(&b, i - 1) < tid_at(&b, i))))
			break;
	}
	evbuf__free(&b);
}

/* Per-CPU streams, each in time order, arriving in batches of 40 records
 * (the ring buffer's shape): sorted by time, ties in arrival order. */
TEST(evbuf_sort_interleaved_batches)
{
	enum { NCPU = 4, PER = 2000, BATCH = 40 };
	uint64_t *ts = calloc(NCPU * PER, sizeof(*ts)), next[NCPU] = { 0 };
	struct evbuf b;
	size_t i, n = 0, c, k;

	if (!ASSERT_NOT_NULL(ts))
		return;
	/* CPU c's i-th record at 1000 + 7 * i + c % 2: streams overlap in time
	 * and pairs of CPUs share timestamps. */
	while (n < NCPU * PER)
		for (c = 0; c < NCPU; c++)
			for (k = 0; k < BATCH && next[c] < PER; k++, next[c]++)
				ts[n++] = 1000 + 7 * next[c] + c % 2;
	evbuf__init(&b);
	add_numbered(&b, ts, n);
	evbuf__sort(&b);
	ASSERT_EQ(b.n, n);
	for (i = 1; i < b.n; i++) {
		uint64_t prev = evbuf__get(&b, i - 1)->ts, cur = evbuf__get(&b, i)->ts;

		if (!ASSERT_TRUE(prev < cur ||
				 (prev == cur && tid_at(&b, i - 1) < tid_at(&b, i))))
			break;
	}
	/* The first of 1000 + 7 * k: CPU 0's record k of its first batch. */
	ASSERT_EQ(evbuf__get(&b, 0)->ts, 1000);
	ASSERT_EQ(tid_at(&b, 0), 0);
	ASSERT_EQ(tid_at(&b, 1), 2 * BATCH);	/* CPU 2's first, same ts */
	ASSERT_EQ(evbuf__get(&b, b.n - 1)->ts, 1000 + 7 * (PER - 1) + 1);
	evbuf__free(&b);
	free(ts);
}

/* ---- mpx_sort_by_u64 --------------------------------------------------- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int cmp_u64_asc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct kv {
	uint64_t key, val;
};

static int cmp_kv(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->val < y->val ? -1 : x->val > y->val;
}

/* Keys over the whole 64-bit range, then over a narrow one: what qsort gives. */
TEST(sort_by_u64_matches_qsort)
{
	enum { N = 5000 };
	uint64_t *v = malloc(N * sizeof(*v)), *w = malloc(N * sizeof(*w));
	uint64_t seed = 88172645463325252ull;
	size_t i, round;

	if (!ASSERT_NOT_NULL(v) || !ASSERT_NOT_NULL(w))
		return;
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N; i++)
			v[i] = round == 0 ? xorshift(&seed) :
			       round == 1 ? 5000000 + xorshift(&seed) % 3000 : 42;
		v[7] = round == 0 ? UINT64_MAX : v[7];
		v[9] = round == 0 ? 0 : v[9];
		memcpy(w, v, N * sizeof(*v));
		qsort(w, N, sizeof(*w), cmp_u64_asc);
		ASSERT_EQ(mpx_sort_by_u64(v, N, sizeof(*v)), 0);
		ASSERT_TRUE(!memcmp(v, w, N * sizeof(*v)));
	}
	ASSERT_EQ(v[0], 42);
	ASSERT_EQ(mpx_sort_by_u64(v, 0, sizeof(*v)), 0);
	ASSERT_EQ(mpx_sort_by_u64(v, 1, sizeof(*v)), 0);
	ASSERT_EQ(mpx_sort_by_u64(v, N, 12), -EINVAL);
	free(v);
	free(w);
}

/* 16-byte elements: sorted by key, equal keys in their first order. */
TEST(sort_by_u64_stable)
{
	enum { N = 6000 };
	struct kv *a = malloc(N * sizeof(*a)), *ref = malloc(N * sizeof(*ref));
	uint64_t seed = 2463534242ull;
	size_t i;

	if (!ASSERT_NOT_NULL(a) || !ASSERT_NOT_NULL(ref))
		return;
	for (i = 0; i < N; i++) {
		/* Few distinct keys spread over 40 bits: many ties, four passes. */
		a[i].key = (xorshift(&seed) % 50) << 30 | (i % 3);
		a[i].val = i;
	}
	memcpy(ref, a, N * sizeof(*a));
	qsort(ref, N, sizeof(*ref), cmp_kv);
	ASSERT_EQ(mpx_sort_by_u64(a, N, sizeof(*a)), 0);
	for (i = 0; i < N; i++)
		if (!ASSERT_EQ(a[i].key, ref[i].key) || !ASSERT_EQ(a[i].val, ref[i].val))
			break;
	free(a);
	free(ref);
}

/* Sorted runs one after the other (a task's edges, then the next's), with
 * keys shared between runs: merged in order, ties from the earlier run first. */
TEST(sort_by_u64_sorted_runs)
{
	enum { N = 6000 };
	struct kv *a = malloc(N * sizeof(*a)), *ref = malloc(N * sizeof(*ref));
	static const size_t nruns[] = { 2, 3, 15, 16, 17, 40 };
	size_t i, r;

	if (!ASSERT_NOT_NULL(a) || !ASSERT_NOT_NULL(ref))
		return;
	for (r = 0; r < ARRAY_SIZE(nruns); r++) {
		size_t len = N / nruns[r];

		for (i = 0; i < N; i++) {
			a[i].key = 100 + (i % len) / 2 * 3 + i / len % 3;
			a[i].val = i;
		}
		memcpy(ref, a, N * sizeof(*a));
		qsort(ref, N, sizeof(*ref), cmp_kv);
		ASSERT_EQ(mpx_sort_by_u64(a, N, sizeof(*a)), 0);
		for (i = 0; i < N; i++)
			if (!ASSERT_EQ(a[i].key, ref[i].key) || !ASSERT_EQ(a[i].val, ref[i].val)) {
				printf("    with %zu runs\n", nruns[r]);
				break;
			}
	}
	free(a);
	free(ref);
}

/* The k-th largest against a full sort: wide, narrow, tied and equal values. */
TEST(kth_largest_matches_sort)
{
	enum { N = 20000 };
	uint64_t *v = malloc(N * sizeof(*v)), *w = malloc(N * sizeof(*w));
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	static const size_t ks[] = { 1, 2, 77, 10000, N - 1, N };
	size_t i, r, k;

	if (!ASSERT_NOT_NULL(v) || !ASSERT_NOT_NULL(w))
		return;
	for (r = 0; r < 4; r++) {
		for (i = 0; i < N; i++)
			w[i] = r == 0 ? xorshift(&seed) : r == 1 ? 1000 + xorshift(&seed) % 5000 :
			       r == 2 ? (xorshift(&seed) % 4) << 40 : 7;
		qsort(w, N, sizeof(*w), cmp_u64_asc);
		for (k = 0; k < ARRAY_SIZE(ks); k++) {
			for (i = 0; i < N; i++)	/* any order: reversed */
				v[i] = w[N - 1 - i];
			if (!ASSERT_EQ(mpx_kth_largest_u64(v, N, ks[k]), w[N - ks[k]]))
				printf("    values %zu, k %zu\n", r, ks[k]);
		}
	}
	v[0] = 5;
	ASSERT_EQ(mpx_kth_largest_u64(v, 1, 1), 5);
	ASSERT_EQ(mpx_kth_largest_u64(v, 0, 1), 0);
	free(v);
	free(w);
}

/* ---- mpx_parse_u64 ----------------------------------------------------- */

/* Parse s in [min, max]: the return value, and the result or 777 if untouched. */
#define PARSE(s, min, max, want_err, want_v) ({					\
	uint64_t parsed = 777;							\
										\
	ASSERT_EQ(mpx_parse_u64((s), (min), (max), &parsed), want_err);		\
	ASSERT_EQ(parsed, want_v);						\
})

TEST(parse_u64_valid)
{
	PARSE("0", 0, 10, 0, 0);
	PARSE("42", 0, 100, 0, 42);
	PARSE("007", 0, 100, 0, 7);
	PARSE("10", 10, 10, 0, 10);
	PARSE("18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX);
}

TEST(parse_u64_invalid)
{
	PARSE(NULL, 0, 100, -EINVAL, 777);
	PARSE("", 0, 100, -EINVAL, 777);
	PARSE("12x", 0, 100, -EINVAL, 777);
	PARSE("12 ", 0, 100, -EINVAL, 777);
	PARSE("0x10", 0, 100, -EINVAL, 777);
	PARSE("1.5", 0, 100, -EINVAL, 777);
	PARSE("x", 0, 100, -EINVAL, 777);
	PARSE("+1", 0, 100, -EINVAL, 777);
	PARSE(" 7", 0, 100, -EINVAL, 777);
}

TEST(parse_u64_negative)
{
	PARSE("-1", 0, UINT64_MAX, -EINVAL, 777);
	PARSE("-0", 0, UINT64_MAX, -EINVAL, 777);
	/* strtoull() skips blanks and then wraps "-1" to UINT64_MAX. */
	PARSE(" -1", 0, UINT64_MAX, -EINVAL, 777);
	PARSE("\t-5", 0, UINT64_MAX, -EINVAL, 777);
}

TEST(parse_u64_range)
{
	PARSE("5", 10, 100, -ERANGE, 777);
	PARSE("101", 10, 100, -ERANGE, 777);
	PARSE("18446744073709551615", 0, UINT64_MAX - 1, -ERANGE, 777);
	/* Overflow of 64 bits. */
	PARSE("18446744073709551616", 0, UINT64_MAX, -ERANGE, 777);
	PARSE("99999999999999999999999", 0, UINT64_MAX, -ERANGE, 777);
}

/* ---- json_writer ------------------------------------------------------- */

/* Every kind of value, nested, with strings that need escaping. */
static void write_sample(struct json_writer *w)
{
	jw_start_object(w);
	jw_kv_string(w, "s", "q\"b\\n\nt\tr\rc\001d\177 \xc3\xa9");
	jw_kv_string(w, "k\"ey", NULL);
	jw_kv_u64(w, "u", UINT64_MAX);
	jw_kv_s64(w, "i", -5);
	jw_kv_double(w, "d", 0.5);
	jw_kv_double(w, "e", 1.5e-7);
	jw_kv_double(w, "nan", NAN);
	jw_kv_bool(w, "t", true);
	jw_kv_bool(w, "f", false);
	jw_key(w, "z");
	jw_null(w);
	jw_key(w, "list");
	jw_start_array(w);
	jw_u64(w, 1);
	jw_start_array(w);
	jw_end_array(w);
	jw_start_object(w);
	jw_end_object(w);
	jw_start_array(w);
	jw_s64(w, 2);
	jw_start_object(w);
	jw_kv_string(w, "k", "v");
	jw_end_object(w);
	jw_end_array(w);
	jw_end_array(w);
	jw_key(w, "empty");
	jw_start_object(w);
	jw_end_object(w);
	jw_end_object(w);
}

/* What write_sample() prints, returned in a malloc'd string. */
static char *render(bool pretty)
{
	struct json_writer *w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!ASSERT_NOT_NULL(f))
		return NULL;
	w = jw_new(f, pretty);
	if (ASSERT_NOT_NULL(w)) {
		write_sample(w);
		jw_free(w);
	}
	fclose(f);
	return buf;
}

#define SAMPLE_S "\"q\\\"b\\\\n\\nt\\tr\\rc\\u0001d\\u007f \xc3\xa9\""

TEST(json_compact)
{
	char *out = render(false);

	ASSERT_STREQ(out,
		"{\"s\":" SAMPLE_S ",\"k\\\"ey\":\"\",\"u\":18446744073709551615,"
		"\"i\":-5,\"d\":0.5,\"e\":1.5e-07,\"nan\":null,\"t\":true,"
		"\"f\":false,\"z\":null,\"list\":[1,[],{},[2,{\"k\":\"v\"}]],"
		"\"empty\":{}}");
	free(out);
}

/* Integers and fixed-point numbers at their limits, as printf writes them. */
TEST(json_numbers)
{
	static const int64_t s[] = { 0, 1, -1, 9, 10, -10, 1005, -1005, 123456789,
				     INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	static const int dec[] = { 0, 1, 3, 6, 18 };
	char *buf = NULL, want[64];
	size_t len = 0, i, k;
	struct json_writer *w;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(s); i++) {
		f = open_memstream(&buf, &len);
		w = f ? jw_new(f, false) : NULL;
		if (!ASSERT_NOT_NULL(w))
			return;
		jw_s64(w, s[i]);
		jw_free(w);
		fclose(f);
		snprintf(want, sizeof(want), "%lld", (long long)s[i]);
		ASSERT_STREQ(buf, want);
		free(buf);
		for (k = 0; k < ARRAY_SIZE(dec); k++) {
			uint64_t a = s[i] < 0 ? -(uint64_t)s[i] : (uint64_t)s[i], p = 1;
			int d;

			for (d = 0; d < dec[k]; d++)
				p *= 10;
			if (dec[k])
				snprintf(want, sizeof(want), "%s%llu.%0*llu", s[i] < 0 ? "-" : "",
					 (unsigned long long)(a / p), dec[k],
					 (unsigned long long)(a % p));
			else
				snprintf(want, sizeof(want), "%lld", (long long)s[i]);
			f = open_memstream(&buf, &len);
			w = f ? jw_new(f, false) : NULL;
			if (!ASSERT_NOT_NULL(w))
				return;
			jw_fixed(w, s[i], dec[k]);
			jw_free(w);
			fclose(f);
			if (!ASSERT_STREQ(buf, want))
				printf("    %lld with %d decimals\n", (long long)s[i], dec[k]);
			free(buf);
		}
	}
	f = open_memstream(&buf, &len);
	w = f ? jw_new(f, false) : NULL;
	if (!ASSERT_NOT_NULL(w))
		return;
	jw_start_array(w);
	jw_u64(w, 0);
	jw_u64(w, 10);
	jw_u64(w, UINT64_MAX);
	jw_fixed(w, 1005, 3);
	jw_fixed(w, -7, 2);
	jw_end_array(w);
	jw_free(w);
	fclose(f);
	ASSERT_STREQ(buf, "[0,10,18446744073709551615,1.005,-0.07]");
	free(buf);
}

TEST(json_pretty)
{
	char *out = render(true);

	ASSERT_STREQ(out,
		"{\n"
		"  \"s\": " SAMPLE_S ",\n"
		"  \"k\\\"ey\": \"\",\n"
		"  \"u\": 18446744073709551615,\n"
		"  \"i\": -5,\n"
		"  \"d\": 0.5,\n"
		"  \"e\": 1.5e-07,\n"
		"  \"nan\": null,\n"
		"  \"t\": true,\n"
		"  \"f\": false,\n"
		"  \"z\": null,\n"
		"  \"list\": [\n"
		"    1,\n"
		"    [],\n"
		"    {},\n"
		"    [\n"
		"      2,\n"
		"      {\n"
		"        \"k\": \"v\"\n"
		"      }\n"
		"    ]\n"
		"  ],\n"
		"  \"empty\": {}\n"
		"}");
	free(out);
}

/* ---- report tree order ------------------------------------------------- */

struct row_want {
	uint32_t tid;
	int depth;
	uint64_t start_ns;	/* tells the two tasks of a reused tid apart */
};

/*
 * The root with two threads and processes forked by it and by one of its
 * threads; a reused tid; an adopted task.  Threads come before child
 * processes, each in start order.
 */
TEST(report_tree_order)
{
	static const struct row_want want[] = {
		{ 10, 0, 100 },
		{ 11, 1, 1000 },	/* root's threads */
		{ 12, 1, 3000 },
		{ 20, 1, 2000 },	/* root's processes */
		{ 21, 2, 5000 },	/* thread of the first 20 */
		{ 30, 1, 4000 },	/* forked by thread 11: a child of 10 */
		{ 20, 1, 8000 },	/* tid 20 reused */
		{ 22, 2, 9000 },	/* thread of the second 20 */
		{ 99, 0, 6000 },	/* adopted: parent unknown */
	};
	struct mpx_run_info run = { 0 };
	struct mpx_report r;
	struct mpx_model m;
	struct scn s;
	size_t i;

	model__init(&m);
	scn__init(&s);
	model__seed_root(&m, 10, 10, 1, "root", 100, NULL);
	scn__fork(&s, 1000, 10, 11, MPX_FORK_THREAD, "r-t1");
	scn__fork(&s, 2000, 10, 20, 0, "child");
	scn__fork(&s, 3000, 10, 12, MPX_FORK_THREAD, "r-t2");
	scn__fork(&s, 4000, 11, 30, 0, "child2");
	scn__fork(&s, 5000, 20, 21, MPX_FORK_THREAD, "c-t1");
	scn__wakeup(&s, 6000, 99);
	scn__out(&s, 7000, 20, MPX_TASK_DEAD, kc(0, 0, 0));
	scn__fork(&s, 8000, 10, 20, 0, "again");
	scn__fork(&s, 9000, 20, 22, MPX_FORK_THREAD, "a-t1");
	scn__apply(&s, &m);
	model__finish(&m, 10000);

	if (!ASSERT_EQ(report__build(&r, &run, &m), 0))
		goto out;
	ASSERT_EQ(r.nprocs, 5);		/* 10, 20, 30, 20 again, 99 */
	ASSERT_EQ(r.nthreads, 4);	/* 11, 12, 21, 22 */
	if (ASSERT_EQ(r.nrows, ARRAY_SIZE(want))) {
		for (i = 0; i < r.nrows; i++) {
			ASSERT_EQ(r.rows[i].t->tid, want[i].tid);
			ASSERT_EQ(r.rows[i].depth, want[i].depth);
			ASSERT_EQ(r.rows[i].t->start_ns, want[i].start_ns);
			ASSERT_EQ(r.rows[i].life_ns, r.rows[i].t->end_ns - r.rows[i].t->start_ns);
		}
	}
	report__free(&r);
out:
	scn__free(&s);
	model__free(&m);
}
