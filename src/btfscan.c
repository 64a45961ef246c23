// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btfscan.h"

/* The on-disk format, from include/uapi/linux/btf.h. */
struct btf_header_ {
	uint16_t magic;
	uint8_t version, flags;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

struct btf_type_ {
	uint32_t name_off, info, size_or_type;
};

enum {
	K_INT = 1, K_PTR, K_ARRAY, K_STRUCT, K_UNION, K_ENUM, K_FWD, K_TYPEDEF,
	K_VOLATILE, K_CONST, K_RESTRICT, K_FUNC, K_FUNC_PROTO, K_VAR, K_DATASEC,
	K_FLOAT, K_DECL_TAG, K_TYPE_TAG, K_ENUM64,
};

/* Bytes that follow a type record of this kind; -1: unknown kind. */
static long trailing(unsigned int kind, unsigned int vlen)
{
	switch (kind) {
	case K_INT: case K_VAR: case K_DECL_TAG: return 4;
	case K_ARRAY: return 12;
	case K_STRUCT: case K_UNION: case K_DATASEC: case K_ENUM64: return 12L * vlen;
	case K_ENUM: case K_FUNC_PROTO: return 8L * vlen;
	case K_PTR: case K_FWD: case K_TYPEDEF: case K_VOLATILE: case K_CONST:
	case K_RESTRICT: case K_FUNC: case K_FLOAT: case K_TYPE_TAG: return 0;
	default: return -1;
	}
}

int btfscan__tp_nargs(const void *btf, size_t size, const char *const tps[],
		      int nargs[], uint32_t ids[], size_t n)
{
	const struct btf_header_ *h = btf;
	const unsigned char *base = btf, *types, *p, *end;
	const char *strs;
	const struct btf_type_ **by_id = NULL;
	uint32_t *want_typedef;
	size_t ntypes = 0, cap = 0, i;
	int err = -EINVAL;

	for (i = 0; i < n; i++) {
		nargs[i] = -1;
		if (ids)
			ids[i] = 0;
	}
	if (size < sizeof(*h) || h->magic != 0xeB9F || h->hdr_len > size ||
	    (uint64_t)h->hdr_len + h->type_off + h->type_len > size ||
	    (uint64_t)h->hdr_len + h->str_off + h->str_len > size || !h->str_len)
		return -EINVAL;
	types = base + h->hdr_len + h->type_off;
	strs = (const char *)base + h->hdr_len + h->str_off;
	want_typedef = calloc(n ? n : 1, sizeof(*want_typedef));
	if (!want_typedef)
		return -ENOMEM;

	/* One pass: index every type by id (ids start at 1) and note the
	 * typedefs we look for. */
	for (p = types, end = types + h->type_len; p + sizeof(struct btf_type_) <= end;) {
		const struct btf_type_ *t = (const void *)p;
		unsigned int kind = (t->info >> 24) & 0x1f, vlen = t->info & 0xffff;
		long tr = trailing(kind, vlen);

		if (tr < 0 || p + sizeof(*t) + tr > end || t->name_off >= h->str_len)
			goto out;
		if (ntypes + 2 > cap) {
			const struct btf_type_ **nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(by_id, cap * sizeof(*by_id));
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			by_id = nb;
		}
		by_id[++ntypes] = t;
		if (kind == K_TYPEDEF && t->name_off &&
		    !strncmp(strs + t->name_off, "btf_trace_", 10))
			for (i = 0; i < n; i++)
				if (!strcmp(strs + t->name_off + 10, tps[i]))
					want_typedef[i] = (uint32_t)ntypes;
		p += sizeof(*t) + tr;
	}
	/* typedef -> PTR -> FUNC_PROTO; its first parameter is void *__data. */
	for (i = 0; i < n; i++) {
		const struct btf_type_ *t;
		uint32_t id;

		if (!want_typedef[i])
			continue;
		id = by_id[want_typedef[i]]->size_or_type;
		if (!id || id > ntypes || ((by_id[id]->info >> 24) & 0x1f) != K_PTR)
			continue;
		id = by_id[id]->size_or_type;
		if (!id || id > ntypes)
			continue;
		t = by_id[id];
		if (((t->info >> 24) & 0x1f) == K_FUNC_PROTO && (t->info & 0xffff) >= 1) {
			nargs[i] = (int)(t->info & 0xffff) - 1;
			if (ids)
				ids[i] = want_typedef[i];
		}
	}
	err = 0;
out:
	free(by_id);
	free(want_typedef);
	return err;
}
