#!/usr/bin/env python3
"""Root integration tests of --summary (totals kept in the kernel, no event
stream): the same workloads as test_trace.py and test_io.py, traced once in
event mode and once in summary mode.  Each run must pass the checks every
traced run passes (buckets sum to the lifetime, the kernel's exec time,
run_delay, nvcsw/nivcsw and delay accounting agree: test_trace.check_report),
each run must match what the workload does by construction, and the two
modes must agree with each other within the tolerances below.  Two runs are
two executions, so they are compared loosely: what they share is the
workload's construction, not its timing.

Plain python3, stdlib only, as root.  Environment: MPXTRACE, MPX_WORK,
MPX_IO.  Prints `ok - NAME` / `FAIL - NAME: detail`, `# NAME: ...` figures,
and ends with `N passed, M failed`.
"""
import os
import sys
import tempfile

import mpxtest
import test_trace as tt
from test_trace import MS, checked, work, expect_traced, check_report, ms

IO = os.path.abspath(os.environ.get("MPX_IO", ".output/tests/mpx-io"))
MIB = 1 << 20
# Between the modes: on-CPU of a burner within max(3%, 3 ms); a sleep
# within 5 ms; a pinned burner's share of its life spent preempted within
# 0.15 (test_trace's bound between two burners of one run).
ONCPU_PCT, ONCPU_FLOOR = 3.0, 3 * MS
SLEEP_TOL = 5 * MS
SHARE_TOL = 0.15
# Event-only keys that summary mode leaves out instead of writing zeros.
EVENT_ONLY_RUN = ("events", "lost_stacks", "requests", "critical_path", "phases")
EVENT_ONLY_TASK = ("waits", "blkio_on_queue_ns", "blkio_on_device_ns", "io_requests_waited")


def both(c, cmd, opts=()):
    """The workload traced in event mode and in summary mode: two reports,
    each checked like any traced run; None when one did not finish."""
    out = []
    for mode in ((), ("--summary",)):
        r = tt.trace(cmd, list(opts) + list(mode))
        if not expect_traced(c, r):
            return None
        rep = r.report
        name = "summary" if mode else "event"
        c.eq("%s: summary key" % name, rep.get("summary"), bool(mode))
        if mode:
            for k in EVENT_ONLY_RUN:
                c.true("summary: no %r key" % k, k not in rep, "present")
            for t in rep["tasks"]:
                for k in EVENT_ONLY_TASK:
                    c.true("summary: tid %d has no %r" % (t["tid"], k), k not in t, "present")
        else:
            c.true("event: events counted", rep.get("events", 0) > 0, repr(rep.get("events")))
        root = check_report(c, rep, r.steal_ns)
        # Host steal during the run: on-CPU to the scheduler's events,
        # not to the task, so bounds on on-CPU time widen by it.
        rep["_steal_ns"] = r.steal_ns or 0
        out.append((rep, root))
    return out


def close(a, b, pct, floor):
    return abs(a - b) <= max(pct / 100.0 * max(a, b), floor)


@checked
def test_burn_200ms_both_modes(c):
    res = both(c, work("burn", 200))
    if not res or not res[0][1] or not res[1][1]:
        return
    (ev, te), (su, ts) = res
    for name, rep, t in (("event", ev, te), ("summary", su, ts)):
        c.between("%s oncpu (ms)" % name, t["oncpu_ns"], 198 * MS,
                  213 * MS + rep["_steal_ns"], MS)
        c.eq("%s exit_code" % name, t["exit_code"], 0)
    steal = max(ev["_steal_ns"], su["_steal_ns"])
    c.true("oncpu agrees between modes", close(te["oncpu_ns"], ts["oncpu_ns"], ONCPU_PCT,
                                               ONCPU_FLOOR + steal),
           "%.3f vs %.3f ms (host steal %.0f ms)" % (ms(te["oncpu_ns"]), ms(ts["oncpu_ns"]),
                                                    ms(steal)))
    c.note("oncpu event %.3f ms, summary %.3f ms; kernel exec %.3f / %.3f ms"
           % (ms(te["oncpu_ns"]), ms(ts["oncpu_ns"]),
              ms(te["kernel"]["sum_exec_runtime_ns"]), ms(ts["kernel"]["sum_exec_runtime_ns"])))


@checked
def test_sleep_50ms_both_modes(c):
    res = both(c, work("sleep", 50))
    if not res or not res[0][1] or not res[1][1]:
        return
    (ev, te), (su, ts) = res
    for name, t in (("event", te), ("summary", ts)):
        c.between("%s sleep (ms)" % name, t["sleep_ns"], 50 * MS, 60 * MS, MS)
        c.between("%s oncpu (ms)" % name, t["oncpu_ns"], 0, 10 * MS, MS)
        c.eq("%s voluntary switches >= 1" % name, t["switches_voluntary"] >= 1, True)
    c.true("sleep agrees between modes", abs(te["sleep_ns"] - ts["sleep_ns"]) <= SLEEP_TOL,
           "%.3f vs %.3f ms" % (ms(te["sleep_ns"]), ms(ts["sleep_ns"])))
    c.note("sleep event %.3f ms, summary %.3f ms" % (ms(te["sleep_ns"]), ms(ts["sleep_ns"])))


