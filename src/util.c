// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>

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
 * mpx_sort_by_u64.  Input made of a few sorted runs (one per task, say)
 * is merged run by run.  Else a most-significant-digit-first radix sort:
 * each level spreads the keys between their own min and max over buckets
 * (stable counting), then sorts each bucket the same way, and a bucket of
 * few elements gets an insertion sort.  Input nearly in order (per-CPU
 * streams interleaved in batches) lands in few buckets at a time, so the
 * writes stay sequential; a skewed range costs one more level.
 */
#define MSD_BITS	11
#define MSD_SMALL	32
#define MERGE_RUNS	16

struct e16 {
	uint64_t key, val;
};

/* Element types of 8 and 16 bytes, a key first. */
#define E8_KEY(e)	(e)
#define E16_KEY(e)	((e).key)

#define DEFINE_INSERTION(name, type, KEY)					\
static void name(type *a, size_t n)						\
{										\
	size_t i, j;								\
										\
	for (i = 1; i < n; i++) {						\
		type x = a[i];							\
										\
		for (j = i; j > 0 && KEY(a[j - 1]) > KEY(x); j--)		\
			a[j] = a[j - 1];					\
		a[j] = x;							\
	}									\
}

/* Merge sorted a[0, m) and a[m, n) into d. */
#define DEFINE_MERGE(name, type, KEY)						\
static void name(const type *a, size_t m, size_t n, type *d)			\
{										\
	size_t i = 0, j = m, k = 0;						\
										\
	while (i < m && j < n)							\
		d[k++] = KEY(a[j]) < KEY(a[i]) ? a[j++] : a[i++];		\
	while (i < m)								\
		d[k++] = a[i++];						\
	while (j < n)								\
		d[k++] = a[j++];						\
}

/* Scatter a over the buckets counted in cnt (starts), into d. */
#define DEFINE_SCATTER(name, type, KEY)						\
static void name(const type *a, size_t n, type *d, size_t *cnt, uint64_t min,	\
		 unsigned int shift)						\
{										\
	size_t i;								\
										\
	for (i = 0; i < n; i++)							\
		d[cnt[(KEY(a[i]) - min) >> shift]++] = a[i];			\
}

DEFINE_INSERTION(insertion8, uint64_t, E8_KEY)
DEFINE_INSERTION(insertion16, struct e16, E16_KEY)
DEFINE_MERGE(merge8, uint64_t, E8_KEY)
DEFINE_MERGE(merge16, struct e16, E16_KEY)
DEFINE_SCATTER(scatter8, uint64_t, E8_KEY)
DEFINE_SCATTER(scatter16, struct e16, E16_KEY)

static uint64_t key_at(const unsigned char *a, size_t i, size_t elsz)
{
	uint64_t k;

	memcpy(&k, a + i * elsz, sizeof(k));
	return k;
}

static void insertion(unsigned char *a, size_t n, size_t elsz)
{
	if (elsz == 8)
		insertion8((uint64_t *)a, n);
	else
		insertion16((struct e16 *)a, n);
}

static void msd_move(unsigned char *src, unsigned char *dst, size_t n, size_t elsz);

/*
 * One level: count the keys of src over up to 2^MSD_BITS buckets between
 * their min and max, then spread them into dst in that order.  cnt gets
 * where each bucket ends.  Returns the number of buckets, 0 when every
 * key is the same (dst untouched); *shift 0: one key a bucket.
 */
static size_t msd_level(const unsigned char *src, unsigned char *dst, size_t n,
			size_t elsz, size_t *cnt, unsigned int *shift)
{
	uint64_t min = UINT64_MAX, max = 0, k;
	unsigned int bits = MSD_BITS, len;
	size_t i, nb;

	for (i = 0; i < n; i++) {
		k = key_at(src, i, elsz);
		min = k < min ? k : min;
		max = k > max ? k : max;
	}
	if (min == max)
		return 0;
	/* About 8 elements a bucket. */
	while (bits > 4 && (size_t)1 << (bits + 3) > n)
		bits--;
	len = 64 - (unsigned int)__builtin_clzll(max - min);
	*shift = len > bits ? len - bits : 0;
	nb = (size_t)((max - min) >> *shift) + 1;
	memset(cnt, 0, (nb + 1) * sizeof(cnt[0]));
	for (i = 0; i < n; i++)
		cnt[((key_at(src, i, elsz) - min) >> *shift) + 1]++;
	for (i = 1; i <= nb; i++)
		cnt[i] += cnt[i - 1];
	if (elsz == 8)
		scatter8((const uint64_t *)src, n, (uint64_t *)dst, cnt, min, *shift);
	else
		scatter16((const struct e16 *)src, n, (struct e16 *)dst, cnt, min, *shift);
	return nb;
}

