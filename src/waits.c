// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "waits.h"

struct ksym {
	uint64_t addr;
	uint32_t name;		/* offset into names */
	uint32_t pad;
};

struct ksyms {
	struct ksym *s;
	size_t n, cap;
	char *names;
	size_t nlen, ncap;
	uint64_t stext, etext;	/* the core kernel's text, 0 when unknown */
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * "ffffffff81000000 T _stext [module]": hand-parsed, names in one arena;
 * 120k lines, so no sscanf and no malloc per symbol.
 */
struct ksyms *ksyms__load(FILE *f)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	char line[512];
	bool sorted = true;

	if (!k)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		uint64_t addr = 0;
		char *p = line, *name;
		size_t len;
		int v;

		while ((v = hexval(*p)) >= 0) {
			addr = addr << 4 | (uint64_t)v;
			p++;
		}
		if (*p != ' ' || !p[1] || p[2] != ' ')
			continue;
		/* Functions only: text symbols. */
		if (p[1] != 't' && p[1] != 'T' && p[1] != 'w' && p[1] != 'W')
			continue;
		name = p + 3;
		len = strcspn(name, " \t\n");
		if (!len)
			continue;
		/* BPF programs and trampolines come and go within a boot:
		 * left out, so a saved table holds only what stays. */
		if (strstr(name + len, "[bpf]") || strstr(name + len, "[__builtin__"))
			continue;
		if (mpx_grow((void **)&k->s, &k->cap, k->n + 1, sizeof(*k->s)) ||
		    mpx_grow((void **)&k->names, &k->ncap, k->nlen + len + 1, 1))
			goto fail;
		memcpy(k->names + k->nlen, name, len);
		k->names[k->nlen + len] = '\0';
		if (k->n && addr < k->s[k->n - 1].addr)
			sorted = false;
		if (len == 6 && !memcmp(name, "_stext", 6))
			k->stext = addr;
		else if (len == 6 && !memcmp(name, "_etext", 6))
			k->etext = addr;
		k->s[k->n].addr = addr;
		k->s[k->n].name = (uint32_t)k->nlen;
		k->s[k->n].pad = 0;
		k->nlen += len + 1;
		k->n++;
	}
	if (!sorted)
		qsort(k->s, k->n, sizeof(*k->s), cmp_ksym);
	return k;
fail:
	ksyms__free(k);
	errno = ENOMEM;
	return NULL;
}

/* The binary form (ksyms__save): a header, the symbols, the names. */
struct ksyms_file {
	char magic[8];		/* "MPXKSYM1" */
	uint64_t keylen, n, nlen, stext, etext;
	uint64_t sum;		/* ksyms_sum() of the symbols and names */
};

/* A 64-bit multiply-xor hash, 8 bytes a step: a corrupt copy is caught. */
static uint64_t ksyms_sum(const struct ksyms *k)
{
	const unsigned char *parts[2] = { (const void *)k->s, (const void *)k->names };
	size_t lens[2] = { k->n * sizeof(*k->s), k->nlen }, i, j;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ k->n, w;

	for (j = 0; j < 2; j++) {
		for (i = 0; i + 8 <= lens[j]; i += 8) {
			memcpy(&w, parts[j] + i, 8);
			h = (h ^ w) * 0xff51afd7ed558ccdull;
			h ^= h >> 32;
		}
		for (; i < lens[j]; i++)
			h = (h ^ parts[j][i]) * 0x100000001b3ull;
	}
	return h;
}

int ksyms__save(const struct ksyms *k, FILE *f, const char *key)
{
	struct ksyms_file h = { .keylen = strlen(key), .n = k->n, .nlen = k->nlen,
				.stext = k->stext, .etext = k->etext, .sum = ksyms_sum(k) };

	memcpy(h.magic, "MPXKSYM1", 8);
	if (fwrite(&h, sizeof(h), 1, f) != 1 || fwrite(key, 1, h.keylen, f) != h.keylen ||
	    fwrite(k->s, sizeof(*k->s), k->n, f) != k->n ||
	    fwrite(k->names, 1, k->nlen, f) != k->nlen)
		return -EIO;
	return 0;
}

