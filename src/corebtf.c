// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A small kernel BTF for CO-RE relocations, cached in /run per kernel.
 *
 * libbpf resolves each CO-RE relocation by searching the whole kernel BTF
 * (~150,000 types here) for candidates of the local type's name: one pass
 * per distinct local type, 1.5 ms each, most of mpxtrace's start-up.  With
 * bpf_object_open_opts.btf_custom_path it searches a BTF of our choosing
 * instead.  This one holds every kernel struct and union whose name a type
 * of our BPF object has (flavours ___x included), with its members at the
 * same offsets, and what those contain by value (nested structs, arrays,
 * enums, integers); pointers become void *, which CO-RE treats as
 * compatible with any pointer.  Field offsets, sizes, existence and
 * bitfields therefore resolve as against the full BTF.  The tp_btf attach
 * targets still come from the kernel's BTF.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "corebtf.h"

struct copier {
	const struct btf *src;
	struct btf *dst;
	int32_t *map;		/* src id -> dst id, 0: not yet */
	int void_ptr;
};

static int copy_type(struct copier *c, uint32_t id);

static int copy_struct(struct copier *c, uint32_t id, const struct btf_type *t)
{
	const struct btf_member *m = btf_members(t);
	uint16_t i, n = btf_vlen(t);
	int *mt, nid, err = 0;

	/* Member types first: a struct's fields must follow it directly. */
	mt = calloc(n ? n : 1, sizeof(*mt));
	if (!mt)
		return -ENOMEM;
	for (i = 0; i < n && err >= 0; i++)
		err = mt[i] = copy_type(c, m[i].type);
	if (err < 0)
		goto out;
	nid = btf_is_struct(t) ? btf__add_struct(c->dst, btf__name_by_offset(c->src, t->name_off),
						 t->size) :
				 btf__add_union(c->dst, btf__name_by_offset(c->src, t->name_off),
						t->size);
	if (nid < 0) {
		err = nid;
		goto out;
	}
	for (i = 0; i < n; i++) {
		err = btf__add_field(c->dst, btf__name_by_offset(c->src, m[i].name_off), mt[i],
				     btf_member_bit_offset(t, i), btf_member_bitfield_size(t, i));
		if (err < 0)
			goto out;
	}
	c->map[id] = nid;
	err = nid;
out:
	free(mt);
	return err;
}

static int copy_enum(struct copier *c, uint32_t id, const struct btf_type *t)
{
	const char *name = btf__name_by_offset(c->src, t->name_off);
	uint16_t i, n = btf_vlen(t);
	int nid, err;

	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t);

		nid = btf__add_enum(c->dst, name, t->size);
		for (i = 0; nid >= 0 && i < n; i++)
			if ((err = btf__add_enum_value(c->dst, btf__name_by_offset(c->src,
						       e[i].name_off), e[i].val)) < 0)
				return err;
	} else {
		const struct btf_enum64 *e = btf_enum64(t);

		nid = btf__add_enum64(c->dst, name, t->size, btf_kflag(t));
		for (i = 0; nid >= 0 && i < n; i++)
			if ((err = btf__add_enum64_value(c->dst, btf__name_by_offset(c->src,
							 e[i].name_off), btf_enum64_value(&e[i]))) < 0)
				return err;
	}
	if (nid >= 0)
		c->map[id] = nid;
	return nid;
}

static int copy_type(struct copier *c, uint32_t id)
{
	const struct btf_type *t;
	int nid, a, b;

	if (!id)
		return 0;
	if (c->map[id])
		return c->map[id];
	t = btf__type_by_id(c->src, id);
	if (!t)
		return -EINVAL;
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		nid = btf__add_int(c->dst, btf__name_by_offset(c->src, t->name_off), t->size,
				   btf_int_encoding(t));
		break;
	case BTF_KIND_FLOAT:
		nid = btf__add_float(c->dst, btf__name_by_offset(c->src, t->name_off), t->size);
		break;
	case BTF_KIND_PTR:
		if (!c->void_ptr)
			c->void_ptr = btf__add_ptr(c->dst, 0);
		nid = c->void_ptr;
		break;
	case BTF_KIND_ARRAY:
		a = copy_type(c, btf_array(t)->type);
		b = copy_type(c, btf_array(t)->index_type);
		if (a < 0 || b < 0)
			return a < 0 ? a : b;
		nid = btf__add_array(c->dst, b, a, btf_array(t)->nelems);
		break;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return copy_struct(c, id, t);
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return copy_enum(c, id, t);
	case BTF_KIND_FWD:
		nid = btf__add_fwd(c->dst, btf__name_by_offset(c->src, t->name_off),
				   btf_kflag(t) ? BTF_FWD_UNION : BTF_FWD_STRUCT);
		break;
	case BTF_KIND_TYPEDEF:
		a = copy_type(c, t->type);
		if (a < 0)
			return a;
		nid = btf__add_typedef(c->dst, btf__name_by_offset(c->src, t->name_off), a);
		break;
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		/* CO-RE looks through modifiers. */
		nid = copy_type(c, t->type);
		break;
	default:
		/* Not held by value in a struct (functions, variables). */
		return -EINVAL;
	}
	if (nid > 0)
		c->map[id] = nid;
	return nid;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names of our object's structs and unions, flavour suffix (___x) cut. */
