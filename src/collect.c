// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "collect.h"
#include "util.h"
#include "mpxtrace.skel.h"

struct collector {
	struct mpxtrace_bpf *skel;
	struct ring_buffer *rb;
	struct evbuf *sink;
	int nr_cpus;
	bool raw;
	int add_err;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!mpx_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * Number of arguments the running kernel passes to a tracepoint, from the
 * btf_trace_<name> typedef in vmlinux BTF (pointer to a FUNC_PROTO whose
 * first argument is the hidden void *__data).  -1 when unknown.
 */
static int tp_nargs(const struct btf *btf, const char *tp)
{
	char name[128];
	const struct btf_type *t;
	int id;

	if (!btf)
		return -1;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t))
		return -1;
	return btf_vlen(t) - 1;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	int err = evbuf__add(c->sink, data, size);

	if (err == -ENOMEM) {
		c->add_err = err;
		return err;	/* stops the drain: reported by poll */
	}
	return 0;
}

static void set_raw(struct mpxtrace_bpf *skel, bool raw)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, skel->obj) {
		const char *n = bpf_program__name(p);
		size_t l = strlen(n);
		bool is_raw = l > 4 && !strcmp(n + l - 4, "_raw");

		bpf_program__set_autoload(p, is_raw == raw);
	}
}

static int open_load(struct collector *c, const struct collect_opts *o, bool raw)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int n, err;

	c->skel = mpxtrace_bpf__open();
	if (!c->skel) {
		err = -errno;
		btf__free(vmlinux);
		return err ? err : -EINVAL;
	}
	n = tp_nargs(vmlinux, "sched_switch");
	c->skel->rodata->has_prev_state_arg = n >= 4;
	n = tp_nargs(vmlinux, "sched_process_exit");
	c->skel->rodata->has_exit_group_dead = n >= 2;
	c->skel->rodata->wakeup_bytes = o->ringbuf_bytes / 4;
	btf__free(vmlinux);

	bpf_map__set_max_entries(c->skel->maps.events, o->ringbuf_bytes);
	bpf_map__set_max_entries(c->skel->maps.tracked, o->max_tasks);
	set_raw(c->skel, raw);
	err = mpxtrace_bpf__load(c->skel);
	if (!err)
		err = mpxtrace_bpf__attach(c->skel);
	if (err) {
		mpxtrace_bpf__destroy(c->skel);
		c->skel = NULL;
		return err;
	}
	c->raw = raw;
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
	c->nr_cpus = libbpf_num_possible_cpus();
	if (c->nr_cpus <= 0)
		c->nr_cpus = 1;

	err = -EINVAL;
	if (o->attach != MPX_ATTACH_RAW_TP) {
		err = open_load(c, o, false);
		if (err && o->attach == MPX_ATTACH_AUTO && err != -EPERM) {
			mpx_info("tp_btf programs failed (%s), trying raw_tp\n",
				 strerror(-err));
			err = open_load(c, o, true);
		}
	} else {
		err = open_load(c, o, true);
	}
	if (err) {
		if (err == -EPERM)
			mpx_err("permission denied loading BPF programs: run as root "
				"(sudo mpxtrace ...) or with CAP_BPF and CAP_PERFMON");
		else
			mpx_err("cannot load and attach BPF programs: %s%s",
				strerror(-err), mpx_verbose ? "" : " (-v shows why)");
		free(c);
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

int collector__track(struct collector *c, uint32_t tid, uint32_t pid)
{
	struct {
		__u64 start_time, waking_ts;
		__u32 pid, waker_tid, waker_pid, pad;
	} v = { .pid = pid };

	_Static_assert(sizeof(v) == 32, "struct mpx_track layout");
	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.tracked), &tid, &v, BPF_ANY))
		return -errno;
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
	free(c);
}
