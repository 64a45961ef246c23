/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The runner: starts the workload held at a barrier, so that its first
 * task can be tracked before it runs a single instruction of the command,
 * then reaps the whole tree (mpxtrace is a child subreaper).
 */
#ifndef MPX_RUNNER_H
#define MPX_RUNNER_H

#ifdef __BPF__
#error "runner.h is user-space only"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	MPX_STDOUT_KEEP,
	MPX_STDOUT_STDERR,
	MPX_STDOUT_NULL,
};

struct runner {
	pid_t pid;		/* the workload's first process */
	int barrier_fd;		/* write end: one byte releases the child */
	int err_fd;		/* read end: errno if exec failed, EOF on success */
	bool root_done;
	int root_status;	/* wait status of pid */
	bool as_user;		/* dropped to SUDO_UID/SUDO_GID */
	uid_t uid;
	gid_t gid;
};

/*
 * Find the command (as execvp would) and fork the held child.
 * stdout_to: MPX_STDOUT_KEEP, _STDERR (keeps a report on stdout clean) or
 * _NULL (our own workloads: their output is ours to discard).
 * Returns 0,
 * or an MPX_EXIT_* code after printing one line.
 */
int runner__start(struct runner *r, char *const argv[], bool as_root,
		  int stdout_to);
/* Fill r->uid/gid from SUDO_UID/SUDO_GID when root under sudo; true then. */
bool runner__sudo_ids(struct runner *r);
/*
 * Wait (up to timeout_ms) until the held child sleeps at the barrier, so
 * that tracing starts from a known state.  Returns 0 or -ETIMEDOUT.
 */
int runner__wait_held(struct runner *r, int timeout_ms);
/* Let the child exec.  Returns 0, or MPX_EXIT_* if the exec failed. */
int runner__release(struct runner *r);
/* Reap what has exited.  Returns the number of children still alive. */
int runner__reap(struct runner *r, bool block);
/* Kill the held child before release (setup failed). */
void runner__abort(struct runner *r);
/* Exit status mpxtrace should return: the workload's code, or 128+signal. */
int runner__exit_code(const struct runner *r);

#endif /* MPX_RUNNER_H */
