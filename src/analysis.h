/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Analyses of traced runs: roles, phases from the workload's markers, the
 * critical path of the measured interval, and, across the process and
 * pool runs, the explanation of their difference and the blog's claims.
 * Pure C over the model: no libbpf, no kernel access.
 */
#ifndef MPX_ANALYSIS_H
#define MPX_ANALYSIS_H

#ifdef __BPF__
#error "analysis.h is user-space only"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "critpath.h"
#include "pyspans.h"
#include "report.h"
#include "run.h"

/* Marker names a workload sets with prctl(PR_SET_NAME) on its main thread. */
#define MPX_MARK_PREFIX "mpx@"

enum mpx_role_class {
	MPX_RC_MAIN,		/* the workload's first process, main thread */
	MPX_RC_HELPER,		/* other threads of the main process */
	MPX_RC_TASK,		/* a process that runs tasks: child-N, worker-N */
	MPX_RC_SERVICE,		/* forkserver, resource tracker */
	MPX_RC_OTHER,
	MPX_RC_MAX,
};

struct mpx_role {
	enum mpx_role_class cls;
	char name[24];		/* "main", "worker-2", "result-handler", ... */
};

/* Common phase classes, so that process and pool runs can be compared. */
enum mpx_phase_class {
	MPX_PC_SETUP,		/* creating processes or the pool */
	MPX_PC_DISPATCH,	/* handing tasks over */
	MPX_PC_EXECUTION,	/* the tasks' own work */
	MPX_PC_COLLECTION,	/* joining, waiting for results */
	MPX_PC_TEARDOWN,	/* after the last result (outside the post's timing) */
	MPX_PC_RUN,		/* a command without markers: the whole run */
	MPX_PC_STARTUP,		/* a Python command: exec to the script's first line */
	MPX_PC_MAX,
};

#define MPX_MAX_PHASES 16

struct mpx_phase {
	char name[16];		/* "setup", "dispatch", "wait", "start", "join", ... */
	enum mpx_phase_class cls;
	uint64_t start, end;
	/* Python: outermost imports of the Python main thread inside it, the
	 * longest of them; process or thread starts it holds. */
	uint64_t import_ns, top_import_ns;
	char top_import[MPX_PYNAME_LEN + 1];
	uint32_t nstarts;
};

/* A Python command's phases: what opened each (see analysis__py_phases). */
enum mpx_pyphase_kind {
	MPX_PP_FORK,		/* os.fork (or a child with no audit event) */
	MPX_PP_SPAWN,		/* subprocess.Popen, os.posix_spawn, os.system, ... */
	MPX_PP_THREAD,		/* a thread of the process (clone seen by the kernel) */
	MPX_PP_MAX,
};

/* Facts of a Python command's phases (py_phases true). */
struct mpx_pyphases {
	size_t task;			/* the Python process's main thread */
	bool launched;			/* exec_ns is an exec after the run began: the
					 * time before it is a launch phase */
	uint64_t exec_ns;		/* start-up from here ... */
	uint64_t run_ns;		/* ... to cpython.run_* (0: not seen) */
	uint64_t fin_ns;		/* cpython.PyInterpreterState_Clear (0: not seen) */
	uint64_t startup_import_ns, script_import_ns, gc_ns;
	char startup_top[MPX_PYNAME_LEN + 1], script_top[2][MPX_PYNAME_LEN + 1];
	uint64_t startup_top_ns, script_top_ns[2];
	uint32_t startup_nimports, script_nimports;
	uint32_t nstarts[MPX_PP_MAX];	/* starts by main, in the script */
	uint64_t start_ns[MPX_PP_MAX];	/* their phases summed */
	uint64_t blocked_ns;		/* main blocked in the script, outside starts */
	const char *blocked_reason;	/* its longest wait reason */
	uint32_t folded;		/* phases folded into the last script phase */
};

/* Critical-path time summed by (phase class, role class, bucket, reason). */
struct mpx_cp_total {
	enum mpx_phase_class phase;
	enum mpx_role_class role;
	enum mpx_bucket bucket;
	const char *reason;	/* wait reason for blocked time, else NULL */
	int64_t ns;
};

