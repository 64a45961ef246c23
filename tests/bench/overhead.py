#!/usr/bin/env python3
"""Tracing overhead on a noisy machine: paired runs, steal-aware.

Method.  For every workload (case) and every tracer (config) the bench runs
adjacent pairs: the workload untraced, then traced, or traced then untraced
(the order alternates from one attempt to the next, so warm caches and slow
drift favour neither side).  Each pair gives one ratio traced/untraced, for
two clocks: the workload's own timing of its measured region ("self": what
tracing adds inside the run) and the wall time of the command seen from
outside ("wall": adds the tracer's start and report for the tools that wrap
the command; for tools attached beforehand, from release to exit).  The
table gives the median of the pair ratios and a 90% bootstrap interval of
that median (2000 resamples of the pairs, fixed seed).  Cells are filled
round robin, one pair per cell per round, so a slow change of the machine
hits every tracer alike.

Steal.  Before and after each run the bench reads the host's steal time
(8th value of the "cpu" line of /proc/stat, USER_HZ ticks, summed over the
CPUs) and the busy time of the machine.  A pair is discarded and re-run
(at most as many extra attempts as pairs asked for) when
 - either run saw steal above BENCH_STEAL_PCT (2) % of its wall time: the
   smallest target is 1.02, and a run stretched by the hypervisor by more
   than 2% cannot tell 1.02 from 1.00.  Steal comes in whole ticks (10 ms),
   so a run shorter than 0.5 s is dropped at the first tick seen during
   it, and less than a tick may go unseen; or
 - other processes' CPU time (busy time of the machine minus the CPU time
   of this bench's own process tree), as a share of the wall time, differs
   between the two runs by more than BENCH_LOAD_PCT (10) % plus 3 ticks
   per run (the sampling noise of the counters; so short runs are hardly
   ever dropped for load): a job that starts or stops in the middle of a
   pair changes its two runs differently.  A steady load slows both runs
   alike; the table shows its level ("other", in CPUs) and the ratios are
   to be read with it.
The table counts the discarded pairs and the steal seen in all runs.  The
verdict against a target (met: the whole interval within it; NOT: all of
it above) needs 8 kept pairs.  The interval is the spread of pairs within
one bench; a machine whose background load changes between two benches
can move the median further (compare the "other" column).  Each run starts
30 ms after the previous one ended, past the deferred work of its exit.

The floor rows run tests/bench/floor: empty tp_btf programs on the four
scheduler hooks mpxtrace uses for these workloads (--lookup: one hash
lookup per task), the price of having any program there.

Environment: MPXTRACE (./mpxtrace), MPXTRACE_B (another build, measured
beside it as config mpxtrace-b), FLOOR (.output/bench/floor), MPX_WORK
(.output/tests/mpx-work),
BENCH_RUNS (pairs per cell, 10), BENCH_CASES (comma list of cases: seed,
pool, pingpong, sched-pipe, pinned, forks, true, and of sections: probes, itself, analysis,
cost; default all), BENCH_TOOLS (comma list of configs: mpxtrace, mpxtrace-b,
noprobes, summary, floor, floor-lookup, runqlat, offcputime, runqlat-all,
offcputime-all, perf, bpftrace),
BENCH_STEAL_PCT, BENCH_LOAD_PCT.  `overhead.py python` runs only the Python
probes' section.
"""
import collections
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time