struct ksyms *ksyms__load_saved(FILE *f, const char *key)
{
	struct ksyms *k = NULL;
	struct ksyms_file h;
	size_t i, klen = strlen(key);
	char *kbuf = NULL;

	if (fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, "MPXKSYM1", 8) ||
	    h.keylen != klen || h.n > (1u << 26) || h.nlen > (1u << 30))
		goto bad;
	kbuf = malloc(klen + 1);
	k = calloc(1, sizeof(*k));
	if (!kbuf || !k || fread(kbuf, 1, klen, f) != klen || memcmp(kbuf, key, klen))
		goto bad;
	k->s = malloc((h.n ? h.n : 1) * sizeof(*k->s));
	k->names = malloc(h.nlen ? h.nlen : 1);
	if (!k->s || !k->names || fread(k->s, sizeof(*k->s), h.n, f) != h.n ||
	    fread(k->names, 1, h.nlen, f) != h.nlen || fgetc(f) != EOF)
		goto bad;
	k->n = k->cap = h.n;
	k->nlen = k->ncap = h.nlen;
	k->stext = h.stext;
	k->etext = h.etext;
	if (ksyms_sum(k) != h.sum)
		goto bad;
	/* Sorted, and every name inside the arena and terminated. */
	for (i = 0; i < k->n; i++)
		if ((i && k->s[i].addr < k->s[i - 1].addr) || k->s[i].name >= k->nlen)
			goto bad;
	if (k->nlen && k->names[k->nlen - 1])
		goto bad;
	free(kbuf);
	return k;
bad:
	free(kbuf);
	ksyms__free(k);
	errno = EINVAL;
	return NULL;
}

bool ksyms__in_core_text(const struct ksyms *k, uint64_t addr)
{
	if (!k || !k->stext || !k->etext)
		return true;	/* unknown: take every frame */
	return addr >= k->stext && addr < k->etext;
}

void ksyms__free(struct ksyms *k)
{
	if (!k)
		return;
	free(k->s);
	free(k->names);
	free(k);
}

const char *ksyms__find(const struct ksyms *k, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!k || !k->n || addr < k->s[0].addr)
		return NULL;
	hi = k->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->s[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return k->names + k->s[lo].name;
}

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Frames that say "going to sleep", not what for. */
static bool is_plumbing(const char *n)
{
	static const char *const pfx[] = {
		"bpf_", "__bpf", "__traceiter", "trace_", "__schedule", "schedule",
		"io_schedule", "preempt_schedule", "__cond_resched", "_cond_resched",
		"__wait_", "wait_woken", "do_task_dead", "bit_wait", "out_of_line_wait",
		"prepare_to_wait", "finish_wait", "__down", "down_", "__mutex_lock",
		"mutex_lock", "__rt_mutex", "rt_mutex", "rwsem_down", "percpu_rwsem",
		"wait_for_completion", "__wait_for_common", "wait_for_common",
		"do_wait_for_common", "__x64_sys", "__ia32_sys", "__arm64_sys",
		"__se_sys", "__do_sys", "do_syscall", "entry_SYSCALL", "x64_sys_call",
		"el0_svc", "invoke_syscall", "__pfx_", "hrtimer_nanosleep",
		"poll_schedule_timeout", "freezable_schedule", "futex_wait_queue",
	};
	size_t i;

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (starts(n, pfx[i]))
			return true;
	return false;
}

/* "__x64_sys_read" -> "read"; loose: also "ksys_read", "kernel_wait4". */
static const char *syscall_of(const char *n, bool loose)
{
	static const char *const pfx[] = {
		"__x64_sys_", "__ia32_sys_", "__arm64_sys_", "__riscv_sys_",
		"__s390x_sys_", "__se_sys_", "__do_sys_",
		/* loose from here: only right below the syscall entry */
		"ksys_", "kernel_", "__sys_", "do_sys_",
	};
	size_t i, strict = 7;

	for (i = 0; i < (loose ? sizeof(pfx) / sizeof(pfx[0]) : strict); i++)
		if (starts(n, pfx[i]))
			return n + strlen(pfx[i]);
	return loose ? n : NULL;
}

