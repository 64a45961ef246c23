// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "btfscan.h"
#include "collect.h"
#include "corebtf.h"
#include "util.h"
#include "mpxtrace.skel.h"

struct collector {
	bool tracefs_mounted;	/* by us, for --rss=exact: unmounted at the end */
	bool rss_exact;
	struct mpxtrace_bpf *skel;
	struct ring_buffer *rb;
	struct evbuf *sink;
	int nr_cpus;
	bool raw;
	bool task_storage;	/* tp_btf programs also keep entries in task storage */
	char missing_tp[64];	/* a tracepoint the kernel lacks: no use retrying */
	int add_err;
	void *summ_keys, *summ_vals;	/* --summary: a batch of finished tasks */
};

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL	/* v6.9: a pidfd of any thread, not only a leader */
#endif

/* A pidfd of task tid: the key of task storage maps from user space. */
static int task_pidfd(uint32_t tid)
{
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)tid, PIDFD_THREAD);

	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_pidfd_open, (pid_t)tid, 0);
	return fd < 0 ? -errno : fd;
}

/* Does the kernel have task storage maps (v5.11)?  Asked once. */
static bool have_task_storage(void)
{
	static int have = -1;

	if (have < 0)
		have = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1;
	return have;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!mpx_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The whole of a file into memory (/sys/kernel/btf/vmlinux: a few MB). */
static void *slurp(const char *path, size_t *size)
{
	size_t cap = 8u << 20, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf)
		goto fail;
	for (;;) {
		if (len == cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*size = len;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Tracepoints the programs attach to (program name = tracepoint name). */
static const char *const tp_names[] = {
	"sched_switch", "sched_waking", "sched_wakeup", "sched_wakeup_new",
	"sched_process_fork", "sched_process_exec", "sched_process_exit",
	"sched_process_free", "task_rename", "block_io_start", "block_rq_insert",
	"block_rq_issue", "block_rq_complete", "writeback_dirty_folio",
	"sched_migrate_task",
};
#define NTP (sizeof(tp_names) / sizeof(tp_names[0]))

static int tp_index(const char *name)
{
	size_t i;

	for (i = 0; i < NTP; i++)
		if (!strcmp(tp_names[i], name))
			return (int)i;
	return -1;
}

/*
 * Which tracepoints exist and with how many arguments, from vmlinux BTF,
 * never from a version number: sched_switch got prev_state in v5.18
 * (fa2c3254d7cf); sched_process_exit got group_dead and moved before
 * exit_mm() in v6.16; block_io_start exists since v6.5 (5a80bd075f3b);
 * block_rq_insert lost its queue argument in v5.11 (a54895fa).
 */
/*
 * Reading the kernel's BTF (~5 MB, 4 KiB a read from sysfs) and scanning it
 * takes milliseconds at every start; the answer only changes with the
 * kernel.  /run (cleared at boot) keeps it, keyed by the kernel's release,
 * version and BTF size, and by the tracepoints asked about.
 */
#define TP_CACHE "/run/mpxtrace-tracepoints"

/* The attach_btf_id of each tracepoint's tp_btf program: see tp_btf_prepare(). */
static uint32_t tp_btf_ids[NTP];

static void tp_cache_key(char *key, size_t sz)
{
	struct utsname u;
	struct stat st;
	size_t i, len;

	key[0] = '\0';
	if (uname(&u) || stat("/sys/kernel/btf/vmlinux", &st))
		return;
	len = (size_t)snprintf(key, sz, "%s|%s|%lld|", u.release, u.version,
			       (long long)st.st_size);
	for (i = 0; i < NTP && len < sz; i++)
		len += (size_t)snprintf(key + len, sz - len, "%s,", tp_names[i]);
	if (len >= sz)
		key[0] = '\0';
}

/*
 * The file: the key, a line; the tracepoints' argument counts, then the
 * BTF type ids of their btf_trace_<name> typedefs (tp_btf attach targets).
 */
static bool tp_cache_read(const char *key, int nargs[NTP], uint32_t ids[NTP])
{
	char buf[4096], *p, *end;
	ssize_t n;
	size_t i, klen = strlen(key);
	int fd = open(TP_CACHE, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || !klen || (size_t)n <= klen + 1 || memcmp(buf, key, klen) ||
	    buf[klen] != '\n')
		return false;
	buf[n] = '\0';
	for (i = 0, p = buf + klen + 1; i < NTP; i++, p = end) {
		long v = strtol(p, &end, 10);

		if (end == p || v < -1 || v > 16)
			return false;
		nargs[i] = (int)v;
	}
	for (i = 0; i < NTP; i++, p = end) {
		unsigned long v = strtoul(p, &end, 10);

		/* An id for each tracepoint there is, none for the others. */
		if (end == p || v > UINT32_MAX || !v != (nargs[i] < 0))
			return false;
		ids[i] = (uint32_t)v;
	}
	return true;
}

static void tp_cache_write(const char *key, const int nargs[NTP], const uint32_t ids[NTP])
{
	char buf[4096], tmp[] = TP_CACHE ".XXXXXX";
	size_t i, len;
	int fd;

	if (!key[0] || getuid() != 0)
		return;
	len = (size_t)snprintf(buf, sizeof(buf), "%s\n", key);
	for (i = 0; i < NTP && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%d ", nargs[i]);
	for (i = 0; i < NTP && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? " " : "\n",
					ids[i]);
	if (len < sizeof(buf))
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\n");
	if (len >= sizeof(buf))
		return;
	fd = mkstemp(tmp);
	if (fd < 0)
		return;
	if (fchmod(fd, 0644) || write(fd, buf, len) != (ssize_t)len || close(fd) ||
	    rename(tmp, TP_CACHE))
		unlink(tmp);
}

static void probe_tps(struct mpxtrace_bpf *skel, int nargs[NTP])
{
	char key[1024];
	size_t size, i;
	void *btf;

	for (i = 0; i < NTP; i++) {
		nargs[i] = -1;
		tp_btf_ids[i] = 0;
	}
	tp_cache_key(key, sizeof(key));
	if (!key[0] || !tp_cache_read(key, nargs, tp_btf_ids)) {
		btf = slurp("/sys/kernel/btf/vmlinux", &size);
		if (btf && !btfscan__tp_nargs(btf, size, tp_names, nargs, tp_btf_ids, NTP))
			tp_cache_write(key, nargs, tp_btf_ids);
		free(btf);
	}
	skel->rodata->has_prev_state_arg = nargs[tp_index("sched_switch")] >= 4;
	skel->rodata->has_exit_group_dead = nargs[tp_index("sched_process_exit")] >= 2;
	skel->rodata->exit_has_mm = skel->rodata->has_exit_group_dead;
	/* One submit hook: block_io_start where it exists. */
	if (nargs[tp_index("block_io_start")] >= 0)
		nargs[tp_index("block_rq_insert")] = -1;
	else if (nargs[tp_index("block_rq_insert")] != 1)
		nargs[tp_index("block_rq_insert")] = -1;
	if (nargs[tp_index("block_rq_issue")] != 1)
		nargs[tp_index("block_rq_issue")] = -1;
	for (i = 0; i < NTP; i++)
		mpx_info("tracepoint %s: %d args\n", tp_names[i], nargs[i]);
}

/*
 * tp_btf programs without libbpf parsing the kernel's BTF.
 *
 * At every load libbpf reads and indexes the whole of the kernel's BTF
 * (5 MB, ~150,000 types; a quarter of mpxtrace's start-up) for one thing
 * of tp_btf programs: the type id of each tracepoint's btf_trace_<name>
 * typedef, the program's attach_btf_id.  probe_tps() has these ids,
 * cached with the argument counts.  This handler of SEC("tp_btf/...")
 * declares the programs raw_tp until load (a tracing program makes libbpf
 * load the kernel's BTF first thing), then loads each as the tracing
 * program it is, with its id; an id it lacks it looks up in the kernel's
 * BTF after all.  check_links() verifies where each program attached.
 */
static struct btf *tp_vmlinux;	/* only when an id was missing */

static int tp_btf_prepare(struct bpf_program *p, struct bpf_prog_load_opts *lo, long cookie)
{
	const char *name = strchr(bpf_program__section_name(p), '/');
	char tname[128];
	int i, id = 0;

	(void)cookie;
	if (!name)
		return -EINVAL;
	i = tp_index(++name);
	if (i >= 0)
		id = (int)tp_btf_ids[i];
	if (id <= 0) {
		if (!tp_vmlinux)
			tp_vmlinux = btf__load_vmlinux_btf();
		if (!tp_vmlinux)
			return -errno ? -errno : -ENOENT;
		snprintf(tname, sizeof(tname), "btf_trace_%s", name);
		id = btf__find_by_name_kind(tp_vmlinux, tname, BTF_KIND_TYPEDEF);
		if (id <= 0)
			return id < 0 ? id : -ENOENT;
	}
	if (bpf_program__set_type(p, BPF_PROG_TYPE_TRACING))
		return -EBUSY;
	lo->expected_attach_type = BPF_TRACE_RAW_TP;
	lo->attach_btf_obj_fd = 0;
	lo->attach_btf_id = (__u32)id;
	return 0;
}

static int tp_btf_attach(const struct bpf_program *p, long cookie, struct bpf_link **link)
{
	(void)cookie;
	*link = bpf_program__attach_trace(p);
	return *link ? 0 : -errno;
}

/* Once a process, before the first open: the objects opened after use it. */
static void tp_btf_handler(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, ho, .prog_prepare_load_fn = tp_btf_prepare,
		    .prog_attach_fn = tp_btf_attach);
	static bool done;

	if (done)
		return;
	done = true;
	if (libbpf_register_prog_handler("tp_btf+", BPF_PROG_TYPE_RAW_TRACEPOINT,
					 BPF_TRACE_RAW_TP, &ho) < 0)
		mpx_info("tp_btf programs: libbpf's own handler (%s)\n", strerror(errno));
}

/*
 * Every program loaded is attached, each tracepoint program to the
 * tracepoint its section names (an attach_btf_id from a stale cache
 * would show here).  A tracing program that libbpf left without a link
 * (newer versions forget a handler whose program changed type) is
 * attached here.
 */
static int check_links(struct mpxtrace_bpf *skel)
{
	const struct bpf_object_skeleton *s = skel->skeleton;
	int i;

	for (i = 0; i < s->prog_cnt; i++) {
		const struct bpf_prog_skeleton *ps = (const void *)((const char *)s->progs +
								   (size_t)i * s->prog_skel_sz);
		struct bpf_program *p = *ps->prog;
		const char *sec = bpf_program__section_name(p), *want = strchr(sec, '/');
		struct bpf_link_info info;
		__u32 len = sizeof(info);
		char tp[64] = "";

		if (!bpf_program__autoload(p))
			continue;
		if (!*ps->link && bpf_program__type(p) == BPF_PROG_TYPE_TRACING) {
			*ps->link = bpf_program__attach_trace(p);
			if (!*ps->link)
				return -errno;
		}
		if (!*ps->link) {
			mpx_info("program %s is not attached\n", bpf_program__name(p));
			return -ENOLINK;
		}
		if (strncmp(sec, "tp_btf/", 7) && strncmp(sec, "raw_tp/", 7))
			continue;
		memset(&info, 0, sizeof(info));
		info.raw_tracepoint.tp_name = (__u64)(unsigned long)tp;
		info.raw_tracepoint.tp_name_len = sizeof(tp);
		if (bpf_obj_get_info_by_fd(bpf_link__fd(*ps->link), &info, &len))
			return -errno;
		if (info.type != BPF_LINK_TYPE_RAW_TRACEPOINT || strcmp(tp, want + 1)) {
			mpx_info("program %s attached to %s\n", bpf_program__name(p), tp);
			return -ESTALE;
		}
	}
	return 0;
}

/* The records of one CPU's batch (MPX_EV_BATCH), back to back. */
static int add_batch(struct collector *c, const uint8_t *p, size_t n)
{
	while (n >= sizeof(struct mpx_hdr)) {
		const struct mpx_hdr *h = (const void *)p;

		if (h->size < sizeof(*h) || h->size > n || (h->size & 7)) {
			c->sink->rejected++;
			return 0;
		}
		if (evbuf__add(c->sink, p, h->size) == -ENOMEM)
			return -ENOMEM;
		p += h->size;
		n -= h->size;
	}
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	const struct mpx_hdr *h = data;
	struct collector *c = ctx;
	int err;

	if (!c->sink)
		return 0;	/* between runs: nothing of ours can be running */
	if (size >= sizeof(*h) && h->type == MPX_EV_BATCH)
		err = add_batch(c, (const uint8_t *)data + sizeof(*h), size - sizeof(*h));
	else
		err = evbuf__add(c->sink, data, size);

	if (err == -ENOMEM) {
		c->add_err = err;
		return err;	/* stops the drain: reported by poll */
	}
	return 0;
}

/*
 * What is left in the per-CPU batches (bpf/mpxtrace.bpf.c): their records
 * go to the sink, and the batches are emptied.  Called when the workload is
 * gone, so no program of ours is filling them.
 */
int collector__drain(struct collector *c)
{
	struct head {
		__u32 len, busy;
		__u64 first_ts;
		struct mpx_hdr hdr;
	};
	size_t vsz = (bpf_map__value_size(c->skel->maps.batch) + 7) & ~(size_t)7;
	int fd = bpf_map__fd(c->skel->maps.batch), i, err = 0;
	__u32 zero = 0;
	uint8_t *vals;

	vals = calloc(c->nr_cpus, vsz);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, vals)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < c->nr_cpus && c->sink && !err; i++) {
		const struct head *h = (const void *)(vals + i * vsz);

		if (h->len && h->len <= vsz - sizeof(*h))
			err = add_batch(c, (const uint8_t *)(h + 1), h->len);
	}
	memset(vals, 0, c->nr_cpus * vsz);
	if (bpf_map_update_elem(fd, &zero, vals, BPF_ANY) && !err)
		err = -errno;
out:
	free(vals);
	return err;
}

void bpf_obj_stats(const struct bpf_object *obj, uint64_t st[2])
{
	struct bpf_program *p;

	st[0] = st[1] = 0;
	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		st[0] += info.run_cnt;
		st[1] += info.run_time_ns;
	}
}

