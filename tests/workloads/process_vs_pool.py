"""The "Process vs Pool" experiment (shared/seed/experiment.py), ours.

Two multiprocessing.Process tasks started and joined, then a Pool() with two
apply_async tasks waited on; each task writes "hello world" five times to a
file of its own.  It prints the two timings the way the blog post does.

Differences from the blog's script, none of which changes what it measures:
the files go to a private temporary directory (removed at the end) instead
of the working directory, and the code sits under a __main__ guard so that
it also runs under the forkserver and spawn start methods.  Like the blog,
the pool is neither closed nor joined: interpreter exit tears it down.
"""
import os
import shutil
import tempfile
import time
from multiprocessing import Pool, Process


def io_task(file_name):
    f = open(file_name, "w")
    for _ in range(5):
        f.write("hello world")
    f.close()


def main():
    tmp = tempfile.mkdtemp(prefix="mpx-pvp-")
    try:
        path = [os.path.join(tmp, "myIOFile%d.txt" % i) for i in range(1, 5)]

        process_time = time.time()
        p1 = Process(target=io_task, args=(path[0],))
        p2 = Process(target=io_task, args=(path[1],))
        p1.start()
        p2.start()
        p1.join()
        p2.join()
        print("Time taken for Process: ", (time.time() - process_time) * 1000, " ms")

        pool_time = time.time()
        pool = Pool()
        po1 = pool.apply_async(io_task, args=(path[2],))
        po2 = pool.apply_async(io_task, args=(path[3],))
        po1.wait()
        po2.wait()
        print("Time taken for Pool   : ", (time.time() - pool_time) * 1000, " ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
