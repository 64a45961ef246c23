/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The event stream: records in the format of include/events.h, kept in
 * arrival order and handed to the model in timestamp order.  The ring
 * buffer (live) or a trace file feeds it; nothing downstream knows which.
 */
#ifndef MPX_EVBUF_H
#define MPX_EVBUF_H

#ifdef __BPF__
#error "evbuf.h is user-space only"
#endif

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "events.h"

struct evbuf {
	unsigned char *data;	/* records back to back, 8-byte aligned */
	size_t len, cap;
	struct evbuf_ix {
		uint64_t ts;
		uint64_t off;	/* offset in data; also the arrival order */
	} *ix;
	size_t n, ixcap;
	uint64_t rejected;	/* malformed records refused by evbuf__add */
	uint64_t per_type[MPX_EV_TYPE_MAX];
};

/* Expected size of a record of this type, 0 for an unknown type. */
size_t mpx_event_size(unsigned int type);

void evbuf__init(struct evbuf *b);
void evbuf__free(struct evbuf *b);
/* Room for n more records of len bytes in all (8-byte aligned each), so
 * that adding them moves nothing.  Returns 0 or -ENOMEM. */
int evbuf__reserve(struct evbuf *b, size_t n, size_t len);
/* Copy one record in.  Returns 0, -EINVAL (malformed: counted), -ENOMEM. */
int evbuf__add(struct evbuf *b, const void *rec, size_t size);
/* Order by timestamp; records with equal timestamps keep arrival order. */
void evbuf__sort(struct evbuf *b);

/* An exec record's argv as one printable line (NULs become spaces). */
void mpx_args_string(const struct mpx_exec *e, char *out, size_t outsz);
/* One line of text per record (debugging, --dump-events). */
void mpx_event_print(FILE *f, const struct mpx_hdr *h, uint64_t t0);

static inline const struct mpx_hdr *evbuf__get(const struct evbuf *b, size_t i)
{
	return (const struct mpx_hdr *)(b->data + b->ix[i].off);
}

#endif /* MPX_EVBUF_H */