/* Sort the n elements of a in place, aux (as large) as scratch. */
static void msd_inplace(unsigned char *a, unsigned char *aux, size_t n, size_t elsz)
{
	size_t cnt[(1u << MSD_BITS) + 1], nb, i, from;
	unsigned int shift;

	if (n <= MSD_SMALL) {
		insertion(a, n, elsz);
		return;
	}
	nb = msd_level(a, aux, n, elsz, cnt, &shift);
	if (nb && !shift)
		memcpy(a, aux, n * elsz);
	for (i = 0, from = 0; nb && shift && i < nb; from = cnt[i++])
		msd_move(aux + from * elsz, a + from * elsz, cnt[i] - from, elsz);
}

/* Sort the n elements of src into dst (src is scratch). */
static void msd_move(unsigned char *src, unsigned char *dst, size_t n, size_t elsz)
{
	size_t cnt[(1u << MSD_BITS) + 1], nb, i, from;
	unsigned int shift;

	if (n <= MSD_SMALL) {
		memcpy(dst, src, n * elsz);
		insertion(dst, n, elsz);
		return;
	}
	nb = msd_level(src, dst, n, elsz, cnt, &shift);
	if (!nb)
		memcpy(dst, src, n * elsz);
	for (i = 0, from = 0; nb && shift && i < nb; from = cnt[i++])
		msd_inplace(dst + from * elsz, src + from * elsz, cnt[i] - from, elsz);
}

/* Where the first run of a (ascending keys) ends. */
static size_t run_end(const unsigned char *a, size_t i, size_t n, size_t elsz)
{
	for (i++; i < n && key_at(a, i - 1, elsz) <= key_at(a, i, elsz); i++)
		;
	return i;
}

/* Merge neighbouring runs, pass after pass, while there are several. */
static void merge_runs(unsigned char *a, unsigned char *aux, size_t n, size_t elsz,
		       size_t *ends, size_t nruns)
{
	unsigned char *src = a, *dst = aux, *t;
	size_t r, w, from;

	while (nruns > 1) {
		for (r = 0, w = 0, from = 0; r < nruns; r += 2, w++) {
			size_t m = ends[r], to = r + 1 < nruns ? ends[r + 1] : m;

			if (elsz == 8)
				merge8((const uint64_t *)src + from, m - from, to - from,
				       (uint64_t *)dst + from);
			else
				merge16((const struct e16 *)src + from, m - from, to - from,
					(struct e16 *)dst + from);
			ends[w] = to;
			from = to;
		}
		nruns = w;
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * elsz);
}

int mpx_sort_by_u64(void *v, size_t n, size_t elsz)
{
	size_t ends[MERGE_RUNS], nruns = 0, i;
	unsigned char *aux;

	if (elsz != 8 && elsz != 16)
		return -EINVAL;
	if (n <= MSD_SMALL) {
		insertion(v, n, elsz);
		return 0;
	}
	for (i = 0; i < n && nruns <= MERGE_RUNS; nruns++) {
		i = run_end(v, i, n, elsz);
		if (nruns < MERGE_RUNS)
			ends[nruns] = i;
	}
	if (nruns == 1)
		return 0;
	aux = malloc(n * elsz);
	if (!aux)
		return -ENOMEM;
	if (nruns <= MERGE_RUNS)
		merge_runs(v, aux, n, elsz, ends, nruns);
	else
		msd_inplace(v, aux, n, elsz);
	free(aux);
	return 0;
}