void collector__prog_stats(const struct collector *c, uint64_t st[2])
{
	bpf_obj_stats(c->skel->obj, st);
}

bool bpf_stats_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v == 1;
}

/* Has the hook base a program of --summary's own (NAME_summ)? */
static bool has_summ(struct mpxtrace_bpf *skel, const char *base)
{
	char name[80];

	snprintf(name, sizeof(name), "%s_summ", base);
	return bpf_object__find_program_by_name(skel->obj, name) != NULL;
}

/* Load the tp_btf or the raw_tp twin of each hook whose tracepoint exists. */
static int set_autoload(struct mpxtrace_bpf *skel, bool raw, const int nargs[NTP],
			const struct collect_opts *o, char missing[64])
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, skel->obj) {
		char base[64];
		const char *n = bpf_program__name(p);
		size_t l = strlen(n);
		bool is_raw = l > 4 && !strcmp(n + l - 4, "_raw"), is_summ;
		int i;

		snprintf(base, sizeof(base), "%.*s", (int)(is_raw ? l - 4 : l), n);
		/* NAME_summ(_raw): --summary's program of a hook, loaded
		 * instead of NAME(_raw) in that mode (summary.bpf.h). */
		l = strlen(base);
		is_summ = l > 5 && !strcmp(base + l - 5, "_summ");
		if (is_summ)
			base[l - 5] = '\0';
		if (!strcmp(base, "rss_stat_exact")) {
			bpf_program__set_autoload(p, o->rss_exact);
			continue;
		}
		i = tp_index(base);
		/* Summary mode does not name wakers: no sched_waking.  The
		 * event mode has a woken task's enqueue time from its switch-in
		 * (sched_info.last_queued): no sched_wakeup unless asked. */
		bpf_program__set_autoload(p, is_raw == raw && i >= 0 && nargs[i] >= 0 &&
					  !(o->summary && !strcmp(base, "sched_waking")) &&
					  !(!o->summary && !o->wakeup_events &&
					    !strcmp(base, "sched_wakeup")) &&
					  (is_summ ? o->summary :
					   !(o->summary && has_summ(skel, base))));
		/* The scheduler hooks are the tool: without them, nothing. */
		if (is_raw == raw && i >= 0 && i <= tp_index("task_rename") && nargs[i] < 0 &&
		    strcmp(base, "task_rename") && strcmp(base, "sched_process_free")) {
			snprintf(missing, 64, "%s", base);
			return -ENOENT;
		}
	}
	return 0;
}

