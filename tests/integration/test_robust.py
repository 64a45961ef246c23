#!/usr/bin/env python3
"""Root robustness tests: signals mid-run, big and odd process trees, a ring
buffer too small on purpose, bad output paths.  Nothing may hang, crash,
leave processes or BPF programs behind, or be silently wrong.

Plain python3, stdlib only.  Environment: MPXTRACE (default ./mpxtrace).
Prints `ok - NAME` / `FAIL - NAME: detail` and ends with `N passed, M failed`.
"""
import json
import os
import signal
import subprocess
import sys

import mpxtest
from mpxtest import Failed, expect
import tempfile
import time

MPXTRACE = os.environ.get("MPXTRACE", "./mpxtrace")
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else "python3"


def loaded_progs():
    """IDs of every BPF program loaded right now."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    return {p["id"] for p in json.loads(out or "[]")}


def progs_of(pid):
    """IDs of the BPF programs process pid holds open (from its fdinfo)."""
    ids = set()
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def alive(tag):
    """Processes whose command line carries tag."""
    out = subprocess.run(["pgrep", "-f", tag], stdout=subprocess.PIPE, text=True).stdout
    return [int(p) for p in out.split()]


def run_json(args, timeout=120, prefix=()):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        p = subprocess.run(list(prefix) + [MPXTRACE, "-j", "-o", out.name] + args,
                           stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        try:
            with open(out.name) as f:
                return p, json.load(f)
        except ValueError:
            return p, None


def interrupted(sig):
    tag = "mpxrobust%d" % sig
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        p = subprocess.Popen([MPXTRACE, "-j", "-o", out.name, "--", "sh", "-c",
                              "sleep 60 & sleep 61; wait # %s" % tag],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        expect(len(alive(tag)) >= 1, "workload not running")
        mine = progs_of(p.pid)
        expect(mine, "no programs of this run found loaded")
        t = time.monotonic()
        p.send_signal(sig)
        try:
            p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Failed("mpxtrace did not stop within 10 s of signal %d" % sig)
        took = time.monotonic() - t
        with open(out.name) as f:
            rep = json.load(f)
    expect(took < 4, "stopping took %.1f s" % took)
    expect(not alive(tag), "orphans left: %r" % alive(tag))
    # The kernel frees a program after an RCU grace period: give it a moment.
    for _ in range(40):
        if not mine & loaded_progs():
            break
        time.sleep(0.05)
    expect(not (mine & loaded_progs()), "BPF programs left loaded: %r"
           % (mine & loaded_progs()))
    expect(rep["interrupted"] and not rep["complete"], "report not marked partial")
    expect(p.returncode == 128 + (rep["exit_signal"] or 0) and rep["exit_signal"],
           "exit code %d, workload signal %r" % (p.returncode, rep["exit_signal"]))
    expect(len(rep["tasks"]) >= 3, "%d tasks seen" % len(rep["tasks"]))


def test_sigterm_mid_run():
    interrupted(signal.SIGTERM)


def test_sigint_mid_run():
    interrupted(signal.SIGINT)


def test_5000_short_lived_processes():
    code = ("import os\nfor i in range(5000):\n    pid = os.fork()\n"
            "    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n")
    p, rep = run_json(["--", PY, "-c", code], timeout=300)
    expect(p.returncode == 0 and rep, "rc %d: %s" % (p.returncode, p.stderr[-300:]))
    procs = [t for t in rep["tasks"] if not t["thread"]]
    if rep["lost_events"] == 0:
        expect(len(procs) == 5001, "%d processes" % len(procs))
        expect(all(t["exit_code"] == 0 for t in procs), "an exit code is wrong")
    else:
        expect(not rep["complete"] and any(t["lost_events"] for t in rep["tasks"]),
               "events lost but no task flagged")


def test_200_threads():
    code = ("import threading, time\n"
            "ts = [threading.Thread(target=time.sleep, args=(0.02,)) for _ in range(200)]\n"
            "[t.start() for t in ts]\n[t.join() for t in ts]\n")
    p, rep = run_json(["--", PY, "-c", code])
    expect(p.returncode == 0 and rep, "rc %d: %s" % (p.returncode, p.stderr[-300:]))
    threads = [t for t in rep["tasks"] if t["thread"]]
    expect(len(threads) == 200, "%d threads" % len(threads))
    root = rep["tasks"][0]["pid"]
    expect(all(t["pid"] == root for t in threads), "a thread has another pid")
    # Each slept 20 ms; reconciliation of a missed switch-in may move a
    # little of it to on-CPU, and says so.
    short = [t for t in threads if t["sleep_ns"] + t["reconciled_ns"] < 19000000]
    expect(not short, "threads slept < 19 ms: %r" % [
        (t["tid"], t["sleep_ns"], t["reconciled_ns"], t["waits"][:2]) for t in short[:3]])
    # 200 threads on 2 CPUs: the tree and the sleeps are what is tested here;
    # the self-check bound is the core tests' business (it printed a 0.26 ms
    # run-queue deviation for the creating thread in 1 of 5 loaded runs).
    expect(rep["check"]["tasks_checked"] == 201, "checked %d tasks"
           % rep["check"]["tasks_checked"])


def test_setuid_exec():
    # The workload runs as nobody (sudo semantics) and execs a setuid binary.
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        p = subprocess.run([MPXTRACE, "-j", "-o", out.name, "--", "/usr/bin/passwd",
                            "--help"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        rep = json.load(open(out.name))
    expect(p.returncode == 0, "rc %d: %s" % (p.returncode, p.stderr[-200:]))
    t = rep["tasks"][0]
    expect(t["exec"] == "/usr/bin/passwd" and t["exit_code"] == 0,
           "exec %r exit %r" % (t.get("exec"), t["exit_code"]))


def test_files_belong_to_the_sudo_user():
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o1777)
        outs = {k: os.path.join(d, k) for k in ("report.txt", "trace.mpxt", "tl.json", "csv")}
        p = subprocess.run([MPXTRACE, "-o", outs["report.txt"], "--save", outs["trace.mpxt"],
                            "--perfetto", outs["tl.json"], "--csv", outs["csv"], "--", "true"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        expect(p.returncode == 0, "rc %d: %s" % (p.returncode, p.stderr[-200:]))
        for path in list(outs.values()) + [os.path.join(outs["csv"], f)
                                           for f in os.listdir(outs["csv"])]:
            st = os.stat(path)
            expect(st.st_uid == 65534 and st.st_gid == 65534,
                   "%s belongs to %d:%d" % (path, st.st_uid, st.st_gid))
        for k in ("trace.mpxt", "tl.json"):
            expect(os.stat(outs[k]).st_mode & 0o077 == 0, "%s is readable by others" % k)


def test_small_ringbuf_loss_is_reported():
    # Reader and workload share one CPU, so the reader falls behind.
    pin = ("taskset", "-c", "0")
    p, rep = run_json(["--ringbuf", "4K", "--", "perf", "bench", "sched", "pipe",
                       "-l", "50000"], prefix=pin)
    expect(p.returncode == 0 and rep, "rc %d: %s" % (p.returncode, p.stderr[-300:]))
    expect(rep["lost_events"] > 0, "a 4K ring buffer lost nothing: test is void")
    expect(not rep["complete"], "report says complete")
    expect(any(t["lost_events"] for t in rep["tasks"]), "no task flagged")
    text = subprocess.run(list(pin) + [MPXTRACE, "--ringbuf", "4K", "--", "perf", "bench",
                                       "sched", "pipe", "-l", "50000"],
                          stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True).stdout
    expect("INCOMPLETE TRACE" in text and "miss events" in text,
           "text report does not say it is incomplete")


def one_line_error(args, want_rc):
    with tempfile.TemporaryDirectory() as d:
        marker = os.path.join(d, "ran")
        p = subprocess.run([MPXTRACE] + args + ["--", "touch", marker],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        expect(p.returncode == want_rc and len(lines) == 1,
               "%r: rc %d, stderr %r" % (args, p.returncode, p.stderr))
        expect(not os.path.exists(marker), "the workload ran anyway")


def test_unwritable_output():
    one_line_error(["-o", "/nonexistent/dir/report.txt"], 1)


def test_bad_ringbuf_size():
    one_line_error(["--ringbuf", "3000"], 2)


def test_missing_python_interpreter():
    p = subprocess.run([MPXTRACE, "--mode=pool", "--runtime=python", "--python",
                        "/nonexistent/python3"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    expect(p.returncode == 127 and len(lines) == 1, "rc %d: %r" % (p.returncode, p.stderr))


def main():
    return mpxtest.main(globals())


if __name__ == "__main__":
    sys.exit(main())
