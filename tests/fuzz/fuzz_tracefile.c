// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target for the trace-file reader (src/tracefile.c), built by
 * `make fuzz` with clang -fsanitize=fuzzer,address,undefined.
 *
 * An input that starts with "MPXTRACE" is a whole file, fed as it is: this
 * exercises the header and the zlib layer.  One that starts with "EV" is
 * a stream of events: each record takes its type from one byte and its
 * fields from the bytes after it, with tids folded onto a small tree, and
 * the harness writes the sections around them, so that mutations reach
 * the model and the analyses instead of breaking a section length.  Any
 * other input is an inflated payload (the sections) as it is.  The last
 * two are wrapped in a valid header and zlib stream (else mutations die
 * at the Adler-32 check).  A file the reader accepts is then analysed and
 * reported, text and JSON, as `mpxtrace report` would.
 *
 * Seeds: tests/fuzz/corpus/ (recorded files, truncated files, payloads).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "analysis.h"
#include "output.h"
#include "run.h"
#include "tracefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void read_and_report(const void *buf, size_t len)
{
	struct mpx_runset rs = {};
	struct mpx_analysis an = {};
	char err[512];

	if (tracefile__read_mem(buf, len, &rs, err, sizeof(err))) {
		/* One line, always: the caller prints it as is. */
		if (!err[0] || strchr(err, '\n'))
			abort();
		return;
	}
	if (!analysis__run(&an, &rs)) {
		output__text(&an, devnull, false);
		output__text(&an, devnull, true);
		output__json(&an, devnull);
	}
	analysis__free(&an);
	runset__free(&rs);
}

/* The payload, compressed, behind a header that declares its length. */
static void wrap_payload(const uint8_t *data, size_t size)
{
	uLongf zlen = compressBound(size);
	uint8_t *file = malloc(MPX_TF_HDR_LEN + zlen);
	struct {
		char magic[8];
		uint32_t version, events_version, endian, flags;
		uint64_t payload_len;
	} h = { .version = MPX_TF_VERSION, .events_version = MPX_EVENTS_VERSION,
		.endian = MPX_TF_ENDIAN, .payload_len = size };

	if (!file)
		return;
	memcpy(h.magic, MPX_TF_MAGIC, sizeof(h.magic));
	memcpy(file, &h, sizeof(h));
	if (compress2(file + MPX_TF_HDR_LEN, &zlen, data, size, 1) == Z_OK)
		read_and_report(file, MPX_TF_HDR_LEN + zlen);
	free(file);
}

/* ---- "EV" inputs: events in sections the harness writes ------------- */

#define EV_ROOT 1000
#define EV_T0 1000000ull

struct pbuf {
	uint8_t *b;
	size_t n, cap;
};

static void pb_put(struct pbuf *p, const void *v, size_t len)
{
	if (p->n + len > p->cap) {
		size_t cap = (p->n + len) * 2 + 256;
		uint8_t *nb = realloc(p->b, cap);

		if (!nb)
			abort();
		p->b = nb;
		p->cap = cap;
	}
	memcpy(p->b + p->n, v, len);
	p->n += len;
}

static void pb_u8(struct pbuf *p, uint8_t v) { pb_put(p, &v, 1); }
static void pb_u32(struct pbuf *p, uint32_t v) { pb_put(p, &v, 4); }
static void pb_u64(struct pbuf *p, uint64_t v) { pb_put(p, &v, 8); }

static void pb_str(struct pbuf *p, const char *str)
{
	if (!str) {
		pb_u32(p, 0xffffffffu);
		return;
	}
	pb_u32(p, (uint32_t)strlen(str));
	pb_put(p, str, strlen(str));
}

static size_t pb_sec(struct pbuf *p, const char *tag)
{
	size_t at;

	pb_put(p, tag, 4);
	pb_u32(p, 0);
	at = p->n;
	pb_u64(p, 0);
	return at;
}

static void pb_end(struct pbuf *p, size_t at)
{
	uint64_t len = p->n - at - 8;

	memcpy(p->b + at, &len, 8);
}

/* A tid of the small tree the events talk about (0 stays 0: untracked). */
static uint32_t fold_tid(uint32_t v)
{
	return v ? EV_ROOT + v % 8 : 0;
}

/* Make one record from raw bytes: valid type and size, plausible ids and
 * times; everything else as the fuzzer wrote it. */
