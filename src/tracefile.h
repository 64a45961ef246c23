/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Trace files: a runset written once (mpxtrace record, --save) and read
 * back anywhere (mpxtrace report), without root and without libbpf.
 * Reading a file back rebuilds every run exactly as the live invocation
 * had it before analysis: same seed, same records, same wait reasons, same
 * end time, replayed by the same run__replay().
 *
 * FORMAT (version 2; a reader takes version 1 too, which has no "RSSX").  All integers are in the writer's byte order, which
 * the endianness marker names; a reader refuses the other order.
 *
 *   File header, 32 bytes, not compressed:
 *     0  char magic[8]       "MPXTRACE" (no NUL)
 *     8  u32  version        MPX_TF_VERSION (2)
 *    12  u32  events_version MPX_EVENTS_VERSION of include/events.h: the
 *                            layout of the records below
 *    16  u32  endian         0x01020304 as the writer stored it
 *    20  u32  flags          0 (reserved)
 *    24  u64  payload_len    bytes of the payload once inflated
 *
 *   Then one zlib stream (RFC 1950: deflate with an Adler-32 of the
 *   payload), ending exactly at the end of the file.  It inflates to
 *   payload_len bytes: a sequence of sections.
 *
 *   Section: char tag[4]; u32 flags (0); u64 len; then len bytes.  In
 *   this order, nothing else:
 *     "META"  once
 *     then per run, in run order: "RUN ", "WAIT", "LOST", "RSSX", "EVTS"
 *
 *   Field types inside sections: u8/u32/s32/u64 as in C; bool is a u8 of
 *   0 or 1; str is u32 len then len bytes, no NUL, no NUL inside; len
 *   0xffffffff is a NULL string (nothing follows).
 *
 *   "META": the runset.
 *     str  tool_version          mpxtrace version that wrote it
 *     u32  nruns                 number of runs that follow
 *     bool builtin               --mode: our own workload
 *     u32  work.mode, work.runtime (enum mpx_mode, enum mpx_runtime)
 *     u32  work.tasks, work.workers, work.ms, work.repeat
 *     u64  work.bytes
 *     str  work.kind, work.start_method, work.python (NULL allowed)
 *     str  note                  (NULL allowed)
 *
 *   "RUN ": one run's metadata.
 *     u32  mode (enum mpx_mode), u32 repeat, s32 exit_code, bool done
 *     str  command, str attach (NULL allowed), str kernel
 *     s32  ncpus
 *     bool exited, s32 exit_status (wait status), bool interrupted
 *     u64  lost_events, untracked_tasks, lost_stacks, rejected_records
 *     u64  events                (= the records in "EVTS")
 *     u64  startup_ns
 *     bool analyzed              live: the model was fed (run__analyze)
 *     u64  end_ns                ... with lifetimes closed at this time
 *     bool seeded                model__seed_root() was called with:
 *     u32  root tid, pid, ppid
 *     str  root comm (NULL allowed)
 *     u64  ts                    the model's t0 (workload released)
 *     bool have_k, then 4 x u64: the root's base mpx_kcounters
 *                                (sum_exec_runtime, run_delay, pcount,
 *                                blkio_delay), zero when !have_k
 *
 *   "WAIT": the wait-reason table.  u32 n, then n x { s32 stack id (>= 0,
 *   unique), str reason }.
 *
 *   "LOST": events the kernel side lost, per tid.  u32 n, then
 *   n x { u32 tid, u64 count }.
 *
 *   "RSSX": each process's exact RSS (--rss=exact, the kmem:rss_stat
 *   peaks), bytes.  u32 n, then n x { u32 pid, u64 peak, anon, file,
 *   shmem, last }.
 *
 *   "EVTS": u64 n, then n records of include/events.h back to back, in
 *   arrival order, each exactly hdr.size bytes, hdr.size matching
 *   hdr.type.
 *
 *   Times and counts a kernel writes stay below MPX_TF_MAX_U64 (2^60: 36
 *   years in ns): hdr.ts, every __u64 field of a record, end_ns, t0 and
 *   the root's counters.  A reader refuses more (the analyses do signed
 *   64-bit arithmetic on them).
 *
 * A reader checks every length against its limit below and against what
 * is left of its section and of the payload, allocates only for bytes it
 * has read, and rejects unknown versions, tags, flags and trailing bytes.
 * New fields mean a new version.
 */
#ifndef MPX_TRACEFILE_H
#define MPX_TRACEFILE_H

#ifdef __BPF__
#error "tracefile.h is user-space only"
#endif

#include <stddef.h>
#include <stdint.h>

#include "run.h"

#define MPX_TF_MAGIC		"MPXTRACE"
#define MPX_TF_VERSION		2
#define MPX_TF_VERSION_MIN	1	/* the oldest a reader takes */
#define MPX_TF_ENDIAN		0x01020304u
#define MPX_TF_HDR_LEN		32

/* Limits a reader enforces (and a writer, so that it never writes a file
 * it would refuse). */
#define MPX_TF_MAX_RUNS		4096
#define MPX_TF_MAX_STR		4096		/* paths, notes */
#define MPX_TF_MAX_REASONS	65536		/* per run (stack map: 16384) */
#define MPX_TF_MAX_LOST		65536		/* per run (the lost map: 4096) */
#define MPX_TF_MAX_RSSX		(1u << 22)	/* per run (--max-tasks at most) */
#define MPX_TF_MAX_EVENTS	(1ull << 34)	/* per run */
#define MPX_TF_MAX_PAYLOAD	(1ull << 40)
#define MPX_TF_MAX_U64		(1ull << 60)	/* times, counters (see above) */
/* Deflate inflates at most ~1032:1: a payload_len beyond this ratio of
 * the compressed bytes is a lie. */
#define MPX_TF_MAX_RATIO	1100

/*
 * Write rs to path: created 0600 (it holds command lines) as path.tmp,
 * synced, then renamed over path.  Returns 0, or a negative errno with a
 * one-line message in err (and path.tmp removed).
 */
int tracefile__write(const char *path, const struct mpx_runset *rs,
		     char *err, size_t errsz);

/*
 * Read a trace file into rs (zeroed by the caller) and replay each run as
 * live did.  Returns 0, or a negative errno with a one-line message in
 * err and rs left empty.  Never trusts the file: bad, truncated or hostile
 * input is an error, never a crash or an unbounded allocation.
 */
int tracefile__read(const char *path, struct mpx_runset *rs, char *err, size_t errsz);
/* The same from a buffer holding a whole file. */
int tracefile__read_mem(const void *buf, size_t len, struct mpx_runset *rs,
			char *err, size_t errsz);

/* Records over all runs of rs (what "recorded N events" counts). */
uint64_t tracefile__nevents(const struct mpx_runset *rs);

#endif /* MPX_TRACEFILE_H */