static int open_load(struct collector *c, const struct collect_opts *o, bool raw,
		     bool core_btf)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	uint64_t t0 = mpx_now_ns();
	char key[1024], core[128];
	int nargs[NTP], err;
	const void *elf;
	size_t elf_sz;

	/* CO-RE against a small cached BTF: see corebtf.c. */
	tp_cache_key(key, sizeof(key));
	elf = mpxtrace_bpf__elf_bytes(&elf_sz);
	if (core_btf && !corebtf__path(elf, elf_sz, key, core, sizeof(core))) {
		oo.btf_custom_path = core;
		mpx_info("CO-RE relocations against %s\n", core);
	}
	tp_btf_handler();
	c->skel = mpxtrace_bpf__open_opts(&oo);
	if (!c->skel) {
		err = -errno;
		if (oo.btf_custom_path)
			unlink(core);	/* unreadable: the next run builds it again */
		return err ? err : -EINVAL;
	}
	probe_tps(c->skel, nargs);
	mpx_info("opened and probed in %.1f ms\n", (double)(mpx_now_ns() - t0) / 1e6);
	c->skel->rodata->wakeup_bytes = o->ringbuf_bytes / 4;
	/* A batch takes at most an eighth of the ring buffer. */
	c->skel->rodata->batch_bytes = o->ringbuf_bytes / 8 < MPX_BATCH_BYTES ?
				       (__u32)(o->ringbuf_bytes / 8) : MPX_BATCH_BYTES;

	bpf_map__set_max_entries(c->skel->maps.tracked, o->max_tasks);
	/* Maps a mode never fills are made as small as can be: a large
	 * one costs its allocation at every start. */
	if (!o->rss_exact)
		bpf_map__set_max_entries(c->skel->maps.rss_exact, 1);
	/* Without task storage (< 5.11) the hash alone serves: the verifier
	 * drops the code using the map with use_task_storage false, and the
	 * raw_tp twins never name it. */
	c->task_storage = !raw && have_task_storage();
	c->skel->rodata->use_task_storage = c->task_storage;
	if (!c->task_storage)
		bpf_map__set_autocreate(c->skel->maps.track_ts, false);
	c->skel->rodata->summary_mode = o->summary;
	if (o->summary) {
		/* No events, stacks or losses per task: the smallest maps. */
		bpf_map__set_max_entries(c->skel->maps.events, getpagesize());
		bpf_map__set_max_entries(c->skel->maps.stacks, 1);
		bpf_map__set_max_entries(c->skel->maps.lost, 1);
		bpf_map__set_max_entries(c->skel->maps.rss_last, 1);
		bpf_map__set_max_entries(c->skel->maps.summ, o->max_tasks);
		/* Finished tasks wait up to a poll (100 ms) to be collected:
		 * room for many more than --max-tasks, allocated as used. */
		bpf_map__set_max_entries(c->skel->maps.summ_done,
					 o->max_tasks > 65536 ? o->max_tasks : 65536);
	} else {
		bpf_map__set_max_entries(c->skel->maps.events, o->ringbuf_bytes);
		bpf_map__set_max_entries(c->skel->maps.summ, 1);
		bpf_map__set_max_entries(c->skel->maps.summ_done, 1);
	}
	err = set_autoload(c->skel, raw, nargs, o, c->missing_tp);
	if (err) {
		mpxtrace_bpf__destroy(c->skel);
		c->skel = NULL;
		return err;
	}
	if (mpx_verbose) {
		struct bpf_program *p;
		char list[1024];
		size_t len = 0;

		list[0] = '\0';
		bpf_object__for_each_program(p, c->skel->obj)
			if (bpf_program__autoload(p) && len < sizeof(list))
				len += (size_t)snprintf(list + len, sizeof(list) - len, " %s",
							bpf_program__name(p));
		mpx_info("programs:%s\n", list);
	}
	t0 = mpx_now_ns();
	err = mpxtrace_bpf__load(c->skel);
	btf__free(tp_vmlinux);
	tp_vmlinux = NULL;
	mpx_info("programs loaded in %.1f ms\n", (double)(mpx_now_ns() - t0) / 1e6);
	if (err && err != -EPERM && oo.btf_custom_path)
		unlink(core);
	t0 = mpx_now_ns();
	if (!err)
		err = mpxtrace_bpf__attach(c->skel);
	if (!err)
		err = check_links(c->skel);
	if (err == -ESTALE)
		unlink(TP_CACHE);	/* wrong attach ids: the next try scans again */
	mpx_info("programs attached in %.1f ms\n", (double)(mpx_now_ns() - t0) / 1e6);
	if (err) {
		mpxtrace_bpf__destroy(c->skel);
		c->skel = NULL;
		return err;
	}
	c->raw = raw;
	return 0;
}

