/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The maps both BPF objects name: the traced tree (tracked), the record
 * stream (events) and the loss counters (drops).  mpxtrace.bpf.c owns them;
 * pyusdt.bpf.c is pointed at the same maps (bpf_map__reuse_fd) before load,
 * so its definitions must match these.
 */
#ifndef MPX_SHARED_MAPS_BPF_H
#define MPX_SHARED_MAPS_BPF_H

struct mpx_track {
	__u64 start_time;	/* task->start_time: tells a reused tid apart */
	__u64 waking_ts;
	__u32 pid;
	__u32 waker_tid;
	__u32 waker_pid;
	__s32 stack_id;		/* the last blocking site walked, < 0: none */
	__u64 stack_key;	/* its syscall nr << 48 ^ first argument */
	__u64 rss_ts;		/* the thread's last RSS check (switch-out) */
	__u64 rss_flt;		/* its min_flt + maj_flt then */
	__u32 stack_uses;	/* times the walked site was reused */
	__u32 stack_every;	/* ... before it is walked again (0: not yet set) */
	__u64 stack_key2;	/* the site before it, as above */
	__s32 stack_id2;
	__u16 stack_uses2;
	__u16 stack_every2;
};

/* Not preallocated: 64K entries would cost milliseconds at start-up, and
 * entries are only added at fork, never from NMI context. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mpx_track);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MPX_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

#endif /* MPX_SHARED_MAPS_BPF_H */
