// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/stat.h>

#include "util.h"
#include "json_writer.h"

bool mpx_verbose;
bool mpx_json_errors;

static void vsay(const char *kind, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "mpxtrace: %s%s\n", kind, msg);
	if (mpx_json_errors && !*kind) {
		struct json_writer *w = jw_new(stdout, false);

		if (w) {
			jw_start_object(w);
			jw_kv_string(w, "error", msg);
			jw_end_object(w);
			jw_free(w);
			fputc('\n', stdout);
			fflush(stdout);
		}
	}
}

void mpx_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void mpx_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("warning: ", fmt, ap);
	va_end(ap);
}

void mpx_info(const char *fmt, ...)
{
	va_list ap;

	if (!mpx_verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int mpx_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* A digit first: strtoull() would skip blanks and accept a sign,
	 * turning " -1" into UINT64_MAX. */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

uint64_t mpx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int mpx_grow(void **buf, size_t *cap, size_t need, size_t elsz)
{
	size_t ncap = *cap ? *cap : 64;
	void *nb;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elsz)
			return -ENOMEM;
		ncap *= 2;
	}
	nb = realloc(*buf, ncap * elsz);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

/*
 * mpx_sort_by_u64: a most-significant-digit-first radix sort.  Each level
 * spreads the keys between their own min and max over up to 2^11
 * buckets (stable counting), then sorts each bucket the same way; a
 * bucket of few elements gets an insertion sort.  Input that is nearly in
 * order (interleaved sorted streams) lands in few buckets at a time, so
 * the writes stay sequential; a skewed range costs a level per 11 bits.
 */
#define MSD_BITS	11
#define MSD_SMALL	32

struct msd_e16 {
	uint64_t key, val;
};

static uint64_t msd_key(const unsigned char *a, size_t i, size_t elsz)
{
	uint64_t k;

	memcpy(&k, a + i * elsz, sizeof(k));
	return k;
}

static void msd_insertion(unsigned char *a, size_t n, size_t elsz)
{
	unsigned char x[16];
	size_t i, j;

	for (i = 1; i < n; i++) {
		uint64_t k = msd_key(a, i, elsz);

		if (msd_key(a, i - 1, elsz) <= k)
			continue;
		memcpy(x, a + i * elsz, elsz);
		for (j = i; j > 0 && msd_key(a, j - 1, elsz) > k; j--)
			;
		memmove(a + (j + 1) * elsz, a + j * elsz, (i - j) * elsz);
		memcpy(a + j * elsz, x, elsz);
	}
}

/* Sort the n elements of a in place, aux (as large) as scratch. */
static void msd_sort(unsigned char *a, unsigned char *aux, size_t n, size_t elsz)
{
	size_t count[(1u << MSD_BITS) + 1], i, nb;
	uint64_t min = UINT64_MAX, max = 0, k;
	unsigned int bits = MSD_BITS, len, shift;

	if (n <= MSD_SMALL) {
		msd_insertion(a, n, elsz);
		return;
	}
	for (i = 0; i < n; i++) {
		k = msd_key(a, i, elsz);
		min = k < min ? k : min;
		max = k > max ? k : max;
	}
	if (min == max)
		return;
	/* About 8 elements a bucket below 2^14 of them. */
	while (bits > 4 && (size_t)1 << (bits + 3) > n)
		bits--;
	len = 64 - (unsigned int)__builtin_clzll(max - min);
	shift = len > bits ? len - bits : 0;
	nb = (size_t)((max - min) >> shift) + 1;
	memset(count, 0, (nb + 1) * sizeof(count[0]));
	for (i = 0; i < n; i++)
		count[((msd_key(a, i, elsz) - min) >> shift) + 1]++;
	for (i = 1; i <= nb; i++)
		count[i] += count[i - 1];
	if (elsz == 8) {
		const uint64_t *s = (const uint64_t *)a;
		uint64_t *d = (uint64_t *)aux;

		for (i = 0; i < n; i++)
			d[count[(s[i] - min) >> shift]++] = s[i];
	} else {
		const struct msd_e16 *s = (const struct msd_e16 *)a;
		struct msd_e16 *d = (struct msd_e16 *)aux;

		for (i = 0; i < n; i++)
			d[count[(s[i].key - min) >> shift]++] = s[i];
	}
	memcpy(a, aux, n * elsz);
	/* count[b] is now where bucket b ends; one key per bucket at shift 0. */
	for (i = 0; shift && i < nb; i++) {
		size_t from = i ? count[i - 1] : 0;

		if (count[i] - from > 1)
			msd_sort(a + from * elsz, aux + from * elsz, count[i] - from, elsz);
	}
}

int mpx_sort_by_u64(void *v, size_t n, size_t elsz)
{
	unsigned char *aux;

	if (elsz != 8 && elsz != 16)
		return -EINVAL;
	if (n <= MSD_SMALL) {
		msd_insertion(v, n, elsz);
		return 0;
	}
	aux = malloc(n * elsz);
	if (!aux)
		return -ENOMEM;
	msd_sort(v, aux, n, elsz);
	free(aux);
	return 0;
}

uint64_t mpx_start_ns(void)
{
	unsigned long long start = 0;
	char buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;
	int field;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Field 22, counted after the ")" that ends the command name. */
	p = strrchr(buf, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1 || hz <= 0)
		return 0;
	/* starttime is in clock ticks since boot: CLOCK_BOOTTIME, which
	 * equals CLOCK_MONOTONIC unless the machine was suspended. */
	return start * (1000000000ull / (unsigned long long)hz);
}

static bool invoker(uid_t *uid, gid_t *gid)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	uint64_t u, g;

	if (getuid() != 0 || !su || !sg ||
	    mpx_parse_u64(su, 1, UINT32_MAX - 1, &u) ||
	    mpx_parse_u64(sg, 0, UINT32_MAX - 1, &g))
		return false;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return true;
}

