"""mpxtrace's built-in Python workload: multiprocessing.Process vs Pool.

The code paths are the blog post's ("Process vs Pool", ChenRiang, 2021):
  process: Process(target=task, args=...) for every task, start() them all,
           then join() them all;
  pool:    Pool() (Pool(W) with --workers W), apply_async() for every task,
           then wait() for every result, in order.  The pool is neither
           closed nor joined: as in the post, interpreter exit tears it down.

The main thread marks the measured region for the tracer by renaming itself
(prctl PR_SET_NAME, seen by the kernel's task_rename tracepoint) and at once
restoring its name:
  process: mpx@begin, mpx@started, mpx@end
  pool:    mpx@begin, mpx@pool, mpx@submitted, mpx@end
begin..end is the region the post times: from just before the first
Process() or Pool() to after the last join() or wait().

Only os, sys, time and multiprocessing are imported at module level, as in
the post: spawn and forkserver children re-import this file as __mp_main__
and should pay for no more than the post's script would.

mpxtrace writes this file into a private temporary directory and runs it
with the system python3 (3.9 or later); it also runs alone:
    python3 mpx_workload.py --mode pool --tasks 2 --kind write --dir /tmp/x
It prints one JSON line on stdout and exits 0, or 1 if a task failed.
"""
import multiprocessing
import os
import sys
import time

PR_SET_NAME = 15
CHUNK = 1 << 20         # IO size of direct, read-cold and their preparation
PAGE = 4096             # O_DIRECT alignment; the stride of mem


def write_fill(fd, buf, total):
    """Write total bytes to fd, CHUNK at a time, from buf (CHUNK long)."""
    view = memoryview(buf)
    while total > 0:
        total -= os.write(fd, view[:min(total, CHUNK)])


# ---- the tasks: task i works on its own file ---------------------------

def task_write(path, nbytes, ms):
    """The post's IO_Task: five buffered writes, one write(2) at close."""
    f = open(path, "w")
    for _ in range(5):
        f.write("hello world")
    f.close()


def task_fsync(path, nbytes, ms):
    """IO_Task, then forced to disk before close."""
    f = open(path, "w")
    for _ in range(5):
        f.write("hello world")
    f.flush()
    os.fsync(f.fileno())
    f.close()