static char **local_names(const struct btf *local, size_t *n)
{
	uint32_t i, cnt = btf__type_cnt(local);
	char **v = calloc(cnt, sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	for (i = 1; i < cnt; i++) {
		const struct btf_type *t = btf__type_by_id(local, i);
		const char *name, *f;

		if (!btf_is_composite(t) || !t->name_off)
			continue;
		name = btf__name_by_offset(local, t->name_off);
		f = strstr(name, "___");
		v[k] = f ? strndup(name, (size_t)(f - name)) : strdup(name);
		if (!v[k])
			break;
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_str);
	*n = k;
	return v;
}

static struct btf *build(const struct btf *vmlinux, const struct btf *local)
{
	struct copier c = { .src = vmlinux };
	uint32_t i, cnt = btf__type_cnt(vmlinux);
	char **names;
	size_t n = 0, j;
	int err = 0;

	names = local_names(local, &n);
	c.dst = btf__new_empty();
	c.map = calloc(cnt, sizeof(*c.map));
	if (!names || !c.dst || !c.map) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 1; i < cnt && err >= 0; i++) {
		const struct btf_type *t = btf__type_by_id(vmlinux, i);
		const char *name;

		if (!btf_is_composite(t) || !t->name_off)
			continue;
		name = btf__name_by_offset(vmlinux, t->name_off);
		if (bsearch(&name, names, n, sizeof(*names), cmp_str))
			err = copy_type(&c, i);
	}
out:
	for (j = 0; names && j < n; j++)
		free(names[j]);
	free(names);
	free(c.map);
	if (err < 0) {
		btf__free(c.dst);
		return NULL;
	}
	return c.dst;
}

/*
 * FNV-1a, to name the cache after what it was built from, taken 8 bytes
 * a step: the object is 1 MB, hashed at every start.
 */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

/*
 * Files of other kernels or builds would pile up till boot: keep the
 * KEEP_BUILDS newest (this one among them).  Not only this one: builds
 * used side by side (an installed one and a work tree) would otherwise
 * delete each other's at every run and pay the build each time.
 */
#define KEEP_BUILDS 8

struct aged {
	const char *path;
	struct timespec mtime;
};

static int newest_first(const void *a, const void *b)
{
	const struct timespec *x = &((const struct aged *)a)->mtime;
	const struct timespec *y = &((const struct aged *)b)->mtime;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? 1 : -1;
	return x->tv_nsec < y->tv_nsec ? 1 : x->tv_nsec > y->tv_nsec ? -1 : 0;
}

static void prune(const char *prefix, const char *keep)
{
	struct aged *v;
	struct stat st;
	char pat[128];
	size_t i, n = 0;
	glob_t g;

	snprintf(pat, sizeof(pat), "/run/%s-*.btf", prefix);
	if (glob(pat, 0, NULL, &g))
		return;
	v = calloc(g.gl_pathc, sizeof(*v));
	for (i = 0; v && i < g.gl_pathc; i++) {
		if (!strcmp(g.gl_pathv[i], keep) || stat(g.gl_pathv[i], &st))
			continue;
		v[n].path = g.gl_pathv[i];
		v[n++].mtime = st.st_mtim;
	}
	if (v)
		qsort(v, n, sizeof(*v), newest_first);
	for (i = KEEP_BUILDS - 1; v && i < n; i++)
		unlink(v[i].path);
	free(v);
	globfree(&g);
}

int corebtf__path(const void *elf, size_t elf_sz, const char *kernel_key, char *path,
		  size_t sz)
{
	return corebtf__path_named("mpxtrace-core", elf, elf_sz, kernel_key, path, sz);
}

int corebtf__path_named(const char *prefix, const void *elf, size_t elf_sz,
			const char *kernel_key, char *path, size_t sz)
{
	struct btf *vmlinux, *min;
	struct bpf_object *obj;
	char tmp[256];
	const void *raw;
	uint32_t size;
	uint64_t h;
	int fd;

	if (!kernel_key[0])
		return -ENOENT;
	h = fnv(0xcbf29ce484222325ull, kernel_key, strlen(kernel_key));
	h = fnv(h, elf, elf_sz);
	snprintf(path, sz, "/run/%s-%016llx.btf", prefix, (unsigned long long)h);
	if (!access(path, R_OK))
		return 0;
	if (getuid() != 0)
		return -EPERM;
	obj = bpf_object__open_mem(elf, elf_sz, NULL);
	if (!obj)
		return -errno ?: -EINVAL;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux || !bpf_object__btf(obj)) {
		bpf_object__close(obj);
		btf__free(vmlinux);
		return -ENOENT;
	}
	min = build(vmlinux, bpf_object__btf(obj));
	btf__free(vmlinux);
	bpf_object__close(obj);
	if (!min)
		return -ENOMEM;
	raw = btf__raw_data(min, &size);
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = raw ? mkstemp(tmp) : -1;
	if (fd < 0) {
		btf__free(min);
		return -EIO;
	}
	if (fchmod(fd, 0644) || write(fd, raw, size) != (ssize_t)size || close(fd) ||
	    rename(tmp, path)) {
		unlink(tmp);
		btf__free(min);
		return -EIO;
	}
	btf__free(min);
	prune(prefix, path);
	return 0;
}
