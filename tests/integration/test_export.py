#!/usr/bin/env python3
"""Root integration tests of the exports: --perfetto (Chrome trace-event
JSON for ui.perfetto.dev, gzipped for .gz) and --csv, checked against the
JSON report of the same run.

Plain python3, stdlib only, must run as root.  Environment: MPXTRACE
(default ./mpxtrace).  Prints `ok - NAME` / `FAIL - NAME: detail` per test
and ends with `N passed, M failed`.
"""
import csv
import gzip
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

MPXTRACE = os.environ.get("MPXTRACE", "./mpxtrace")
BUCKETS = ("oncpu", "runq_wakeup", "runq_preempt", "sleep", "dsleep_other", "blkio",
           "unaccounted")


class Failed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failed(what)


class Export:
    """One traced run with --perfetto and --csv; the files are read back."""

    def __init__(self, args, name):
        self.dir = tempfile.mkdtemp(prefix="mpx-export-")
        self.trace_path = os.path.join(self.dir, name)
        self.csv_dir = os.path.join(self.dir, "csv")
        self.report_path = os.path.join(self.dir, "r.json")
        self.p = subprocess.run([MPXTRACE, "--perfetto", self.trace_path, "--csv",
                                 self.csv_dir, "-j", "-o", self.report_path] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, timeout=300)
        self.report = self.trace = None
        try:
            with open(self.report_path) as f:
                self.report = json.load(f)
            opener = gzip.open if name.endswith(".gz") else open
            with opener(self.trace_path, "rt", encoding="utf-8") as f:
                # Exact decimals: ts and dur are microseconds to the ns.
                self.trace = json.load(f, parse_float=Decimal)
        except (OSError, ValueError) as e:
            self.error = "%s: %s" % (type(e).__name__, e)
        else:
            self.error = None

    def ok(self):
        expect(self.p.returncode == 0, "rc %d: %s" % (self.p.returncode, self.p.stderr[-400:]))
        expect(self.report and self.trace, "unreadable output: %s" % self.error)

    def runs(self):
        return runs_of(self.report)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def runs_of(report):
    """The report's runs: runs[] for --mode, else the one command run."""
    return report["runs"] if "runs" in report else [report]


def ns(us):
    """Microseconds (Decimal) to integer ns."""
    return int(us * 1000)


def printable(s):
    return "".join(c if " " <= c < "\x7f" else "?" for c in s)


class Timeline:
    """The trace's events grouped by track, and its names."""

    def __init__(self, trace):
        ev = trace["traceEvents"]
        self.events = ev
        # ts are microseconds after this (CLOCK_MONOTONIC ns).
        self.base = trace.get("otherData", {}).get("time_base_ns", 0)
        self.proc = {}          # pid -> process name
        self.thread = {}        # (pid, tid) -> thread name
        for e in ev:
            if e.get("ph") == "M" and e.get("name") == "process_name":
                self.proc[e["pid"]] = e["args"]["name"]
            if e.get("ph") == "M" and e.get("name") == "thread_name":
                self.thread[(e["pid"], e["tid"])] = e["args"]["name"]
        self.slices = {}        # (pid, tid) -> X events in file order
        for e in ev:
            if e.get("ph") == "X":
                self.slices.setdefault((e["pid"], e["tid"]), []).append(e)

    def run_pids(self, run):
        """pids of the run's process groups ("pool run 1: ...")."""
        prefix = "%s run %d: " % (run["mode"], run.get("repeat", 0) + 1)
        return {p for p, n in self.proc.items() if n.startswith(prefix)}

    def track(self, pids, name):
        keys = [k for k, n in self.thread.items() if k[0] in pids and n == name]
        expect(len(keys) == 1, "%d tracks named %r" % (len(keys), name))
        return keys[0]


def check_well_formed(trace):
    expect(isinstance(trace.get("traceEvents"), list) and trace["traceEvents"],
           "no traceEvents array")
    tl = Timeline(trace)
    used_pids, used_tracks = set(), set()
    for e in tl.events:
        for k in ("ph", "pid", "tid"):
            expect(k in e, "event without %s: %r" % (k, e))
        expect(isinstance(e["pid"], int) and isinstance(e["tid"], int), "ids: %r" % e)
        for v in e.values():
            expect(not isinstance(v, list), "an array in an event (Perfetto refuses): %r" % e)
        if e["ph"] != "M":
            expect("ts" in e and e["ts"] >= 0, "ts: %r" % e)
            used_pids.add(e["pid"])
            used_tracks.add((e["pid"], e["tid"]))
        if e["ph"] == "X":
            expect("dur" in e and e["dur"] >= 0, "dur: %r" % e)
            expect(e.get("name"), "X without a name: %r" % e)
    expect(used_pids <= set(tl.proc), "pids without process_name: %r" %
           sorted(used_pids - set(tl.proc))[:5])
    expect(used_tracks <= set(tl.thread), "tracks without thread_name: %r" %
           sorted(used_tracks - set(tl.thread))[:5])
    return tl


