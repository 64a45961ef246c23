#!/usr/bin/env python3
"""Root integration tests of trace files: `mpxtrace record`, `--save` and
`mpxtrace report`.  A saved run reports exactly as it did live, anywhere,
without root; a damaged file is one line and exit 1, never a crash.

Plain python3, stdlib only, must run as root.  Environment: MPXTRACE
(default ./mpxtrace).  Prints `ok - NAME` / `FAIL - NAME: detail` per test
and ends with `N passed, M failed`.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import mpxtest
from mpxtest import Failed, expect

MPXTRACE = os.path.abspath(os.environ.get("MPXTRACE", "./mpxtrace"))
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
TMP = tempfile.mkdtemp(prefix="mpx-tracefile-")


def run(args, prefix=(), **kw):
    return subprocess.run(list(prefix) + [MPXTRACE] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120, **kw)


def path(name):
    return os.path.join(TMP, name)


def lines(s):
    return [l for l in s.splitlines() if l.strip()]


def live_and_saved(name, args, json_out=True):
    """A live run with --save: (its report, the trace file)."""
    out, trace = path(name + ".live"), path(name + ".mpxt")
    p = run((["-j"] if json_out else []) + ["-o", out, "--save", trace] + args)
    expect(p.returncode == 0, "live %r: rc %d: %s" % (args, p.returncode, p.stderr[-300:]))
    with open(out) as f:
        return f.read(), trace


def report(trace, *opts, prefix=()):
    return run(["report"] + list(opts) + [trace], prefix=prefix)


def expect_bad_file(trace, what):
    p = report(trace, "-j")
    expect(p.returncode == 1, "%s: rc %d (want 1), stderr %r" % (what, p.returncode, p.stderr))
    ls = lines(p.stderr)
    expect(len(ls) == 1 and ls[0].startswith("mpxtrace: "),
           "%s: stderr is not one line: %r" % (what, p.stderr))
    expect("Sanitizer" not in p.stderr and "Segmentation" not in p.stderr,
           "%s: crashed: %r" % (what, p.stderr))


# ---- tests ------------------------------------------------------------------

def check_same_as_live(name, args):
    live, trace = live_and_saved(name, args)
    p = report(trace, "-j")
    expect(p.returncode == 0, "report rc %d: %s" % (p.returncode, p.stderr))
    expect(p.stdout == live, "report -j of %s differs from the live -j output" % name)
    doc = json.loads(p.stdout)
    expect(doc, "empty JSON")
    return doc


def test_report_json_same_as_live_both():
    doc = check_same_as_live("both", ["--mode=both"])
    expect(len(doc["runs"]) == 2, "%d runs" % len(doc["runs"]))
    expect("explanation" in doc, "no explanation in the report of the file")


def test_report_json_same_as_live_command():
    doc = check_same_as_live("sleep", ["--", "sleep", "0.05"])
    expect(doc["command"] == "sleep 0.05", "command %r" % doc.get("command"))


def test_report_json_same_as_live_exact_rss():
    """--rss=exact: the kmem:rss_stat peaks come from a map at the end of
    the run, not from the events: the trace file keeps them too."""
    io = os.path.abspath(os.environ.get("MPX_IO", ".output/tests/mpx-io"))
    doc = check_same_as_live("exact", ["--rss=exact", "--", io, "mem", str(16 << 20)])
    peaks = [t.get("rss_peak_exact_bytes", 0) for t in doc["tasks"]]
    expect(max(peaks) >= 16 << 20, "exact peaks %r" % peaks)


def test_report_text_same_as_live():
    live, trace = live_and_saved("sleep-text", ["--", "sleep", "0.05"], json_out=False)
    for opts in ([], ["--wide"]):
        p = report(trace, *opts)
        expect(p.returncode == 0, "report %r rc %d: %s" % (opts, p.returncode, p.stderr))
        if not opts:
            expect(p.stdout == live, "text report differs from the live one")
    out = path("sleep-text.report")
    p = report(trace, "-o", out)
    with open(out) as f:
        expect(p.returncode == 0 and f.read() == live, "report -o differs from live")


def test_record_writes_a_file_and_one_line():
    for name, args, nruns in (("rec-both", ["--mode=both"], 2),
                              ("rec-sleep", ["--", "sleep", "0.05"], 1)):
        trace = path(name + ".mpxt")
        p = run(["record", "-o", trace] + args)
        expect(p.returncode == 0, "record %r: rc %d: %s" % (args, p.returncode, p.stderr))
        ls = lines(p.stderr)
        expect(len(ls) == 1, "record %r printed %r" % (args, p.stderr))
        m = re.match(r"^recorded (\d+) events in (\d+) runs? to (.*)$", ls[0])
        expect(m and int(m.group(2)) == nruns and m.group(3) == trace,
               "record line %r" % ls[0])
        expect(p.stdout == "", "record printed a report: %r" % p.stdout[:200])
        r = report(trace, "-j")
        expect(r.returncode == 0, "report rc %d: %s" % (r.returncode, r.stderr))
        doc = json.loads(r.stdout)
        runs = doc["runs"] if "runs" in doc else [doc]
        expect(len(runs) == nruns, "%d runs in the report" % len(runs))
        events = sum(x["events"] for x in runs)
        expect(events == int(m.group(1)), "record says %s events, report %d"
               % (m.group(1), events))


def test_record_exit_status_mirrors_the_command():
    trace = path("exit3.mpxt")
    p = run(["record", "-o", trace, "--", "sh", "-c", "exit 3"])
    expect(p.returncode == 3, "rc %d: %s" % (p.returncode, p.stderr))
    r = report(trace, "-j")
    expect(r.returncode == 0, "report of a failed command: rc %d" % r.returncode)
    expect(json.loads(r.stdout)["exit_status"] == 3, "exit status not in the report")


def test_file_mode_0600_and_no_temporary():
    trace = path("mode.mpxt")
    # Even with a permissive umask.
    p = run(["record", "-o", trace, "--", "true"], preexec_fn=lambda: os.umask(0))
    expect(p.returncode == 0, "rc %d: %s" % (p.returncode, p.stderr))
    mode = stat.S_IMODE(os.stat(trace).st_mode)
    expect(mode == 0o600, "record: mode %o" % mode)
    live, saved = live_and_saved("mode-save", ["--", "true"])
    mode = stat.S_IMODE(os.stat(saved).st_mode)
    expect(mode == 0o600, "--save: mode %o" % mode)
    left = [n for n in os.listdir(TMP) if n.endswith(".tmp")]
    expect(not left, "temporary files left: %r" % left)


def test_report_as_nobody():
    if not shutil.which("setpriv"):
        raise Failed("setpriv missing (util-linux)")
    live, trace = live_and_saved("nobody", ["--", "sleep", "0.05"])
    os.chmod(TMP, 0o755)
    os.chmod(trace, 0o644)
    p = report(trace, "-j", prefix=NOBODY)
    expect(p.returncode == 0, "as nobody: rc %d: %s" % (p.returncode, p.stderr))
    expect(p.stdout == live, "as nobody: the report differs from the live one")
    os.chmod(trace, 0o600)
    p = report(trace, "-j", prefix=NOBODY)
    expect(p.returncode == 1 and len(lines(p.stderr)) == 1 and
           "Permission denied" in p.stderr, "unreadable file: rc %d %r"
           % (p.returncode, p.stderr))


def test_report_twice_is_identical():
    trace = path("twice.mpxt")
    p = run(["record", "-o", trace, "--mode=both"])
    expect(p.returncode == 0, "record rc %d: %s" % (p.returncode, p.stderr))
    for opts in (["-j"], [], ["--wide"]):
        a, b = report(trace, *opts), report(trace, *opts)
        expect(a.returncode == 0 and b.returncode == 0, "rc %d %d" % (a.returncode, b.returncode))
        expect(a.stdout == b.stdout, "report %r differs between two reads" % opts)


def test_truncated_files_fail_cleanly():
    live, trace = live_and_saved("cut", ["--", "sleep", "0.05"])
    with open(trace, "rb") as f:
        data = f.read()
    n = len(data)
    for cut in sorted({0, 1, 7, 8, 20, 31, 32, 33, 40, n // 3, n // 2, n - 5, n - 1}):
        bad = path("cut-%d.mpxt" % cut)
        with open(bad, "wb") as f:
            f.write(data[:cut])
        expect_bad_file(bad, "cut at %d of %d" % (cut, n))


def test_flipped_bytes_fail_cleanly():
    live, trace = live_and_saved("flip", ["--", "sleep", "0.05"])
    with open(trace, "rb") as f:
        data = f.read()
    n = len(data)
    for off in sorted({0, 7, 8, 12, 16, 20, 24, 31, 32, 33, 40, n // 3, n // 2, n - 4, n - 1}):
        bad = bytearray(data)
        bad[off] ^= 0xff
        p = path("flip-%d.mpxt" % off)
        with open(p, "wb") as f:
            f.write(bad)
        expect_bad_file(p, "byte %d of %d flipped" % (off, n))
    junk = path("junk.mpxt")
    with open(junk, "wb") as f:
        f.write(data + b"trailing")
    expect_bad_file(junk, "trailing bytes")
    expect_bad_file("/etc/hostname", "not a trace file")
    expect_bad_file(path("missing.mpxt"), "missing file")
    expect_bad_file(TMP, "a directory")


def test_usage_errors():
    trace = path("usage.mpxt")
    for args in (["record", "--", "true"], ["record", "-o", trace],
                 ["record", "-o", trace, "-j", "--", "true"],
                 ["report"], ["report", "a.mpxt", "b.mpxt"],
                 ["report", "--mode=both", "a.mpxt"], ["report", "--as-root", "a.mpxt"]):
        p = run(args)
        expect(p.returncode == 2 and len(lines(p.stderr)) == 1,
               "%r: rc %d, stderr %r" % (args, p.returncode, p.stderr))
    expect(not os.path.exists(trace), "a usage error wrote a file")


def main():
    try:
        return mpxtest.main(globals())
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