/*
 * Classic tracepoints attach by the id tracefs gives them.  Mount tracefs
 * only when it is not there, and only for them; collector__destroy()
 * unmounts what we mounted, leaving the system as found.
 */
static int need_tracefs(struct collector *c)
{
	if (!access("/sys/kernel/tracing/events/kmem/rss_stat", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events/kmem/rss_stat", F_OK))
		return 0;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		int err = -errno;

		mpx_err("--rss=exact needs tracefs, and mounting it failed: %s",
			strerror(-err));
		return err;
	}
	c->tracefs_mounted = true;
	if (access("/sys/kernel/tracing/events/kmem/rss_stat", F_OK)) {
		mpx_err("--rss=exact: this kernel has no kmem:rss_stat tracepoint");
		return -ENOENT;
	}
	return 0;
}

int collector__open(struct collector **out, const struct collect_opts *o,
		    struct evbuf *sink)
{
	struct collector *c;
	int err;

	*out = NULL;
	libbpf_set_print(libbpf_print);
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		mpx_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): "
			"mpxtrace needs CONFIG_DEBUG_INFO_BTF=y");
		return -ENOENT;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sink = sink;
	c->rss_exact = o->rss_exact;
	if (o->rss_exact) {
		err = need_tracefs(c);
		if (err) {
			collector__destroy(c);
			return err;
		}
	}
	c->nr_cpus = libbpf_num_possible_cpus();
	if (c->nr_cpus <= 0)
		c->nr_cpus = 1;

	err = -EINVAL;
	if (o->attach != MPX_ATTACH_RAW_TP) {
		err = open_load(c, o, false, true);
		if (err && err != -EPERM && !c->missing_tp[0]) {
			mpx_info("loading failed (%s), trying with the kernel's whole BTF\n",
				 strerror(-err));
			err = open_load(c, o, false, false);
		}
		if (err && o->attach == MPX_ATTACH_AUTO && err != -EPERM && !c->missing_tp[0]) {
			mpx_info("tp_btf programs failed (%s), trying raw_tp\n",
				 strerror(-err));
			err = open_load(c, o, true, true);
		}
	} else {
		err = open_load(c, o, true, true);
	}
	if (err) {
		if (c->missing_tp[0])
			mpx_err("this kernel has no %s tracepoint in its BTF", c->missing_tp);
		else if (err == -EPERM)
			mpx_err("permission denied loading BPF programs: run as root "
				"(sudo mpxtrace ...) or with CAP_BPF and CAP_PERFMON");
		else
			mpx_err("cannot load and attach BPF programs: %s%s",
				strerror(-err), mpx_verbose ? "" : " (-v shows why)");
		collector__destroy(c);
		return err;
	}
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_record, c, NULL);
	if (!c->rb) {
		err = -errno;
		mpx_err("cannot set up the ring buffer: %s", strerror(-err));
		collector__destroy(c);
		return err;
	}
	*out = c;
	return 0;
}