@checked
def test_two_burners_pinned_both_modes(c):
    cpu = tt.idlest_cpu()
    res = both(c, work("pinned", 2, cpu, 200))
    if not res or not res[0][1] or not res[1][1]:
        return
    shares = {}
    for name, (rep, root) in zip(("event", "summary"), res):
        kids = [t for t in rep["tasks"] if t["ppid"] == root["pid"]]
        if not c.eq("%s burner processes" % name, len(kids), 2):
            return
        on = sum(t["oncpu_ns"] for t in kids)
        pre = sum(t["runq_preempt_ns"] for t in kids)
        for t in kids:
            c.between("%s tid %d oncpu (ms)" % (name, t["tid"]), t["oncpu_ns"],
                      196 * MS, 213 * MS + rep["_steal_ns"], MS)
            # One CPU, two burners: each waits about while the other runs
            # (more when something else shares the CPU: test_trace's bound).
            c.between("%s tid %d runq_preempt / lifetime" % (name, t["tid"]),
                      t["runq_preempt_ns"] / float(t["lifetime_ns"]), 0.30, 0.70)
        shares[name] = sum(t["runq_preempt_ns"] / float(t["lifetime_ns"]) for t in kids) / 2
        c.note("%s (cpu%d): oncpu %.1f ms, runq_preempt %.1f ms, preempted %.0f%% of life"
               % (name, cpu, ms(on), ms(pre), 100 * shares[name]))
    c.true("preempted share agrees between modes",
           abs(shares["event"] - shares["summary"]) <= SHARE_TOL,
           "%.2f vs %.2f" % (shares["event"], shares["summary"]))


@checked
def test_tree_10_forks_4_threads_both_modes(c):
    res = both(c, work("tree", 10, 4))
    if not res:
        return
    for name, (rep, root) in zip(("event", "summary"), res):
        tasks = rep["tasks"]
        c.eq("%s tasks" % name, len(tasks), 15)
        c.eq("%s threads" % name, sum(t["thread"] for t in tasks), 4)
        if root:
            c.eq("%s children of the root" % name,
                 sum(1 for t in tasks if not t["thread"] and t["ppid"] == root["pid"]), 10)
            c.eq("%s threads of the root" % name,
                 sum(1 for t in tasks if t["thread"] and t["pid"] == root["pid"]), 4)
        for t in tasks:
            c.eq("%s tid %d exit_code" % (name, t["tid"]), t["exit_code"], 0)


