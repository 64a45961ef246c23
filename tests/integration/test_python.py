#!/usr/bin/env python3
"""Root integration tests of the Python probes: CPython's USDT probes
(imports, GC, audit events, function calls) and the GIL-take uprobes, on
scripts whose Python-level behaviour is known by construction.

Plain python3, stdlib only, must run as root.  Environment: MPXTRACE
(default ./mpxtrace), MPX_PY_USDT (a python with USDT probes, default
/usr/bin/python3), MPX_PY_GIL (a python whose take_gil is a visible symbol,
default the first pyenv 3.11+ found).  Prints `ok - NAME` /
`FAIL - NAME: detail` per test and ends with `N passed, M failed`.
"""
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpxtest import Failed, expect, main  # noqa: E402

MPXTRACE = os.environ.get("MPXTRACE", "./mpxtrace")
PY = os.environ.get("MPX_PY_USDT", "/usr/bin/python3")
SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads",
                    "process_vs_pool.py")


def gil_python():
    """A python whose libpython (or binary) has take_gil in a symbol table."""
    if os.environ.get("MPX_PY_GIL"):
        return os.environ["MPX_PY_GIL"]
    for v in ("3.11", "3.12", "3.13", "3.10"):
        for p in sorted(glob.glob(os.path.expanduser("~root/.pyenv/versions/%s*/bin/python3"
                                                     % v))):
            libs = glob.glob(os.path.join(os.path.dirname(p), "..", "lib", "libpython3*.so*"))
            for lib in libs + [p]:
                out = subprocess.run(["nm", lib], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True).stdout
                if " take_gil\n" in out:
                    return p
    return None


