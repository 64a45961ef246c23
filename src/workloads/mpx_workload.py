"""mpxtrace's built-in Python workload: multiprocessing.Process vs Pool.

The code paths are the blog post's: Process(target=task).start() for every
task, then join() for every task; or Pool() (Pool(W) with --workers),
apply_async() for every task, then wait() for every result, with no close()
or join() of the pool (interpreter exit tears it down, as in the post).

The main thread marks the measured region for the tracer by renaming itself
(prctl PR_SET_NAME, seen by the kernel's task_rename tracepoint) to
mpx@begin, mpx@started (process) or mpx@pool and mpx@submitted (pool), and
mpx@end, restoring its name right after each.  The region is the one the
post times: from just before the first start to after the last wait.

mpxtrace writes this file into a private temporary directory and runs it
with the system python3; it is also usable alone:
    python3 mpx_workload.py --mode pool --tasks 2 --kind write --dir /tmp/x
"""
import argparse
import ctypes
import json
import mmap
import multiprocessing
import os
import sys
import time

PR_SET_NAME = 15
CHUNK = 1 << 20


class Marker:
    """Rename the calling thread to mpx@NAME and back: one tracer marker."""

    def __init__(self):
        self.libc = ctypes.CDLL(None, use_errno=True)
        with open("/proc/self/task/%d/comm" % threading_native_id(), "rb") as f:
            self.name = f.read().strip()[:15]

    def __call__(self, what):
        self.libc.prctl(PR_SET_NAME, ("mpx@" + what).encode()[:15], 0, 0, 0)
        self.libc.prctl(PR_SET_NAME, self.name, 0, 0, 0)


def threading_native_id():
    try:
        import threading
        return threading.get_native_id()
    except AttributeError:      # < 3.8
        return os.getpid()


# ---- the tasks ----------------------------------------------------------

def task_write(path, nbytes, ms):
    """The post's IO_Task: five small writes, buffered, then close."""
    f = open(path, "w")
    for _ in range(5):
        f.write("hello world")
    f.close()


def task_fsync(path, nbytes, ms):
    f = open(path, "w")
    for _ in range(5):
        f.write("hello world")
    f.flush()
    os.fsync(f.fileno())
    f.close()


def task_direct(path, nbytes, ms):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
    buf = mmap.mmap(-1, CHUNK)          # page-aligned, as O_DIRECT needs
    buf.write(b"\xa5" * CHUNK)
    try:
        left = nbytes
        while left > 0:
            n = min(left, CHUNK)
            n = (n + 4095) // 4096 * 4096
            os.write(fd, memoryview(buf)[:n])
            left -= n
    finally:
        buf.close()
        os.close(fd)


def task_read_cold(path, nbytes, ms):
    with open(path, "rb", buffering=0) as f:
        while f.read(CHUNK):
            pass


def task_cpu(path, nbytes, ms):
    end = time.thread_time() + ms / 1000.0
    x = 0
    while time.thread_time() < end:
        for i in range(1000):
            x += i * i
    return x


def task_mem(path, nbytes, ms):
    b = bytearray(nbytes)
    for i in range(0, nbytes, 4096):
        b[i] = 1
    return len(b)


def task_sleep(path, nbytes, ms):
    time.sleep(ms / 1000.0)


TASKS = {
    "write": task_write, "fsync": task_fsync, "direct": task_direct,
    "read-cold": task_read_cold, "cpu": task_cpu, "mem": task_mem,
    "sleep": task_sleep,
}


def prepare_cold(paths, nbytes):
    """Files for read-cold: written, on disk, and out of the page cache."""
    block = b"\x5a" * CHUNK
    for p in paths:
        with open(p, "wb") as f:
            left = nbytes
            while left > 0:
                f.write(block[:min(left, CHUNK)])
                left -= CHUNK
            f.flush()
            os.fsync(f.fileno())
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


# ---- the two modes ------------------------------------------------------

def run_process(ctx, fn, args, mark):
    mark("begin")
    procs = [ctx.Process(target=fn, args=a) for a in args]
    for p in procs:
        p.start()
    mark("started")
    for p in procs:
        p.join()
    mark("end")
    return len(procs)


def run_pool(ctx, fn, args, workers, mark):
    mark("begin")
    pool = ctx.Pool(workers or None)
    mark("pool")
    results = [pool.apply_async(fn, args=a) for a in args]
    mark("submitted")
    for r in results:
        r.wait()
    mark("end")
    n = pool._processes
    # Keep the pool referenced, not closed: as in the post, interpreter
    # exit tears it down.
    run_pool.keep = pool
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("process", "pool"), required=True)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--kind", choices=sorted(TASKS), default="write")
    ap.add_argument("--bytes", type=int, default=8 << 20)
    ap.add_argument("--ms", type=int, default=50)
    ap.add_argument("--start-method", default="fork",
                    choices=("fork", "spawn", "forkserver"))
    ap.add_argument("--dir", required=True)
    o = ap.parse_args()

    ctx = multiprocessing.get_context(o.start_method)
    fn = TASKS[o.kind]
    paths = [os.path.join(o.dir, "%s-task-%d" % (o.mode, i)) for i in range(o.tasks)]
    if o.kind == "read-cold":
        prepare_cold(paths, o.bytes)
    args = [(p, o.bytes, o.ms) for p in paths]
    mark = Marker()

    t = time.perf_counter()
    if o.mode == "process":
        workers = run_process(ctx, fn, args, mark)
    else:
        workers = run_pool(ctx, fn, args, o.workers, mark)
    wall = (time.perf_counter() - t) * 1000.0
    print(json.dumps({"runtime": "python", "mode": o.mode, "wall_ms": round(wall, 3),
                      "tasks": o.tasks, "workers": workers, "kind": o.kind,
                      "python": sys.version.split()[0],
                      "start_method": o.start_method}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