def check_tracks_monotonic(tl):
    for key, sl in tl.slices.items():
        prev_end = None
        if all(e.get("cat") == "python" for e in sl):
            # Python spans (imports, GC, calls, GIL waits) nest: each slice
            # lies inside the enclosing one or after it, never across.
            stack = []
            for e in sl:
                while stack and stack[-1] <= e["ts"]:
                    stack.pop()
                end = e["ts"] + e["dur"]
                expect(not stack or end <= stack[-1], "track %r (%s): slice at %s crosses "
                       "the end of its parent at %s" % (key, tl.thread.get(key), e["ts"],
                                                        stack[-1] if stack else None))
                stack.append(end)
            continue
        for e in sl:
            if prev_end is not None:
                expect(e["ts"] >= prev_end, "track %r (%s): slice at %s overlaps one ending "
                       "at %s" % (key, tl.thread.get(key), e["ts"], prev_end))
            prev_end = e["ts"] + e["dur"]


def check_flows(tl):
    flows = {}
    for e in tl.events:
        if e["ph"] in ("s", "f"):
            expect("id" in e and e.get("cat") and e.get("name"), "flow: %r" % e)
            flows.setdefault((e["cat"], e["name"], e["id"]), []).append(e)
    expect(flows, "no flows")
    kinds = set()
    for key, evs in flows.items():
        phs = sorted(e["ph"] for e in evs)
        expect(phs == ["f", "s"], "flow %r: %r" % (key, phs))
        s = [e for e in evs if e["ph"] == "s"][0]
        f = [e for e in evs if e["ph"] == "f"][0]
        expect(f.get("bp") == "e", "flow end not bound to its slice: %r" % f)
        expect(s["ts"] <= f["ts"], "flow %r goes back in time" % (key,))
        expect((s["pid"], s["tid"]) != (f["pid"], f["tid"]), "flow %r to itself" % (key,))
        for e in (s, f):
            expect((e["pid"], e["tid"]) in tl.slices, "flow %r on a track with no slices" % (key,))
        kinds.add(key[0])
    expect(kinds == {"wakeup", "fork"}, "flow kinds %r" % kinds)


STATE_BUCKET = [
    (re.compile(r"^running$"), "oncpu"),
    (re.compile(r"^runnable \(woken\)$"), "runq_wakeup"),
    (re.compile(r"^new$"), "runq_wakeup"),
    (re.compile(r"^runnable \(preempted\)$"), "runq_preempt"),
    (re.compile(r"^sleep: .+$"), "sleep"),
    (re.compile(r"^D: .+$"), "dsleep"),
    (re.compile(r"^(unknown|dead)$"), "unaccounted"),
]


def bucket_of(name):
    for rx, b in STATE_BUCKET:
        if rx.match(name):
            return b
    raise Failed("slice name %r is no state" % name)


