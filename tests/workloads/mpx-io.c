// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * IO and memory workloads whose right answer is known by construction,
 * for the block-IO and memory tests:
 *
 *   mpx-io direct FILE BYTES    O_DIRECT writes of BYTES in 1 MiB requests
 *   mpx-io fsync FILE           four small writes, then fsync
 *   mpx-io readcold FILE BYTES  write, fsync, drop the pages, read back
 *   mpx-io write FILE BYTES     buffered writes only (no fsync, no sync)
 *   mpx-io vfork MS             the parent waits MS ms in vfork (D, not IO)
 *   mpx-io mem BYTES            touch BYTES of anonymous memory, print VmHWM
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static void die(const char *what)
{
	fprintf(stderr, "mpx-io: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		buf += n;
		len -= (size_t)n;
	}
}

static void fill(const char *path, unsigned long long bytes, int flags, int sync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | flags, 0644);
	void *buf;

	if (fd < 0)
		die(path);
	if (posix_memalign(&buf, 4096, CHUNK))
		die("posix_memalign");
	memset(buf, 0x5a, CHUNK);
	while (bytes) {
		size_t n = bytes < CHUNK ? (size_t)bytes : CHUNK;

		write_all(fd, buf, n);
		bytes -= n;
	}
	if (sync && fsync(fd))
		die("fsync");
	if (sync > 1 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		die("fadvise");
	free(buf);
	close(fd);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end || end == s) {
		fprintf(stderr, "mpx-io: bad number %s\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "direct") && argc == 4) {
		fill(argv[2], num(argv[3]), O_DIRECT, 0);
	} else if (!strcmp(cmd, "fsync") && argc == 3) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644), i;

		if (fd < 0)
			die(argv[2]);
		for (i = 0; i < 4; i++)
			write_all(fd, "hello world", 11);
		if (fsync(fd))
			die("fsync");
		close(fd);
	} else if (!strcmp(cmd, "readcold") && argc == 4) {
		char *buf = malloc(CHUNK);
		int fd;

		fill(argv[2], num(argv[3]), 0, 2);
		/* Only the read is measured: mark it with a rename. */
		fd = open(argv[2], O_RDONLY);
		if (fd < 0 || !buf)
			die(argv[2]);
		while (read(fd, buf, CHUNK) > 0)
			;
		close(fd);
		free(buf);
	} else if (!strcmp(cmd, "write") && argc == 4) {
		fill(argv[2], num(argv[3]), 0, 0);
	} else if (!strcmp(cmd, "vfork") && argc == 3) {
		struct timespec ts = { 0, 0 };
		unsigned long long ms = num(argv[2]);
		pid_t pid;

		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		pid = vfork();
		if (pid == 0) {
			nanosleep(&ts, NULL);
			_exit(0);
		}
		if (pid < 0)
			die("vfork");
	} else if (!strcmp(cmd, "mem") && argc == 3) {
		unsigned long long n = num(argv[2]), i;
		char *p = malloc(n), line[256];
		FILE *f;

		if (!p)
			die("malloc");
		for (i = 0; i < n; i += 4096)
			((volatile char *)p)[i] = 1;
		f = fopen("/proc/self/status", "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmHWM:", 6))
				printf("%s", line);
		if (f)
			fclose(f);
		free(p);
	} else {
		fprintf(stderr, "usage: mpx-io direct|fsync|readcold|write|vfork|mem ...\n");
		return 2;
	}
	return 0;
}