size_t mpx_lower_bound_u64(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t mpx_kth_largest_u64(uint64_t *v, size_t n, size_t k)
{
	size_t cnt[1u << MSD_BITS], nb, i, j, b, above;
	uint64_t min, max;
	unsigned int len, shift;

	if (!n)
		return 0;
	k = k < 1 ? 1 : k > n ? n : k;
	for (;;) {
		min = UINT64_MAX;
		max = 0;
		for (i = 0; i < n; i++) {
			min = v[i] < min ? v[i] : min;
			max = v[i] > max ? v[i] : max;
		}
		if (min == max)
			return min;
		/* Count by the top MSD_BITS of the range, find the bucket
		 * holding the k-th from the top, keep only its values. */
		len = 64 - (unsigned int)__builtin_clzll(max - min);
		shift = len > MSD_BITS ? len - MSD_BITS : 0;
		nb = (size_t)((max - min) >> shift) + 1;
		memset(cnt, 0, nb * sizeof(cnt[0]));
		for (i = 0; i < n; i++)
			cnt[(v[i] - min) >> shift]++;
		for (b = nb - 1, above = 0; above + cnt[b] < k; b--)
			above += cnt[b];
		if (!shift)
			return min + b;
		for (i = 0, j = 0; i < n; i++)
			if ((v[i] - min) >> shift == b)
				v[j++] = v[i];
		n = j;
		k -= above;
	}
}

/* One generic netlink request (a u16/u32/string attribute), its reply. */
static ssize_t genl_ask(int fd, uint16_t family, uint8_t cmd, uint16_t type, const void *val,
			uint16_t len, void *reply, size_t sz)
{
	struct {
		struct nlmsghdr n;
		struct genlmsghdr g;
		char buf[64];
	} req;
	struct nlattr *na = (void *)req.buf;
	ssize_t n;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN) + NLA_HDRLEN + NLA_ALIGN(len);
	req.n.nlmsg_type = family;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_pid = 0;
	req.g.cmd = cmd;
	req.g.version = 1;
	na->nla_type = type;
	na->nla_len = NLA_HDRLEN + len;
	memcpy(req.buf + NLA_HDRLEN, val, len);
	if (send(fd, &req, req.n.nlmsg_len, 0) != (ssize_t)req.n.nlmsg_len)
		return -1;
	n = recv(fd, reply, sz, 0);
	if (n < (ssize_t)NLMSG_LENGTH(GENL_HDRLEN) || !NLMSG_OK((struct nlmsghdr *)reply, n) ||
	    ((struct nlmsghdr *)reply)->nlmsg_type == NLMSG_ERROR)
		return -1;
	return n;
}

/* The attribute of type in [p, end), or NULL. */
static const struct nlattr *nla_find(const char *p, const char *end, uint16_t type)
{
	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *a = (const void *)p;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		p += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

/*
 * This process's age from the kernel's task statistics (ac_etime, in us,
 * from the exact start; CAP_NET_ADMIN): /proc's start time is in clock
 * ticks (10 ms) and put the start-up figure up to 10 ms early.  0: none.
 */
static uint64_t start_from_taskstats(void)
{
	static const char name[] = TASKSTATS_GENL_NAME;
	char reply[2048];
	const struct nlattr *a, *s;
	struct taskstats ts;
	uint64_t now;
	size_t len;
	uint32_t pid = (uint32_t)getpid();
	uint16_t family;
	ssize_t n;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0)
		return 0;
	n = genl_ask(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, name,
		     sizeof(name), reply, sizeof(reply));
	a = n > 0 ? nla_find(reply + NLMSG_LENGTH(GENL_HDRLEN), reply + n,
			     CTRL_ATTR_FAMILY_ID) : NULL;
	if (!a || a->nla_len < NLA_HDRLEN + 2) {
		close(fd);
		return 0;
	}
	memcpy(&family, (const char *)a + NLA_HDRLEN, 2);
	n = genl_ask(fd, family, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_PID, &pid, sizeof(pid),
		     reply, sizeof(reply));
	now = mpx_now_ns();
	close(fd);
	a = n > 0 ? nla_find(reply + NLMSG_LENGTH(GENL_HDRLEN), reply + n,
			     TASKSTATS_TYPE_AGGR_PID) : NULL;
	s = a ? nla_find((const char *)a + NLA_HDRLEN, (const char *)a + a->nla_len,
			 TASKSTATS_TYPE_STATS) : NULL;
	/* Fields are only ever appended: the start of the struct is enough. */
	if (!s || s->nla_len < NLA_HDRLEN + offsetof(struct taskstats, ac_etime) + 8)
		return 0;
	len = (size_t)s->nla_len - NLA_HDRLEN;
	memset(&ts, 0, sizeof(ts));
	memcpy(&ts, (const char *)s + NLA_HDRLEN, len < sizeof(ts) ? len : sizeof(ts));
	if (!ts.ac_etime || ts.ac_etime * 1000 > now)
		return 0;
	return now - ts.ac_etime * 1000;
}

uint64_t mpx_start_ns(void)
{
	unsigned long long start = start_from_taskstats();
	char buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;
	int field;

	if (start)
		return start;
	f = fopen("/proc/self/stat", "re");
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
