// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"
#include "util.h"

/* PATH search as execvp does it; 0 = found and executable. */
static int find_command(const char *cmd, char *out, size_t outsz)
{
	const char *path = getenv("PATH");
	const char *p, *e;
	bool seen = false;
	struct stat st;

	if (strchr(cmd, '/')) {
		if (stat(cmd, &st))
			return -errno;
		if (S_ISDIR(st.st_mode) || access(cmd, X_OK))
			return -EACCES;
		snprintf(out, outsz, "%s", cmd);
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		snprintf(out, outsz, "%.*s%s%s", (int)(e - p), p, e == p ? "" : "/", cmd);
		if (!stat(out, &st) && !S_ISDIR(st.st_mode)) {
			if (!access(out, X_OK))
				return 0;
			seen = true;
		}
		if (!*e)
			break;
	}
	return seen ? -EACCES : -ENOENT;
}

bool runner__sudo_ids(struct runner *r)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	uint64_t u, g;

	if (getuid() != 0 || !su || !sg)
		return false;
	if (mpx_parse_u64(su, 1, UINT_MAX - 1, &u) ||
	    mpx_parse_u64(sg, 0, UINT_MAX - 1, &g))
		return false;
	r->uid = (uid_t)u;
	r->gid = (gid_t)g;
	r->as_user = true;
	return true;
}

static void child_fail(int fd, int err)
{
	ssize_t n = write(fd, &err, sizeof(err));

	(void)n;
	_exit(err == ENOENT ? MPX_EXIT_NOTFOUND : MPX_EXIT_NOEXEC);
}

int runner__start(struct runner *r, char *const argv[], bool as_root,
		  int stdout_to)
{
	int bar[2] = { -1, -1 }, ep[2] = { -1, -1 }, err;
	char path[PATH_MAX];
	char c;

	memset(r, 0, sizeof(*r));
	r->barrier_fd = r->err_fd = -1;
	err = find_command(argv[0], path, sizeof(path));
	if (err == -ENOENT) {
		mpx_err("%s: command not found", argv[0]);
		return MPX_EXIT_NOTFOUND;
	} else if (err) {
		mpx_err("%s: cannot execute: %s", argv[0], strerror(-err));
		return MPX_EXIT_NOEXEC;
	}
	if (!as_root)
		runner__sudo_ids(r);
	/* Orphans of the workload come to us, so the whole tree is reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (pipe2(bar, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		mpx_err("pipe: %s", strerror(errno));
		goto fail;
	}
	r->pid = fork();
	if (r->pid < 0) {
		mpx_err("fork: %s", strerror(errno));
		goto fail;
	}
	if (r->pid == 0) {
		close(bar[1]);
		close(ep[0]);
		/* Held here until the programs are attached. */
		if (read(bar[0], &c, 1) != 1)
			_exit(MPX_EXIT_ERROR);
		close(bar[0]);
		if (stdout_to == MPX_STDOUT_STDERR && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			child_fail(ep[1], errno);
		if (stdout_to == MPX_STDOUT_NULL) {
			int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

			if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
				child_fail(ep[1], errno);
		}
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* The tracer blocks SIGCHLD for its signalfd: not the workload. */
		{
			sigset_t none;

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
		}
		if (r->as_user) {
			const char *user = getenv("SUDO_USER");

			if ((user ? initgroups(user, r->gid) : setgroups(0, NULL)) ||
			    setgid(r->gid) || setuid(r->uid))
				child_fail(ep[1], errno);
		}
		execv(path, argv);
		child_fail(ep[1], errno);
	}
	close(bar[0]);
	close(ep[1]);
	r->barrier_fd = bar[1];
	r->err_fd = ep[0];
	return 0;
fail:
	if (bar[0] >= 0) {
		close(bar[0]);
		close(bar[1]);
	}
	if (ep[0] >= 0) {
		close(ep[0]);
		close(ep[1]);
	}
	return MPX_EXIT_ERROR;
}

/* Field 3 of /proc/PID/stat: R, S, D, ... */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

int runner__wait_held(struct runner *r, int timeout_ms)
{
	int i;

	for (i = 0; i < timeout_ms * 5; i++) {
		if (proc_state(r->pid) == 'S')
			return 0;
		usleep(200);
	}
	return -ETIMEDOUT;
}

int runner__release(struct runner *r)
{
	ssize_t n;
	int e = 0;

	n = write(r->barrier_fd, "g", 1);
	close(r->barrier_fd);
	r->barrier_fd = -1;
	if (n != 1) {
		mpx_err("cannot release the workload: %s", strerror(errno));
		return MPX_EXIT_ERROR;
	}
	/* EOF: exec succeeded (the pipe is close-on-exec). */
	do {
		n = read(r->err_fd, &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	close(r->err_fd);
	r->err_fd = -1;
	if (n == sizeof(e)) {
		mpx_err("cannot execute the command: %s", strerror(e));
		return e == ENOENT ? MPX_EXIT_NOTFOUND : MPX_EXIT_NOEXEC;
	}
	return 0;
}

int runner__reap(struct runner *r, bool block)
{
	int st, left = 0;
	pid_t p;

	for (;;) {
		p = waitpid(-1, &st, block ? 0 : WNOHANG);
		if (p > 0) {
			if (p == r->pid) {
				r->root_done = true;
				r->root_status = st;
			}
			continue;
		}
		if (p == 0) {
			left = 1;
			break;
		}
		if (errno == EINTR) {
			if (block)
				return 1;	/* interrupted: let the caller look */
			continue;
		}
		break;	/* ECHILD: nothing left */
	}
	return left;
}

void runner__abort(struct runner *r)
{
	if (r->barrier_fd >= 0)
		close(r->barrier_fd);
	if (r->err_fd >= 0)
		close(r->err_fd);
	r->barrier_fd = r->err_fd = -1;
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

int runner__exit_code(const struct runner *r)
{
	if (!r->root_done)
		return MPX_EXIT_ERROR;
	if (WIFEXITED(r->root_status))
		return WEXITSTATUS(r->root_status);
	if (WIFSIGNALED(r->root_status))
		return 128 + WTERMSIG(r->root_status);
	return MPX_EXIT_ERROR;
}
