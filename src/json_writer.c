// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <math.h>
#include <stdlib.h>

#include "json_writer.h"

#define JW_MAX_DEPTH 64

struct json_writer {
	FILE *f;
	bool pretty;
	int depth;
	bool first[JW_MAX_DEPTH];	/* nothing written yet at this level */
	bool after_key;
};

struct json_writer *jw_new(FILE *f, bool pretty)
{
	struct json_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->f = f;
	w->pretty = pretty;
	w->first[0] = true;
	return w;
}

void jw_free(struct json_writer *w)
{
	free(w);
}

static void newline(struct json_writer *w)
{
	int i;

	if (!w->pretty)
		return;
	fputc('\n', w->f);
	for (i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Separator before a value or a key at the current level. */
static void sep(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
	if (w->depth)
		newline(w);
}

static void open_(struct json_writer *w, char c)
{
	sep(w);
	fputc(c, w->f);
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_(struct json_writer *w, char c)
{
	bool empty = w->first[w->depth];

	if (w->depth)
		w->depth--;
	if (!empty)
		newline(w);
	fputc(c, w->f);
}

void jw_start_object(struct json_writer *w) { open_(w, '{'); }
void jw_end_object(struct json_writer *w) { close_(w, '}'); }
void jw_start_array(struct json_writer *w) { open_(w, '['); }
void jw_end_array(struct json_writer *w) { close_(w, ']'); }

static void put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;

	fputc('"', f);
	while (*p) {
		/* Runs that need no escaping go out in one write. */
		for (run = p; *p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\'; p++)
			;
		if (p > run)
			fwrite(run, 1, (size_t)(p - run), f);
		if (!*p)
			break;
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default: fprintf(f, "\\u%04x", *p);
		}
		p++;
	}
	fputc('"', f);
}

void jw_key(struct json_writer *w, const char *key)
{
	sep(w);
	put_string(w->f, key);
	fputs(w->pretty ? ": " : ":", w->f);
	w->after_key = true;
}

void jw_string(struct json_writer *w, const char *s)
{
	sep(w);
	put_string(w->f, s ? s : "");
}

void jw_u64(struct json_writer *w, uint64_t v)
{
	sep(w);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void jw_s64(struct json_writer *w, int64_t v)
{
	sep(w);
	fprintf(w->f, "%lld", (long long)v);
}

void jw_double(struct json_writer *w, double v)
{
	sep(w);
	if (isfinite(v))
		fprintf(w->f, "%.6g", v);
	else
		fputs("null", w->f);
}

void jw_fixed(struct json_writer *w, int64_t v, int decimals)
{
	uint64_t a = v < 0 ? -(uint64_t)v : (uint64_t)v, p = 1;
	int i;

	if (decimals < 0)
		decimals = 0;
	if (decimals > 18)
		decimals = 18;
	for (i = 0; i < decimals; i++)
		p *= 10;
	sep(w);
	if (!decimals)
		fprintf(w->f, "%s%llu", v < 0 ? "-" : "", (unsigned long long)a);
	else
		fprintf(w->f, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(a / p),
			decimals, (unsigned long long)(a % p));
}

void jw_bool(struct json_writer *w, bool v)
{
	sep(w);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct json_writer *w)
{
	sep(w);
	fputs("null", w->f);
}

void jw_kv_string(struct json_writer *w, const char *k, const char *s) { jw_key(w, k); jw_string(w, s); }
void jw_kv_u64(struct json_writer *w, const char *k, uint64_t v) { jw_key(w, k); jw_u64(w, v); }
void jw_kv_s64(struct json_writer *w, const char *k, int64_t v) { jw_key(w, k); jw_s64(w, v); }
void jw_kv_double(struct json_writer *w, const char *k, double v) { jw_key(w, k); jw_double(w, v); }
void jw_kv_fixed(struct json_writer *w, const char *k, int64_t v, int decimals) { jw_key(w, k); jw_fixed(w, v, decimals); }
void jw_kv_bool(struct json_writer *w, const char *k, bool v) { jw_key(w, k); jw_bool(w, v); }