static void fold_record(uint8_t *rec, uint32_t type)
{
	/* __u64 fields after the header, per type (as src/tracefile.c). */
	static const unsigned char nu64[MPX_EV_TYPE_MAX] = {
		[MPX_EV_SWITCH] = 5, [MPX_EV_WAKEUP] = 1, [MPX_EV_EXIT] = 15,
		[MPX_EV_BLOCK] = 3, [MPX_EV_RSS] = 7, [MPX_EV_GIL] = 1,
	};
	struct mpx_hdr *h = (void *)rec;
	uint64_t v;
	size_t i;

	/* Below what the reader refuses as no kernel's (MPX_TF_MAX_U64). */
	for (i = 0; i < nu64[type]; i++) {
		memcpy(&v, rec + sizeof(*h) + i * 8, 8);
		v &= MPX_TF_MAX_U64 - 1;
		memcpy(rec + sizeof(*h) + i * 8, &v, 8);
	}

	h->type = (uint16_t)type;
	h->size = (uint32_t)mpx_event_size(type);
	h->ts = EV_T0 - 1000 + h->ts % 100000000ull;
	h->cpu %= 4;
	switch (type) {
	case MPX_EV_SWITCH: {
		struct mpx_switch *e = (void *)rec;

		e->prev_tid = fold_tid(e->prev_tid);
		e->next_tid = fold_tid(e->next_tid);
		e->prev_pid = fold_tid(e->prev_pid);
		e->next_pid = fold_tid(e->next_pid);
		e->stack_id = e->stack_id % 6 - 1;
		e->next_waker_tid = fold_tid(e->next_waker_tid);
		/* Queued up to 1 ms before the switch's clock, and having
		 * waited up to 1 ms more elsewhere. */
		v = e->next_queued % 1000000;
		e->next_queued = e->next_queued && e->rq_clock < MPX_TF_MAX_U64 &&
				 e->rq_clock > v ? e->rq_clock - v : 0;
		e->next_run_delay &= MPX_TF_MAX_U64 - 1;
		e->next_waking_ts = e->next_waking_ts ? h->ts - e->next_waking_ts % 100000 : 0;
		break;
	}
	case MPX_EV_WAKEUP: {
		struct mpx_wakeup *e = (void *)rec;

		e->tid = fold_tid(e->tid);
		e->pid = fold_tid(e->pid);
		e->waker_tid = fold_tid(e->waker_tid);
		e->waker_pid = fold_tid(e->waker_pid);
		e->waking_ts = e->waking_ts ? h->ts - e->waking_ts % 100000 : 0;
		break;
	}
	case MPX_EV_FORK: {
		struct mpx_fork *e = (void *)rec;

		e->parent_tid = fold_tid(e->parent_tid);
		e->parent_pid = fold_tid(e->parent_pid);
		e->child_tid = fold_tid(e->child_tid);
		e->child_pid = fold_tid(e->child_pid);
		break;
	}
	case MPX_EV_EXEC: {
		struct mpx_exec *e = (void *)rec;

		e->tid = fold_tid(e->tid);
		e->pid = fold_tid(e->pid);
		e->old_tid = fold_tid(e->old_tid);
		break;
	}
	case MPX_EV_EXIT: {
		struct mpx_exit *e = (void *)rec;

		e->tid = fold_tid(e->tid);
		e->pid = fold_tid(e->pid);
		break;
	}
	case MPX_EV_COMM: {
		struct mpx_comm *e = (void *)rec;

		e->tid = fold_tid(e->tid);
		e->pid = fold_tid(e->pid);
		break;
	}
	case MPX_EV_BLOCK: {
		struct mpx_block *e = (void *)rec;

		e->tid = fold_tid(e->tid);
		e->pid = fold_tid(e->pid);
		e->credit_tid = fold_tid(e->credit_tid);
		e->credit_pid = fold_tid(e->credit_pid);
		e->start_ns = h->ts - e->start_ns % 10000000;
		e->issue_ns = e->issue_ns ? h->ts - e->issue_ns % 1000000 : 0;
		break;
	}
	case MPX_EV_RSS: {
		struct mpx_rss *e = (void *)rec;

		e->tid = fold_tid(e->tid);
		e->pid = fold_tid(e->pid);
		break;
	}
	case MPX_EV_PY: {
		struct mpx_py *e = (void *)rec;

		e->tid = fold_tid(e->tid);
		e->pid = fold_tid(e->pid);
		e->kind %= MPX_PY_PROBES + 1;
		break;
	}
	case MPX_EV_GIL: {
		struct mpx_gil *e = (void *)rec;

		e->tid = fold_tid(e->tid);
		e->pid = fold_tid(e->pid);
		e->start_ns = h->ts - e->start_ns % 10000000;
		break;
	}
	}
}

