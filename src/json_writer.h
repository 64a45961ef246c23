/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A small streaming JSON writer: the only way mpxtrace prints JSON. */
#ifndef MPX_JSON_WRITER_H
#define MPX_JSON_WRITER_H

#ifdef __BPF__
#error "json_writer.h is user-space only"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_writer;

struct json_writer *jw_new(FILE *f, bool pretty);
void jw_free(struct json_writer *w);

void jw_start_object(struct json_writer *w);
void jw_end_object(struct json_writer *w);
void jw_start_array(struct json_writer *w);
void jw_end_array(struct json_writer *w);
void jw_key(struct json_writer *w, const char *key);

void jw_string(struct json_writer *w, const char *s);
void jw_u64(struct json_writer *w, uint64_t v);
void jw_s64(struct json_writer *w, int64_t v);
void jw_double(struct json_writer *w, double v);
/* v / 10^decimals printed exactly, e.g. ns as microseconds "12.345". */
void jw_fixed(struct json_writer *w, int64_t v, int decimals);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);

void jw_kv_string(struct json_writer *w, const char *k, const char *s);
void jw_kv_u64(struct json_writer *w, const char *k, uint64_t v);
void jw_kv_s64(struct json_writer *w, const char *k, int64_t v);
void jw_kv_double(struct json_writer *w, const char *k, double v);
void jw_kv_fixed(struct json_writer *w, const char *k, int64_t v, int decimals);
void jw_kv_bool(struct json_writer *w, const char *k, bool v);

#endif /* MPX_JSON_WRITER_H */