void collector__set_sink(struct collector *c, struct evbuf *sink)
{
	c->sink = sink;
}

int collector__track(struct collector *c, uint32_t tid, uint32_t pid)
{
	struct {
		__u64 start_time, waking_ts;
		__u32 pid, waker_tid, waker_pid;
		__s32 stack_id;
		__u64 stack_key, rss_ts, rss_flt;
		__u32 stack_uses, stack_every;
		__u64 stack_key2;
		__s32 stack_id2;
		__u16 stack_uses2, stack_every2;
	} v = { .pid = pid, .stack_id = -1, .stack_id2 = -1 };

	int fd;

	_Static_assert(sizeof(v) == 80, "struct mpx_track layout");
	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.tracked), &tid, &v, BPF_ANY))
		return -errno;
	if (!c->task_storage)
		return 0;
	/* Best effort: the hash entry serves when there is no storage, and
	 * the hooks must then look there after a storage miss. */
	fd = task_pidfd(tid);
	if (fd < 0 || bpf_map_update_elem(bpf_map__fd(c->skel->maps.track_ts), &fd, &v, BPF_ANY))
		__atomic_add_fetch(&c->skel->bss->hash_only_tasks, 1, __ATOMIC_SEQ_CST);
	if (fd >= 0)
		close(fd);
	return 0;
}