MPXTRACE = os.environ.get("MPXTRACE", "./mpxtrace")
MPXTRACE_B = os.environ.get("MPXTRACE_B", "")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FLOOR = os.environ.get("FLOOR", os.path.join(ROOT, ".output/bench/floor"))
WORK = os.environ.get("MPX_WORK", os.path.join(ROOT, ".output/tests/mpx-work"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
STEAL_PCT = float(os.environ.get("BENCH_STEAL_PCT", "2"))
LOAD_PCT = float(os.environ.get("BENCH_LOAD_PCT", "10"))
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
HZ = os.sysconf("SC_CLK_TCK")
TICK_MS = 1000.0 / HZ
LOAD_MIN_TICKS = 3
TIMEOUT = 600
SETTLE_S = 0.03

# ---- statistics (pure; tests/bench/test_overhead.py) --------------------


def median(xs):
    s = sorted(xs)
    n = len(s)
    if not n:
        raise ValueError("median of nothing")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def bootstrap_ci(xs, level=0.90, resamples=2000, seed=1):
    """Percentile bootstrap interval of the median of xs."""
    if not xs:
        return None, None
    rng = random.Random(seed)
    n = len(xs)
    meds = sorted(median([xs[rng.randrange(n)] for _ in range(n)])
                  for _ in range(resamples))
    tail = (1 - level) / 2
    lo = meds[int(tail * resamples)]
    hi = meds[min(resamples - 1, int((1 - tail) * resamples + 0.5) - 1)]
    return lo, hi


# With few pairs the bootstrap's percentile interval of a median is too
# narrow: with 6 pairs it spans the 2nd to 5th smallest ratio, which holds
# the true median 78% of the time, not 90%.  No verdict below 8 pairs.
MIN_VERDICT_PAIRS = 8


def verdict(lo, hi, target, n=MIN_VERDICT_PAIRS):
    """met: the whole interval is within target; NOT: all of it above;
    nothing below MIN_VERDICT_PAIRS pairs."""
    if target is None or lo is None or n < MIN_VERDICT_PAIRS:
        return ""
    if hi <= target:
        return "met"
    if lo > target:
        return "NOT"
    return "?"


def against_lowest(ours, others):
    """ours: self ratios of mpxtrace; others: {label: self ratios} of the
    other tools.  The lowest other tool by median, and whether mpxtrace's
    interval lies below its interval ("lower"), above it ("higher") or they
    overlap ("cannot tell")."""
    others = {k: v for k, v in others.items() if v}
    if not ours or not others:
        return None
    label = min(sorted(others), key=lambda k: median(others[k]))
    lo, hi = bootstrap_ci(ours)
    olo, ohi = bootstrap_ci(others[label])
    word = "lower" if hi < olo else "higher" if lo > ohi else "cannot tell"
    return label, median(others[label]), olo, ohi, word


def pair_order(attempt):
    """Untraced first on even attempts, traced first on odd ones."""
    return (False, True) if attempt % 2 == 0 else (True, False)


Sample = collections.namedtuple("Sample", "wall self steal foreign")


def judge(off, on, steal_pct=STEAL_PCT, load_pct=LOAD_PCT, tick_ms=TICK_MS):
    """Why a pair cannot be used (it is discarded), or None.  Steal counts
    in either run; other processes' CPU time only where it differs between
    the two runs (a steady load slows both alike, and its level is shown)."""
    if any(s.steal > s.wall * steal_pct / 100 for s in (off, on)):
        return "steal"
    # The busy counters are sampled per tick and CPU: a run's figure is
    # good to a few ticks, a large share of a short run.
    noise = LOAD_MIN_TICKS * tick_ms
    allowed = load_pct / 100 + noise / max(on.wall, 1) + noise / max(off.wall, 1)
    if abs(on.foreign / max(on.wall, 1) - off.foreign / max(off.wall, 1)) > allowed:
        return "load"
    return None


class Cell:
    def __init__(self):
        self.pairs = []                         # (untraced, traced) samples
        self.dropped = collections.Counter()    # reason -> pairs
        self.attempts = 0
        self.steal = 0.0                        # ms, every run of the cell

    def load(self):
        """Other processes' CPU time in the kept runs, in CPUs."""
        runs = [s for pair in self.pairs for s in pair]
        return sum(s.foreign for s in runs) / max(1e-9, sum(s.wall for s in runs))

    def ratios(self, field):
        out = []
        for off, on in self.pairs:
            a, b = getattr(off, field), getattr(on, field)
            if a is None or b is None or a <= 0:
                return []
            out.append(b / a)
        return out


def fill(keys, n, run_pair, check=judge, progress=None):
    """Round robin over keys: each round gives every cell that still lacks
    pairs one attempt; a cell gets at most 2n attempts.  run_pair(key,
    attempt) returns the (untraced, traced) samples."""
    cells = {k: Cell() for k in keys}
    rnd = 0
    while True:
        todo = [k for k in keys if len(cells[k].pairs) < n and cells[k].attempts < 2 * n]
        if not todo:
            return cells
        for k in todo:
            c = cells[k]
            off, on = run_pair(k, c.attempts)
            c.attempts += 1
            c.steal += off.steal + on.steal
            why = check(off, on)
            if why:
                c.dropped[why] += 1
            else:
                c.pairs.append((off, on))
        rnd += 1
        if progress:
            progress(rnd, cells)


# ---- measuring one run ----------------------------------------------------


def cpu_line():
    """(steal, busy) of all CPUs in ticks: busy is user + nice + system."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7] if len(v) > 7 else 0, v[0] + v[1] + v[2]


def own_cpu_ms(pids):
    """CPU time of this process, its reaped children and the live pids."""
    ms = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        ms += (r.ru_utime + r.ru_stime) * 1000
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                v = f.read().rsplit(")", 1)[1].split()
            ms += sum(int(x) for x in v[11:15]) * TICK_MS
        except (OSError, IndexError):
            pass
    return ms


class Window:
    """Wall time, steal and other processes' CPU time of one run; pids are
    live processes of ours (a tool attached beside the workload)."""

    def __init__(self, pids=()):
        self.pids = pids
        self.stat = cpu_line()
        self.own = own_cpu_ms(pids)
        self.t = time.perf_counter()

    def close(self):
        wall = (time.perf_counter() - self.t) * 1000
        stat = cpu_line()
        own = own_cpu_ms(self.pids)
        steal = (stat[0] - self.stat[0]) * TICK_MS
        foreign = (stat[1] - self.stat[1]) * TICK_MS - (own - self.own)
        return wall, steal, max(0.0, foreign)


def fail(what, p_err):
    sys.exit("bench: %s: %s" % (what, (p_err or "")[-300:]))


def finish(p, cmd):
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        fail(" ".join(cmd), "timed out")
    if p.returncode != 0:
        fail("%s failed (%d)" % (" ".join(cmd), p.returncode), err)
    return out


def stop_tool(bg):
    bg.send_signal(2)
    try:
        bg.wait(timeout=10)
    except subprocess.TimeoutExpired:
        bg.kill()
        bg.wait()


def wait_links(pid, n, timeout=10):
    """Until process pid holds n BPF links (a libbpf tool has attached)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            links = sum(1 for fd in os.listdir("/proc/%d/fd" % pid)
                        if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:bpf_link")
        except OSError:
            links = 0
        if links >= n:
            return
        time.sleep(0.005)
    fail("tool %d" % pid, "did not attach in %d s" % timeout)


def settle():
    """Let the previous run's deferred work (RCU callbacks freeing its BPF
    programs and maps, writeback) pass before the next run starts."""
    time.sleep(SETTLE_S)


def launch_plain(cmd):
    settle()
    w = Window()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = finish(p, cmd)
    return w.close(), out


def launcher_wrap(prefix):
    """The tool runs the command (mpxtrace, floor, perf sched record)."""
    return lambda cmd: launch_plain(prefix + cmd)


def launcher_pid(tool, links):
    """A tool that follows one process (-p PID): the command starts
    stopped, the tool attaches, the command is released.  tool None: the
    same start without a tool (the untraced side of its pairs)."""
    def run(cmd):
        p = subprocess.Popen(["sh", "-c", 'kill -STOP $$; exec "$@"', "sh"] + cmd,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(5000):
            with open("/proc/%d/stat" % p.pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "T":
                    break
            time.sleep(0.001)
        bg = None
        if tool:
            bg = subprocess.Popen(tool + [str(p.pid)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            wait_links(bg.pid, links)
        settle()
        w = Window([bg.pid] if bg else [])
        os.kill(p.pid, 18)          # SIGCONT
        out = finish(p, cmd)
        res = w.close()
        if bg:
            stop_tool(bg)
        return res, out
    return run


def launcher_bg(tool, links=None):
    """A system-wide tool started beforehand: ready once it holds `links`
    BPF links, or (links None) once it prints a line starting with "ready"."""
    def run(cmd):
        if links is None:
            bg = subprocess.Popen(tool, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True)
            for line in bg.stdout:
                if line.startswith("ready"):
                    break
            else:
                fail(tool[0], "exited before attaching")
        else:
            bg = subprocess.Popen(tool, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_links(bg.pid, links)
        settle()
        w = Window([bg.pid])
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = finish(p, cmd)
        res = w.close()
        stop_tool(bg)
        return res, out
    return run


# ---- what is measured -----------------------------------------------------

POOL_10K = r"""
import time
from multiprocessing import Pool
def noop(x):
    return x
if __name__ == "__main__":
    pool = Pool(2)
    t = time.perf_counter()
    pool.map(noop, range(10000), chunksize=1)
    print("ms", (time.perf_counter() - t) * 1000)
    pool.close(); pool.join()
"""


def seed_metric(out):
    times = [float(x) for x in re.findall(r"Time taken for \w+\s*:\s+([0-9.]+)", out)]
    return sum(times) if len(times) == 2 else None


def ms_metric(out):
    m = re.search(r"^ms ([0-9.]+)", out, re.M)
    return float(m.group(1)) if m else None


def pipe_metric(out):
    m = re.search(r"Total time:\s+([0-9.]+) \[sec\]", out)
    return float(m.group(1)) * 1000 if m else None


SEED = [PY, os.path.join(ROOT, "tests/workloads/process_vs_pool.py")]

# key, name, command, metric (None: wall time only), targets (self/wall)
CASES = [
    ("seed", "seed experiment (Process x2 + Pool x2)", SEED, seed_metric, 1.02),
    ("pool", "pool, 10,000 tiny tasks", [PY, "-c", POOL_10K], ms_metric, 1.02),
    # The rate the target is set at: ~200k switches/s of the two processes
    # (each message: the sender's switch out, the receiver's switch in),
    # 8 us of work per message; the workload prints its messages/s.
    ("pingpong", "ping-pong, 2 processes, ~200k traced switches/s (mpx-work pingpong)",
     [WORK, "pingpong", "40000", "8"], ms_metric, 1.05),
    # The bare ping-pong runs at ~5x that rate here (~1M switches/s): every
    # hook's cost shows five times larger; the floor rows say how much of
    # it any program on those hooks costs.
    ("sched-pipe", "ping-pong, 2 processes, bare (sched pipe)",
     ["perf", "bench", "sched", "pipe", "-l", "100000"], pipe_metric, None),
    # Pinned to one CPU: every switch is paid for on that CPU, nothing is
    # hidden in (or added to) the other CPU's idle exits and wakeup IPIs.
    ("pinned", "ping-pong, pinned to one CPU",
     ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-l", "200000"],
     pipe_metric, None),
    # Process churn: a fork, an exit and a wait for that child, 2,000 times
    # (a shell script, a test runner): the fork, exit and free programs and
    # the parent's blocking wait at every child.
    ("forks", "fork loop, 2,000 children waited for one by one (mpx-work forks)",
     [WORK, "forks", "2000"], ms_metric, None),
    ("true", "start to exit of /bin/true", ["/bin/true"], None, None),
]

# The same scheduler accounting in bpftrace: on-CPU and off-CPU time per
# thread from sched_switch, the core of what mpxtrace records.  BEGIN runs
# once every probe is attached.
BPFTRACE_PROG = r"""
tracepoint:sched:sched_switch {
  if (@in[args->prev_pid]) { @oncpu[args->prev_pid] = sum(nsecs - @in[args->prev_pid]); }
  @out[args->prev_pid] = nsecs;
  if (@out[args->next_pid]) { @offcpu[args->next_pid] = sum(nsecs - @out[args->next_pid]); }
  @in[args->next_pid] = nsecs;
}
tracepoint:sched:sched_wakeup { @wake[args->pid] = nsecs; }
BEGIN { printf("ready\n"); }
"""

PERF_DATA = os.path.join(tempfile.gettempdir(), "mpxbench-perf.data")
MPX = [MPXTRACE, "-o", "/dev/null"]


def configs():
    """key, label, untraced launcher, traced launcher.  The wall time of a
    tool that runs the command includes the tool's start and end."""
    plain = launch_plain
    out = [
        ("mpxtrace", "mpxtrace", plain, launcher_wrap(MPX + ["--"])),
        ("noprobes", "mpxtrace --python-probes=off", plain,
         launcher_wrap(MPX + ["--python-probes=off", "--"])),
        ("summary", "mpxtrace --summary", plain, launcher_wrap(MPX + ["--summary", "--"])),
        ("floor", "floor: empty programs", plain, launcher_wrap([FLOOR, "--"])),
        ("floor-lookup", "floor --lookup: one hash lookup", plain,
         launcher_wrap([FLOOR, "--lookup", "--"])),
    ]
    if MPXTRACE_B:
        # Another build beside this one, in the same rounds (A/B).
        out.insert(1, ("mpxtrace-b", "mpxtrace B (%s)" % MPXTRACE_B, plain,
                       launcher_wrap([MPXTRACE_B, "-o", "/dev/null", "--"])))
    # -p follows one process (its tgid): not the ping-pong's other process,
    # not the Pool's workers.  The same tools system-wide see all of them
    # (and whatever else runs).
    for key, path, links in (("runqlat", "/usr/sbin/runqlat", 3),
                             ("offcputime", "/usr/sbin/offcputime", 1)):
        if os.path.exists(path):
            out.append((key, "%s -p (libbpf-tools)" % key, launcher_pid(None, links),
                        launcher_pid([path, "-p"], links)))
    for key, path, links in (("runqlat", "/usr/sbin/runqlat", 3),
                             ("offcputime", "/usr/sbin/offcputime", 1)):
        if os.path.exists(path):
            out.append((key + "-all", "%s, system-wide" % key, plain,
                        launcher_bg([path], links)))
    out.append(("perf", "perf sched record", plain,
                launcher_wrap(["perf", "sched", "record", "-q", "-o", PERF_DATA, "--"])))
    out.append(("bpftrace", "bpftrace sched_switch script", plain,
                launcher_bg(["bpftrace", "-e", BPFTRACE_PROG])))
    return out


def selected(env, keys):
    want = [w.strip() for w in os.environ.get(env, "").split(",") if w.strip()]
    bad = [w for w in want if w not in keys]
    if bad:
        print("bench: %s: unknown %s (known: %s)" % (env, ",".join(bad), ",".join(keys)),
              file=sys.stderr)
        sys.exit(2)
    return lambda k: not want or k in want


OTHER_TOOLS = ("runqlat", "offcputime", "runqlat-all", "offcputime-all", "perf", "bpftrace")
# The tools above that see every process of a workload (-p sees one).
WHOLE_TOOLS = ("runqlat-all", "offcputime-all", "perf", "bpftrace")
SUMMARY_CONFIGS = ("mpxtrace", "mpxtrace-b", "summary", "floor", "floor-lookup")


def applies(case, config):
    """/bin/true (start-up) and the pinned ping-pong (the cost per switch)
    are for mpxtrace and the floor.  Without its Python probes, mpxtrace is
    measured where they have Python to trace (the other tools trace none)."""
    if case in ("true", "pinned"):
        return config in SUMMARY_CONFIGS
    if config == "noprobes":
        return case in ("seed", "pool")
    return True


SECTIONS = ["probes", "itself", "analysis", "cost"]


def sample_of(run, cmd, metric, name):
    (wall, steal, foreign), out = run(cmd)
    m = metric(out) if metric else None
    if metric and m is None:
        fail("could not read the metric of %s" % name, out)
    return Sample(wall, m, steal, foreign)


def progress(title, total):
    def show(rnd, cells):
        kept = sum(len(c.pairs) for c in cells.values())
        dropped = collections.Counter()
        for c in cells.values():
            dropped.update(c.dropped)
        print("  %s: round %d, %d/%d pairs, discarded: %s" % (
            title, rnd, kept, total, ", ".join("%s %d" % kv for kv in sorted(dropped.items()))
            or "none"), flush=True)
    return show


def num(x):
    return "%.3f" % x if x < 10 else "%.1f" % x if x < 1000 else "%.0f" % x


def fmt_ratio(xs, target):
    if not xs:
        return "%-25s" % "-"
    lo, hi = bootstrap_ci(xs)
    return "%-25s" % ("%s [%s,%s] %s" % (num(median(xs)), num(lo), num(hi),
                                         verdict(lo, hi, target, len(xs))))


HEAD = "%-32s %5s %4s %6s %5s  %-25s %s" % ("", "pairs", "drop", "steal", "other",
                                           "self ratio [90% CI]", "wall ratio [90% CI]")


def cell_line(label, c, target):
    line = "%-32s %5d %4d %4.0fms %5.2f  %s %s" % (
        label[:32], len(c.pairs), sum(c.dropped.values()), c.steal, c.load(),
        fmt_ratio(c.ratios("self"), target), fmt_ratio(c.ratios("wall"), target))
    return line.rstrip()


def tools_table(cases, cfgs):
    keys = []
    for ck, name, cmd, metric, target in cases:
        for key, label, off, on in cfgs:
            if not applies(ck, key):
                continue
            keys.append((ck, key))
    case = {c[0]: c for c in cases}
    cfg = {c[0]: c for c in cfgs}

    def run_pair(k, attempt):
        ck, key = k
        _, name, cmd, metric, _ = case[ck]
        res = {}
        for traced in pair_order(attempt):
            res[traced] = sample_of(cfg[key][3 if traced else 2], cmd, metric, name)
        return res[False], res[True]

    print("\nTraced / untraced, %d pairs per cell, %d cells, round robin:" % (RUNS, len(keys)),
          flush=True)
    cells = fill(keys, RUNS, run_pair, progress=progress("tools", RUNS * len(keys)))
    print("\nratio: median of the pair ratios traced/untraced, its 90%% bootstrap interval\n"
          "and the target: met (all of the interval within it), NOT (all above), ? (cannot\n"
          "tell; no verdict below %d pairs); drop: pairs discarded; steal: host steal in all\n"
          "the cell's runs; other: other processes' CPU time during the kept runs, in CPUs"
          % MIN_VERDICT_PAIRS)
    for ck, name, cmd, metric, target in cases:
        print("\n%s%s" % (name, "  (target %.2f)" % target if target else ""))
        print(HEAD)
        for key, label, off, on in cfgs:
            if (ck, key) in cells:
                print(cell_line(label, cells[(ck, key)], target))
        ours = cells[(ck, "mpxtrace")].ratios("self") if (ck, "mpxtrace") in cells else []
        for tools, what in ((OTHER_TOOLS, "mpxtrace against the lowest other tool"),
                            (WHOLE_TOOLS, "... against the lowest that traces every process of it")):
            cmp = against_lowest(ours, {label: cells[(ck, key)].ratios("self")
                                        for key, label, off, on in cfgs
                                        if key in tools and (ck, key) in cells})
            if cmp:
                print("  %s, %s %s [%s,%s]: %s"
                      % (what, cmp[0], num(cmp[1]), num(cmp[2]), num(cmp[3]), cmp[4]))
    return cells


FIB_PROFILED = r"""
import sys, time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
sys.setprofile(lambda *a: None)   # CPython 3.11 fires function__entry only so
t = time.perf_counter()
fib(20)
print("ms", (time.perf_counter() - t) * 1000)
"""


def python_probes():
    """The Python probes' cost: the same traced command without them
    (the untraced side of the pairs) and with them."""
    off = launcher_wrap(MPX + ["--python-probes=off", "--"])
    cases = [
        ("seed experiment, default probes", SEED, seed_metric, off, launcher_wrap(MPX + ["--"])),
        ("pool, 10,000 tiny tasks, default probes", [PY, "-c", POOL_10K], ms_metric, off,
         launcher_wrap(MPX + ["--"])),
        ("fib(20) profiled, --py-functions=fib", [PY, "-c", FIB_PROFILED], ms_metric,
         launcher_wrap(MPX + ["--"]), launcher_wrap(MPX + ["--py-functions=fib", "--"])),
    ]

    keys = ["seed", "pool", "fib"]

    def run_pair(k, attempt):
        name, cmd, metric, a, b = cases[keys.index(k)]
        res = {}
        for on in pair_order(attempt):
            res[on] = sample_of(b if on else a, cmd, metric, name)
        return res[False], res[True]

    print("\nPython probes: mpxtrace with / without them, %d pairs per case:" % RUNS, flush=True)
    cells = fill(keys, RUNS, run_pair, progress=progress("probes", RUNS * len(cases)))
    print(HEAD)
    for k, c in zip(keys, cases):
        print(cell_line(c[0], cells[k], None))
    return cells


def analysis_speed():
    """Events reported per second: record a ping-pong, then time report."""
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "t.mpxt")
        p = subprocess.run([MPXTRACE, "record", "-o", f, "--", "perf", "bench", "sched",
                            "pipe", "-l", "170000"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        m = re.search(r"recorded (\d+) events", p.stderr)
        if p.returncode or not m:
            fail("record failed", p.stderr)
        n = int(m.group(1))
        print()
        print("analysis speed: report of %d recorded events (median of 3)" % n)
        for fmt in (["-o", "/dev/null"], ["-j", "-o", "/dev/null"]):
            ts = []
            for _ in range(3):
                t = time.perf_counter()
                subprocess.run([MPXTRACE, "report"] + fmt + [f], check=True)
                ts.append(time.perf_counter() - t)
            med = median(ts)
            print("  %-6s %.2f s, %.2f M events/s" % ("json" if "-j" in fmt else "text", med,
                                                      n / med / 1e6))


# A Python loop raising one audit event per pass (pickle.find_class): with
# the probe on the command's process each pass traps once.
AUDIT_LOOP_N = 100000
AUDIT_LOOP = r"""
import os, pickle, time
d = pickle.dumps(os.getpid)
t = time.perf_counter()
for _ in range(%d):
    pickle.loads(d)
print("ms", (time.perf_counter() - t) * 1000)
""" % AUDIT_LOOP_N

STATS = "/proc/sys/kernel/bpf_stats_enabled"


def set_stats(v):
    with open(STATS, "w") as f:
        f.write(v)


def cost_accounting():
    """The CPU time tracing adds, from the kernel's own accounting rather
    than from the workloads' noisy wall times: with kernel.bpf_stats_enabled
    the kernel counts each program run and its time (mpxtrace -v prints
    them per run).  Less the statistics' own price per run (the floor's
    empty programs, timed the same way), plus each Python probe hit priced
    at a uprobe trap (calibrated here: a loop of audit events with and
    without the probe), against the workload's untraced time: what the
    ratio would be if all of it lay on the workload's critical path.
    The ping-pong, where it does, checks the estimate against its
    measured ratio."""
    runs = max(3, min(RUNS, 7))
    old = read(STATS, "0")
    # A uprobe hit, statistics off: N audit events with the probe and without.
    on, off = [], []
    for _ in range(runs):
        for probes, acc in ((["--"], on), (["--python-probes=off", "--"], off)):
            (_, out) = launch_plain(MPX + probes + [PY, "-c", AUDIT_LOOP])
            acc.append(ms_metric(out))
    trap_ns = (median(on) - median(off)) * 1e6 / AUDIT_LOOP_N
    try:
        set_stats("1")
        empty = []
        for _ in range(runs):
            p = subprocess.run([FLOOR, "-v", "--", WORK, "pingpong", "20000", "8"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            m = re.search(r"programs ran (\d+) times, (\d+) ns", p.stderr)
            if p.returncode or not m:
                fail("floor -v", p.stderr)
            empty.append(int(m.group(2)) / max(1, int(m.group(1))))
        empty_ns = median(empty)
        rows = []
        for key in ("pingpong", "pool", "seed"):
            _, _, cmd, metric, _ = next(c for c in CASES if c[0] == key)
            st = []
            for _ in range(runs):
                p = subprocess.run([MPXTRACE, "-v", "-o", "/dev/null", "--"] + cmd,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   timeout=TIMEOUT)
                m = re.search(r"BPF programs ran (\d+) times, ([0-9.]+) ms", p.stderr)
                py = re.search(r"python probes' programs ran (\d+) times, ([0-9.]+) ms",
                               p.stderr)
                if p.returncode or not m:
                    fail("mpxtrace -v with bpf_stats_enabled", p.stderr)
                st.append((int(m.group(1)), float(m.group(2)),
                           int(py.group(1)) if py else 0))
            rows.append((key, cmd, metric, st))
    finally:
        set_stats(old)
    print()
    print("cost accounting: CPU the programs and Python probe traps add (kernel.bpf_stats_enabled,")
    print("medians of %d runs), against the untraced run's own time" % runs)
    print("  the statistics' own price: %.0f ns per program run (the floor's empty programs);"
          % empty_ns)
    print("  a Python probe hit (uprobe trap and program): %.0f ns (%d audit events, "
          "with/without)" % (trap_ns, AUDIT_LOOP_N))
    print("  %-9s %9s %10s %9s %8s %8s %8s %9s" % ("case", "self ms", "prog runs", "prog ms",
                                                   "py hits", "py ms", "added", "estimate"))
    for key, cmd, metric, st in rows:
        base = median([metric(launch_plain(cmd)[1]) for _ in range(runs)])
        nruns = median([x[0] for x in st])
        prog_ms = median([x[1] - x[0] * empty_ns / 1e6 for x in st])
        hits = median([x[2] for x in st])
        py_ms = hits * trap_ns / 1e6
        added = (prog_ms + py_ms) / base
        print("  %-9s %9.1f %10d %9.2f %8d %8.2f %7.1f%% %9.3f" % (
            key, base, nruns, prog_ms, hits, py_ms, 100 * added, 1 + added))
    sys.stdout.flush()


def tool_itself():
    """Start-up (mpxtrace's start to the workload released, its own -v
    figure), its peak RSS, and the event rate it keeps up with, no loss."""
    print()
    print("mpxtrace itself (medians of %d)" % RUNS)
    for name, extra in (("event mode", []), ("--summary", ["--summary"])):
        st, rss = [], []
        for _ in range(RUNS):
            p = subprocess.run([MPXTRACE, "-v", "-o", "/dev/null"] + extra + ["--", "/bin/true"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            m = re.search(r"workload released ([0-9.]+) ms", p.stderr)
            r = re.search(r"peak RSS ([0-9.]+) MiB", p.stderr)
            if p.returncode or not m or not r:
                fail("start-up figure missing", p.stderr)
            st.append(float(m.group(1)))
            rss.append(float(r.group(1)))
        print("  %-10s start to workload running %6.1f ms, peak RSS %5.1f MiB "
              "(the ring buffer's mapping included)" % (name, median(st), median(rss)))
    # Event rate: one pinned pair, then two pairs on both CPUs.
    loads = [("1 ping-pong pair, pinned", "taskset -c 0 perf bench sched pipe -l 300000"),
             ("2 ping-pong pairs", "(perf bench sched pipe -l 150000 & "
              "perf bench sched pipe -l 150000; wait)")]
    for name, sh in loads:
        p = subprocess.run([MPXTRACE, "-v", "-j", "-o", "/dev/stdout", "--", "sh", "-c",
                            sh + " >/dev/null"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode:
            fail("%s failed" % sh, p.stderr)
        run = json.loads(p.stdout)
        r = re.search(r"peak RSS ([0-9.]+) MiB", p.stderr)
        n, lost, wall = run["events"], run["lost_events"], run["wall_ns"] / 1e9
        print("  %-26s %9d events in %5.2f s: %5.2f M events/s, %d lost, peak RSS %.0f MiB"
              % (name, n, wall, n / wall / 1e6, lost, float(r.group(1)) if r else -1))
    sys.stdout.flush()


def read(path, default="?"):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return ("kernel %s, %d vCPUs (%s), clocksource %s, loadavg %s"
            % (os.uname().release, os.cpu_count(), model,
               read("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
               " ".join(read("/proc/loadavg").split()[:3])))


def summary(cases, cfgs, cells):
    """mpxtrace against the targets, with the floor beside it."""
    rows = [(c, k) for c in cases for k in SUMMARY_CONFIGS if (c[0], k) in cells]
    if not rows:
        return
    label = {c[0]: c[1] for c in cfgs}
    print("\nSummary: mpxtrace and the floor, traced/untraced, %d pairs asked per cell" % RUNS)
    print("machine: %s" % machine())
    print("%-10s %6s %-24s %5s %4s %6s  %-25s %s" % (
        "case", "target", "tracer", "pairs", "drop", "steal", "self ratio [90% CI]",
        "wall ratio [90% CI]"))
    for (ck, name, cmd, metric, target), key in rows:
        c = cells[(ck, key)]
        line = "%-10s %6s %-24s %5d %4d %4.0fms  %s %s" % (
            ck, "%.2f" % target if target else "-", label[key][:24], len(c.pairs),
            sum(c.dropped.values()), c.steal, fmt_ratio(c.ratios("self"), target),
            fmt_ratio(c.ratios("wall"), target))
        print(line.rstrip())


def main():
    t0 = time.monotonic()
    steal0 = cpu_line()[0]
    case_keys = [c[0] for c in CASES]
    want_case = selected("BENCH_CASES", case_keys + SECTIONS)
    cfgs_all = configs()
    want_cfg = selected("BENCH_TOOLS", [c[0] for c in cfgs_all])
    if len(sys.argv) > 1 and sys.argv[1:] != ["python"]:
        print("usage: overhead.py [python]", file=sys.stderr)
        sys.exit(2)
    python_only = sys.argv[1:] == ["python"]
    cases = [c for c in CASES if want_case(c[0]) and not python_only]
    cfgs = [c for c in cfgs_all if want_cfg(c[0])]
    if any(c[0].startswith("floor") for c in cfgs) and not os.access(FLOOR, os.X_OK):
        sys.exit("bench: %s missing (make %s)" % (FLOOR, os.path.relpath(FLOOR, ROOT)))

    print("mpxtrace overhead: paired runs, median of pair ratios, 90% bootstrap interval")
    print("machine: %s" % machine())
    print("a pair is re-run when either run saw host steal > %g%% of its wall time, or when "
          "other processes'\nCPU time differs between its runs by > %g%% of the wall time "
          "(steal unit %g ms)" % (STEAL_PCT, LOAD_PCT, TICK_MS))
    all_cells = {}
    if cases and cfgs:
        all_cells.update(tools_table(cases, cfgs))
    if python_only or want_case("probes"):
        all_cells.update({("probes", k): c for k, c in python_probes().items()})
    if not python_only and want_case("itself"):
        tool_itself()
    if not python_only and want_case("analysis"):
        analysis_speed()
    if not python_only and want_case("cost"):
        cost_accounting()

    summary(cases, cfgs, all_cells)
    kept = sum(len(c.pairs) for c in all_cells.values())
    dropped = collections.Counter()
    for c in all_cells.values():
        dropped.update(c.dropped)
    short = [k for k, c in all_cells.items() if len(c.pairs) < RUNS]
    print("\nbench done in %.0f s: %d pairs kept, %d discarded (%s), host steal %.2f s "
          "during the bench" % (time.monotonic() - t0, kept, sum(dropped.values()),
                                ", ".join("%s %d" % kv for kv in sorted(dropped.items()))
                                or "none", (cpu_line()[0] - steal0) * TICK_MS / 1000))
    if short:
        print("cells short of %d pairs (discard budget spent): %s" % (
            RUNS, ", ".join("/".join(str(x) for x in k) for k in short)))


if __name__ == "__main__":
    main()