def task_direct(path, nbytes, ms):
    """nbytes (rounded up to a page) written with O_DIRECT, 1 MiB a time."""
    import mmap

    buf = mmap.mmap(-1, CHUNK)          # page-aligned, as O_DIRECT needs
    buf.write(b"\xa5" * CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
    try:
        write_fill(fd, buf, (nbytes + PAGE - 1) // PAGE * PAGE)
    finally:
        os.close(fd)
        buf.close()


def task_read_cold(path, nbytes, ms):
    """Read a file that prepare_cold() pushed out of the page cache."""
    buf = bytearray(CHUNK)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def task_cpu(path, nbytes, ms):
    """Spin until this thread has run for ms milliseconds."""
    end = time.thread_time() + ms / 1000.0
    x = 0
    while time.thread_time() < end:
        for i in range(1000):
            x += i * i
    return x


def task_mem(path, nbytes, ms):
    """Allocate nbytes and write one byte in every page."""
    b = bytearray(nbytes)
    for i in range(0, nbytes, PAGE):
        b[i] = 1
    return len(b)


def task_sleep(path, nbytes, ms):
    time.sleep(ms / 1000.0)


def prepare_cold(paths, nbytes):
    """read-cold: every file written, on disk and out of the page cache."""
    block = b"\x5a" * CHUNK
    for p in paths:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            write_fill(fd, block, nbytes)
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


# name: (task, preparation before mpx@begin or None)
KINDS = {
    "write": (task_write, None),
    "fsync": (task_fsync, None),
    "direct": (task_direct, None),
    "read-cold": (task_read_cold, prepare_cold),
    "cpu": (task_cpu, None),
    "mem": (task_mem, None),
    "sleep": (task_sleep, None),
}


# ---- markers -------------------------------------------------------------

class Marker:
    """mark(what): rename this thread mpx@what and back; returns the
    perf_counter() of the rename the tracer sees.  Everything that costs
    (ctypes, dlsym, reading the name) happens here, before mpx@begin."""

    def __init__(self):
        import ctypes

        self.prctl = ctypes.CDLL(None, use_errno=True).prctl
        with open("/proc/self/comm", "rb") as f:
            self.name = f.read().rstrip(b"\n")
        self.names = {w: b"mpx@" + w.encode()
                      for w in ("begin", "started", "pool", "submitted", "end")}

    def __call__(self, what):
        self.prctl(PR_SET_NAME, self.names[what])
        t = time.perf_counter()
        self.prctl(PR_SET_NAME, self.name)
        return t


# ---- the two modes: (wall seconds, workers, failures) --------------------

def run_process(ctx, fn, args, workers, mark):
    t0 = mark("begin")
    procs = [ctx.Process(target=fn, args=a) for a in args]
    for p in procs:
        p.start()
    mark("started")
    for p in procs:
        p.join()
    t1 = mark("end")
    failed = ["task %d: exit code %s" % (i, p.exitcode)
              for i, p in enumerate(procs) if p.exitcode != 0]
    return t1 - t0, len(procs), failed


# The post's pool is a module global, alive until interpreter exit, where
# multiprocessing's atexit finalizer tears it down; keep ours alive the same
# way, so that no Pool.__del__ runs earlier.
_pool = None


def run_pool(ctx, fn, args, workers, mark):
    global _pool

    t0 = mark("begin")
    _pool = ctx.Pool(workers or None)
    mark("pool")
    results = [_pool.apply_async(fn, args=a) for a in args]
    mark("submitted")
    for r in results:
        r.wait()
    t1 = mark("end")
    failed = []
    for i, r in enumerate(results):
        try:
            r.get(0)
        except Exception as e:      # the task's own exception, re-raised
            failed.append("task %d: %r" % (i, e))
    return t1 - t0, _pool._processes, failed


MODES = {"process": run_process, "pool": run_pool}


def count(lo):
    def parse(s):
        v = int(s)
        if v < lo:
            raise ValueError(s)
        return v
    parse.__name__ = "integer >= %d" % lo
    return parse


def main():
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=sorted(MODES), required=True)
    ap.add_argument("--tasks", type=count(1), default=2)
    ap.add_argument("--workers", type=count(0), default=0,
                    help="pool size; 0 = Pool() default (CPU count)")
    ap.add_argument("--kind", choices=sorted(KINDS), default="write")
    ap.add_argument("--bytes", type=count(1), default=8 << 20)
    ap.add_argument("--ms", type=count(0), default=50)
    ap.add_argument("--start-method", default="fork",
                    choices=("fork", "spawn", "forkserver"))
    ap.add_argument("--dir", required=True)
    o = ap.parse_args()

    ctx = multiprocessing.get_context(o.start_method)
    fn, prepare = KINDS[o.kind]
    os.makedirs(o.dir, exist_ok=True)
    # Per mode, so that a --mode=both run never reuses the other's files.
    paths = [os.path.join(o.dir, "%s-task-%d" % (o.mode, i)) for i in range(o.tasks)]
    if prepare:
        prepare(paths, o.bytes)
    args = [(p, o.bytes, o.ms) for p in paths]
    mark = Marker()

    wall, workers, failed = MODES[o.mode](ctx, fn, args, o.workers, mark)

    print(json.dumps({"runtime": "python", "mode": o.mode,
                      "wall_ms": round(wall * 1000.0, 3), "tasks": o.tasks,
                      "workers": workers, "kind": o.kind,
                      "python": sys.version.split()[0],
                      "start_method": o.start_method}))
    sys.stdout.flush()
    for f in failed:
        print("mpx_workload: %s failed: %s" % (o.kind, f), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