int collector__poll(struct collector *c, int timeout_ms)
{
	int err = ring_buffer__poll(c->rb, timeout_ms);

	/* Records are submitted without wakeups: consume whatever waits. */
	if (err >= 0 || err == -EINTR)
		err = ring_buffer__consume(c->rb);
	if (c->add_err)
		return c->add_err;
	return err < 0 && err != -EINTR ? err : 0;
}

void collector__drops(struct collector *c, uint64_t out[MPX_DROP_MAX])
{
	__u64 *vals = calloc(c->nr_cpus, sizeof(*vals));
	__u32 k;
	int i;

	memset(out, 0, sizeof(uint64_t) * MPX_DROP_MAX);
	if (!vals)
		return;
	for (k = 0; k < MPX_DROP_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.drops), &k, vals))
			continue;
		for (i = 0; i < c->nr_cpus; i++)
			out[k] += vals[i];
	}
	free(vals);
}

int collector__signal_tracked(struct collector *c, int sig)
{
	int fd = bpf_map__fd(c->skel->maps.tracked), n = 0;
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (kill((pid_t)next, sig) == 0)
			n++;
		key = next;
		prev = &key;
	}
	return n;
}

int collector__stack(struct collector *c, int32_t id, uint64_t *ips)
{
	__u32 key = (__u32)id;

	memset(ips, 0, MPX_STACK_DEPTH * sizeof(*ips));
	if (id < 0 || bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.stacks), &key, ips))
		return -ENOENT;
	return 0;
}