def trace(args, script=None, extra=(), timeout=300):
    """mpxtrace -j [extra] -- args [script file]; returns (report, stderr, rc)."""
    d = tempfile.mkdtemp(prefix="mpx-py-")
    try:
        cmd = list(args)
        if script is not None:
            path = os.path.join(d, "script.py")
            with open(path, "w") as f:
                f.write(script)
            os.chmod(d, 0o755)
            os.chmod(path, 0o644)
            cmd.append(path)
        out = os.path.join(d, "r.json")
        p = subprocess.run([MPXTRACE, "-j", "-o", out] + list(extra) + ["--"] + cmd,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        rep = None
        if os.path.exists(out):
            with open(out) as f:
                rep = json.load(f)
        return rep, p.stderr, p.returncode, p.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


TWO_SPINNERS = (
    "import threading\n"
    "def spin(n):\n"
    "    x = 0\n"
    "    for i in range(n):\n"
    "        x += i\n"
    "ts = [threading.Thread(target=spin, args=(3000000,)) for _ in range(2)]\n"
    "for t in ts:\n"
    "    t.start()\n"
    "for t in ts:\n"
    "    t.join()\n")


def main_task(rep):
    return next(t for t in rep["tasks"] if t["role"] == "main")


def test_seed_script_imports_pool_in_pool_part():
    """The seed script: Pool() imports multiprocessing.pool lazily, after the
    two Process children were forked and before the pool's workers are."""
    rep, err, rc, _ = trace([PY, SEED])
    expect(rc == 0, "exit %d: %s" % (rc, err))
    probes = rep["python_probes"]
    expect({"import", "gc", "audit"} <= set(probes["attached"]),
           "probes attached: %r" % probes)
    m = main_task(rep)
    pool = [i for i in m["py_imports"] if i["module"] == "multiprocessing.pool"]
    expect(len(pool) == 1, "imports of multiprocessing.pool: %r" % pool)
    imp = pool[0]
    expect(imp["depth"] == 0 and imp["found"], "not an outermost, found import: %r" % imp)
    expect(0 < imp["exclusive_ns"] < imp["duration_ns"],
           "exclusive %d vs inclusive %d ns" % (imp["exclusive_ns"], imp["duration_ns"]))
    # Its nested imports account for the difference exactly.
    nested = [i for i in m["py_imports"] if i["depth"] == 1 and
              imp["start_ns"] <= i["start_ns"] and i["end_ns"] <= imp["end_ns"]]
    expect(nested, "no imports nested in multiprocessing.pool")
    expect(imp["duration_ns"] - imp["exclusive_ns"] ==
           sum(i["duration_ns"] for i in nested), "inclusive - exclusive != nested imports")
    forks = [a["ts_ns"] for a in m["py_audit"] if a["event"] == "os.fork"]
    procs = [t for t in rep["tasks"] if not t["thread"] and t["tid"] != m["tid"]]
    expect(len(forks) == len(procs), "%d os.fork audit events for %d child processes"
           % (len(forks), len(procs)))
    expect(len(forks) >= 3 and forks[1] < imp["start_ns"] and imp["end_ns"] < forks[2],
           "multiprocessing.pool imported at %d..%d, forks at %r"
           % (imp["start_ns"], imp["end_ns"], forks))
    expect(m["py_import_ns"] >= imp["duration_ns"], "task import total below one import")


def test_gc_collect_is_a_generation_2_span():
    """gc.collect() on cyclic garbage: one generation-2 pause that collected
    what gc.collect() itself returned."""
    script = (
        "import gc, sys\n"
        "gc.disable()\n"
        "class C: pass\n"
        "for i in range(3000):\n"
        "    a = C(); b = C(); a.b = b; b.a = a\n"
        "del a, b\n"
        "print(gc.collect())\n")
    rep, err, rc, out = trace([PY], script)
    expect(rc == 0, "exit %d: %s" % (rc, err))
    collected = int(out.split()[-1])
    expect(collected >= 6000, "gc.collect() returned %d" % collected)
    gcs = [g for g in main_task(rep)["py_gc"] if g["generation"] == 2]
    expect(any(g["collected"] == collected for g in gcs),
           "no generation-2 GC span that collected %d: %r" % (collected, gcs))
    g = next(g for g in gcs if g["collected"] == collected)
    expect(0 < g["duration_ns"] < rep["tasks"][0]["lifetime_ns"], "GC span %r" % g)


def test_gil_waits_fill_two_cpu_bound_threads():
    """Two threads that only compute: besides running, each one waits for the
    GIL, and all of its futex sleep is GIL wait."""
    py = gil_python()
    expect(py, "no python with a visible take_gil (set MPX_PY_GIL)")
    rep, err, rc, _ = trace([py], TWO_SPINNERS)
    expect(rc == 0, "exit %d: %s" % (rc, err))
    expect("gil_take" in rep["python_probes"]["attached"], "%r" % rep["python_probes"])
    threads = [t for t in rep["tasks"] if t["thread"]]
    expect(len(threads) == 2, "%d threads" % len(threads))
    for t in threads:
        expect(t["gil_waits"] > 0 and t["gil_wait_ns"] > 0, "no GIL wait: %r" % t["role"])
        # Holding the GIL it runs or, preempted, waits for a CPU; else it
        # waits for the GIL.
        held = t["oncpu_ns"] + t["runq_preempt_ns"]
        filled = (held + t["gil_wait_ns"]) / t["lifetime_ns"]
        expect(filled >= 0.8, "%s: on-CPU %.1f + preempted %.1f + GIL wait %.1f ms of "
               "%.1f ms (%.0f%%)" % (t["role"], t["oncpu_ns"] / 1e6,
                                     t["runq_preempt_ns"] / 1e6, t["gil_wait_ns"] / 1e6,
                                     t["lifetime_ns"] / 1e6, 100 * filled))
        fut = t["futex_sleep_gil_ns"] + t["futex_sleep_other_ns"]
        expect(fut and t["futex_sleep_gil_ns"] >= 0.9 * fut,
               "%s: futex sleep %.2f ms, %.2f ms of it in GIL waits"
               % (t["role"], fut / 1e6, t["futex_sleep_gil_ns"] / 1e6))
    # On the critical path, the threads' futex sleeps are named GIL waits.
    tids = {t["tid"] for t in threads}
    named = [s.get("reason") for s in rep["critical_path"]
             if s["tid"] in tids and s["kind"] == "wait"]
    expect(not any(r and "futex" in r for r in named),
           "thread waits on the critical path: %r" % sorted(set(named)))
    # The GIL on the critical path: threads running while another waited.
    held = sum(s["duration_ns"] for s in rep["critical_path"] if s.get("gil_waiter_tid"))
    # (a stretch is marked whole; the figure starts with the GIL wait, so it
    # is a part of the marked time: 0.68 of it in one loaded run)
    expect(held > 0 and 0.5 * held <= rep["facts"]["critical_path_gil_holder_ns"] <= held,
           "critical path marked holding the GIL %d ns, facts %d"
           % (held, rep["facts"]["critical_path_gil_holder_ns"]))


def disassembly(path):
    return subprocess.run(["objdump", "-d", "--no-show-raw-insn", path],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True).stdout.splitlines()


def cond_wait_calls(path):
    """objdump's addresses of the calls to pthread_cond_timedwait in path
    (in take_gil where objdump names it)."""
    lines, fn = disassembly(path), None
    if any(ln.endswith("<take_gil>:") for ln in lines):
        fn = "take_gil"
    calls, cur = [], None
    for line in lines:
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            cur = m.group(1)
        elif "call" in line and "<pthread_cond_timedwait@plt>" in line and \
                fn in (None, cur):
            calls.append(int(line.split(":")[0], 16))
    return calls


def arg_sources(path, call):
    """objdump's last `mov %reg,%rsi` and `mov %reg,%rdx` within the 8
    instructions before the call at address call: the registers the second
    and third arguments came from (None: not a register move)."""
    lines = disassembly(path)
    i = next(k for k, ln in enumerate(lines) if ln.strip().startswith("%x:" % call))
    src = {}
    for ln in lines[max(0, i - 8):i]:
        m = re.search(r"\bmov\s+%(\w+),%(rsi|rdx)$", ln.strip())
        if m:
            src[m.group(2)] = m.group(1)
        elif re.search(r",%(rsi|rdx)$", ln.strip()):
            src[ln.strip()[-3:]] = None
    return src.get("rsi"), src.get("rdx")


def test_gil_probe_on_the_condition_wait():
    """Debian's python3 has no take_gil symbol: the GIL probe sits on the
    one call to pthread_cond_timedwait in the interpreter (objdump's
    disassembly is the oracle), at its return alone, reading the mutex and
    the deadline from the registers objdump shows them in.  A pyenv build's
    libpython names take_gil: the same call inside it (not take_gil's entry
    and return, which trap at every take).  Two CPU-bound threads never make a blocking
    call: their waits are all eval-loop hand-offs, which only a probe inside
    take_gil sees (PyEval_RestoreThread's did not)."""
    for py in [PY] + [p for p in [gil_python()] if p]:
        rep, err, rc, _ = trace([py], TWO_SPINNERS, extra=["-v"])
        expect(rc == 0, "%s: exit %d: %s" % (py, rc, err))
        line = next((ln for ln in err.splitlines()
                     if "GIL waits at the call to pthread_cond_timedwait" in ln), None)
        expect(line, "%s: no GIL wait site in -v output: %s" % (py, err[-500:]))
        addr, path = re.search(r"timedwait at (0x[0-9a-f]+) in (.*)$", line).groups()
        calls = cond_wait_calls(path)
        expect(calls == [int(addr, 16)],
               "%s: probe at %s, objdump's calls %s" % (path, addr, [hex(c) for c in calls]))
        # One probe per pass: the registers it reads at the return are the
        # ones objdump shows feeding the call's mutex and deadline.
        regs = re.search(r"one probe per pass, at that call's return: the mutex in %(\w+), "
                         r"the deadline at \(%(\w+)\)", err)
        want = arg_sources(path, int(addr, 16))
        expect(regs and regs.groups() == want,
               "%s: registers read %r, objdump's %r" % (path, regs and regs.groups(), want))
        expect("gil_cond_wait" in rep["python_probes"]["attached"], "%r"
               % rep["python_probes"])
        threads = [t for t in rep["tasks"] if t["thread"]]
        expect(len(threads) == 2, "%s: %d threads" % (py, len(threads)))
        for t in threads:
            filled = (t["oncpu_ns"] + t["runq_preempt_ns"] + t["gil_wait_ns"]) / t["lifetime_ns"]
            expect(t["gil_waits"] > 0 and filled >= 0.8,
                   "%s: %s: %d GIL waits, %.1f ms; on-CPU + preempted + GIL wait %.0f%% of "
                   "its life" % (py, t["role"], t["gil_waits"], t["gil_wait_ns"] / 1e6,
                                 100 * filled))


def test_python_without_probes_degrades():
    """The same interpreter with its USDT notes removed: a clear note, the
    run itself unharmed (exit status, report), no Python spans."""
    d = tempfile.mkdtemp(prefix="mpx-nop-")
    try:
        py = os.path.join(d, "python3")
        subprocess.run(["objcopy", "--remove-section", ".note.stapsdt", PY, py], check=True)
        os.chmod(d, 0o755)
        rep, err, rc, _ = trace([py, "-c", "import json, sys; sys.exit(3)"])
        expect(rc == 3, "exit %d, not the command's 3: %s" % (rc, err))
        expect("no USDT probes" in err and py in err, "no clear note: %r" % err)
        probes = rep["python_probes"]
        expect({"import", "gc", "audit"} <= set(probes["unavailable"]), "%r" % probes)
        m = main_task(rep)
        expect(not m["py_imports"] and not m["py_gc"] and not m["py_audit"],
               "spans without probes")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_probes_off_and_not_python():
    """--python-probes=off and a command that is no Python: no Python keys,
    no warning."""
    rep, err, rc, _ = trace([PY, "-c", "pass"], extra=["--python-probes=off"])
    expect(rc == 0 and "python_probes" not in rep, "probes off: %r %s" % (rc, err))
    expect("py_imports" not in main_task(rep), "Python keys with probes off")
    rep, err, rc, _ = trace(["/bin/true"])
    expect(rc == 0 and "python_probes" not in rep and "python" not in err,
           "not a python: %r" % err)
    p = subprocess.run([MPXTRACE, "--python-probes=maybe", "--", "true"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    expect(p.returncode == 2 and p.stderr.count("\n") == 1, "bad value: %r" % p.stderr)


def test_shebang_script_resolves_its_python():
    """A script run by its #! line: the probes go to the interpreter it names."""
    d = tempfile.mkdtemp(prefix="mpx-she-")
    try:
        path = os.path.join(d, "s.py")
        with open(path, "w") as f:
            f.write("#!/usr/bin/env %s\nimport gc\ngc.collect()\n" % PY)
        os.chmod(path, 0o755)
        os.chmod(d, 0o755)
        rep, err, rc, _ = trace([path])
        expect(rc == 0, "exit %d: %s" % (rc, err))
        expect(rep["python_probes"]["binary"] == PY, "%r" % rep["python_probes"])
        expect(any(g["generation"] == 2 for g in main_task(rep)["py_gc"]), "no GC span")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_py_functions_records_matching_calls():
    """--py-functions=GLOB: every call of a matching function, nested as it
    ran, none of the others.  CPython 3.11 reports function entries only
    while a profile function is set, hence sys.setprofile()."""
    script = (
        "import sys\n"
        "def fib(n):\n"
        "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "def other(x):\n"
        "    return x\n"
        "sys.setprofile(lambda *a: None)\n"
        "print(fib(15), [other(i) for i in range(40)][-1])\n"
        "sys.setprofile(None)\n")
    rep, err, rc, _ = trace([PY], script, extra=["--py-functions=fi?"])
    expect(rc == 0, "exit %d: %s" % (rc, err))
    calls = main_task(rep).get("py_calls", [])
    names = {c["function"] for c in calls}
    expect(names == {"fib"}, "functions recorded: %r" % names)
    # fib(15) calls fib 2 * fib(16) - 1 = 1973 times, 15 deep at most.
    expect(len(calls) == 1973, "%d calls of fib recorded, not 1973" % len(calls))
    expect(max(c["depth"] for c in calls) == 14, "deepest call at depth %d, not 14"
           % max(c["depth"] for c in calls))
    expect(not any(c.get("unfinished") for c in calls), "unpaired calls")
    outer = next(c for c in calls if c["depth"] == 0)
    expect(outer["duration_ns"] - outer["exclusive_ns"] ==
           sum(c["duration_ns"] for c in calls if c["depth"] == 1), "nesting sums")
    expect("1973 matched 'fi?'" in err, "no overhead line: %r" % err)
    expect("without their entry" not in err, "returns said unpaired: %r" % err)
    # Without a profile function 3.11 reports the returns only: said, with
    # how many calls that leaves out.
    rep, err, rc, _ = trace([PY], script.replace("sys.setprofile(lambda *a: None)\n", ""),
                            extra=["--py-functions=fi?"])
    expect(rc == 0, "exit %d: %s" % (rc, err))
    expect("1973 returns of matching functions came without their entry" in err and
           "sys.setprofile" in err, "no warning of the missing entries: %r" % err)


def test_trace_file_carries_python_records():
    """--save then report: the same Python spans and probe set as live."""
    d = tempfile.mkdtemp(prefix="mpx-pytf-")
    try:
        f = os.path.join(d, "t.mpxt")
        live = subprocess.run([MPXTRACE, "-j", "--save", f, "--", PY, "-c",
                               "import json, gc; gc.collect()"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)
        expect(live.returncode == 0, live.stderr)
        rep = subprocess.run([MPXTRACE, "report", "-j", f], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=120)
        expect(rep.returncode == 0, rep.stderr)
        a, b = json.loads(live.stdout), json.loads(rep.stdout)
        expect(a["python_probes"] == b["python_probes"], "probes %r vs %r"
               % (a["python_probes"], b["python_probes"]))
        keys = ("py_imports", "py_gc", "py_audit", "gil_wait_ns", "futex_sleep_gil_ns")
        for ta, tb in zip(a["tasks"], b["tasks"]):
            for k in keys:
                expect(ta[k] == tb[k], "tid %d %s differs after the round trip" % (ta["tid"], k))
        expect(any(i["module"] == "json" for i in main_task(b)["py_imports"]), "no json import")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_perfetto_has_python_slices():
    d = tempfile.mkdtemp(prefix="mpx-pypf-")
    try:
        pf = os.path.join(d, "t.json.gz")
        p = subprocess.run([MPXTRACE, "-j", "-o", os.path.join(d, "r.json"), "--perfetto", pf,
                            "--", PY, "-c", "import json, gc; gc.collect()"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=120)
        expect(p.returncode == 0, p.stderr)
        with gzip.open(pf, "rt") as f:
            ev = json.load(f)["traceEvents"]
        tracks = {(e["pid"], e["tid"]) for e in ev if e.get("ph") == "M" and
                  e.get("name") == "thread_name" and e["args"]["name"].endswith(" python")}
        expect(tracks, "no Python track")
        py = [e for e in ev if e.get("cat") == "python"]
        expect(any(e["name"] == "import json" for e in py), "no import json slice")
        expect(any(e["name"] == "GC gen 2" for e in py), "no GC slice")
        expect(all((e["pid"], e["tid"]) in tracks for e in py), "Python slices off their track")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_builtin_pool_explains_the_import():
    """--mode=both with a python that has probes: the explanation names the
    import Pool() paid for, in milliseconds."""
    p = subprocess.run([MPXTRACE, "-j", "--mode=both", "--python", PY],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    expect(p.returncode == 0, p.stderr)
    rep = json.loads(p.stdout)
    s = " ".join(rep["explanation"]["sentences"])
    expect("ms importing multiprocessing.pool" in s, "sentences: %s" % s)
    pool = next(r for r in rep["runs"] if r["mode"] == "pool")
    m = next(t for t in pool["tasks"] if t["role"] == "main")
    imp = [i for i in m["py_imports"] if i["module"] == "multiprocessing.pool"]
    setup = next(ph for ph in pool["phases"] if ph["name"] == "setup")
    expect(len(imp) == 1 and setup["start_ns"] <= imp[0]["start_ns"] and
           imp[0]["end_ns"] <= setup["end_ns"], "import %r outside setup %r" % (imp, setup))
    # The figure is that import's time in setup, by name, from the facts.
    f = pool["facts"]
    expect(f["setup_longest_import"] == "multiprocessing.pool" and
           "%.1f ms importing multiprocessing.pool" % (f["setup_longest_import_ns"] / 1e6) in s,
           "facts %s %d ns, sentences: %s" % (f.get("setup_longest_import"),
                                              f.get("setup_longest_import_ns", 0), s))
    expect(setup["longest_import"] == "multiprocessing.pool" and
           setup["import_ns"] == f["setup_import_ns"], "setup phase %r" % setup)


def test_builtin_setup_sentence_adds_up():
    """The sentence on creating the pool: its parts (imports, the rest
    before the first fork, forking, helper threads) add up to its total,
    which is the pool's setup phase as the table has it, and Process mode's
    figure is its start phase."""
    p = subprocess.run([MPXTRACE, "-j", "--mode=both", "--python", PY],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    expect(p.returncode == 0, p.stderr)
    rep = json.loads(p.stdout)
    s = next((x for x in rep["explanation"]["sentences"] if x.startswith("Creating the pool")), "")
    num = r"([0-9]+\.[0-9]) ms"
    m = re.match(r"Creating the pool took %s: %s importing \S+ \(%s of it on CPU\) and %s "
                 r"importing \d+ other modules?, %s more before forking its first worker "
                 r"\([^)]*\), %s forking \d+ workers and %s starting \d+ helper threads; "
                 r"Process mode spent %s starting" % ((num,) * 8), s)
    expect(m, "sentence: %r" % s)
    cut = [x for x in rep["explanation"]["sentences"] if not x.endswith(".")]
    expect(not cut, "sentences cut short: %r" % cut)
    total, top, _, rest, other, fork, threads, proc = (float(x) for x in m.groups())
    parts = top + rest + other + fork + threads
    expect(abs(parts - total) <= 0.35, "parts %.1f vs %.1f: %r" % (parts, total, s))

    def phase_ms(mode, name):
        run = next(r for r in rep["runs"] if r["mode"] == mode)
        ph = next(ph for ph in run["phases"] if ph["name"] == name)
        return (ph["end_ns"] - ph["start_ns"]) / 1e6

    expect(abs(total - phase_ms("pool", "setup")) <= 0.051, "pool %.1f vs setup phase %.3f"
           % (total, phase_ms("pool", "setup")))
    expect(abs(proc - phase_ms("process", "start")) <= 0.051, "process %.1f vs start phase %.3f"
           % (proc, phase_ms("process", "start")))


def test_command_that_execs_the_interpreter_has_a_launch_phase():
    """A command that runs something else before it execs the interpreter
    in its own process (a pyenv shim: a shell script) has that time as a
    launch phase, and the children the script before it started are not
    the Python script's starts."""
    cmd = ["sh", "-c", "sleep 0.05; exec %s -c 'import os; os.getpid()'" % PY]
    p = subprocess.run([MPXTRACE, "-j", "--"] + cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    expect(p.returncode == 0, p.stderr[-300:])
    rep = json.loads(p.stdout)
    ph = rep.get("phases") or []
    expect(ph and ph[0]["name"] == "launch" and ph[0]["duration_ns"] >= 50e6,
           "phases: %r" % [(x["name"], x["duration_ns"]) for x in ph])
    s = rep["explanation"]["sentences"]
    expect("passed before the command exec'd python" in s[0], "sentences: %r" % s)
    expect(not any("starting 1 process" in x for x in s), "sentences: %r" % s)


def test_text_report_fits_80_columns():
    """The text report (without --wide) keeps within 80 columns: the
    built-in comparison and a Python command with a thread, block IO and
    an argument holding a newline (shown as \\n)."""
    script = ("import os, threading\nt = threading.Thread(target=lambda: os.system("
              "'dd if=/dev/zero of=%s bs=1M count=4 oflag=direct 2>/dev/null'))\n"
              "t.start(); t.join(); os.unlink(%r)" % (("/tmp/mpx-cols-%d" % os.getpid(),) * 2))
    for args in (["--mode=both", "--python", PY], ["--", PY, "-c", script]):
        p = subprocess.run([MPXTRACE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=300)
        expect(p.returncode == 0, "%r: %s" % (args, p.stderr[-300:]))
        wide = [l for l in p.stdout.splitlines() if len(l) > 80]
        expect(not wide, "%r: %d lines past 80 columns: %r" % (args[:2], len(wide), wide[:4]))
    expect("\\nt = threading" in p.stdout.splitlines()[0], "command line: %r"
           % p.stdout.splitlines()[0])


def audit_ts(task, event):
    return [a["ts_ns"] for a in task["py_audit"] if a["event"] == event]


def expect_contiguous(rep):
    ph = rep["phases"]
    expect(ph[0]["start_ns"] == rep["begin_ns"] and ph[-1]["end_ns"] == rep["end_ns"],
           "phases do not cover the run: %r" % [(p["name"], p["start_ns"]) for p in ph])
    for a, b in zip(ph, ph[1:]):
        expect(a["end_ns"] == b["start_ns"], "gap between phases %s and %s" % (a["name"],
                                                                              b["name"]))


def test_command_phases_follow_the_script():
    """A script run through --: start-up up to its first line, then its own
    phases in the order it made them (2 thread starts, an import, a
    subprocess, 3 forks in a row), the import inside the phase that ran it,
    and an explanation that says so."""
    script = (
        "import os, subprocess, threading, time\n"
        "def work():\n"
        "    time.sleep(0.02)\n"
        "ts = [threading.Thread(target=work) for _ in range(2)]\n"
        "for t in ts:\n"
        "    t.start()\n"
        "for t in ts:\n"
        "    t.join()\n"
        "import decimal\n"
        "subprocess.run(['/bin/true'])\n"
        "pids = []\n"
        "for _ in range(3):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(0)\n"
        "    pids.append(pid)\n"
        "for pid in pids:\n"
        "    os.waitpid(pid, 0)\n")
    rep, err, rc, _ = trace([PY], script)
    expect(rc == 0, "exit %d: %s" % (rc, err))
    m = main_task(rep)
    ph = rep["phases"]
    expect_contiguous(rep)
    run = audit_ts(m, "cpython.run_file")
    expect(ph[0]["name"] == "startup" and ph[0]["class"] == "startup" and
           len(run) == 1 and ph[0]["end_ns"] == run[0],
           "start-up %r, cpython.run_file at %r" % (ph[0], run))
    expect(any(i["module"] == "site" for i in m["py_imports"]
               if i["end_ns"] <= ph[0]["end_ns"]) and ph[0]["import_ns"] > 0,
           "no site import in start-up: %r" % ph[0])
    clear = audit_ts(m, "cpython.PyInterpreterState_Clear")
    expect(ph[-1]["name"] == "exit" and clear and ph[-1]["start_ns"] == clear[0],
           "last phase %r, interpreter cleared at %r" % (ph[-1], clear))
    starts = [(p["name"], p["starts"]) for p in ph if p["class"] == "setup"]
    expect(starts == [("threads", 2), ("subprocess", 1), ("fork", 3)],
           "starts in order: %r" % starts)
    f = rep["facts"]
    expect((f["py_thread_starts"], f["py_subprocess_starts"], f["py_fork_starts"]) == (2, 1, 3),
           "facts: %r" % f)
    sub = next(p for p in ph if p["name"] == "subprocess")
    fork = next(p for p in ph if p["name"] == "fork")
    pop = audit_ts(m, "subprocess.Popen")
    forks = audit_ts(m, "os.fork")
    expect(len(pop) == 1 and sub["start_ns"] == pop[0], "subprocess phase %r, Popen %r"
           % (sub, pop))
    expect(len(forks) == 3 and fork["start_ns"] == forks[0] and forks[2] < fork["end_ns"],
           "fork phase %r, os.fork at %r" % (fork, forks))
    # decimal is imported in the script phase right before the subprocess.
    before = ph[ph.index(sub) - 1]
    dec = [i for i in m["py_imports"] if i["module"] == "decimal" and i["depth"] == 0]
    expect(len(dec) == 1 and before["start_ns"] <= dec[0]["start_ns"] and
           dec[0]["end_ns"] <= before["end_ns"] and before["longest_import"] == "decimal",
           "decimal imported at %r, phase before the subprocess %r" % (dec, before))
    s = " ".join(rep["explanation"]["sentences"])
    startup_ms = "%.1f ms is interpreter start-up" % ((ph[0]["end_ns"] - ph[0]["start_ns"]) / 1e6)
    expect(startup_ms in s and "starting 3 processes" in s and "starting 1 subprocess" in s
           and "starting 2 threads" in s, "sentences: %s" % s)
    if before["longest_import_ns"] >= 500000:
        expect("%.1f ms importing decimal" % (before["longest_import_ns"] / 1e6) in s,
               "sentences: %s" % s)


def test_seed_script_as_a_command_names_the_pool_import():
    """The seed script through --: Pool()'s setup shows up as the lazy import
    of multiprocessing.pool, then the workers' forks, then the three helper
    threads, and the explanation names the import with its time."""
    rep, err, rc, _ = trace([PY, SEED])
    expect(rc == 0, "exit %d: %s" % (rc, err))
    m = main_task(rep)
    ph = rep["phases"]
    expect_contiguous(rep)
    procs = [t for t in rep["tasks"] if not t["thread"] and t["parent_tid"] == m["tid"]]
    workers = len(procs) - 2
    forks = [p for p in ph if p["name"] == "fork"]
    threads = [p for p in ph if p["name"] == "threads"]
    expect([p["starts"] for p in forks] == [2, workers], "fork phases %r for %d workers"
           % (forks, workers))
    expect(sum(p["starts"] for p in threads) == 3 and threads[0]["start_ns"] >
           forks[1]["end_ns"], "thread phases %r" % threads)
    imp = next(i for i in m["py_imports"] if i["module"] == "multiprocessing.pool")
    before = ph[ph.index(forks[1]) - 1]
    expect(before["longest_import"] == "multiprocessing.pool" and
           before["start_ns"] <= imp["start_ns"] and imp["end_ns"] <= before["end_ns"],
           "import %r, phase before the workers' forks %r" % (imp, before))
    s = " ".join(rep["explanation"]["sentences"])
    want = "%.1f ms importing multiprocessing.pool" % (before["longest_import_ns"] / 1e6)
    expect(want in s, "no %r in: %s" % (want, s))


GC_SCRIPT = (
    "import gc, sys\n"
    "gc.disable()\n"
    "class C: pass\n"
    "for i in range(3000):\n"
    "    a = C(); b = C(); a.b = b; b.a = a\n"
    "del a, b\n"
    "print(gc.collect())\n")


def py_task_with_gc(rep, collected):
    for t in rep["tasks"]:
        if any(g["generation"] == 2 and g["collected"] == collected for g in t.get("py_gc", [])):
            return t
    return None


def test_python_started_by_the_command_gets_probes():
    """sh -c "python3 script" and env python3 script: the interpreter the
    command's words name is probed from the start: the script's gc.collect()
    is a span, and start-up imports are there too."""
    d = tempfile.mkdtemp(prefix="mpx-shc-")
    try:
        path = os.path.join(d, "s.py")
        with open(path, "w") as f:
            f.write(GC_SCRIPT)
        os.chmod(d, 0o755)
        os.chmod(path, 0o644)
        for cmd in (["sh", "-c", "%s %s; true" % (PY, path)], ["/usr/bin/env", PY, path]):
            rep, err, rc, out = trace(cmd)
            expect(rc == 0, "%r: exit %d: %s" % (cmd, rc, err))
            expect(rep["python_probes"]["binary"] == PY, "%r: %r" % (cmd,
                                                                     rep["python_probes"]))
            collected = int(out.split()[-1])
            t = py_task_with_gc(rep, collected)
            expect(t, "%r: no GC span that collected %d" % (cmd, collected))
            expect(any(i["module"] == "site" for i in t["py_imports"]),
                   "%r: start-up imports missing" % cmd)
            expect(rep["phases"][0]["name"] in ("launch", "startup"), "%r: phases %r"
                   % (cmd, [p["name"] for p in rep["phases"]]))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_python_execd_later_gets_probes_late():
    """A python the command does not name (a shell script file runs it): the
    probes are attached when its exec arrives; the report says how long
    after the exec, and what the script did later (an import and a
    gc.collect() after a 0.3 s sleep) is seen."""
    d = tempfile.mkdtemp(prefix="mpx-late-")
    try:
        path = os.path.join(d, "s.py")
        with open(path, "w") as f:
            f.write("import time\ntime.sleep(0.3)\nimport json\n" + GC_SCRIPT)
        sh = os.path.join(d, "run.sh")
        with open(sh, "w") as f:
            f.write("%s %s\n" % (PY, path))
        os.chmod(d, 0o755)
        for p in (path, sh):
            os.chmod(p, 0o644)
        saved = os.path.join(d, "t.mpxt")
        rep, err, rc, out = trace(["sh", sh], extra=["--save", saved])
        expect(rc == 0, "exit %d: %s" % (rc, err))
        # The late attach is in the trace file: the report from it agrees.
        again = subprocess.run([MPXTRACE, "report", "-j", saved], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=120)
        expect(again.returncode == 0, again.stderr)
        b = json.loads(again.stdout)
        expect(b["python_probes"] == rep["python_probes"] and b["phases"] == rep["phases"],
               "report from the trace file differs: %r" % b["python_probes"])
        interp = rep["python_probes"].get("interpreters", [])
        expect(len(interp) == 1 and interp[0]["late"], "interpreters: %r" % interp)
        late = interp[0]
        collected = int(out.split()[-1])
        t = py_task_with_gc(rep, collected)
        expect(t and t["tid"] == late["tid"], "no GC span that collected %d in tid %d"
               % (collected, late["tid"]))
        expect(0 < late["after_exec_ns"] < 300000000 and late["exec_ns"] >= t["start_ns"],
               "attached %r" % late)
        js = [i for i in t["py_imports"] if i["module"] == "json"]
        expect(len(js) == 1 and js[0]["start_ns"] > late["attached_ns"], "json import %r" % js)
        s = " ".join(rep["explanation"]["sentences"])
        want = "probes were attached %.1f ms after the exec" % (late["after_exec_ns"] / 1e6)
        expect(want in s, "no %r in: %s" % (want, s))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def audit_semaphore_va(path):
    """The virtual address (as linked) and file offset of the semaphore of
    CPython's python:audit USDT probe in the ELF file at path, or None."""
    import struct
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        return None
    phoff, shoff = struct.unpack_from("<QQ", elf, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", elf, 0x36)
    secs = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    stroff = secs[shstrndx][4]

    def name(sh):
        return elf[stroff + sh[0]:elf.index(b"\0", stroff + sh[0])].decode()
    by = {name(sh): sh for sh in secs}
    if ".note.stapsdt" not in by:
        return None
    base = by[".stapsdt.base"][3] if ".stapsdt.base" in by else None
    off, end = by[".note.stapsdt"][4], by[".note.stapsdt"][4] + by[".note.stapsdt"][5]
    sem = None
    while off + 12 <= end:
        namesz, descsz, typ = struct.unpack_from("<III", elf, off)
        desc = off + 12 + ((namesz + 3) & ~3)
        if typ == 3:
            pc, nbase, va = struct.unpack_from("<QQQ", elf, desc)
            strs = elf[desc + 24:desc + descsz].split(b"\0")
            if strs[0] == b"python" and strs[1] == b"audit":
                sem = va + (base - nbase if base else 0)
        off = desc + ((descsz + 3) & ~3)
    if not sem:
        return None
    for i in range(phnum):
        typ, _, poff, vaddr, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", elf,
                                                                   phoff + i * phentsize)
        if typ == 1 and vaddr <= sem < vaddr + filesz:
            return sem, poff + sem - vaddr
    return None


def read_semaphore(pid, path, file_off):
    """The 16-bit USDT semaphore at file offset file_off of path, as process
    pid's memory holds it: the kernel counts there the probes on it."""
    real = os.path.realpath(path)
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6 or os.path.realpath(parts[5]) != real:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            moff = int(parts[2], 16)
            if moff <= file_off < moff + hi - lo:
                with open("/proc/%d/mem" % pid, "rb") as mem:
                    mem.seek(lo + file_off - moff)
                    return int.from_bytes(mem.read(2), "little")
    raise Failed("%s is not mapped by pid %d at offset 0x%x" % (real, pid, file_off))


def test_audit_probe_on_execd_pythons_only():
    """CPython raises audit events on hot paths (pickle.find_class for each
    global a pickle names): the audit probe is on the processes that exec
    the interpreter.  The script's process and a Python it runs record their
    events (100 pickle.find_class each); a child it forks (as a Pool forks its workers) records none,
    and the probe's semaphore, which the kernel raises in each process the
    probe is on, stays 0 in a Python outside the traced tree (before, it was
    on every process mapping the interpreter: the forked child recorded its
    100 events, the outside Python's semaphore was 1)."""
    found = audit_semaphore_va(PY)
    if not found:
        raise Failed("%s has no python:audit probe with a semaphore" % PY)
    _, sem_off = found
    d = tempfile.mkdtemp(prefix="mpx-py-")
    os.chmod(d, 0o777)
    outside = subprocess.Popen([PY, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)
    ready, go = os.path.join(d, "ready"), os.path.join(d, "go")
    script = (
        "import os, pickle, subprocess, sys, time\n"
        "d = pickle.dumps(os.getpid)\n"
        "def loads(n):\n"
        "    for _ in range(n):\n"
        "        pickle.loads(d)\n"
        "loads(100)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    loads(100)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "subprocess.run([sys.executable, '-c', 'import os, pickle, time; time.sleep(0.3); "
        "d = pickle.dumps(os.getpid); [pickle.loads(d) for _ in range(100)]'], check=True)\n"
        "with open(%r, 'w') as f:\n"
        "    f.write(str(os.getpid()))\n"
        "t = time.time()\n"
        "while not os.path.exists(%r) and time.time() - t < 60:\n"
        "    time.sleep(0.01)\n" % (ready, go))
    try:
        path = os.path.join(d, "script.py")
        with open(path, "w") as f:
            f.write(script)
        out = os.path.join(d, "r.json")
        p = subprocess.Popen([MPXTRACE, "-j", "-o", out, "--", PY, path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t = time.time()
        while not os.path.exists(ready) and p.poll() is None and time.time() - t < 60:
            time.sleep(0.01)
        time.sleep(0.05)
        with open(ready) as f:
            inside = int(f.read())
        sem_in = read_semaphore(inside, PY, sem_off)
        sem_out = read_semaphore(outside.pid, PY, sem_off)
        open(go, "w").close()
        _, err = p.communicate(timeout=120)
        expect(p.returncode == 0, "exit %d: %s" % (p.returncode, err))
        with open(out) as f:
            rep = json.load(f)
    finally:
        outside.kill()
        outside.wait()
        shutil.rmtree(d, ignore_errors=True)
    expect(sem_in >= 1 and sem_out == 0, "audit semaphore: %d in the script's process, %d "
           "in a Python outside the tree" % (sem_in, sem_out))
    m = main_task(rep)
    procs = [t for t in rep["tasks"] if not t["thread"] and t["tid"] != m["tid"]]

    def find_class(t):
        return len(audit_ts(t, "pickle.find_class"))
    forked = [t for t in procs if not t.get("exec")]
    execd = [t for t in procs if "python" in os.path.basename(t.get("exec") or "")]
    expect(find_class(m) == 100 and audit_ts(m, "cpython.run_file"),
           "script's process: %d pickle.find_class, run_file %r"
           % (find_class(m), audit_ts(m, "cpython.run_file")))
    expect(len(forked) == 1 and not forked[0]["py_audit"],
           "forked children's audit events: %r" % [(t["tid"], len(t["py_audit"]))
                                                   for t in forked])
    # Its probe comes as its exec is read (its start-up events may be
    # missed); its pickle.loads wait 0.3 s.
    expect(len(execd) == 1 and find_class(execd[0]) == 100,
           "exec'd Pythons: %r" % [(t["tid"], t.get("exec"), find_class(t)) for t in execd])


def test_audit_probes_past_the_limit_are_said():
    """A script that runs 35 Pythons at once: 36 processes exec the
    interpreter, 32 get an audit probe (the script's first), and the rest
    are named in a warning, not left out silently.  (They live 2 s: each
    gets its probe as mpxtrace reads its exec, or would get it.)"""
    script = (
        "import subprocess, sys\n"
        "ps = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(2)'])\n"
        "      for i in range(35)]\n"
        "for p in ps:\n"
        "    assert p.wait() == 0\n")
    rep, err, rc, _ = trace([PY], script)
    expect(rc == 0, "exit %d: %s" % (rc, err))
    m = re.search(r"python: (\d+) more processes ran the interpreter than the 32 that get "
                  r"an audit probe", err)
    expect(m and 1 <= int(m.group(1)) <= 4, "no such warning: %s" % err[-400:])
    main = main_task(rep)
    expect(audit_ts(main, "cpython.run_file"), "the script's own audit events are missing")
    probed = [t for t in rep["tasks"] if t["py_audit"] and t["tid"] != main["tid"]]
    expect(len(probed) <= 31, "%d exec'd Pythons with audit events" % len(probed))


def test_gil_holder_on_the_critical_path():
    """main computes while a thread spins: whenever main waits for the GIL
    the spinner holds it, so the critical path (which ends with main) runs
    through the spinner for all of main's waits, and says so."""
    py = gil_python()
    expect(py, "no python with a visible take_gil (set MPX_PY_GIL)")
    script = (
        "import threading\n"
        "stop = False\n"
        "def spin():\n"
        "    while not stop:\n"
        "        pass\n"
        "t = threading.Thread(target=spin)\n"
        "t.start()\n"
        "x = 0\n"
        "for i in range(2000000):\n"
        "    x += i\n"
        "stop = True\n"
        "t.join()\n")
    # Most of main's GIL waits end with take_gil's 5 ms timed wait running
    # out as the spinner lets go (its signal finds main awake): the walk
    # goes on in the holder there too, so the path covers main's GIL waits
    # with the spinner's time (before, only waits the spinner's signal ended
    # did: 0.24-0.84 of them in 10 runs).
    rep, err, rc, _ = trace([py], script)
    expect(rc == 0, "exit %d: %s" % (rc, err))
    m = main_task(rep)
    spinner = next(t for t in rep["tasks"] if t["thread"])
    holder = rep["facts"]["critical_path_gil_holder_ns"]
    expect(m["gil_wait_ns"] > 0.2 * m["lifetime_ns"], "main waited %.1f ms for the GIL "
           "of %.1f ms" % (m["gil_wait_ns"] / 1e6, m["lifetime_ns"] / 1e6))
    expect(holder <= m["lifetime_ns"], "GIL holder time %.1f ms beyond main's life "
           "%.1f ms" % (holder / 1e6, m["lifetime_ns"] / 1e6))
    s = " ".join(rep["explanation"]["sentences"])
    want = "The GIL held up the critical path %.2f ms" % (holder / 1e6)
    expect(want in s, "no %r in: %s" % (want, s))
    marked = sum(s["duration_ns"] for s in rep["critical_path"]
                 if s.get("gil_waiter_tid") == m["tid"] and s["tid"] == spinner["tid"])
    on_main = sum(s["duration_ns"] for s in rep["critical_path"]
                  if s["tid"] == m["tid"] and s.get("reason") == "GIL wait")
    print("# test_gil_holder_on_the_critical_path: holder %.1f ms, spinner marked %.1f ms, "
          "main's GIL waits %.1f ms, on the path in main %.1f ms"
          % (holder / 1e6, marked / 1e6, m["gil_wait_ns"] / 1e6, on_main / 1e6))
    expect(marked >= 0.9 * m["gil_wait_ns"] and on_main <= 0.1 * m["gil_wait_ns"],
           "the path covers main's GIL waits with the spinner for %.1f of %.1f ms "
           "(%.1f ms of them in main)" % (marked / 1e6, m["gil_wait_ns"] / 1e6, on_main / 1e6))
    # The figure: the spinner's stretches (main's own running, on the path
    # while the spinner waited for main's GIL, is main's work, not a delay).
    expect(0.9 * m["gil_wait_ns"] <= holder <= 1.1 * m["gil_wait_ns"],
           "GIL holder figure %.1f ms against main's GIL waits %.1f ms"
           % (holder / 1e6, m["gil_wait_ns"] / 1e6))


def test_pyenv_shim_resolves_the_version_pyenv_picks():
    """A pyenv shim as the command: the probes go to the interpreter pyenv
    itself runs (`pyenv which` is the oracle), whether the version comes
    from PYENV_VERSION, a .python-version above the working directory, or
    a file naming two versions."""
    shim = os.path.expanduser("~root/.pyenv/shims/python3")
    versions = sorted(os.listdir(os.path.expanduser("~root/.pyenv/versions")))
    expect(os.access(shim, os.X_OK) and len(versions) >= 2,
           "needs pyenv with two versions: %s, %s" % (shim, versions))
    v1, v2 = versions[0], versions[-1]
    d = tempfile.mkdtemp(prefix="mpx-pyenv-")
    try:
        sub = os.path.join(d, "a", "b")
        os.makedirs(sub)
        cases = [("PYENV_VERSION", {"PYENV_VERSION": v1}, None),
                 (".python-version above", {}, v2 + "\n"),
                 ("two versions", {}, "# comment\n%s\n%s\n" % (v2, v1))]
        for name, env_add, vfile in cases:
            if vfile is not None:
                with open(os.path.join(d, ".python-version"), "w") as f:
                    f.write(vfile)
            env = dict(os.environ, **env_add)
            env.pop("PYENV_DIR", None)
            if not env_add:
                env.pop("PYENV_VERSION", None)
            want = subprocess.run([os.path.dirname(os.path.dirname(shim)) + "/bin/pyenv",
                                   "which", "python3"], cwd=sub, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.strip()
            out = os.path.join(d, "r.json")
            # The shim by its path: the PATH of a test run by pyenv may name
            # a version's bin directory first.
            p = subprocess.run([os.path.abspath(MPXTRACE), "-j", "-o", out, "--", shim,
                                "-c", "import sys; print(sys.executable)"], cwd=sub, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=120)
            expect(p.returncode == 0, "%s: exit %d: %s" % (name, p.returncode, p.stderr))
            with open(out) as f:
                rep = json.load(f)
            expect(want.startswith("/"), "%s: pyenv which says %r" % (name, want))
            expect(rep["python_probes"]["binary"] == want, "%s: probes on %r, pyenv runs %r"
                   % (name, rep["python_probes"]["binary"], want))
            expect(p.stdout.strip() == want, "%s: the workload ran %r, pyenv says %r"
                   % (name, p.stdout.strip(), want))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("FAIL - setup: must run as root")
        print("0 passed, 1 failed")
        sys.exit(1)
    sys.exit(main(globals()))