def check_runs(tl, report):
    """Every task has its track, whose slices are its buckets; the run's
    critical path and phases; the runnable counter."""
    for run in runs_of(report):
        pids = tl.run_pids(run)
        what = "%s run %d" % (run["mode"], run.get("repeat", 0) + 1)
        expect(pids, "%s: no process group" % what)
        for t in run["tasks"]:
            key = tl.track(pids, "%s %s %d" % (t["role"], printable(t["comm"]), t["tid"]))
            sl = tl.slices.get(key, [])
            expect(sl or t["lifetime_ns"] == 0, "%s tid %d: no slices" % (what, t["tid"]))
            got = {}
            for e in sl:
                b = bucket_of(e["name"])
                got[b] = got.get(b, 0) + ns(e["dur"])
            total = sum(got.values())
            expect(abs(total - t["lifetime_ns"]) <= 1,
                   "%s tid %d: slices sum %d, lifetime %d" % (what, t["tid"], total,
                                                              t["lifetime_ns"]))
            for b in ("oncpu", "runq_wakeup", "runq_preempt", "sleep", "dsleep", "unaccounted"):
                expect(abs(got.get(b, 0) - t[b + "_ns"]) <= 1,
                       "%s tid %d: %s slices %d vs %s_ns %d" % (what, t["tid"], b,
                                                               got.get(b, 0), b, t[b + "_ns"]))
            if sl:
                expect(ns(sl[0]["ts"]) + tl.base == t["start_ns"],
                       "%s tid %d: first slice at %s, start_ns %d" % (what, t["tid"],
                                                                      sl[0]["ts"], t["start_ns"]))
        main = [p for p in pids if tl.proc[p].split(": ", 1)[1] ==
                "%s [%d]" % (printable(run["tasks"][0]["comm"]), run["tasks"][0]["pid"])]
        expect(len(main) == 1, "%s: main process %r" % (what, main))
        cp = tl.slices.get(tl.track(main, "critical path"), [])
        want = [s for s in run["critical_path"] if s["duration_ns"] > 0]
        expect(len(cp) == len(want), "%s: %d critical path slices, %d segments" %
               (what, len(cp), len(want)))
        for e, s in zip(cp, want):
            expect(e["name"] == "%s: %s" % (s["role"], s["bucket"]) and
                   ns(e["dur"]) == s["duration_ns"] and
                   ns(e["ts"]) + tl.base == s["start_ns"],
                   "%s: critical path slice %r vs %r" % (what, e, s))
        cp_ns = sum(ns(e["dur"]) for e in cp)
        expect(abs(cp_ns - run["wall_ns"]) <= run["wall_ns"] * 0.01,
               "%s: critical path slices sum %d, wall %d" % (what, cp_ns, run["wall_ns"]))
        ph = [e["name"] for e in tl.slices.get(tl.track(main, "phases"), [])]
        want = [p["name"] for p in run["phases"] if p["duration_ns"] > 0]
        if run.get("teardown", {}).get("duration_ns"):
            want.append("teardown")
        expect(ph == want, "%s: phases %r, want %r" % (what, ph, want))
        vals = [e["args"]["value"] for e in tl.events
                if e["ph"] == "C" and e["pid"] in main and e["name"] == "runnable tasks"]
        expect(vals, "%s: no runnable tasks counter" % what)
        expect(min(vals) >= 0 and vals[-1] == 0, "%s: counter values %r" % (what, vals[:20]))
        expect(max(vals) >= run["facts"]["peak_runnable"],
               "%s: counter peak %d < peak_runnable %d" % (what, max(vals),
                                                         run["facts"]["peak_runnable"]))


def check_timeline(x):
    x.ok()
    tl = check_well_formed(x.trace)
    check_tracks_monotonic(tl)
    check_flows(tl)
    check_runs(tl, x.report)
    for e in tl.events:
        if e["ph"] == "C":
            expect(all(v >= 0 for v in e["args"].values()), "negative counter %r" % e)
    st = os.stat(x.trace_path)
    expect(stat.S_IMODE(st.st_mode) == 0o600, "trace mode %o" % stat.S_IMODE(st.st_mode))
    left = [n for n in os.listdir(x.dir) + os.listdir(x.csv_dir) if n.endswith(".tmp")]
    expect(not left, "temporary files left: %r" % left)