int collector__epoll_fd(struct collector *c)
{
	return ring_buffer__epoll_fd(c->rb);
}

int collector__map_fd(struct collector *c, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(c->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

/* Empty a per-run map for the next run. */
static void clear_map(int fd)
{
	__u32 next;

	while (!bpf_map_get_next_key(fd, NULL, &next))
		bpf_map_delete_elem(fd, &next);
}

int collector__take_rss(struct collector *c, struct mpx_model *m)
{
	int fd, n = 0;
	__u32 key, next, *prev = NULL;
	struct {
		__u64 cur[4], peak[4], peak_total;
	} v;

	if (!c->rss_exact)
		return 0;
	fd = bpf_map__fd(c->skel->maps.rss_exact);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &v) &&
		    !model__set_exact_rss(m, next, v.peak_total, v.peak[1], v.peak[0],
					  v.peak[3], v.cur[0] + v.cur[1] + v.cur[3]))
			n++;
		key = next;
		prev = &key;
	}
	clear_map(fd);
	return n;
}

int collector__take_lost(struct collector *c, struct mpx_model *m)
{
	int fd = bpf_map__fd(c->skel->maps.lost), n = 0;
	__u32 key, next, *prev = NULL;
	__u64 v;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &v) && !model__add_lost(m, next, v))
			n++;
		key = next;
		prev = &key;
	}
	clear_map(fd);
	return n;
}

