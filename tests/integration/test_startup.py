#!/usr/bin/env python3
"""Root integration tests of what start-up caches in /run: the tracepoints'
argument counts and the small BTF libbpf resolves CO-RE relocations
against (src/corebtf.c).  A traced run must give the kernel-checked figures
whether the caches are missing (built on the way), present, or corrupt
(thrown away, the kernel's whole BTF used, rebuilt next time).  No timing
is asserted: the machine is shared.

Plain python3, stdlib only, as root.  Environment: MPXTRACE, MPX_WORK.
Prints `ok - NAME` / `FAIL - NAME: detail` and ends with `N passed, M failed`.
"""
import glob
import os
import stat
import sys

import mpxtest
import test_trace as tt
from test_trace import MS, checked, work, expect_traced, check_report

TP_CACHE = "/run/mpxtrace-tracepoints"
CORE_GLOB = "/run/mpxtrace-core-*.btf"


def clear():
    for f in [TP_CACHE] + glob.glob(CORE_GLOB):
        try:
            os.unlink(f)
        except FileNotFoundError:
            pass


def burn(c, what):
    r = tt.trace(work("burn", 50), ["-v"])
    if not expect_traced(c, r):
        return None
    t = check_report(c, r.report, r.steal_ns)
    if t:
        c.between("%s: oncpu (ms)" % what, t["oncpu_ns"], 49 * MS, 65 * MS + tt.stolen(r), MS)
    return r


def root_owned_0644(c, path):
    st = os.stat(path)
    c.eq("%s owner" % path, st.st_uid, 0)
    c.eq("%s mode" % path, stat.S_IMODE(st.st_mode), 0o644)


@checked
def test_caches_built_then_used(c):
    clear()
    r = burn(c, "no cache")
    if not r:
        return
    cores = glob.glob(CORE_GLOB)
    c.true("tracepoint cache written", os.path.exists(TP_CACHE), "missing")
    if not c.eq("one CO-RE BTF cached", len(cores), 1):
        return
    root_owned_0644(c, TP_CACHE)
    root_owned_0644(c, cores[0])
    r = burn(c, "cached")
    if r:
        c.true("cached BTF used", "CO-RE relocations against %s" % cores[0] in r.stderr,
               r.stderr[-300:])
        c.true("no fallback", "trying with the kernel's whole BTF" not in r.stderr,
               r.stderr[-300:])


@checked
def test_corrupt_caches_are_replaced(c):
    burn(c, "warm-up")
    cores = glob.glob(CORE_GLOB)
    if not c.eq("one CO-RE BTF cached", len(cores), 1):
        return
    for f in (TP_CACHE, cores[0]):
        with open(f, "w") as fh:
            fh.write("not what it should be\n")
    r = burn(c, "corrupt cache")
    if not r:
        return
    c.true("fell back to the kernel's BTF", "trying with the kernel's whole BTF" in r.stderr,
           r.stderr[-300:])
    r = burn(c, "rebuilt cache")
    if r:
        c.true("rebuilt BTF used without fallback",
               "trying with the kernel's whole BTF" not in r.stderr and
               "CO-RE relocations against" in r.stderr, r.stderr[-300:])


@checked
def test_summary_with_fresh_caches(c):
    clear()
    r = tt.trace(work("sleep", 50), ["--summary"])
    if not expect_traced(c, r):
        return
    t = check_report(c, r.report, r.steal_ns)
    if t:
        c.between("sleep (ms)", t["sleep_ns"], 50 * MS, 60 * MS, MS)


KSYMS_CACHE = "/run/mpxtrace-ksyms"


def sleep_reason(c, what):
    r = tt.trace(["sleep", "0.05"])
    if not expect_traced(c, r):
        return
    reasons = [w["reason"] for w in r.report["tasks"][0]["waits"]]
    c.true("%s: the sleep named" % what, "do_nanosleep in clock_nanosleep()" in reasons,
           reasons)


@checked
def test_kernel_symbols_cached(c):
    # Wait reasons from kernel symbols read from /proc/kallsyms, kept in /run
    # (root only) for the boot; a corrupt copy is replaced, never believed.
    try:
        os.unlink(KSYMS_CACHE)
    except FileNotFoundError:
        pass
    sleep_reason(c, "from /proc/kallsyms")
    st = os.stat(KSYMS_CACHE)
    c.eq("ksyms cache owner", st.st_uid, 0)
    c.eq("ksyms cache mode", stat.S_IMODE(st.st_mode), 0o600)
    with open(KSYMS_CACHE, "rb") as f:
        good = f.read()
    c.true("ksyms cache form", good[:8] == b"MPXKSYM1", good[:8])
    sleep_reason(c, "from the cache")
    with open(KSYMS_CACHE, "r+b") as f:
        f.seek(len(good) // 2)
        f.write(b"\xff" * 64)
    sleep_reason(c, "after corruption")
    with open(KSYMS_CACHE, "rb") as f:
        c.true("ksyms cache rebuilt", f.read() == good, "differs from the first")


def main():
    return mpxtest.main(globals())


if __name__ == "__main__":
    sys.exit(main())