@checked
def test_direct_io_8mib_both_modes(c):
    with tempfile.TemporaryDirectory(dir=os.path.abspath(".output/tests")) as d:
        figs = {}
        for attempt in range(3):
            res = both(c, [IO, "direct", os.path.join(d, "direct"), str(8 * MIB)])
            if not res:
                return
            ts = [next((t for t in rep["tasks"] if t["comm"] == "mpx-io"), None)
                  for rep, _ in res]
            if not c.true("mpx-io task in both", all(ts), repr([t and t["tid"] for t in ts])):
                return
            # The data writes are 8 MiB exactly (event mode lists them);
            # the new file's metadata reads add up to 124 KiB (seen).
            writes = sum(q["bytes"] for q in res[0][0]["requests"]
                         if q.get("submitter_tid") == ts[0]["tid"] and
                         q["op"].startswith("write") and ",meta" not in q["op"])
            c.eq("event data writes", writes, 8 * MIB)
            for name, t in zip(("event", "summary"), ts):
                c.true("%s io_bytes" % name, 8 * MIB <= t["io_bytes"] < 8 * MIB + 512 * 1024,
                       "%d vs 8 MiB" % t["io_bytes"])
                c.true("%s io_requests" % name, t["io_requests"] >= 8, str(t["io_requests"]))
                # O_DIRECT waits for its requests, unless they complete
                # before the task gets to sleep (seen once under heavy host
                # steal): then the kernel's own figure says none as well.
                if t["kernel"].get("blkio_delay_ns") == 0:
                    c.eq("%s blkio where the kernel counted none" % name, t["blkio_ns"], 0)
                else:
                    c.true("%s blkio" % name, t["blkio_ns"] > 0, "no IO wait")
                figs[name] = "blkio %.2f ms, kernel %s, %d requests" % (
                    ms(t["blkio_ns"]), "%.2f ms" % ms(t["kernel"]["blkio_delay_ns"])
                    if "blkio_delay_ns" in t["kernel"] else "withheld", t["io_requests"])
            # The bytes are the workload's; how the block layer splits them
            # into requests (8 or 16 here) is not, so only bytes are compared.
            c.eq("io_bytes agree between modes", ts[0]["io_bytes"] // MIB,
                 ts[1]["io_bytes"] // MIB)
            # Delay accounting is the oracle of each run (check_report holds
            # it when given); an IO wait begun with a delayed dequeue takes
            # it away (test_io.oracle_withheld): try again for one with both.
            if all("blkio_delay_ns" in t["kernel"] for t in ts):
                break
            c.note("attempt %d: a delayed dequeue withheld the blkio oracle" % (attempt + 1))
        c.note("; ".join("%s %s" % kv for kv in sorted(figs.items())))


@checked
def test_pingpong_both_modes(c):
    """A ping-pong of 20,000 rounds (each process woken 20,000 times, as a
    rule on an idle CPU): summary mode starts a woken wait where the kernel
    queued the task, as the event mode does, and both modes' run-queue
    time agrees with the kernel's run_delay (the self-check failed here in
    summary mode, off by 10-30%)."""
    rounds = 20000
    res = both(c, work("pingpong", rounds, 8))
    if not res:
        return
    for (rep, root), name in zip(res, ("event", "summary")):
        ping = [t for t in rep["tasks"] if t["comm"] == "mpx-work"]
        c.eq("%s: two processes" % name, len(ping), 2)
        for t in ping:
            # A read may find its byte before it blocks: most rounds, not all.
            c.true("%s: tid %d woken in most rounds" % (name, t["tid"]),
                   t["wakeups"] >= rounds // 2, "%d wakeups" % t["wakeups"])
            c.note("%s tid %d: runq_wakeup %.2f ms, run_delay %.2f ms, dev %.3f ms" % (
                name, t["tid"], t["runq_wakeup_ns"] / MS, t["kernel"]["run_delay_ns"] / MS,
                t["kernel"]["runq_dev_ns"] / MS))


@checked
def test_fork_loop_both_modes(c):
    """1,500 children forked and waited for one by one: summary mode drains
    the finished tasks' records as it goes (in batches, several hundred per
    poll) and reports every task, as the event mode does."""
    n = 1500
    res = both(c, work("forks", n))
    if not res:
        return
    for (rep, root), name in zip(res, ("event", "summary")):
        kids = [t for t in rep["tasks"] if t["tid"] != root["tid"]]
        c.eq("%s: children reported" % name, len(kids), n)
        c.true("%s: every child exited 0" % name,
               all(t.get("exit_code") == 0 for t in kids),
               str([t.get("exit_code") for t in kids if t.get("exit_code") != 0][:5]))
        c.eq("%s: nothing lost" % name, rep["lost_events"] + rep["untracked_tasks"], 0)


@checked
def test_summary_map_full_is_reported(c):
    """More tasks than --max-tasks: counted and reported, never silent."""
    r = tt.trace(work("tree", 40, 0), ["--summary", "--max-tasks", "16"])
    if not expect_traced(c, r):
        return
    rep = r.report
    missing = rep["untracked_tasks"] + rep["lost_events"]
    c.true("tasks over the limit counted", missing > 0,
           "untracked %d, lost %d" % (rep["untracked_tasks"], rep["lost_events"]))
    c.eq("complete", rep["complete"], False)
    c.true("every task reported or counted", len(rep["tasks"]) + missing >= 41,
           "%d reported + %d counted" % (len(rep["tasks"]), missing))
    c.note("%d tasks reported, %d untracked, %d records lost"
           % (len(rep["tasks"]), rep["untracked_tasks"], rep["lost_events"]))
    # The text report says so loudly.
    t = tt.run([tt.MPXTRACE, "--summary", "--max-tasks", "16", "--"] + work("tree", 40, 0))
    c.true("text report flags it", "INCOMPLETE TRACE" in t.stdout, t.stdout[:300])
    c.true("text report names the option", "--max-tasks" in t.stdout and
           "--ringbuf" not in t.stdout, t.stdout[:400])
    c.true("a warning on stderr", "warning:" in t.stderr and "--max-tasks" in t.stderr,
           t.stderr[-300:])


@checked
def test_summary_usage_errors(c):
    for opts in (["--mode=process"], ["--save", "/tmp/x.mpxt", "--", "true"],
                 ["--csv", "/tmp", "--", "true"], ["--html", "/tmp/x.html", "--", "true"],
                 ["--py-functions", "f*", "--", "true"]):
        r = tt.run([tt.MPXTRACE, "--summary"] + opts)
        tt.one_line_error(c, r, 2, r"--summary")


def main():
    return mpxtest.main(globals())


if __name__ == "__main__":
    sys.exit(main())