def read_csv(x, name):
    path = os.path.join(x.csv_dir, name)
    st = os.stat(path)
    expect(stat.S_IMODE(st.st_mode) == 0o600, "%s mode %o" % (name, stat.S_IMODE(st.st_mode)))
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def check_csv(x):
    x.ok()
    st = os.stat(x.csv_dir)
    expect(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700,
           "csv dir mode %o" % st.st_mode)
    runs = x.runs()
    rows = read_csv(x, "tasks.csv")
    want = [(i, t["tid"]) for i, r in enumerate(runs) for t in r["tasks"]]
    expect([(int(r["run"]), int(r["tid"])) for r in rows] == want,
           "tasks.csv rows %d vs %d tasks" % (len(rows), len(want)))
    for row in rows:
        run = runs[int(row["run"])]
        t = [t for t in run["tasks"] if t["tid"] == int(row["tid"])][0]
        expect(row["mode"] == run["mode"] and row["role"] == t["role"] and
               row["comm"] == t["comm"], "tasks.csv names %r vs %r" % (row, t))
        for k in ("pid", "ppid", "start_ns", "end_ns", "lifetime_ns", "dsleep_ns",
                  "switches_voluntary", "switches_involuntary", "wakeups") + \
                tuple(b + "_ns" for b in BUCKETS):
            expect(int(row[k]) == t[k], "tasks.csv tid %d %s: %s vs %s" % (t["tid"], k, row[k],
                                                                          t[k]))
        for k in ("sum_exec_runtime_ns", "run_delay_ns"):
            if k in t["kernel"]:
                expect(int(row["kernel_" + k]) == t["kernel"][k],
                       "tasks.csv tid %d kernel %s" % (t["tid"], k))
            else:
                expect(row["kernel_" + k] == "", "tasks.csv tid %d kernel %s" % (t["tid"], k))
    waits = read_csv(x, "waits.csv")
    for i, run in enumerate(runs):
        for t in run["tasks"]:
            mine = [w for w in waits if int(w["run"]) == i and int(w["tid"]) == t["tid"]]
            expect(len(mine) >= len(t["waits"]), "waits.csv tid %d: %d rows, JSON %d" %
                   (t["tid"], len(mine), len(t["waits"])))
            for w, j in zip(mine, t["waits"]):
                expect((w["reason"], int(w["ns"]), int(w["count"]), w["iowait"] == "1") ==
                       (j["reason"], j["ns"], j["count"], j["iowait"]) and w["role"] == t["role"],
                       "waits.csv %r vs %r" % (w, j))
            expect(sum(int(w["ns"]) for w in mine) == t["sleep_ns"] + t["dsleep_ns"],
                   "waits.csv tid %d: waits sum to %d, sleep + dsleep %d" %
                   (t["tid"], sum(int(w["ns"]) for w in mine), t["sleep_ns"] + t["dsleep_ns"]))
    cp = read_csv(x, "critical_path.csv")
    want = [(i, s) for i, r in enumerate(runs) for s in r["critical_path"]]
    expect(len(cp) == len(want), "critical_path.csv %d rows, %d segments" % (len(cp), len(want)))
    for row, (i, s) in zip(cp, want):
        got = (int(row["run"]), int(row["tid"]), row["role"], row["kind"], row["bucket"],
               row["reason"], int(row["start_ns"]), int(row["end_ns"]),
               int(row["duration_ns"]), int(row["via_tid"] or 0))
        exp = (i, s["tid"], s["role"], s["kind"], s["bucket"], s.get("reason", ""),
               s["start_ns"], s["end_ns"], s["duration_ns"], s.get("via_tid", 0))
        expect(got == exp, "critical_path.csv %r vs %r" % (got, exp))


# ---- tests ------------------------------------------------------------------

_both = None


def both():
    global _both
    if _both is None:
        _both = Export(["--mode=both"], "t.json")
    return _both


def test_perfetto_timeline_both_modes():
    check_timeline(both())


def test_csv_both_modes():
    check_csv(both())


def test_perfetto_gzip_native_pool():
    x = Export(["--mode=pool", "--runtime=native", "--tasks", "4", "--workers", "2",
                "--task=sleep", "--task-ms", "5"], "t.json.gz")
    try:
        x.ok()
        with open(x.trace_path, "rb") as f:
            expect(f.read(2) == b"\x1f\x8b", "not gzip")
        check_timeline(x)
        check_csv(x)
    finally:
        x.close()


def test_perfetto_command():
    """A command (no markers: one phase) whose children exec."""
    x = Export(["--", "sh", "-c", "for i in 1 2 3; do sleep 0.01 & done; wait"], "t.json")
    try:
        x.ok()
        check_timeline(x)
        check_csv(x)
        expect(len(x.runs()[0]["tasks"]) == 4, "%d tasks" % len(x.runs()[0]["tasks"]))
    finally:
        x.close()


def one_line_error(args, what):
    t0 = time.monotonic()
    p = subprocess.run([MPXTRACE] + args + ["--", "sleep", "3"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    expect(p.returncode == 1 and len(lines) == 1 and what in lines[0],
           "%r: rc %d, stderr %r" % (args, p.returncode, p.stderr))
    expect(time.monotonic() - t0 < 2.5, "%r: failed only after tracing" % args)


def test_unwritable_paths_fail_early():
    d = tempfile.mkdtemp(prefix="mpx-export-")
    try:
        one_line_error(["--perfetto", "/nonexistent-mpx/t.json"], "--perfetto")
        one_line_error(["--perfetto", d], "--perfetto")
        one_line_error(["--csv", "/proc/version"], "--csv")
        one_line_error(["--csv", "/nonexistent-mpx/a/b"], "--csv")
        expect(not os.listdir(d), "left in %s: %r" % (d, os.listdir(d)))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    only = sys.argv[1:]
    passed = failed = 0
    try:
        for name, fn in tests:
            if only and not any(o in name for o in only):
                continue
            try:
                fn()
                print("ok - %s" % name)
                passed += 1
            except (Failed, subprocess.TimeoutExpired, KeyError, TypeError, ValueError,
                    OSError, IndexError) as e:
                print("FAIL - %s: %s: %s" % (name, type(e).__name__, e))
                failed += 1
            sys.stdout.flush()
    finally:
        if _both is not None:
            _both.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
