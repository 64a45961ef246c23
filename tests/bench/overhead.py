#!/usr/bin/env python3
"""Tracing overhead, measured side by side in one run.

Each case runs its command untraced, under mpxtrace (event mode) and under
mpxtrace --summary (totals in the kernel), in rotating order, and prints
medians and the ratio traced/untraced for two clocks: the workload's own
timing of its measured region (what tracing adds inside the run) and the
wall time of the whole command from outside (adds attach and report).

Environment: MPXTRACE (default ./mpxtrace), BENCH_RUNS (default 10).
`overhead.py python` runs only the Python probes' part.
The machine is noisy: compare the ratios, not the absolute times.
"""
import os
import re
import statistics
import subprocess
import sys
import time

MPXTRACE = os.environ.get("MPXTRACE", "./mpxtrace")
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

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


CASES = [
    ("seed experiment (Process x2 + Pool x2)",
     [PY, os.path.join(ROOT, "tests/workloads/process_vs_pool.py")], seed_metric),
    ("pool, 10,000 tiny tasks", [PY, "-c", POOL_10K], ms_metric),
    ("ping-pong, 2 processes (sched pipe)",
     ["perf", "bench", "sched", "pipe", "-l", "100000"], pipe_metric),
    # Pinned to one CPU: every switch is paid for on that CPU, nothing is
    # hidden in (or added to) the other CPU's idle exits and wakeup IPIs.
    ("ping-pong, pinned to one CPU",
     ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-l", "200000"], pipe_metric),
    ("start to exit of /bin/true", ["/bin/true"], lambda out: 0.0),
]


# The same scheduler accounting in bpftrace: on-CPU and off-CPU time per
# thread from sched_switch, the core of what mpxtrace records.
BPFTRACE_PROG = r"""
tracepoint:sched:sched_switch {
  if (@in[args->prev_pid]) { @oncpu[args->prev_pid] = sum(nsecs - @in[args->prev_pid]); }
  @out[args->prev_pid] = nsecs;
  if (@out[args->next_pid]) { @offcpu[args->next_pid] = sum(nsecs - @out[args->next_pid]); }
  @in[args->next_pid] = nsecs;
}
tracepoint:sched:sched_wakeup { @wake[args->pid] = nsecs; }
"""

# Tools a user would run instead, system-wide while the workload runs.
OTHER_TOOLS = [
    ("runqlat -p (libbpf-tools)", ["/usr/sbin/runqlat", "-p"]),
    ("offcputime -p (libbpf-tools)", ["/usr/sbin/offcputime", "-p"]),
    ("bpftrace sched_switch accounting", ["bpftrace", "-e", BPFTRACE_PROG]),
]


def run(cmd, traced, tool=None):
    """traced: under mpxtrace ("summary": with --summary); tool: with
    another tool running meanwhile."""
    bg = None
    if tool == "perf":
        full = ["perf", "sched", "record", "-q", "-o", "/tmp/mpxbench-perf.data", "--"] + cmd
    elif tool and tool[-1] == "-p":
        return run_pid_tool(cmd, tool)
    elif tool:
        bg = subprocess.Popen(tool, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)         # let it attach
        full = cmd
    elif traced:
        full = [MPXTRACE, "-o", "/dev/null"] + {"summary": ["--summary"],
                                                 "noprobes": ["--python-probes=off"]}.get(
                                                     traced, []) + ["--"] + cmd
    else:
        full = cmd
    t = time.perf_counter()
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = (time.perf_counter() - t) * 1000
    finish(bg, p.returncode, full, p.stderr)
    return wall, p.stdout


def finish(bg, rc, cmd, err):
    """Stop the tool running beside the workload; a failed workload ends
    the bench."""
    if bg:
        bg.send_signal(2)
        try:
            bg.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bg.kill()
    if rc != 0:
        sys.exit("bench: %s failed (%d): %s" % (" ".join(cmd), rc, err[-300:]))


def run_pid_tool(cmd, tool):
    """A tool that follows one process (-p PID): the workload starts
    stopped, the tool attaches to it, then it runs."""
    p = subprocess.Popen(["sh", "-c", 'kill -STOP $$; exec "$@"', "sh"] + cmd,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(500):
        with open("/proc/%d/stat" % p.pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                break
        time.sleep(0.002)
    bg = subprocess.Popen(tool + [str(p.pid)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(1.5)             # let it attach
    os.kill(p.pid, 18)          # SIGCONT
    t = time.perf_counter()
    out, err = p.communicate()
    wall = (time.perf_counter() - t) * 1000
    finish(bg, p.returncode, cmd, err)
    return wall, out


def main():
    sides = (False, "event", "summary")
    print("mpxtrace overhead, %d rotating runs per side, medians (ms); ratios to untraced"
          % RUNS)
    print("%-40s %8s %8s %6s %8s %6s %8s %6s %6s" % (
        "case", "self:off", "self:ev", "ratio", "self:sum", "ratio", "wall:off",
        "ev", "sum"))
    for name, cmd, metric in CASES:
        res = {t: ([], []) for t in sides}
        for i in range(RUNS):
            for traced in sides[i % 3:] + sides[:i % 3]:
                wall, out = run(cmd, traced)
                m = metric(out)
                if m is None:
                    sys.exit("bench: could not read the metric of %s" % name)
                res[traced][0].append(m)
                res[traced][1].append(wall)
        self_ = {t: statistics.median(res[t][0]) for t in sides}
        wall_ = {t: statistics.median(res[t][1]) for t in sides}

        def ratio(t):
            return "%6.3f" % (self_[t] / self_[False]) if self_[False] else "     -"
        print("%-40s %8.2f %8.2f %s %8.2f %s %8.2f %6.3f %6.3f" % (
            name[:40], self_[False], self_["event"], ratio("event"), self_["summary"],
            ratio("summary"), wall_[False], wall_["event"] / wall_[False],
            wall_["summary"] / wall_[False]))
        sys.stdout.flush()
    tool_itself()
    python_probes()
    compare_tools()
    analysis_speed()


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
    """The Python probes' cost: the same traced command with and without
    them, alternating; the workload's own timing and the wall time."""
    cases = [
        ("seed experiment, default probes", [PY, os.path.join(ROOT,
         "tests/workloads/process_vs_pool.py")], seed_metric,
         ["--python-probes=off"], []),
        ("pool, 10,000 tiny tasks, default probes", [PY, "-c", POOL_10K], ms_metric,
         ["--python-probes=off"], []),
        ("fib(20) profiled, --py-functions=fib", [PY, "-c", FIB_PROFILED], ms_metric,
         [], ["--py-functions=fib"]),
    ]
    print()
    print("Python probes: traced without vs with them, %d alternating runs, medians (ms)"
          % RUNS)
    print("%-48s %9s %9s %6s %9s %9s %6s" % ("case", "self:off", "self:on", "ratio",
                                             "wall:off", "wall:on", "ratio"))
    for name, cmd, metric, off, on in cases:
        res = {False: ([], []), True: ([], [])}
        for i in range(RUNS):
            for probes in ((False, True) if i % 2 == 0 else (True, False)):
                full = [MPXTRACE, "-o", "/dev/null"] + (on if probes else off) + ["--"] + cmd
                t = time.perf_counter()
                p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
                wall = (time.perf_counter() - t) * 1000
                m = metric(p.stdout)
                if p.returncode or m is None:
                    sys.exit("bench: %s failed: %s" % (" ".join(full), p.stderr[-300:]))
                res[probes][0].append(m)
                res[probes][1].append(wall)
        so, st = statistics.median(res[False][0]), statistics.median(res[True][0])
        wo, wt = statistics.median(res[False][1]), statistics.median(res[True][1])
        print("%-48s %9.2f %9.2f %6.3f %9.2f %9.2f %6.3f" % (name[:48], so, st, st / so,
                                                             wo, wt, wt / wo))
        sys.stdout.flush()


def analysis_speed():
    """Events reported per second: record a ping-pong, then time report."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "t.mpxt")
        p = subprocess.run([MPXTRACE, "record", "-o", f, "--", "perf", "bench", "sched",
                            "pipe", "-l", "170000"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        m = re.search(r"recorded (\d+) events", p.stderr)
        if p.returncode or not m:
            sys.exit("bench: record failed: %s" % p.stderr[-300:])
        n = int(m.group(1))
        print()
        print("analysis speed: report of %d recorded events (median of 3)" % n)
        for fmt in (["-o", "/dev/null"], ["-j", "-o", "/dev/null"]):
            ts = []
            for _ in range(3):
                t = time.perf_counter()
                subprocess.run([MPXTRACE, "report"] + fmt + [f], check=True)
                ts.append(time.perf_counter() - t)
            med = statistics.median(ts)
            print("  %-6s %.2f s, %.2f M events/s" % ("json" if "-j" in fmt else "text", med,
                                                      n / med / 1e6))


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
                sys.exit("bench: start-up figure missing: %s" % p.stderr[-300:])
            st.append(float(m.group(1)))
            rss.append(float(r.group(1)))
        print("  %-10s start to workload running %6.1f ms, peak RSS %5.1f MiB "
              "(the ring buffer's mapping included)" % (name, statistics.median(st),
                                                        statistics.median(rss)))
    # Event rate: one pinned pair, then two pairs on both CPUs.
    loads = [("1 ping-pong pair, pinned", "taskset -c 0 perf bench sched pipe -l 300000"),
             ("2 ping-pong pairs", "(perf bench sched pipe -l 150000 & "
              "perf bench sched pipe -l 150000; wait)")]
    for name, sh in loads:
        p = subprocess.run([MPXTRACE, "-v", "-j", "-o", "/dev/stdout", "--", "sh", "-c",
                            sh + " >/dev/null"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode:
            sys.exit("bench: %s failed: %s" % (sh, p.stderr[-300:]))
        import json
        run = json.loads(p.stdout)
        r = re.search(r"peak RSS ([0-9.]+) MiB", p.stderr)
        n, lost, wall = run["events"], run["lost_events"], run["wall_ns"] / 1e9
        print("  %-26s %9d events in %5.2f s: %5.2f M events/s, %d lost, peak RSS %.0f MiB"
              % (name, n, wall, n / wall / 1e6, lost, float(r.group(1)) if r else -1))
    sys.stdout.flush()


def compare_tools():
    """The workloads' own timing under each tool, as ratios to none: every
    repetition runs every configuration once, in rotating order, so drift on
    a busy machine hits all of them alike."""
    runs = max(3, RUNS // 2)
    configs = [("untraced", None), ("mpxtrace", "mpx"),
               ("mpxtrace --python-probes=off", "noprobes"),
               ("mpxtrace --summary", "summary")] + \
        [(n, c) for n, c in OTHER_TOOLS if os.path.exists(c[0]) or c[0] == "bpftrace"] + \
        [("perf sched record", "perf")]
    print()
    print("the same workloads under the tools a user would pick instead "
          "(%d rotating runs; median of the workload's own timing / untraced):" % runs)
    ncases = 4
    short = ["seed", "pool 10k", "ping-pong", "pinned p-p"]
    print("%-36s %s" % ("tool", "  ".join("%-12s" % n for n in short[:ncases])))
    res = {(c, k): [] for c, _ in configs for k in range(ncases)}
    for rep in range(runs):
        for k, (name, cmd, metric) in enumerate(CASES[:ncases]):
            order = configs[rep % len(configs):] + configs[:rep % len(configs)]
            for cname, tool in order:
                if tool is None:
                    out = run(cmd, False)[1]
                elif tool == "mpx":
                    out = run(cmd, "event")[1]
                elif tool in ("summary", "noprobes"):
                    out = run(cmd, tool)[1]
                else:
                    out = run(cmd, False, tool)[1]
                res[(cname, k)].append(metric(out))
    for cname, _ in configs[1:]:
        cells = ["%-12s" % ("%.3f" % (statistics.median(res[(cname, k)]) /
                                     statistics.median(res[("untraced", k)])))
                 for k in range(ncases)]
        print("%-36s %s" % (cname, "  ".join(cells)))
    sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["python"]:
        python_probes()
    else:
        main()
