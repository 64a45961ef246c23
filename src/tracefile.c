// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Trace files (format in tracefile.h): a fixed header, then one zlib
 * stream of sections.  The writer runs its serializer twice, first only
 * counting bytes (section lengths, payload_len), then deflating; the
 * reader inflates as it parses, so it never holds the payload whole and
 * allocates only for what it has read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tracefile.h"
#include "util.h"

#ifndef MPX_VERSION
#define MPX_VERSION "0.1.0"
#endif

#define TF_BUFSZ	65536
#define TF_OBUFSZ	(256 * 1024)	/* inflated bytes read ahead */
#define TF_SECHDR	16	/* tag, flags, len */
#define TF_NULLSTR	0xffffffffu
/* Big enough for any record of include/events.h. */
#define TF_MAXREC	512
/* A run's smallest encoding: four section heads and its fixed fields. */
#define TF_MIN_RUN	(4 * TF_SECHDR + 100)

_Static_assert(sizeof(struct mpx_switch) <= TF_MAXREC &&
	       sizeof(struct mpx_wakeup) <= TF_MAXREC &&
	       sizeof(struct mpx_fork) <= TF_MAXREC &&
	       sizeof(struct mpx_exec) <= TF_MAXREC &&
	       sizeof(struct mpx_exit) <= TF_MAXREC &&
	       sizeof(struct mpx_comm) <= TF_MAXREC &&
	       sizeof(struct mpx_block) <= TF_MAXREC &&
	       sizeof(struct mpx_rss) <= TF_MAXREC &&
	       sizeof(struct mpx_migrate) <= TF_MAXREC &&
	       sizeof(struct mpx_py) <= TF_MAXREC &&
	       sizeof(struct mpx_gil) <= TF_MAXREC, "a record outgrew TF_MAXREC");
_Static_assert(MPX_EV_TYPE_MAX == 12, "a new record type: check TF_MAXREC");

/* Longest string of each field (excluding the NUL it gets in memory). */
#define TF_STR_VERSION	63
#define TF_STR_ATTACH	31

struct tf_header {
	char magic[8];
	uint32_t version;
	uint32_t events_version;
	uint32_t endian;
	uint32_t flags;
	uint64_t payload_len;
};
_Static_assert(sizeof(struct tf_header) == MPX_TF_HDR_LEN, "header layout");

static void set_err(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

uint64_t tracefile__nevents(const struct mpx_runset *rs)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < rs->n; i++)
		n += rs->runs[i].eb.n;
	return n;
}

/* ======================================================================
 * Writing
 * ====================================================================== */

struct tf_out {
	bool counting;		/* only count bytes */
	uint64_t n;		/* payload bytes so far */
	int err;		/* first error: negative errno */
	int fd;
	z_stream z;
	unsigned char *buf;
};

