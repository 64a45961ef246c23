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
import json
import os
import re
import stat
import struct
import subprocess
import sys
import tempfile
import time

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


def core_btf(c, r):
    """The CO-RE BTF the run says it used (other builds keep theirs too)."""
    m = re.search(r"CO-RE relocations against (/run/mpxtrace-core-[0-9a-f]+\.btf)", r.stderr)
    c.true("CO-RE BTF named", m, r.stderr[-300:])
    return m.group(1) if m else None


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
    core = core_btf(c, r)
    c.true("tracepoint cache written", os.path.exists(TP_CACHE), "missing")
    if not core:
        return
    c.true("CO-RE BTF written", os.path.exists(core), "missing")
    root_owned_0644(c, TP_CACHE)
    root_owned_0644(c, core)
    r = burn(c, "cached")
    if r:
        c.true("cached BTF used", "CO-RE relocations against %s" % core in r.stderr,
               r.stderr[-300:])
        c.true("no fallback", "trying with the kernel's whole BTF" not in r.stderr,
               r.stderr[-300:])


@checked
def test_corrupt_caches_are_replaced(c):
    r = burn(c, "warm-up")
    core = r and core_btf(c, r)
    if not core:
        return
    for f in (TP_CACHE, core):
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


# The tracepoints of the cache file, in its order (src/collect.c tp_names).
TPS = ["sched_switch", "sched_waking", "sched_wakeup", "sched_wakeup_new",
       "sched_process_fork", "sched_process_exec", "sched_process_exit",
       "sched_process_free", "task_rename", "block_io_start", "block_rq_insert",
       "block_rq_issue", "block_rq_complete", "writeback_dirty_folio",
       "sched_migrate_task"]


def kernel_tp_typedefs():
    """The type id of every btf_trace_<tracepoint> typedef in the kernel's
    BTF, read here from the raw format (an oracle apart from btfscan.c)."""
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        data = f.read()
    magic, _, _, hdr_len, type_off, type_len, str_off, str_len = \
        struct.unpack_from("<HBBIIIII", data)
    if magic != 0xeB9F:
        raise ValueError("not BTF")
    types, strs = hdr_len + type_off, hdr_len + str_off
    # Bytes after each kind's 12-byte record (vlen-scaled where it has members).
    fixed = {1: 4, 2: 0, 3: 12, 7: 0, 8: 0, 9: 0, 10: 0, 11: 0, 12: 0, 14: 4,
             16: 0, 17: 4, 18: 0}
    per = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}
    out, p, tid = {}, types, 0
    while p < types + type_len:
        name_off, info, _ = struct.unpack_from("<III", data, p)
        kind, vlen = (info >> 24) & 0x1f, info & 0xffff
        tid += 1
        if kind == 8:
            end = data.index(b"\0", strs + name_off)
            name = data[strs + name_off:end].decode()
            if name.startswith("btf_trace_"):
                out[name[len("btf_trace_"):]] = tid
        p += 12 + (fixed[kind] if kind in fixed else per[kind] * vlen)
    return out


def read_tp_cache():
    with open(TP_CACHE) as f:
        return f.read().split("\n")


@checked
def test_tracepoint_cache_holds_attach_ids(c):
    # tp_btf programs are loaded with the btf_trace_<name> typedef ids of
    # the cache, libbpf no longer reading the kernel's BTF for them.
    clear()
    if not burn(c, "no cache"):
        return
    lines = read_tp_cache()
    if not c.true("cache lines", len(lines) >= 3, lines):
        return
    nargs = [int(v) for v in lines[1].split()]
    ids = [int(v) for v in lines[2].split()]
    c.eq("one id per tracepoint", len(ids), len(TPS))
    kernel = kernel_tp_typedefs()
    for tp, n, i in zip(TPS, nargs, ids):
        c.eq("%s attach id" % tp, i, kernel.get(tp, 0) if n >= 0 else 0)