int mpx_give_to_invoker(int fd)
{
	uid_t u;
	gid_t g;

	if (!invoker(&u, &g))
		return 0;
	return fchown(fd, u, g) ? -errno : 0;
}

int mpx_give_path_to_invoker(const char *path)
{
	uid_t u;
	gid_t g;

	if (!invoker(&u, &g))
		return 0;
	return lchown(path, u, g) ? -errno : 0;
}

/* path exists and is no regular file: written in place, never replaced. */
static bool special_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && !S_ISREG(st.st_mode);
}

int mpx_open_out(const char *path, mode_t mode, char **tmp)
{
	int fd;

	*tmp = NULL;
	if (special_file(path)) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (asprintf(tmp, "%s.tmp", path) < 0) {
		*tmp = NULL;
		return -ENOMEM;
	}
	/* Never through a file or symlink planted in a shared directory. */
	if (unlink(*tmp) && errno != ENOENT)
		return -errno;
	fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (mode == 0600 && fchmod(fd, 0600)) {
		int err = -errno;

		close(fd);
		unlink(*tmp);
		return err;
	}
	mpx_give_to_invoker(fd);
	return fd;
}

int mpx_open_tmp(const char *path, char **tmp)
{
	return mpx_open_out(path, 0600, tmp);
}

int mpx_commit_out(const char *path, const char *tmp)
{
	return tmp && rename(tmp, path) ? -errno : 0;
}

void mpx_abort_out(const char *tmp)
{
	if (tmp)
		unlink(tmp);
}

int mpx_check_out(const char *path)
{
	char *tmp;
	int fd;

	if (special_file(path))
		return access(path, W_OK) ? -errno : 0;
	fd = mpx_open_tmp(path, &tmp);
	if (fd >= 0)
		close(fd);
	mpx_abort_out(tmp);
	free(tmp);
	return fd < 0 ? fd : 0;
}