static int write_all(int fd, const void *p, size_t len)
{
	const unsigned char *b = p;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Run deflate over what is in z, writing out full buffers. */
static void out_deflate(struct tf_out *o, int flush)
{
	int ret;

	do {
		o->z.next_out = o->buf;
		o->z.avail_out = TF_BUFSZ;
		ret = deflate(&o->z, flush);
		if (ret == Z_STREAM_ERROR) {
			o->err = -EINVAL;
			return;
		}
		if (TF_BUFSZ - o->z.avail_out) {
			int err = write_all(o->fd, o->buf, TF_BUFSZ - o->z.avail_out);

			if (err) {
				o->err = err;
				return;
			}
		}
	} while (o->z.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
}

static void out_put(struct tf_out *o, const void *p, size_t len)
{
	o->n += len;
	if (o->counting || o->err || !len)
		return;
	/* Records and fields are small: len always fits avail_in. */
	o->z.next_in = (unsigned char *)p;
	o->z.avail_in = (uInt)len;
	out_deflate(o, Z_NO_FLUSH);
}

static void put_u8(struct tf_out *o, uint8_t v) { out_put(o, &v, sizeof(v)); }
static void put_u32(struct tf_out *o, uint32_t v) { out_put(o, &v, sizeof(v)); }
static void put_s32(struct tf_out *o, int32_t v) { out_put(o, &v, sizeof(v)); }
static void put_u64(struct tf_out *o, uint64_t v) { out_put(o, &v, sizeof(v)); }

/* A string no longer than max bytes; NULL allowed (checked by the caller). */
static void put_str(struct tf_out *o, const char *s, size_t max)
{
	size_t len;

	if (!s) {
		put_u32(o, TF_NULLSTR);
		return;
	}
	len = strlen(s);
	if (len > max) {
		if (!o->err)
			o->err = -ENAMETOOLONG;
		return;
	}
	put_u32(o, (uint32_t)len);
	out_put(o, s, len);
}

struct tf_wctx {
	const struct mpx_runset *rs;
	const struct mpx_run *r;
	const struct mpx_seed *seed;
};

typedef void (*tf_emit_fn)(struct tf_out *o, const struct tf_wctx *c);

/* A section: its length from a counting pass, then its bytes. */
static void put_section(struct tf_out *o, const char tag[4], tf_emit_fn fn,
			const struct tf_wctx *c)
{
	struct tf_out cnt = { .counting = true };

	fn(&cnt, c);
	if (cnt.err && !o->err)
		o->err = cnt.err;
	out_put(o, tag, 4);
	put_u32(o, 0);
	put_u64(o, cnt.n);
	if (o->counting) {
		o->n += cnt.n;
		return;
	}
	fn(o, c);
}

static void emit_meta(struct tf_out *o, const struct tf_wctx *c)
{
	const struct mpx_runset *rs = c->rs;
	const struct mpx_workload_opts *w = &rs->work;

	put_str(o, MPX_VERSION, TF_STR_VERSION);
	put_u32(o, (uint32_t)rs->n);
	put_u8(o, rs->builtin);
	put_u32(o, (uint32_t)w->mode);
	put_u32(o, (uint32_t)w->runtime);
	put_u32(o, w->tasks);
	put_u32(o, w->workers);
	put_u32(o, w->ms);
	put_u32(o, w->repeat);
	put_u64(o, w->bytes);
	put_str(o, w->kind, MPX_TF_MAX_STR - 1);
	put_str(o, w->start_method, MPX_TF_MAX_STR - 1);
	put_str(o, w->python, MPX_TF_MAX_STR - 1);
	put_str(o, rs->note, MPX_TF_MAX_STR - 1);
}

static void emit_run(struct tf_out *o, const struct tf_wctx *c)
{
	const struct mpx_run *r = c->r;
	const struct mpx_run_info *in = &r->info;
	const struct mpx_seed *s = c->seed;

	put_u32(o, (uint32_t)r->mode);
	put_u32(o, (uint32_t)r->repeat);
	put_s32(o, r->exit_code);
	put_u8(o, r->done);
	put_str(o, in->command, sizeof(in->command) - 1);
	put_str(o, in->attach, TF_STR_ATTACH);
	put_str(o, in->kernel, sizeof(in->kernel) - 1);
	put_s32(o, in->ncpus);
	put_u8(o, in->exited);
	put_s32(o, in->exit_status);
	put_u8(o, in->interrupted);
	put_u64(o, in->lost_events);
	put_u64(o, in->untracked_tasks);
	put_u64(o, in->lost_stacks);
	put_u64(o, in->rejected_records);
	put_u64(o, in->events);
	put_u64(o, in->startup_ns);
	put_u8(o, r->analyzed);
	put_u64(o, r->analyzed ? r->end_ns : 0);
	put_u8(o, s->seeded);
	put_u32(o, s->tid);
	put_u32(o, s->pid);
	put_u32(o, s->ppid);
	put_str(o, s->have_comm ? s->comm : NULL, MPX_COMM_LEN - 1);
	put_u64(o, s->ts);
	put_u8(o, s->have_k);
	put_u64(o, s->k.sum_exec_runtime);
	put_u64(o, s->k.run_delay);
	put_u64(o, s->k.pcount);
	put_u64(o, s->k.blkio_delay);
}

static void emit_waits(struct tf_out *o, const struct tf_wctx *c)
{
	const struct mpx_reasons *rs = &c->r->m.reasons;
	size_t i;

	put_u32(o, (uint32_t)rs->n);
	for (i = 0; i < rs->n; i++) {
		char name[MPX_REASON_LEN];

		/* The table's own field: NUL-terminated by reasons__add. */
		snprintf(name, sizeof(name), "%s", rs->v[i].name);
		put_s32(o, rs->v[i].id);
		put_str(o, name, MPX_REASON_LEN - 1);
	}
}

static void emit_lost(struct tf_out *o, const struct tf_wctx *c)
{
	const struct mpx_model *m = &c->r->m;
	size_t i;

	put_u32(o, (uint32_t)m->nlost);
	for (i = 0; i < m->nlost; i++) {
		put_u32(o, m->lost[i].tid);
		put_u64(o, m->lost[i].n);
	}
}

static void emit_rssx(struct tf_out *o, const struct tf_wctx *c)
{
	const struct mpx_model *m = &c->r->m;
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < m->ntasks; i++)
		n += m->tasks[i].have_exact && m->tasks[i].tid == m->tasks[i].pid;
	put_u32(o, n);
	for (i = 0; i < m->ntasks; i++) {
		const struct mpx_task *t = &m->tasks[i];

		if (!t->have_exact || t->tid != t->pid)
			continue;
		put_u32(o, t->pid);
		put_u64(o, t->exact_peak);
		put_u64(o, t->exact_anon);
		put_u64(o, t->exact_file);
		put_u64(o, t->exact_shmem);
		put_u64(o, t->exact_last);
	}
}

static void emit_events(struct tf_out *o, const struct tf_wctx *c)
{
	const struct evbuf *eb = &c->r->eb;
	size_t off = 0, n = 0;

	put_u64(o, eb->n);
	/* Arrival order: evbuf keeps records back to back, 8-byte aligned. */
	while (off < eb->len && n < eb->n) {
		const struct mpx_hdr *h = (const void *)(eb->data + off);

		out_put(o, h, h->size);
		off += ((size_t)h->size + 7) & ~(size_t)7;
		n++;
	}
	if (n != eb->n && !o->err)
		o->err = -EINVAL;
}

static bool record_plausible(const unsigned char *rec, unsigned int type);
static bool run_plausible(uint64_t end_ns, const struct mpx_seed *seed);

/* Refuse what a reader would refuse, before writing anything. */
static int check_writable(const struct mpx_runset *rs, struct mpx_seed *seeds,
			  char *err, size_t errsz)
{
	size_t i, j;

	if (rs->n > MPX_TF_MAX_RUNS) {
		set_err(err, errsz, "%zu runs, a trace file holds at most %d", rs->n,
			MPX_TF_MAX_RUNS);
		return -E2BIG;
	}
	for (i = 0; i < rs->n; i++) {
		const struct mpx_run *r = &rs->runs[i];

		if (r->analyzed)
			seeds[i] = r->seed;
		else if (!run__seed_of(&r->m, &seeds[i])) {
			set_err(err, errsz, "run %zu: its model was fed outside run__analyze()",
				i + 1);
			return -EINVAL;
		}
		if (r->m.reasons.n > MPX_TF_MAX_REASONS || r->m.nlost > MPX_TF_MAX_LOST ||
		    r->eb.n > MPX_TF_MAX_EVENTS) {
			set_err(err, errsz, "run %zu: too many wait reasons, losses or events "
				"for a trace file", i + 1);
			return -E2BIG;
		}
		for (j = 0; j < r->m.reasons.n; j++)
			if (r->m.reasons.v[j].id < 0) {
				set_err(err, errsz, "run %zu: wait reason with stack id %d",
					i + 1, r->m.reasons.v[j].id);
				return -EINVAL;
			}
		for (j = 0; j < r->eb.n; j++) {
			const struct mpx_hdr *h = evbuf__get(&r->eb, j);

			if (!record_plausible((const void *)h, h->type))
				break;
		}
		if (j < r->eb.n || !run_plausible(r->end_ns, &seeds[i])) {
			set_err(err, errsz, "run %zu: a time or count of 2^60 or more", i + 1);
			return -ERANGE;
		}
	}
	return 0;
}

static void emit_all(struct tf_out *o, const struct mpx_runset *rs,
		     const struct mpx_seed *seeds)
{
	struct tf_wctx c = { .rs = rs };
	size_t i;

	put_section(o, "META", emit_meta, &c);
	for (i = 0; i < rs->n; i++) {
		c.r = &rs->runs[i];
		c.seed = &seeds[i];
		put_section(o, "RUN ", emit_run, &c);
		put_section(o, "WAIT", emit_waits, &c);
		put_section(o, "LOST", emit_lost, &c);
		put_section(o, "RSSX", emit_rssx, &c);
		put_section(o, "EVTS", emit_events, &c);
	}
}

int tracefile__write(const char *path, const struct mpx_runset *rs,
		     char *err, size_t errsz)
{
	struct tf_out o = { .fd = -1 };
	struct tf_header h = { .version = MPX_TF_VERSION,
			       .events_version = MPX_EVENTS_VERSION,
			       .endian = MPX_TF_ENDIAN };
	struct mpx_seed *seeds = NULL;
	char *tmp = NULL;
	bool zinit = false;
	int ret;

	memcpy(h.magic, MPX_TF_MAGIC, sizeof(h.magic));
	seeds = calloc(rs->n ? rs->n : 1, sizeof(*seeds));
	o.buf = malloc(TF_BUFSZ);
	if (!seeds || !o.buf) {
		ret = -ENOMEM;
		set_err(err, errsz, "cannot write %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	ret = check_writable(rs, seeds, err, errsz);
	if (ret)
		goto cleanup;

	/* Pass 1: how long the payload is. */
	o.counting = true;
	emit_all(&o, rs, seeds);
	if (o.err) {
		ret = o.err;
		set_err(err, errsz, "cannot save the trace: a string is too long");
		goto cleanup;
	}
	if (o.n > MPX_TF_MAX_PAYLOAD) {
		ret = -E2BIG;
		set_err(err, errsz, "cannot save the trace: %llu bytes is too big",
			(unsigned long long)o.n);
		goto cleanup;
	}
	h.payload_len = o.n;

	/*
	 * Pass 2, into path.tmp: 0600 (command lines), and never through a
	 * symlink planted in a shared directory; a stale one is replaced.
	 * A pipe or a device is written in place.
	 */
	o.fd = mpx_open_tmp(path, &tmp);
	if (o.fd < 0) {
		ret = o.fd;
		o.fd = -1;
		set_err(err, errsz, "cannot write %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	if (deflateInit(&o.z, Z_DEFAULT_COMPRESSION) != Z_OK) {
		ret = -ENOMEM;
		goto io_error;
	}
	zinit = true;
	ret = write_all(o.fd, &h, sizeof(h));
	if (ret)
		goto io_error;
	o.counting = false;
	o.n = 0;
	emit_all(&o, rs, seeds);
	if (!o.err)
		out_deflate(&o, Z_FINISH);
	ret = o.err;
	if (!ret && o.n != h.payload_len)
		ret = -EINVAL;	/* the two passes disagree: a bug */
	if (ret)
		goto io_error;
	/* Complete on disk before it takes the final name. */
	if (tmp && fsync(o.fd)) {
		ret = -errno;
		goto io_error;
	}
	ret = close(o.fd) ? -errno : 0;
	o.fd = -1;
	if (ret)
		goto io_error;
	ret = mpx_commit_out(path, tmp);
	if (ret)
		goto io_error;
	goto cleanup;

io_error:
	set_err(err, errsz, "cannot write %s: %s", path, strerror(-ret));
	if (o.fd >= 0)
		close(o.fd);
	o.fd = -1;
	mpx_abort_out(tmp);
cleanup:
	if (zinit)
		deflateEnd(&o.z);
	free(o.buf);
	free(tmp);
	free(seeds);
	return ret;
}

/* ======================================================================
 * Reading
 * ====================================================================== */

struct tf_in {
	z_stream z;
	bool zinit;
	bool zend;			/* inflate saw the end of the stream */
	bool eof;			/* no more compressed bytes */
	int fd;				/* -1: from memory */
	const unsigned char *mem;	/* memory: compressed bytes not yet given to z */
	size_t memleft;
	unsigned char *inbuf;		/* file: compressed bytes read */
	uint64_t left;			/* payload bytes not yet parsed */
	unsigned char *obuf;		/* inflated ahead of the parser */
	size_t opos, olen;		/* obuf[opos, olen): not parsed yet */
	int zerr;			/* inflate failed past obuf's bytes */
	bool bounded;			/* payload_len checked against the input size */
	const char *name;		/* for messages */
	char *err;
	size_t errsz;
	int ret;			/* first error: negative errno */
};

/* Record the first error; returns it. */
static int fail(struct tf_in *in, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct tf_in *in, int ret, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (in->ret)
		return in->ret;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(in->err, in->errsz, "%s: %s", in->name, msg);
	in->ret = ret;
	return ret;
}

/* Give z more compressed bytes when it has none; sets eof at the end. */
static int in_refill(struct tf_in *in)
{
	ssize_t n;

	if (in->z.avail_in || in->eof)
		return 0;
	if (in->fd < 0) {
		size_t chunk = in->memleft < (1u << 30) ? in->memleft : (1u << 30);

		in->z.next_in = (unsigned char *)in->mem;
		in->z.avail_in = (uInt)chunk;
		in->mem += chunk;
		in->memleft -= chunk;
		in->eof = !chunk;
		return 0;
	}
	do
		n = read(in->fd, in->inbuf, TF_BUFSZ);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fail(in, -errno, "read error: %s", strerror(errno));
	in->z.next_in = in->inbuf;
	in->z.avail_in = (uInt)n;
	in->eof = !n;
	return 0;
}

static int zfail(struct tf_in *in, int zret)
{
	if (zret == Z_MEM_ERROR)
		return fail(in, -ENOMEM, "out of memory inflating the trace");
	return fail(in, -EBADMSG, "corrupt compressed data (%s)",
		    in->z.msg ? in->z.msg : "bad stream");
}

/*
 * Inflate more of the payload into obuf (which the parser has used up):
 * large outputs let inflate take its fast path.  Never past payload_len,
 * and errors come in the order a byte-by-byte reader meets them: bytes
 * inflated before a failure are handed out first.
 */
static int in_fill(struct tf_in *in)
{
	uint64_t room = in->left < TF_OBUFSZ ? in->left : TF_OBUFSZ;
	int zret;

	in->opos = in->olen = 0;
	if (in->zerr)
		return zfail(in, in->zerr);
	in->z.next_out = in->obuf;
	in->z.avail_out = (uInt)room;
	while (in->z.avail_out == room) {
		if (in->zend)
			return fail(in, -EBADMSG, "corrupt: the payload is shorter "
				    "than its header says");
		if (in_refill(in))
			return in->ret;
		if (!in->z.avail_in && in->eof)
			return fail(in, -EBADMSG, "truncated: the file ends inside "
				    "the compressed payload");
		zret = inflate(&in->z, Z_NO_FLUSH);
		if (zret == Z_STREAM_END)
			in->zend = true;
		else if (zret == Z_BUF_ERROR && !in->z.avail_in)
			continue;
		else if (zret != Z_OK && in->z.avail_out == room)
			return zfail(in, zret);
		else if (zret != Z_OK)
			in->zerr = zret;
	}
	in->olen = room - in->z.avail_out;
	return 0;
}

/* Exactly len payload bytes into dst. */
static int in_read(struct tf_in *in, void *dst, size_t len)
{
	unsigned char *d = dst;
	size_t k;

	if (in->ret)
		return in->ret;
	if (len > in->left)
		return fail(in, -EBADMSG, "corrupt: data runs past the payload's end");
	while (len) {
		if (in->opos == in->olen && in_fill(in))
			return in->ret;
		k = in->olen - in->opos < len ? in->olen - in->opos : len;
		memcpy(d, in->obuf + in->opos, k);
		in->opos += k;
		in->left -= k;
		d += k;
		len -= k;
	}
	return 0;
}

/* After the payload: the stream must end (checksum verified) and so must
 * the file. */
static int in_finish(struct tf_in *in)
{
	unsigned char extra;
	int zret;

	while (!in->zend) {
		in->z.next_out = &extra;
		in->z.avail_out = 1;
		if (in_refill(in))
			return in->ret;
		if (!in->z.avail_in && in->eof)
			return fail(in, -EBADMSG, "truncated: the compressed stream "
				    "does not end");
		zret = inflate(&in->z, Z_NO_FLUSH);
		if (!in->z.avail_out)
			return fail(in, -EBADMSG, "corrupt: the payload is longer "
				    "than its header says");
		if (zret == Z_STREAM_END)
			in->zend = true;
		else if (zret == Z_BUF_ERROR && !in->z.avail_in)
			continue;
		else if (zret != Z_OK)
			return zfail(in, zret);
	}
	if (!in->z.avail_in && in_refill(in))
		return in->ret;
	if (in->z.avail_in)
		return fail(in, -EBADMSG, "corrupt: bytes after the compressed payload");
	return 0;
}

/* A section being read: every field is checked against what is left. */
struct tf_sec {
	struct tf_in *in;
	char what[32];		/* "run 3 events", for messages */
	uint64_t left;
};

static int sec_open(struct tf_in *in, struct tf_sec *s, const char tag[4],
		    const char *fmt, size_t idx)
{
	struct {
		char tag[4];
		uint32_t flags;
		uint64_t len;
	} h;

	snprintf(s->what, sizeof(s->what), fmt, idx);
	s->in = in;
	s->left = 0;
	if (in->left < sizeof(h))
		return fail(in, -EBADMSG, "corrupt: the payload ends before the %s",
			    s->what);
	if (in_read(in, &h, sizeof(h)))
		return in->ret;
	if (memcmp(h.tag, tag, 4))
		return fail(in, -EBADMSG, "corrupt: expected the %s section "
			    "(\"%.4s\"), found another", s->what, tag);
	if (h.flags)
		return fail(in, -EBADMSG, "corrupt: %s section flags 0x%x", s->what,
			    h.flags);
	if (h.len > in->left)
		return fail(in, -EBADMSG, "corrupt: %s section of %llu bytes, %llu left "
			    "in the payload", s->what, (unsigned long long)h.len,
			    (unsigned long long)in->left);
	s->left = h.len;
	return 0;
}

static int sec_close(struct tf_sec *s)
{
	if (s->in->ret)
		return s->in->ret;
	if (s->left)
		return fail(s->in, -EBADMSG, "corrupt: %llu unexpected bytes at the end "
			    "of the %s section", (unsigned long long)s->left, s->what);
	return 0;
}

static int sec_get(struct tf_sec *s, void *dst, size_t len, const char *field)
{
	if (s->in->ret)
		return s->in->ret;
	if (len > s->left)
		return fail(s->in, -EBADMSG, "corrupt: the %s section ends inside %s",
			    s->what, field);
	s->left -= len;
	return in_read(s->in, dst, len);
}

static int get_u32(struct tf_sec *s, uint32_t *v, const char *field)
{
	return sec_get(s, v, sizeof(*v), field);
}

static int get_s32(struct tf_sec *s, int32_t *v, const char *field)
{
	return sec_get(s, v, sizeof(*v), field);
}

static int get_u64(struct tf_sec *s, uint64_t *v, const char *field)
{
	return sec_get(s, v, sizeof(*v), field);
}

/* A kernel counter (__u64 is unsigned long long, uint64_t may not be). */
static int get_k64(struct tf_sec *s, __u64 *v, const char *field)
{
	uint64_t x;

	if (get_u64(s, &x, field))
		return s->in->ret;
	*v = x;
	return 0;
}

static int get_bool(struct tf_sec *s, bool *v, const char *field)
{
	uint8_t b;

	if (sec_get(s, &b, 1, field))
		return s->in->ret;
	if (b > 1)
		return fail(s->in, -EBADMSG, "corrupt: %s: %s is %u, not 0 or 1",
			    s->what, field, b);
	*v = b;
	return 0;
}

/* A u32 in [min, max]. */
static int get_range(struct tf_sec *s, uint32_t *v, uint32_t min, uint32_t max,
		     const char *field)
{
	if (get_u32(s, v, field))
		return s->in->ret;
	if (*v < min || *v > max)
		return fail(s->in, -EBADMSG, "corrupt: %s: %s is %u, not in %u..%u",
			    s->what, field, *v, min, max);
	return 0;
}

/*
 * A string of at most max bytes into dst (dstsz > max), NUL-terminated;
 * *isnull set for a NULL string (refused when isnull is NULL).
 */
static int get_str(struct tf_sec *s, char *dst, size_t max, bool *isnull,
		   const char *field)
{
	uint32_t len;

	if (get_u32(s, &len, field))
		return s->in->ret;
	if (isnull)
		*isnull = len == TF_NULLSTR;
	if (len == TF_NULLSTR) {
		if (!isnull)
			return fail(s->in, -EBADMSG, "corrupt: %s: %s is missing",
				    s->what, field);
		dst[0] = '\0';
		return 0;
	}
	if (len > max)
		return fail(s->in, -EBADMSG, "corrupt: %s: %s is %u bytes (at most %zu)",
			    s->what, field, len, max);
	if (sec_get(s, dst, len, field))
		return s->in->ret;
	dst[len] = '\0';
	if (strlen(dst) != len)
		return fail(s->in, -EBADMSG, "corrupt: %s: NUL inside %s", s->what, field);
	return 0;
}

/* The same into a string the runset owns; NULL stays NULL. */
static int get_kept_str(struct tf_sec *s, struct mpx_runset *rs, const char **out,
			size_t max, const char *field)
{
	char *buf = malloc(max + 1);
	bool isnull;

	*out = NULL;
	if (!buf)
		return fail(s->in, -ENOMEM, "out of memory");
	if (get_str(s, buf, max, &isnull, field) || isnull) {
		free(buf);
		return s->in->ret;
	}
	*out = runset__keep(rs, buf);
	if (!*out)
		return fail(s->in, -ENOMEM, "out of memory");
	return 0;
}

static int read_meta(struct tf_in *in, struct mpx_runset *rs, uint32_t *nruns)
{
	struct mpx_workload_opts *w = &rs->work;
	char version[TF_STR_VERSION + 1];
	struct tf_sec s;
	uint32_t v;

	if (sec_open(in, &s, "META", "header", 0) ||
	    get_str(&s, version, TF_STR_VERSION, NULL, "the tool version") ||
	    get_range(&s, nruns, 0, MPX_TF_MAX_RUNS, "the number of runs") ||
	    get_bool(&s, &rs->builtin, "builtin"))
		return in->ret;
	/* Each run takes room: a count beyond what is left is a lie. */
	if ((uint64_t)*nruns * TF_MIN_RUN > in->left)
		return fail(in, -EBADMSG, "corrupt: %u runs cannot fit in %llu bytes",
			    *nruns, (unsigned long long)in->left);
	if (get_range(&s, &v, rs->builtin ? MPX_MODE_PROCESS : MPX_MODE_NONE,
		      rs->builtin ? MPX_MODE_BOTH : MPX_MODE_NONE, "the workload mode"))
		return in->ret;
	w->mode = (enum mpx_mode)v;
	if (get_range(&s, &v, MPX_RT_AUTO, MPX_RT_NATIVE, "the runtime"))
		return in->ret;
	w->runtime = (enum mpx_runtime)v;
	if (get_u32(&s, &w->tasks, "tasks") || get_u32(&s, &w->workers, "workers") ||
	    get_u32(&s, &w->ms, "task ms") || get_u32(&s, &w->repeat, "repeat") ||
	    get_u64(&s, &w->bytes, "task bytes") ||
	    get_kept_str(&s, rs, &w->kind, MPX_TF_MAX_STR - 1, "the task kind") ||
	    get_kept_str(&s, rs, &w->start_method, MPX_TF_MAX_STR - 1, "the start method") ||
	    get_kept_str(&s, rs, &w->python, MPX_TF_MAX_STR - 1, "the python path") ||
	    get_kept_str(&s, rs, &rs->note, MPX_TF_MAX_STR - 1, "the note"))
		return in->ret;
	return sec_close(&s);
}

static int read_run_meta(struct tf_in *in, struct mpx_runset *rs, size_t idx,
			 struct mpx_run **out)
{
	struct mpx_run_info *info;
	struct mpx_seed *seed;
	char attach[TF_STR_ATTACH + 1];
	struct mpx_run *r;
	struct tf_sec s;
	uint32_t mode, repeat, code;
	bool isnull;

	if (sec_open(in, &s, "RUN ", "run %zu", idx + 1))
		return in->ret;
	if (rs->builtin ?
	    get_range(&s, &mode, MPX_MODE_PROCESS, MPX_MODE_POOL, "the mode") :
	    get_range(&s, &mode, MPX_MODE_NONE, MPX_MODE_NONE, "the mode"))
		return in->ret;
	if (get_range(&s, &repeat, 0, 1u << 20, "the repeat index") ||
	    get_range(&s, &code, 0, 255, "the exit code"))
		return in->ret;
	r = runset__add(rs, (enum mpx_mode)mode, (int)repeat);
	if (!r)
		return fail(in, -ENOMEM, "out of memory");
	*out = r;
	info = &r->info;
	seed = &r->seed;
	r->exit_code = (int)code;
	if (get_bool(&s, &r->done, "done") ||
	    get_str(&s, info->command, sizeof(info->command) - 1, NULL, "the command") ||
	    get_str(&s, attach, TF_STR_ATTACH, &isnull, "the attach kind"))
		return in->ret;
	if (!isnull) {
		char *a = strdup(attach);

		if (!a || !(info->attach = runset__keep(rs, a)))
			return fail(in, -ENOMEM, "out of memory");
	}
	if (get_str(&s, info->kernel, sizeof(info->kernel) - 1, NULL, "the kernel") ||
	    get_s32(&s, &info->ncpus, "ncpus"))
		return in->ret;
	if (info->ncpus < -1 || info->ncpus > (1 << 20))
		return fail(in, -EBADMSG, "corrupt: run %zu: %d CPUs", idx + 1, info->ncpus);
	if (get_bool(&s, &info->exited, "exited") ||
	    get_s32(&s, &info->exit_status, "the exit status") ||
	    get_bool(&s, &info->interrupted, "interrupted") ||
	    get_u64(&s, &info->lost_events, "lost events") ||
	    get_u64(&s, &info->untracked_tasks, "untracked tasks") ||
	    get_u64(&s, &info->lost_stacks, "lost stacks") ||
	    get_u64(&s, &info->rejected_records, "rejected records") ||
	    get_u64(&s, &info->events, "events") ||
	    get_u64(&s, &info->startup_ns, "startup") ||
	    get_bool(&s, &r->analyzed, "analyzed") ||
	    get_u64(&s, &r->end_ns, "the end time") ||
	    get_bool(&s, &seed->seeded, "seeded") ||
	    get_u32(&s, &seed->tid, "the root tid") ||
	    get_u32(&s, &seed->pid, "the root pid") ||
	    get_u32(&s, &seed->ppid, "the root ppid") ||
	    get_str(&s, seed->comm, MPX_COMM_LEN - 1, &isnull, "the root comm") ||
	    get_u64(&s, &seed->ts, "t0") ||
	    get_bool(&s, &seed->have_k, "have_k") ||
	    get_k64(&s, &seed->k.sum_exec_runtime, "the root's exec time") ||
	    get_k64(&s, &seed->k.run_delay, "the root's run delay") ||
	    get_k64(&s, &seed->k.pcount, "the root's pcount") ||
	    get_k64(&s, &seed->k.blkio_delay, "the root's blkio delay"))
		return in->ret;
	seed->have_comm = !isnull;
	if (sec_close(&s))
		return in->ret;
	if (!run_plausible(r->end_ns, seed))
		return fail(in, -EBADMSG, "corrupt: run %zu: a time or count of 2^60 "
			    "or more", idx + 1);
	/* As trace__run() seeded it, before any event. */
	if (seed->seeded &&
	    !model__seed_root(&r->m, seed->tid, seed->pid, seed->ppid,
			      seed->have_comm ? seed->comm : NULL, seed->ts,
			      seed->have_k ? &seed->k : NULL))
		return fail(in, -ENOMEM, "out of memory");
	return 0;
}

static int read_waits(struct tf_in *in, struct mpx_run *r, size_t idx)
{
	char name[MPX_REASON_LEN];
	struct tf_sec s;
	uint32_t n, i;
	int32_t id;

	if (sec_open(in, &s, "WAIT", "run %zu wait reasons", idx + 1) ||
	    get_range(&s, &n, 0, MPX_TF_MAX_REASONS, "the number of reasons"))
		return in->ret;
	if ((uint64_t)n * 8 > s.left)
		return fail(in, -EBADMSG, "corrupt: %u wait reasons cannot fit in %llu "
			    "bytes", n, (unsigned long long)s.left);
	for (i = 0; i < n; i++) {
		if (get_s32(&s, &id, "a stack id") ||
		    get_str(&s, name, MPX_REASON_LEN - 1, NULL, "a reason"))
			return in->ret;
		if (id < 0 || reasons__get(&r->m.reasons, id))
			return fail(in, -EBADMSG, "corrupt: run %zu: wait reason for "
				    "stack id %d %s", idx + 1, id,
				    id < 0 ? "(negative)" : "twice");
		if (reasons__add(&r->m.reasons, id, name))
			return fail(in, -ENOMEM, "out of memory");
	}
	return sec_close(&s);
}

/*
 * A section of run idx that holds a count, then that many entries of size
 * bytes each: opened, the count read, within max and within the section.
 */
static int sec_open_list(struct tf_in *in, struct tf_sec *s, const char *tag, const char *what,
			 size_t idx, uint32_t max, unsigned int size, uint32_t *n)
{
	char fmt[64], desc[64];

	snprintf(fmt, sizeof(fmt), "run %%zu %s", what);
	if (sec_open(in, s, tag, fmt, idx + 1))
		return in->ret;
	snprintf(desc, sizeof(desc), "the number of %s", what);
	if (get_range(s, n, 0, max, desc))
		return in->ret;
	if ((uint64_t)*n * size > s->left)
		return fail(in, -EBADMSG, "corrupt: %u %s cannot fit in %llu bytes", *n, what,
			    (unsigned long long)s->left);
	return 0;
}

static int read_lost(struct tf_in *in, struct mpx_run *r, size_t idx)
{
	struct tf_sec s;
	uint32_t n, i, tid;
	uint64_t cnt;

	if (sec_open_list(in, &s, "LOST", "losses", idx, MPX_TF_MAX_LOST, 12, &n))
		return in->ret;
	for (i = 0; i < n; i++) {
		if (get_u32(&s, &tid, "a tid") || get_u64(&s, &cnt, "a loss count"))
			return in->ret;
		if (model__add_lost(&r->m, tid, cnt))
			return fail(in, -ENOMEM, "out of memory");
	}
	return sec_close(&s);
}

static int read_rssx(struct tf_in *in, struct mpx_run *r, size_t idx)
{
	struct tf_sec s;
	uint32_t n, i, pid;
	uint64_t v[5];
	int k;

	if (sec_open_list(in, &s, "RSSX", "exact RSS entries", idx, MPX_TF_MAX_RSSX, 44, &n))
		return in->ret;
	if (n && !(r->rssx = calloc(n, 6 * sizeof(*r->rssx))))
		return fail(in, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if (get_u32(&s, &pid, "a pid"))
			return in->ret;
		for (k = 0; k < 5; k++)
			if (get_u64(&s, &v[k], "an exact RSS figure"))
				return in->ret;
		if (v[0] >= MPX_TF_MAX_U64 || v[1] > v[0] || v[2] > v[0] || v[3] > v[0] ||
		    v[4] >= MPX_TF_MAX_U64)
			return fail(in, -EBADMSG, "corrupt: exact RSS of pid %u", pid);
		r->rssx[6 * i] = pid;
		memcpy(&r->rssx[6 * i + 1], v, sizeof(v));
	}
	r->nrssx = n;
	return sec_close(&s);
}

/*
 * Whether every 64-bit field of a record (times, kernel counters, page
 * and fault counts, sectors) is below MPX_TF_MAX_U64: no kernel writes
 * more, and the analyses subtract and add these as signed 64-bit numbers.
 */
static bool record_plausible(const unsigned char *rec, unsigned int type)
{
	/* Number of __u64 fields right after the header, per type. */
	static const unsigned char nu64[MPX_EV_TYPE_MAX] = {
		[MPX_EV_SWITCH] = 6,	/* prev_k, steal, rq_clock */
		[MPX_EV_WAKEUP] = 1,	/* waking_ts */
		[MPX_EV_EXIT] = 15,	/* k, mem, nvcsw .. maxrss */
		[MPX_EV_BLOCK] = 3,	/* start_ns, issue_ns, sector */
		[MPX_EV_RSS] = 7,	/* mem */
		[MPX_EV_PY] = 0,	/* arg: a count or flags, any value */
		[MPX_EV_GIL] = 1,	/* start_ns */
	};
	size_t i, n = type < MPX_EV_TYPE_MAX ? nu64[type] : 0;
	uint64_t v;

	if (((const struct mpx_hdr *)rec)->ts >= MPX_TF_MAX_U64)
		return false;
	for (i = 0; i < n; i++) {
		memcpy(&v, rec + sizeof(struct mpx_hdr) + i * sizeof(v), sizeof(v));
		if (v >= MPX_TF_MAX_U64)
			return false;
	}
	/* The switch's fields about next, at its end (from next_queued). */
	if (type == MPX_EV_SWITCH)
		for (i = 0; i < 3; i++) {
			memcpy(&v, rec + offsetof(struct mpx_switch, next_queued) + i * sizeof(v),
			       sizeof(v));
			if (v >= MPX_TF_MAX_U64)
				return false;
		}
	return true;
}
static bool run_plausible(uint64_t end_ns, const struct mpx_seed *seed)
{
	return end_ns < MPX_TF_MAX_U64 && seed->ts < MPX_TF_MAX_U64 &&
	       seed->k.sum_exec_runtime < MPX_TF_MAX_U64 &&
	       seed->k.run_delay < MPX_TF_MAX_U64 && seed->k.pcount < MPX_TF_MAX_U64 &&
	       seed->k.blkio_delay < MPX_TF_MAX_U64;
}

/* Where the __u64 runs end in include/events.h (nu64 above). */
_Static_assert(sizeof(struct mpx_hdr) == 16 &&
	       offsetof(struct mpx_switch, prev_tid) == 16 + 6 * 8 &&
	       offsetof(struct mpx_switch, next_waking_ts) ==
		       offsetof(struct mpx_switch, next_queued) + 2 * 8 &&
	       sizeof(struct mpx_switch) == offsetof(struct mpx_switch, next_queued) + 3 * 8 &&
	       offsetof(struct mpx_wakeup, tid) == 16 + 1 * 8 &&
	       offsetof(struct mpx_exit, tid) == 16 + 15 * 8 &&
	       offsetof(struct mpx_block, bytes) == 16 + 3 * 8 &&
	       offsetof(struct mpx_rss, tid) == 16 + 7 * 8 &&
	       offsetof(struct mpx_fork, parent_tid) == 16 &&
	       offsetof(struct mpx_exec, tid) == 16 &&
	       offsetof(struct mpx_comm, tid) == 16 &&
	       offsetof(struct mpx_py, tid) == 16 + 1 * 8 &&
	       offsetof(struct mpx_gil, tid) == 16 + 1 * 8, "record layout changed: check nu64");

static int read_events(struct tf_in *in, struct mpx_run *r, size_t idx)
{
	union {
		struct mpx_hdr h;
		uint64_t align;
		unsigned char b[TF_MAXREC];
	} rec;
	struct tf_sec s;
	uint64_t n, i;
	size_t want;
	int err;

	if (sec_open(in, &s, "EVTS", "run %zu events", idx + 1) ||
	    get_u64(&s, &n, "the number of records"))
		return in->ret;
	if (n > MPX_TF_MAX_EVENTS || n > s.left / sizeof(struct mpx_hdr))
		return fail(in, -EBADMSG, "corrupt: %llu records cannot fit in %llu bytes",
			    (unsigned long long)n, (unsigned long long)s.left);
	/* Room for them at once, when the input's size bounds the payload (a
	 * pipe's does not); it is only room: a failure here changes nothing. */
	if (in->bounded)
		evbuf__reserve(&r->eb, (size_t)n, (size_t)s.left);
	for (i = 0; i < n; i++) {
		if (sec_get(&s, &rec.h, sizeof(rec.h), "a record header"))
			return in->ret;
		want = mpx_event_size(rec.h.type);
		if (!want || rec.h.size != want)
			return fail(in, -EBADMSG, "corrupt: run %zu: record %llu has type "
				    "%u and size %u", idx + 1, (unsigned long long)i,
				    rec.h.type, rec.h.size);
		if (sec_get(&s, rec.b + sizeof(rec.h), want - sizeof(rec.h), "a record"))
			return in->ret;
		if (!record_plausible(rec.b, rec.h.type))
			return fail(in, -EBADMSG, "corrupt: run %zu: record %llu holds a "
				    "time or count of 2^60 or more", idx + 1,
				    (unsigned long long)i);
		err = evbuf__add(&r->eb, &rec, want);
		if (err)
			return fail(in, err, "run %zu: record %llu: %s", idx + 1,
				    (unsigned long long)i,
				    err == -ENOMEM ? "out of memory" : "malformed");
	}
	return sec_close(&s);
}

/* Header checks; compressed: bytes after the header, 0 when unknown. */
static int check_header(struct tf_in *in, const struct tf_header *h, uint64_t compressed)
{
	if (memcmp(h->magic, MPX_TF_MAGIC, sizeof(h->magic)))
		return fail(in, -EBADMSG, "not an mpxtrace trace file");
	if (h->endian == __builtin_bswap32(MPX_TF_ENDIAN))
		return fail(in, -EBADMSG, "written on a machine of the other byte "
			    "order: not readable here");
	if (h->endian != MPX_TF_ENDIAN)
		return fail(in, -EBADMSG, "corrupt header (byte order marker 0x%08x)",
			    h->endian);
	if (h->version < MPX_TF_VERSION_MIN || h->version > MPX_TF_VERSION)
		return fail(in, -EBADMSG, "trace file format %u: this mpxtrace reads "
			    "formats %d to %d", h->version, MPX_TF_VERSION_MIN, MPX_TF_VERSION);
	if (h->events_version != MPX_EVENTS_VERSION)
		return fail(in, -EBADMSG, "event records of version %u: this mpxtrace "
			    "reads version %d", h->events_version, MPX_EVENTS_VERSION);
	if (h->flags)
		return fail(in, -EBADMSG, "corrupt header (flags 0x%x)", h->flags);
	if (h->payload_len > MPX_TF_MAX_PAYLOAD)
		return fail(in, -EBADMSG, "corrupt header (a payload of %llu bytes)",
			    (unsigned long long)h->payload_len);
	if (compressed && h->payload_len / MPX_TF_MAX_RATIO > compressed)
		return fail(in, -EBADMSG, "truncated or corrupt: the header's payload of "
			    "%llu bytes cannot come from the %llu compressed bytes that follow",
			    (unsigned long long)h->payload_len, (unsigned long long)compressed);
	return 0;
}

/* Everything after the header: parse, verify to the end, then replay. */
static int read_body(struct tf_in *in, const struct tf_header *h, struct mpx_runset *rs)
{
	uint32_t nruns, i;

	in->left = h->payload_len;
	in->obuf = malloc(TF_OBUFSZ);
	if (!in->obuf || inflateInit(&in->z) != Z_OK)
		return fail(in, -ENOMEM, "out of memory");
	in->zinit = true;
	if (read_meta(in, rs, &nruns))
		return in->ret;
	for (i = 0; i < nruns; i++) {
		struct mpx_run *r = NULL;

		if (read_run_meta(in, rs, i, &r) || read_waits(in, r, i) ||
		    read_lost(in, r, i) || (h->version >= 2 && read_rssx(in, r, i)) ||
		    read_events(in, r, i))
			return in->ret;
	}
	if (in->left)
		return fail(in, -EBADMSG, "corrupt: %llu bytes after the last run",
			    (unsigned long long)in->left);
	if (in_finish(in))
		return in->ret;
	/* Verified whole (checksum included): now redo what live did. */
	for (i = 0; i < rs->n; i++) {
		struct mpx_run *r = &rs->runs[i];

		size_t k;

		if (r->analyzed)
			run__replay(&r->eb, &r->m, r->end_ns);
		/* As live, after the events: the exact RSS per process. */
		for (k = 0; k < r->nrssx; k++) {
			const uint64_t *x = &r->rssx[6 * k];

			model__set_exact_rss(&r->m, (uint32_t)x[0], x[1], x[2], x[3], x[4], x[5]);
		}
		free(r->rssx);
		r->rssx = NULL;
		r->nrssx = 0;
	}
	return 0;
}

static int read_finish(struct tf_in *in, struct mpx_runset *rs)
{
	if (in->zinit)
		inflateEnd(&in->z);
	free(in->obuf);
	if (in->ret)
		runset__free(rs);
	return in->ret;
}

int tracefile__read_mem(const void *buf, size_t len, struct mpx_runset *rs,
			char *err, size_t errsz)
{
	struct tf_in in = { .fd = -1, .name = "trace", .err = err, .errsz = errsz };
	struct tf_header h;

	if (len < sizeof(h)) {
		if (len && !memcmp(buf, MPX_TF_MAGIC, len < 8 ? len : 8))
			fail(&in, -EBADMSG, "truncated: %zu bytes, shorter than the "
			     "header", len);
		else
			fail(&in, -EBADMSG, "not an mpxtrace trace file");
		return read_finish(&in, rs);
	}
	memcpy(&h, buf, sizeof(h));
	in.mem = (const unsigned char *)buf + sizeof(h);
	in.memleft = len - sizeof(h);
	in.bounded = true;
	if (!check_header(&in, &h, len > sizeof(h) ? len - sizeof(h) : 1))
		read_body(&in, &h, rs);
	return read_finish(&in, rs);
}

int tracefile__read(const char *path, struct mpx_runset *rs, char *err, size_t errsz)
{
	struct tf_in in = { .fd = -1, .name = path, .err = err, .errsz = errsz };
	struct tf_header h;
	uint64_t compressed = 0;
	struct stat st;
	size_t got = 0;
	ssize_t n;

	in.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in.fd < 0) {
		fail(&in, -errno, "%s", strerror(errno));
		return read_finish(&in, rs);
	}
	if (fstat(in.fd, &st)) {
		fail(&in, -errno, "%s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fail(&in, -EISDIR, "%s", strerror(EISDIR));
		goto out;
	}
	while (got < sizeof(h)) {
		n = read(in.fd, (char *)&h + got, sizeof(h) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(&in, -errno, "read error: %s", strerror(errno));
			goto out;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(h)) {
		if (got && !memcmp(&h, MPX_TF_MAGIC, got < 8 ? got : 8))
			fail(&in, -EBADMSG, "truncated: %zu bytes, shorter than the "
			     "header", got);
		else
			fail(&in, -EBADMSG, "not an mpxtrace trace file");
		goto out;
	}
	/* A regular file's size bounds what its payload can inflate to. */
	if (S_ISREG(st.st_mode))
		compressed = st.st_size > (off_t)sizeof(h) ? (uint64_t)st.st_size - sizeof(h) : 1;
	if (check_header(&in, &h, compressed))
		goto out;
	in.bounded = compressed > 0;
	in.inbuf = malloc(TF_BUFSZ);
	if (!in.inbuf) {
		fail(&in, -ENOMEM, "out of memory");
		goto out;
	}
	read_body(&in, &h, rs);
out:
	free(in.inbuf);
	close(in.fd);
	return read_finish(&in, rs);
}