@checked
def test_wrong_attach_ids_are_caught(c):
    # A cache whose ids name other tracepoints of the same arguments
    # (sched_wakeup and sched_wakeup_new swapped) would load and attach
    # each program to the other's tracepoint: mpxtrace sees where its
    # programs attached, throws the cache away and loads them right.
    burn(c, "warm-up")
    lines = read_tp_cache()
    good = list(lines)
    ids = lines[2].split()
    a, b = TPS.index("sched_wakeup"), TPS.index("sched_wakeup_new")
    ids[a], ids[b] = ids[b], ids[a]
    lines[2] = " ".join(ids)
    with open(TP_CACHE, "w") as f:
        f.write("\n".join(lines))
    r = tt.trace(work("sleep", 50), ["-v"])
    if not expect_traced(c, r):
        return
    c.true("the wrong attachment seen", "attached to sched_wakeup_new" in r.stderr or
           "attached to sched_wakeup\n" in r.stderr, r.stderr[-400:])
    t = check_report(c, r.report, r.steal_ns)
    if t:
        c.between("sleep (ms)", t["sleep_ns"], 50 * MS, 60 * MS + tt.stolen(r), MS)
        c.true("woken", t["wakeups"] >= 1, "%d wakeups" % t["wakeups"])
    c.eq("cache rewritten", read_tp_cache(), good)


def loaded_programs(c, r):
    for line in r.stderr.splitlines():
        if line.startswith("programs:"):
            return set(line.split()[1:])
    c.fail("no programs: line in -v output: %s" % r.stderr[-300:])
    return set()


@checked
def test_each_mode_loads_its_own_programs(c):
    # --summary loads its own switch and wakeup programs in place of the
    # event mode's (which carry the event code), and the event mode has no
    # sched_wakeup (a switch-in carries the enqueue time): each mode's set,
    # and each mode's figures still right on a sleep of known length, both
    # ways of attaching.
    for attach in ("tp_btf", "raw_tp"):
        suffix = "" if attach == "tp_btf" else "_raw"
        for summary in (False, True):
            what = "%s%s" % (attach, " --summary" if summary else "")
            opts = ["-v", "--attach=" + attach] + (["--summary"] if summary else [])
            r = tt.trace(work("sleep", 50), opts)
            if not expect_traced(c, r):
                continue
            progs = loaded_programs(c, r)
            for hook in ("sched_switch", "sched_wakeup", "sched_wakeup_new"):
                own, other = hook + "_summ" + suffix, hook + suffix
                if not summary:
                    own, other = other, own
                listed = " ".join(sorted(progs))
                if not summary and hook == "sched_wakeup":
                    c.true("%s: %s not loaded" % (what, own), own not in progs, listed)
                else:
                    c.true("%s: %s loaded" % (what, own), own in progs, listed)
                c.true("%s: %s not loaded" % (what, other), other not in progs, listed)
            c.eq("%s: sched_waking%s loaded" % (what, suffix),
                 "sched_waking" + suffix in progs, not summary)
            t = check_report(c, r.report, r.steal_ns)
            if t:
                c.between("%s: sleep (ms)" % what, t["sleep_ns"], 50 * MS,
                          60 * MS + tt.stolen(r), MS)
                c.true("%s: woken" % what, t["wakeups"] >= 1, "%d wakeups" % t["wakeups"])


@checked
def test_startup_figure_within_what_is_seen_outside(c):
    # startup_ns runs from mpxtrace's start to the workload's release: it
    # is less than the time from spawning mpxtrace to the workload's first
    # output (a start read in 10 ms clock ticks overstated it by up to 10 ms).
    for i in range(5):
        fd, out = tempfile.mkstemp(prefix="mpx-test-", suffix=".json")
        os.close(fd)
        try:
            t0 = time.time_ns()
            p = subprocess.run([tt.MPXTRACE, "-j", "-o", out, "--", "date", "+%s%N"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=60)
            seen = int(p.stdout.split()[-1]) - t0
            with open(out) as f:
                fig = json.load(f)["startup_ns"]
        finally:
            os.unlink(out)
        c.true("run %d: 0 < startup_ns %.2f ms <= %.2f ms spawn to output" %
               (i, fig / 1e6, seen / 1e6), 0 < fig <= seen)


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
