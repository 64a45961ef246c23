// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "evbuf.h"
#include "util.h"

size_t mpx_event_size(unsigned int type)
{
	switch (type) {
	case MPX_EV_SWITCH: return sizeof(struct mpx_switch);
	case MPX_EV_WAKEUP: return sizeof(struct mpx_wakeup);
	case MPX_EV_FORK: return sizeof(struct mpx_fork);
	case MPX_EV_EXEC: return sizeof(struct mpx_exec);
	case MPX_EV_EXIT: return sizeof(struct mpx_exit);
	case MPX_EV_COMM: return sizeof(struct mpx_comm);
	case MPX_EV_BLOCK: return sizeof(struct mpx_block);
	case MPX_EV_RSS: return sizeof(struct mpx_rss);
	case MPX_EV_MIGRATE: return sizeof(struct mpx_migrate);
	case MPX_EV_PY: return sizeof(struct mpx_py);
	case MPX_EV_GIL: return sizeof(struct mpx_gil);
	default: return 0;
	}
}

void evbuf__init(struct evbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void evbuf__free(struct evbuf *b)
{
	free(b->data);
	free(b->ix);
	memset(b, 0, sizeof(*b));
}

int evbuf__reserve(struct evbuf *b, size_t n, size_t len)
{
	if (mpx_grow((void **)&b->data, &b->cap, b->len + len, 1) ||
	    mpx_grow((void **)&b->ix, &b->ixcap, b->n + n, sizeof(*b->ix)))
		return -ENOMEM;
	return 0;
}

int evbuf__add(struct evbuf *b, const void *rec, size_t size)
{
	const struct mpx_hdr *h = rec;
	size_t want, asz;

	if (size < sizeof(*h) || h->size != size ||
	    !(want = mpx_event_size(h->type)) || want != size) {
		b->rejected++;
		return -EINVAL;
	}
	asz = (size + 7) & ~(size_t)7;
	if (mpx_grow((void **)&b->data, &b->cap, b->len + asz, 1) ||
	    mpx_grow((void **)&b->ix, &b->ixcap, b->n + 1, sizeof(*b->ix)))
		return -ENOMEM;
	memcpy(b->data + b->len, rec, size);
	b->ix[b->n].ts = h->ts;
	b->ix[b->n].off = b->len;
	b->n++;
	b->len += asz;
	b->per_type[h->type]++;
	return 0;
}

static int cmp_ix(const void *a, const void *b)
{
	const struct evbuf_ix *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

_Static_assert(sizeof(struct evbuf_ix) == 16 && offsetof(struct evbuf_ix, ts) == 0,
	       "mpx_sort_by_u64 sorts evbuf_ix by ts");

void evbuf__sort(struct evbuf *b)
{
	size_t i;

	/* The ring buffer is nearly sorted already: skip qsort when it is. */
	for (i = 1; i < b->n; i++)
		if (cmp_ix(&b->ix[i - 1], &b->ix[i]) > 0)
			break;
	/* Else by ts alone: ix is in arrival order, or sorted already. */
	if (i < b->n && mpx_sort_by_u64(b->ix, b->n, sizeof(*b->ix)))
		qsort(b->ix, b->n, sizeof(*b->ix), cmp_ix);
}

void mpx_args_string(const struct mpx_exec *e, char *out, size_t outsz)
{
	size_t i, n = e->args_len < MPX_ARGS_LEN ? e->args_len : MPX_ARGS_LEN;

	if (outsz == 0)
		return;
	if (n >= outsz)
		n = outsz - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e->args[i];

		out[i] = !c ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

void mpx_event_print(FILE *f, const struct mpx_hdr *h, uint64_t t0)
{
	double t = (double)(h->ts - t0) / 1e3;

	switch (h->type) {
	case MPX_EV_SWITCH: {
		const struct mpx_switch *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u switch prev=%u state=0x%x%s%s next=%u",
			t, h->cpu, e->prev_tid, e->prev_state,
			e->flags & MPX_SW_PREEMPT ? " preempt" : "",
			e->flags & MPX_SW_IOWAIT ? " iowait" : "", e->next_tid);
		if (e->prev_tid)
			fprintf(f, " exec=%llu rd=%llu pc=%llu",
				(unsigned long long)e->prev_k.sum_exec_runtime,
				(unsigned long long)e->prev_k.run_delay,
				(unsigned long long)e->prev_k.pcount);
		fprintf(f, " clk=%llu", (unsigned long long)e->rq_clock);
		if (e->next_tid && (e->flags & MPX_SW_QUEUED))
			fprintf(f, " queued=%llu next_rd=%llu",
				(unsigned long long)e->next_queued,
				(unsigned long long)e->next_run_delay);
		if (e->next_tid && e->next_waking_ts)
			fprintf(f, " waker=%u waking=%.3f", e->next_waker_tid,
				e->next_waking_ts >= t0 ?
				(double)(e->next_waking_ts - t0) / 1e3 : 0.0);
		break;
	}
	case MPX_EV_WAKEUP: {
		const struct mpx_wakeup *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u wakeup%s tid=%u waker=%u target_cpu=%u",
			t, h->cpu, e->flags & MPX_WK_NEW ? "_new" : "", e->tid,
			e->waker_tid, e->target_cpu);
		break;
	}
	case MPX_EV_FORK: {
		const struct mpx_fork *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u fork parent=%u child=%u/%u%s", t, h->cpu,
			e->parent_tid, e->child_tid, e->child_pid,
			e->flags & MPX_FORK_THREAD ? " thread" : "");
		break;
	}
	case MPX_EV_EXEC: {
		const struct mpx_exec *e = (const void *)h;

		char args[MPX_ARGS_LEN + 1];

		mpx_args_string(e, args, sizeof(args));
		fprintf(f, "%12.3f cpu%u exec tid=%u old=%u %.64s [%s]", t, h->cpu,
			e->tid, e->old_tid, e->filename, args);
		break;
	}
	case MPX_EV_EXIT: {
		const struct mpx_exit *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u exit tid=%u code=0x%x exec=%llu rd=%llu pc=%llu",
			t, h->cpu, e->tid, e->exit_code,
			(unsigned long long)e->k.sum_exec_runtime,
			(unsigned long long)e->k.run_delay,
			(unsigned long long)e->k.pcount);
		break;
	}
	case MPX_EV_COMM: {
		const struct mpx_comm *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u comm tid=%u %.16s", t, h->cpu, e->tid, e->comm);
		break;
	}
	case MPX_EV_BLOCK: {
		const struct mpx_block *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u block tid=%u credit=%u dev=%u:%u sector=%llu bytes=%u "
			"op=0x%x queue=%.3f device=%.3f ms", t, h->cpu, e->tid, e->credit_tid,
			e->dev >> 20, e->dev & 0xfffff, (unsigned long long)e->sector, e->bytes,
			e->op, e->issue_ns ? (double)(e->issue_ns - e->start_ns) / 1e6 : 0,
			e->issue_ns ? (double)(h->ts - e->issue_ns) / 1e6 : 0);
		break;
	}
	case MPX_EV_RSS: {
		const struct mpx_rss *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u rss pid=%u file=%llu anon=%llu shmem=%llu pages",
			t, h->cpu, e->pid, (unsigned long long)e->mem.file,
			(unsigned long long)e->mem.anon, (unsigned long long)e->mem.shmem);
		break;
	}
	case MPX_EV_MIGRATE: {
		const struct mpx_migrate *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u migrate tid=%u to cpu%u (asleep)", t, h->cpu,
			e->tid, e->dest_cpu);
		break;
	}
	case MPX_EV_PY: {
		const struct mpx_py *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u python tid=%u kind=%u val=%d arg=%llu name=%.*s", t,
			h->cpu, e->tid, e->kind, e->val, (unsigned long long)e->arg,
			MPX_PYNAME_LEN, e->name);
		break;
	}
	case MPX_EV_GIL: {
		const struct mpx_gil *e = (const void *)h;

		fprintf(f, "%12.3f cpu%u gil tid=%u waited %.3f ms", t, h->cpu, e->tid,
			h->ts >= e->start_ns ? (double)(h->ts - e->start_ns) / 1e6 : 0);
		break;
	}
	default:
		fprintf(f, "%12.3f cpu%u type %u", t, h->cpu, h->type);
	}
	fputc('\n', f);
}