struct mpx_run_analysis {
	const struct mpx_run *run;
	struct mpx_report rep;
	struct mpx_role *roles;		/* one per task of run->m */
	struct mpx_phase ph[MPX_MAX_PHASES];
	int nph;			/* phases inside the measured interval */
	struct mpx_phase teardown;	/* after it, when markers exist */
	bool markers;			/* the workload marked its phases */
	size_t main_idx;		/* the workload's main task */
	uint64_t begin, end;		/* measured interval */
	struct mpx_cpath cp;
	struct mpx_cp_total *cpt;
	size_t ncpt;
	/* facts */
	uint32_t ntask_procs;		/* child-N / worker-N processes */
	uint32_t nhelpers;		/* threads of the main process */
	uint32_t peak_task_procs;	/* most task processes alive at once */
	uint32_t peak_blocked_tasks;	/* most task processes blocked at once */
	uint32_t peak_runnable;		/* most traced tasks runnable at once */
	uint64_t runq_total_ns;		/* all tasks, inside the interval */
	uint64_t main_cpu_before_fork_ns; /* main on CPU from begin to its first fork */
	uint64_t task_oncpu_ns, task_blocked_ns, task_io_ns; /* task processes */
	uint64_t others_oncpu_while_tasks_blocked_ns;
	uint64_t footprint_peak;	/* pages: most RSS summed over live processes */
	uint64_t footprint_cow_peak;	/* same, each child counted from its RSS at fork */
	uint64_t task_rss_peak;		/* pages: most RSS of task processes at once */
	uint32_t fork_order_violations;	/* children first ran out of fork order */
	uint32_t task_preemptions;	/* involuntary switches of task processes */
	/* Python (pyspans.h), when the interpreter had probes */
	struct mpx_pyspans py;
	/* The setup phase of main, cut at its first task fork and at its
	 * first helper thread: before forking (of it importing), forking
	 * task processes, starting helper threads. */
	uint64_t setup_before_fork_ns, setup_import_ns, setup_fork_ns, setup_threads_ns;
	uint32_t setup_nimports;		/* imports (any depth) of main in setup */
	char setup_top_import[2][MPX_PYNAME_LEN + 1];	/* its two longest outermost */
	uint64_t setup_top_import_ns[2];
	uint64_t setup_top_import_cpu_ns;	/* main on CPU during the longest one */
	uint64_t cp_gil_ns;			/* critical path waiting for the GIL */
	/* Critical path on a thread (not main_idx, whose running is the
	 * work) that held the GIL while the path's next task waited for it
	 * (the walk followed that wait to its waker, or to the holder when
	 * the wait timed out). */
	uint64_t cp_gil_holder_ns;
	uint32_t *cp_gil_waiter;		/* per segment: that thread's tid, 0 */
	/* A Python command without markers: phases from its Python spans. */
	bool py_phases;
	struct mpx_pyphases pp;
	char py_sentence[5][400];		/* its explanation */
	int npy_sentences;
};

struct mpx_contrib {
	enum mpx_phase_class phase;
	enum mpx_role_class role;
	enum mpx_bucket bucket;
	int64_t ns;			/* pool minus process */
	int64_t a_ns, b_ns;		/* process, pool */
};

enum mpx_verdict {
	MPX_V_SUPPORTED,
	MPX_V_NOT_SUPPORTED,
	MPX_V_PARTLY,
	MPX_V_NOT_TESTED,
};

struct mpx_claim {
	const char *claim;		/* the post's words, shortened */
	enum mpx_verdict verdict;
	char evidence[512];
	char test_with[160];		/* flags that would test it (better) */
};

#define MPX_MAX_CONTRIB 24
#define MPX_MAX_SENTENCES 8
#define MPX_NCLAIMS 4

struct mpx_explanation {
	int a, b;			/* representative runs: process, pool */
	int64_t delta_ns;		/* b.wall - a.wall */
	struct mpx_contrib contrib[MPX_MAX_CONTRIB];
	int ncontrib;
	int64_t contrib_rest_ns;	/* what the listed ones leave (sum exact) */
	char sentence[MPX_MAX_SENTENCES][512];
	int nsentences;
	struct mpx_claim claims[MPX_NCLAIMS];
	/* spread over --repeat: median and min/max of wall per mode */
	uint64_t med_ns[2], min_ns[2], max_ns[2];
	int nruns[2];
};

struct mpx_analysis {
	const struct mpx_runset *rs;
	struct mpx_run_analysis *ra;
	size_t n;
	bool have_expl;
	struct mpx_explanation ex;
};

int analysis__run(struct mpx_analysis *an, const struct mpx_runset *rs);
void analysis__free(struct mpx_analysis *an);

const char *mpx_role_class_name(enum mpx_role_class c);
const char *mpx_phase_class_name(enum mpx_phase_class c);
const char *mpx_verdict_name(enum mpx_verdict v);

/*
 * The tree's memory footprint (pages) after every change, in time order
 * (several at one timestamp: the last is the value from then on):
 * the RSS of its live processes summed, and the same with pages shared
 * after fork counted once (the walk that finds footprint_peak and
 * footprint_cow_peak).
 */
typedef void (*mpx_footprint_fn)(void *ctx, uint64_t ts, uint64_t sum, uint64_t cow);
void analysis__footprint_series(const struct mpx_run_analysis *ra, mpx_footprint_fn fn,
				void *ctx);
/* Reason of a critical-path wait: "GIL wait" when the task was waiting for
 * the GIL for most of it, else the kernel's wait reason (NULL: none). */
const char *analysis__seg_reason(const struct mpx_run_analysis *ra,
				 const struct mpx_cp_seg *s);

/* Exposed for tests. */
int analysis__roles(const struct mpx_run *run, struct mpx_role *roles);
int analysis__phases(struct mpx_run_analysis *ra);
/* Phases of a Python command from its spans (after analysis__phases found
 * no markers): start-up, script, process and thread starts, exit. */
int analysis__py_phases(struct mpx_run_analysis *ra);

#endif /* MPX_ANALYSIS_H */