int collector__summary_seed(struct collector *c, const struct mpx_summ *s)
{
	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.summ), &s->tid, s, BPF_ANY))
		return -errno;
	return 0;
}

#define SUMM_BATCH 256
#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's, for an operation a map lacks */
#endif

/* Takes and deletes what summ_done holds, in batches: the count, or -errno
 * (-EINVAL, -ENOTSUPP: the kernel has no batch operations on it). */
static int summary_drain_batch(struct collector *c, int fd,
			       int (*fn)(void *ctx, const struct mpx_summ *s), void *ctx)
{
	struct mpx_summ *vals;
	__u32 in = 0, out = 0, count, i;
	bool first = true;
	int n = 0, err;

	if (!c->summ_keys)
		c->summ_keys = calloc(SUMM_BATCH, sizeof(struct mpx_summ_key));
	if (!c->summ_vals)
		c->summ_vals = calloc(SUMM_BATCH, sizeof(struct mpx_summ));
	if (!c->summ_keys || !c->summ_vals)
		return -ENOMEM;
	vals = c->summ_vals;
	for (;;) {
		count = SUMM_BATCH;
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, c->summ_keys,
						      vals, &count, NULL) ? -errno : 0;
		if (err && err != -ENOENT)
			return err;
		/* -ENOENT: the last batch (count records, maybe none). */
		for (i = 0; i < count; i++) {
			int e = fn(ctx, &vals[i]);

			if (e)
				return e;
			n++;
		}
		if (err)
			return n;
		in = out;
		first = false;
	}
}

int collector__summary_drain(struct collector *c, bool all,
			     int (*fn)(void *ctx, const struct mpx_summ *s), void *ctx)
{
	int fd = bpf_map__fd(c->skel->maps.summ_done), n = 0, err;
	struct mpx_summ_key k;
	struct mpx_summ v;
	__u32 tid;

	/*
	 * In batches, one pass over the hash's buckets (Linux 5.6): taken one
	 * at a time from the first key, each lookup scans from bucket 0, 64K
	 * of them mostly empty: ~40 us a finished task, a CPU's worth of
	 * mpxtrace's time on a fork loop.
	 */
	n = summary_drain_batch(c, fd, fn, ctx);
	if (n < 0 && n != -EINVAL && n != -ENOTSUPP && n != -EOPNOTSUPP && n != -ENOSPC)
		return n;
	if (n < 0)
		n = 0;	/* one by one, as older kernels must */
	/* Keys of finished tasks are unique: take and delete one by one. */
	while (!bpf_map_get_next_key(fd, NULL, &k)) {
		if (bpf_map_lookup_and_delete_elem(fd, &k, &v))
			return -errno;
		err = fn(ctx, &v);
		if (err)
			return err;
		n++;
	}
	if (!all)
		return n;
	fd = bpf_map__fd(c->skel->maps.summ);
	while (!bpf_map_get_next_key(fd, NULL, &tid)) {
		if (!bpf_map_lookup_elem(fd, &tid, &v)) {
			err = fn(ctx, &v);
			if (err)
				return err;
			n++;
		}
		bpf_map_delete_elem(fd, &tid);
	}
	return n;
}

int collector__ntracked(struct collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.tracked), n = 0;
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

const char *collector__attach_name(const struct collector *c)
{
	return c->raw ? "raw_tp" : "tp_btf";
}

void collector__destroy(struct collector *c)
{
	if (!c)
		return;
	ring_buffer__free(c->rb);
	mpxtrace_bpf__destroy(c->skel);
	if (c->tracefs_mounted && umount("/sys/kernel/tracing"))
		mpx_warn("could not unmount the tracefs mpxtrace mounted: %s", strerror(errno));
	free(c->summ_keys);
	free(c->summ_vals);
	free(c);
}