static bool is_syscall_entry(const char *n)
{
	return starts(n, "do_syscall_64") || starts(n, "x64_sys_call") ||
	       starts(n, "invoke_syscall") || starts(n, "el0_svc") ||
	       starts(n, "do_int80_syscall") || starts(n, "__do_fast_syscall");
}

void waits__reason(const char *const names[], size_t n, char *out, size_t outsz)
{
	const char *what = NULL, *sys = NULL;
	size_t i, wl = 0;

	for (i = 0; i < n; i++) {
		const char *s;

		if (!names[i])
			continue;
		if (!sys && is_syscall_entry(names[i]) && i > 0 && names[i - 1])
			sys = syscall_of(names[i - 1], true);
		s = syscall_of(names[i], false);
		if (s && !sys)
			sys = s;
		if (!what && !is_plumbing(names[i])) {
			what = names[i];
			/* Drop compiler suffixes: ".constprop.0", ".isra.0". */
			wl = strcspn(what, ".");
		}
		if (starts(names[i], "asm_exc_page_fault") ||
		    starts(names[i], "exc_page_fault")) {
			if (!sys)
				sys = "page fault";
			break;
		}
	}
	if (!what && !sys) {
		snprintf(out, outsz, "?");
		return;
	}
	if (!what)
		snprintf(out, outsz, "%s()", sys);
	else if (!sys)
		snprintf(out, outsz, "%.*s", (int)wl, what);
	else if (!strcmp(sys, "page fault"))
		snprintf(out, outsz, "%.*s in page fault", (int)wl, what);
	else
		snprintf(out, outsz, "%.*s in %s()", (int)wl, what, sys);
}

/* Where id is in the hash, or the free slot it would take. */
static size_t reason_slot(const struct mpx_reasons *r, int32_t id)
{
	size_t h = ((uint32_t)id * 2654435761u) & (r->nslot - 1);

	while (r->slot[h] && r->v[r->slot[h] - 1].id != id)
		h = (h + 1) & (r->nslot - 1);
	return h;
}

/* Twice the slots, every reason hashed again. */
static int reasons_rehash(struct mpx_reasons *r)
{
	size_t nslot = r->nslot ? r->nslot * 2 : 64, i;
	uint32_t *slot = calloc(nslot, sizeof(*slot));

	if (!slot || r->n >= UINT32_MAX) {
		free(slot);
		return -ENOMEM;
	}
	free(r->slot);
	r->slot = slot;
	r->nslot = nslot;
	for (i = 0; i < r->n; i++)
		r->slot[reason_slot(r, r->v[i].id)] = (uint32_t)i + 1;
	return 0;
}

int reasons__add(struct mpx_reasons *r, int32_t id, const char *name)
{
	struct mpx_reason *e;

	if (reasons__get(r, id))
		return 0;
	if ((2 * (r->n + 1) > r->nslot && reasons_rehash(r)) ||
	    mpx_grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v)))
		return -ENOMEM;
	e = &r->v[r->n++];
	e->id = id;
	snprintf(e->name, sizeof(e->name), "%s", name);
	r->slot[reason_slot(r, id)] = (uint32_t)r->n;
	return 0;
}

const char *reasons__get(const struct mpx_reasons *r, int32_t id)
{
	size_t h;

	if (id == MPX_REASON_BARRIER)
		return "mpxtrace start barrier";
	if (id < 0 || !r->n)
		return NULL;
	h = reason_slot(r, id);
	return r->slot[h] ? r->v[r->slot[h] - 1].name : NULL;
}

void reasons__free(struct mpx_reasons *r)
{
	free(r->v);
	free(r->slot);
	memset(r, 0, sizeof(*r));
}
