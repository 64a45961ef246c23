// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE		/* the _unlocked stdio calls: one writer, one thread */
#include <math.h>
#include <stdio.h>
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
	fputc_unlocked('\n', w->f);
	for (i = 0; i < w->depth; i++)
		fputs_unlocked("  ", w->f);
}

/* Separator before a value or a key at the current level. */
static void sep(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		fputc_unlocked(',', w->f);
	w->first[w->depth] = false;
	if (w->depth)
		newline(w);
}

static void open_(struct json_writer *w, char c)
{
	sep(w);
	fputc_unlocked(c, w->f);
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
	fputc_unlocked(c, w->f);
}

void jw_start_object(struct json_writer *w) { open_(w, '{'); }
void jw_end_object(struct json_writer *w) { close_(w, '}'); }
void jw_start_array(struct json_writer *w) { open_(w, '['); }
void jw_end_array(struct json_writer *w) { close_(w, ']'); }

static void put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;

	fputc_unlocked('"', f);
	while (*p) {
		/* Runs that need no escaping go out in one write. */
		for (run = p; *p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\'; p++)
			;
		if (p > run)
			fwrite_unlocked(run, 1, (size_t)(p - run), f);
		if (!*p)
			break;
		switch (*p) {
		case '"': fputs_unlocked("\\\"", f); break;
		case '\\': fputs_unlocked("\\\\", f); break;
		case '\n': fputs_unlocked("\\n", f); break;
		case '\r': fputs_unlocked("\\r", f); break;
		case '\t': fputs_unlocked("\\t", f); break;
		default: fprintf(f, "\\u%04x", *p);
		}
		p++;
	}
	fputc_unlocked('"', f);
}

void jw_key(struct json_writer *w, const char *key)
{
	sep(w);
	put_string(w->f, key);
	fputs_unlocked(w->pretty ? ": " : ":", w->f);
	w->after_key = true;
}

void jw_string(struct json_writer *w, const char *s)
{
	sep(w);
	put_string(w->f, s ? s : "");
}

/* v in decimal, at least width digits (zero-padded): what printf's %0*llu
 * writes, without parsing a format for every number. */
static void put_dec(FILE *f, uint64_t v, int width)
{
	char b[24];
	int i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v || (int)sizeof(b) - i < width);
	fwrite_unlocked(b + i, 1, sizeof(b) - (size_t)i, f);
}

void jw_u64(struct json_writer *w, uint64_t v)
{
	sep(w);
	put_dec(w->f, v, 1);
}

void jw_s64(struct json_writer *w, int64_t v)
{
	sep(w);
	if (v < 0)
		fputc_unlocked('-', w->f);
	put_dec(w->f, v < 0 ? -(uint64_t)v : (uint64_t)v, 1);
}

void jw_double(struct json_writer *w, double v)
{
	sep(w);
	if (isfinite(v))
		fprintf(w->f, "%.6g", v);
	else
		fputs_unlocked("null", w->f);
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
	if (v < 0)
		fputc_unlocked('-', w->f);
	put_dec(w->f, a / p, 1);
	if (decimals) {
		fputc_unlocked('.', w->f);
		put_dec(w->f, a % p, decimals);
	}
}

void jw_bool(struct json_writer *w, bool v)
{
	sep(w);
	fputs_unlocked(v ? "true" : "false", w->f);
}

void jw_null(struct json_writer *w)
{
	sep(w);
	fputs_unlocked("null", w->f);
}

void jw_kv_string(struct json_writer *w, const char *k, const char *s) { jw_key(w, k); jw_string(w, s); }
void jw_kv_u64(struct json_writer *w, const char *k, uint64_t v) { jw_key(w, k); jw_u64(w, v); }
void jw_kv_s64(struct json_writer *w, const char *k, int64_t v) { jw_key(w, k); jw_s64(w, v); }
void jw_kv_double(struct json_writer *w, const char *k, double v) { jw_key(w, k); jw_double(w, v); }
void jw_kv_fixed(struct json_writer *w, const char *k, int64_t v, int decimals) { jw_key(w, k); jw_fixed(w, v, decimals); }
void jw_kv_bool(struct json_writer *w, const char *k, bool v) { jw_key(w, k); jw_bool(w, v); }