/* data[2]: bit 0 builtin (a process and a pool run of the same events). */
static void wrap_events(const uint8_t *data, size_t size)
{
	static const char *const reasons[] = {
		"pipe_read in read()", "do_wait in wait4()", "futex_wait in futex()",
		"io_schedule in fsync()", "do_nanosleep in clock_nanosleep()",
	};
	bool builtin = size > 2 && (data[2] & 1);
	struct pbuf ev = {}, p = {};
	uint64_t nrec = 0;
	size_t at, i, off = 3;
	int run, nruns = builtin ? 2 : 1;

	while (off < size && nrec < 4096) {
		_Alignas(8) uint8_t rec[512] = {};
		uint32_t type = data[off++] % (MPX_EV_TYPE_MAX - 1) + 1;
		size_t len = mpx_event_size(type);
		size_t take = size - off < len ? size - off : len;

		memcpy(rec, data + off, take);
		off += take;
		fold_record(rec, type);
		pb_put(&ev, rec, len);
		nrec++;
	}
	at = pb_sec(&p, "META");
	pb_str(&p, "fuzz");
	pb_u32(&p, (uint32_t)nruns);
	pb_u8(&p, builtin);
	pb_u32(&p, builtin ? MPX_MODE_BOTH : MPX_MODE_NONE);
	pb_u32(&p, builtin ? MPX_RT_PYTHON : MPX_RT_AUTO);
	pb_u32(&p, builtin ? 2 : 0);	/* tasks */
	pb_u32(&p, builtin ? 2 : 0);	/* workers */
	pb_u32(&p, 0);
	pb_u32(&p, builtin ? 1 : 0);	/* repeat */
	pb_u64(&p, 0);
	pb_str(&p, builtin ? "write" : NULL);
	pb_str(&p, builtin ? "fork" : NULL);
	pb_str(&p, NULL);
	pb_str(&p, NULL);
	pb_end(&p, at);
	for (run = 0; run < nruns; run++) {
		at = pb_sec(&p, "RUN ");
		pb_u32(&p, builtin ? (uint32_t)(MPX_MODE_PROCESS + run) : MPX_MODE_NONE);
		pb_u32(&p, 0);
		pb_u32(&p, 0);
		pb_u8(&p, 1);
		pb_str(&p, "fuzz");
		pb_str(&p, "tp_btf");
		pb_str(&p, "6.18");
		pb_u32(&p, 2);
		pb_u8(&p, 1);
		pb_u32(&p, 0);
		pb_u8(&p, 0);
		for (i = 0; i < 4; i++)
			pb_u64(&p, 0);
		pb_u64(&p, nrec);
		pb_u64(&p, 0);
		pb_u8(&p, 1);			/* analyzed */
		pb_u64(&p, EV_T0 + 200000000ull);
		pb_u8(&p, 1);			/* seeded */
		pb_u32(&p, EV_ROOT);
		pb_u32(&p, EV_ROOT);
		pb_u32(&p, 1);
		pb_str(&p, "mpxtrace");
		pb_u64(&p, EV_T0);
		pb_u8(&p, 1);
		for (i = 0; i < 4; i++)
			pb_u64(&p, 0);
		pb_end(&p, at);
		at = pb_sec(&p, "WAIT");
		pb_u32(&p, 5);
		for (i = 0; i < 5; i++) {
			pb_u32(&p, (uint32_t)i);
			pb_str(&p, reasons[i]);
		}
		pb_end(&p, at);
		at = pb_sec(&p, "LOST");
		pb_u32(&p, 1);
		pb_u32(&p, EV_ROOT + 1);
		pb_u64(&p, 3);
		pb_end(&p, at);
		at = pb_sec(&p, "EVTS");
		pb_u64(&p, nrec);
		if (ev.n)
			pb_put(&p, ev.b, ev.n);
		pb_end(&p, at);
	}
	wrap_payload(p.b, p.n);
	free(ev.b);
	free(p.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	if (size >= 8 && !memcmp(data, MPX_TF_MAGIC, 8))
		read_and_report(data, size);
	else if (size >= 2 && data[0] == 'E' && data[1] == 'V')
		wrap_events(data, size);
	else
		wrap_payload(data, size);
	return 0;
}
