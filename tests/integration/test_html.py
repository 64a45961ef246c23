#!/usr/bin/env python3
"""Root integration tests of --html: the page of a traced run, checked
against the JSON report of the same run and rendered by a real browser
(Debian's chromium, headless; `make deps` installs it).

The page's first script records every uncaught error, unhandled rejection
and console.error into attributes of <html>; the drawing script marks
#mpx-status rendered and notes where its charts are.  The browser's own
console log (--enable-logging=stderr) is a second witness.  A screenshot at
the same window size is decoded here (zlib, stdlib) and the chart regions
must hold the colours the page draws with.

Plain python3, stdlib only, must run as root.  Environment: MPXTRACE
(default ./mpxtrace), CHROMIUM (default: chromium on PATH).  Prints
`ok - NAME` / `FAIL - NAME: detail` per test, then `N passed, M failed`.
"""
import html
import html.parser
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import mpxtest
from mpxtest import expect

MPXTRACE = os.environ.get("MPXTRACE", "./mpxtrace")
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "chromium"
TMP = tempfile.mkdtemp(prefix="mpx-html-")
WIDTH = 1280

# The page's colours (src/report_html.c): per bucket, and per run.
BUCKET_RGB = {"oncpu": (0x2c, 0xa0, 0x2c), "runq_wakeup": (0xff, 0x9f, 0x1c),
              "runq_preempt": (0xd6, 0x27, 0x28), "sleep": (0xc9, 0xd6, 0xe3),
              "dsleep_other": (0x94, 0x67, 0xbd), "blkio": (0x1f, 0x77, 0xb4)}
RUN_RGB = [(0x4e, 0x79, 0xa7), (0xe1, 0x57, 0x59)]


def path(name):
    return os.path.join(TMP, name)


def run(args, **kw):
    return subprocess.run([MPXTRACE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=600, **kw)


def lines(s):
    return [l for l in s.splitlines() if l.strip()]


# ---- the page ----------------------------------------------------------------

VOID = {"meta", "br", "link", "img", "input", "hr", "wbr", "col", "area", "base", "source"}


class Balance(html.parser.HTMLParser):
    """Every element closed, in order; the text and the data script kept."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.text, self.data = [], [], [], None
        self.in_data = False

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        self.stack.append(tag)
        self.in_data = tag == "script" and dict(attrs).get("id") == "mpx-data"

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> with %r open" % (tag, self.stack[-3:]))
            return
        self.stack.pop()
        self.in_data = False

    def handle_data(self, d):
        if self.in_data:
            self.data = (self.data or "") + d
        elif not (self.stack and self.stack[-1] in ("script", "style")):
            self.text.append(d)


def parse_page(page):
    b = Balance()
    b.feed(page)
    b.close()
    expect(not b.errors and not b.stack, "not well-formed: %r, open %r" % (b.errors[:3], b.stack))
    expect(b.data, "no embedded data")
    return b, json.loads(b.data)


def norm(s):
    return " ".join(s.split())


class Traced:
    """mpxtrace --html with the JSON report of the same run."""

    def __init__(self, name, args):
        self.html_path, self.json_path = path(name + ".html"), path(name + ".json")
        t0 = time.monotonic()
        self.p = run(["--html", self.html_path, "-j", "-o", self.json_path] + args)
        self.secs = time.monotonic() - t0
        expect(self.p.returncode == 0, "rc %d: %s" % (self.p.returncode, self.p.stderr[-400:]))
        with open(self.json_path) as f:
            self.report = json.load(f)
        with open(self.html_path, encoding="utf-8") as f:
            self.page = f.read()
        self.parsed, self.data = parse_page(self.page)
        self.runs = self.report["runs"] if "runs" in self.report else [self.report]


_both = None


def both():
    global _both
    if _both is None:
        _both = Traced("both", ["--mode=both", "--tasks", "3"])
    return _both


# ---- the browser -------------------------------------------------------------

def chromium(url, *extra, window=(WIDTH, 1000)):
    """Run headless chromium on url; returns (stdout, stderr)."""
    expect(shutil.which(CHROMIUM), "%s not found: make deps installs chromium" % CHROMIUM)
    prof = tempfile.mkdtemp(prefix="mpx-chromium-", dir=TMP)
    try:
        p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + prof,
                            "--enable-logging=stderr", "--v=0",
                            "--window-size=%d,%d" % window] + list(extra) + [url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=300)
    finally:
        shutil.rmtree(prof, ignore_errors=True)
    return p.stdout, p.stderr


def console_lines(stderr):
    """What the page wrote to the console: it writes nothing when well."""
    return [l for l in stderr.splitlines() if ":CONSOLE" in l]


def attr(dom, tag_re, name):
    m = re.search(r"<%s[\s>][^>]*\b%s=\"([^\"]*)\"" % (tag_re, name), dom)
    return html.unescape(m.group(1)) if m else None


class Render:
    """The page as the browser left it, at a window as tall as the page."""

    def __init__(self, html_path):
        url = "file://" + html_path
        t0 = time.monotonic()
        dom, err = chromium(url, "--dump-dom")
        self.secs = time.monotonic() - t0
        # No height: the script failed (the checks below say how).
        h = attr(dom, r'p id="mpx-status"', "data-page-height")
        self.height = min(int(h), 12000) if h else 3000
        # Again at the page's full height, so that the screenshot shows the
        # same layout (no scrollbar, nothing below the fold).
        self.dom, self.stderr = chromium(url, "--dump-dom", window=(WIDTH, self.height))
        self.errors = attr(self.dom, "html", "data-js-errors")
        self.error_text = attr(self.dom, "html", "data-js-error-text")
        self.rendered = attr(self.dom, r'p id="mpx-status"', "data-rendered")
        self.rects = {}
        for k in ("bucket", "rss", "gantt"):
            v = attr(self.dom, r'p id="mpx-status"', "data-%s-rect" % k)
            if v:
                self.rects[k] = tuple(int(x) for x in v.split(","))
        self.html_path = html_path

    def rows(self):
        """(run, tid) of every Gantt row in the DOM."""
        return [(int(r), int(t)) for r, t in
                re.findall(r'<div class="gantt-row[^"]*" data-run="(\d+)" data-tid="(\d+)"',
                           self.dom)]

    def screenshot(self):
        png = os.path.join(TMP, "shot-%d.png" % os.getpid())
        if os.path.exists(png):
            os.unlink(png)
        chromium("file://" + self.html_path, "--screenshot=" + png,
                 window=(WIDTH, self.height))
        with open(png, "rb") as f:
            return Png(f.read())


class Png:
    """An 8-bit RGB or RGBA PNG, decoded with zlib; rows unfiltered on demand."""

    def __init__(self, data):
        expect(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
        pos, idat = 8, []
        while pos < len(data):
            n, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + n]
            if kind == b"IHDR":
                self.w, self.h, depth, ctype = struct.unpack(">IIBB", body[:10])
                expect(depth == 8 and ctype in (2, 6), "PNG depth %d type %d" % (depth, ctype))
                self.bpp = 3 if ctype == 2 else 4
            elif kind == b"IDAT":
                idat.append(body)
            pos += 12 + n
        self.raw = zlib.decompress(b"".join(idat))
        self.stride = self.w * self.bpp
        self.rows = []

    def row(self, y):
        bpp, stride = self.bpp, self.stride
        while len(self.rows) <= y:
            i = len(self.rows)
            off = i * (stride + 1)
            ft, line = self.raw[off], bytearray(self.raw[off + 1:off + 1 + stride])
            prev = self.rows[-1] if self.rows else bytes(stride)
            if ft == 1:
                for x in range(bpp, stride):
                    line[x] = (line[x] + line[x - bpp]) & 255
            elif ft == 2:
                line = bytearray((a + b) & 255 for a, b in zip(line, prev))
            elif ft == 3:
                for x in range(stride):
                    left = line[x - bpp] if x >= bpp else 0
                    line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
            elif ft == 4:
                for x in range(stride):
                    a = line[x - bpp] if x >= bpp else 0
                    b, c = prev[x], prev[x - bpp] if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[x] = (line[x] + (a if pa <= pb and pa <= pc else
                                          b if pb <= pc else c)) & 255
            else:
                expect(ft == 0, "PNG filter %d" % ft)
            self.rows.append(bytes(line))
        return self.rows[y]

    def colours(self, rect):
        """Pixel counts per exact RGB in rect (x, y, w, h)."""
        x, y, w, h = rect
        counts = {}
        for yy in range(max(0, y), min(self.h, y + h)):
            r = self.row(yy)
            for xx in range(max(0, x), min(self.w, x + w)):
                o = xx * self.bpp
                k = (r[o], r[o + 1], r[o + 2])
                counts[k] = counts.get(k, 0) + 1
        return counts


_render = None


def render_both():
    global _render
    if _render is None:
        _render = Render(both().html_path)
    return _render


# ---- tests -------------------------------------------------------------------

def test_page_is_self_contained_and_well_formed():
    x = both()
    expect(x.page.startswith("<!DOCTYPE html>\n"), "no doctype")
    mode = stat.S_IMODE(os.stat(x.html_path).st_mode)
    expect(mode == 0o600, "mode %o" % mode)
    # Nothing to fetch: no src/href attributes, no CSS urls, no imports;
    # the only URL is the SVG namespace.
    for bad in (" src=", " href=", "url(", "@import", "<link", "<iframe"):
        expect(bad not in x.page, "%r in the page" % bad)
    expect(re.findall(r"https?://[^'\"\s]*", x.page) == ["http://www.w3.org/2000/svg"],
           "URLs: %r" % re.findall(r"https?://[^'\"\s]*", x.page)[:5])
    left = [n for n in os.listdir(TMP) if n.endswith(".tmp")]
    expect(not left, "temporary files left: %r" % left)


def test_page_says_what_the_text_report_says():
    x = both()
    text = norm(html.unescape(" ".join(x.parsed.text)))
    ex = x.report["explanation"]
    expect(len(ex["sentences"]) >= 2, "%d sentences" % len(ex["sentences"]))
    for s in ex["sentences"]:
        expect(norm(s) in text, "sentence missing from the page: %r" % s)
    for c in ex["claims"]:
        expect(norm(c["claim"]) in text and c["verdict"] in text,
               "claim missing: %r" % c["claim"])
    # And the whole text report, as printed for the same trace.
    pre = re.search(r"<pre>(.*?)</pre>", x.page, re.S)
    expect(pre, "no text report")
    expect("Why:" in html.unescape(pre.group(1)), "the text report has no Why:")


def test_data_matches_the_json_report():
    x = both()
    expect(len(x.data["runs"]) == len(x.runs) == 2, "%d runs in the page, %d in the report"
           % (len(x.data["runs"]), len(x.runs)))
    order = x.data["buckets"]
    for d, r in zip(x.data["runs"], x.runs):
        expect(d["mode"] == r["mode"], "mode %s vs %s" % (d["mode"], r["mode"]))
        tids = [t["tid"] for p in d["procs"] for t in p["tasks"]]
        expect(sorted(tids) == sorted(t["tid"] for t in r["tasks"]),
               "%s: tasks %r vs %r" % (r["mode"], sorted(tids),
                                       sorted(t["tid"] for t in r["tasks"])))
        for b, ns in zip(order, d["totals_ns"]):
            want = sum(t["%s_ns" % b] for t in r["tasks"])
            expect(ns == want, "%s %s: %d vs the tasks' %d" % (r["mode"], b, ns, want))
        # The segments tile each task's life (merging loses no time).
        for p in d["procs"]:
            for t in p["tasks"]:
                seg = t["seg"]
                expect(len(seg) == 3 * t["nseg"] and seg, "tid %d: %d numbers for %d segments"
                       % (t["tid"], len(seg), t["nseg"]))
                for i in range(3, len(seg), 3):
                    expect(seg[i] == seg[i - 3] + seg[i - 2], "tid %d: gap at %d us"
                           % (t["tid"], seg[i]))
                expect(abs(seg[0] - t["start_us"]) <= 1 and
                       abs(seg[-3] + seg[-2] - t["end_us"]) <= 1,
                       "tid %d: segments %d-%d us, life %d-%d" %
                       (t["tid"], seg[0], seg[-3] + seg[-2], t["start_us"], t["end_us"]))
        # Task processes are grouped: every task of a process in its group.
        for p in d["procs"]:
            pids = {t["tid"]: t["pid"] for t in r["tasks"]}
            expect(all(pids[t["tid"]] == p["pid"] for t in p["tasks"]),
                   "process %d holds others' tasks" % p["pid"])
        peak = max((q[1] for q in d["rss"]), default=0)
        expect(peak == d["rss_peak_pages"] and peak * 4096 == r["footprint_peak_bytes"],
               "%s: memory plot peaks at %d pages, report %d bytes"
               % (r["mode"], peak, r["footprint_peak_bytes"]))


def test_browser_runs_the_page_without_errors():
    r = render_both()
    expect(r.errors == "0", "the page caught %s errors: %s" % (r.errors, r.error_text))
    expect(r.rendered == "1", "the drawing script did not finish")
    cl = console_lines(r.stderr)
    expect(not cl, "console: %r" % cl[:3])
    print("# rendered in %.2f s (chromium start included)" % r.secs)


def test_browser_draws_one_gantt_row_per_task():
    r, x = render_both(), both()
    rows = r.rows()
    for i, run_ in enumerate(x.runs):
        got = sorted(t for ri, t in rows if ri == i)
        want = sorted(t["tid"] for t in run_["tasks"])
        expect(got == want, "run %d: Gantt rows %r, report tasks %r" % (i, got, want))
    expect(len(rows) == sum(len(r_["tasks"]) for r_ in x.runs), "%d rows" % len(rows))


def test_screenshot_charts_are_drawn():
    r = render_both()
    expect(len(r.rects) == 3, "the page did not say where its charts are: %r" % r.rects)
    png = r.screenshot()
    expect(png.w == WIDTH and png.h == r.height, "screenshot %dx%d, window %dx%d"
           % (png.w, png.h, WIDTH, r.height))
    # The bucket bars: each run's colour fills bars.
    c = png.colours(r.rects["bucket"])
    for i, rgb in enumerate(RUN_RGB):
        expect(c.get(rgb, 0) >= 300, "bucket bars: %d pixels of run %d's colour"
               % (c.get(rgb, 0), i))
    # The memory plot: each run's line (anti-aliased: near its colour).
    c = png.colours(r.rects["rss"])
    for i, rgb in enumerate(RUN_RGB):
        near = sum(n for k, n in c.items() if sum(abs(a - b) for a, b in zip(k, rgb)) < 60)
        expect(near >= 100, "memory plot: %d pixels near run %d's colour" % (near, i))
    # The Gantt chart: on-CPU time of every run, and waits.
    c = png.colours(r.rects["gantt"])
    oncpu = c.get(BUCKET_RGB["oncpu"], 0)
    expect(oncpu >= 1000, "Gantt: %d on-CPU pixels" % oncpu)
    states = [b for b, rgb in BUCKET_RGB.items() if c.get(rgb, 0) >= 20]
    expect(len(states) >= 3, "Gantt: only %r drawn" % states)
    # Outside the charts the page is mostly white: they are not all colour.
    expect(c.get((255, 255, 255), 0) > 0, "Gantt region has no background")


def test_report_writes_the_same_page_and_exits_0():
    live = path("live.html")
    trace = path("killed.mpxt")
    # A workload killed by a signal: the live run mirrors 128+9, the report
    # of its trace reports it and exits 0.
    p = run(["--html", live, "--save", trace, "--", "sh", "-c", "sleep 0.02; kill -9 $$"])
    expect(p.returncode == 137, "live rc %d: %s" % (p.returncode, p.stderr[-300:]))
    again = path("again.html")
    p = run(["report", "--html", again, trace])
    expect(p.returncode == 0, "report rc %d: %s" % (p.returncode, p.stderr[-300:]))
    expect("killed by SIGKILL" in p.stdout, "report: %r" % p.stdout[:300])
    with open(live) as a, open(again) as b:
        page = a.read()
        expect(page == b.read(), "report --html differs from the live page")
    m = re.search(r'<p class="meta" id="command-status">([^<]*)</p>', page)
    expect(m and m.group(1).startswith("The command: killed by SIGKILL,"),
           "the page says %r" % (m and m.group(1)))
    p = run(["report", "-j", trace])
    expect(p.returncode == 0 and json.loads(p.stdout)["exit_signal"] == 9,
           "report -j rc %d" % p.returncode)


def test_unwritable_paths_fail_early():
    d = tempfile.mkdtemp(prefix="mpx-html-bad-", dir=TMP)
    for target in ("/nonexistent-mpx/p.html", d):
        t0 = time.monotonic()
        p = run(["--html", target, "--", "sleep", "3"])
        ls = lines(p.stderr)
        expect(p.returncode == 1 and len(ls) == 1 and "--html" in ls[0],
               "%s: rc %d, stderr %r" % (target, p.returncode, p.stderr))
        expect(time.monotonic() - t0 < 2.5, "%s: failed only after tracing" % target)
    expect(not os.listdir(d), "left in %s: %r" % (d, os.listdir(d)))
    trace = path("true.mpxt")
    p = run(["record", "-o", trace, "--", "true"])
    expect(p.returncode == 0, "record rc %d" % p.returncode)
    p = run(["report", "--html", "/nonexistent-mpx/p.html", trace])
    expect(p.returncode == 1 and len(lines(p.stderr)) == 1 and p.stdout == "",
           "report: rc %d, stderr %r, stdout %r" % (p.returncode, p.stderr, p.stdout[:80]))
    p = run(["record", "-o", path("x.mpxt"), "--html", path("x.html"), "--", "true"])
    expect(p.returncode == 2 and "--html belongs to mpxtrace report" in p.stderr,
           "record --html: rc %d %r" % (p.returncode, p.stderr))


def test_page_belongs_to_the_sudo_user():
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
    d = tempfile.mkdtemp(prefix="mpx-html-sudo-", dir=TMP)
    os.chmod(d, 0o1777)
    out = os.path.join(d, "p.html")
    p = run(["--html", out, "--", "true"], env=env)
    expect(p.returncode == 0, "rc %d: %s" % (p.returncode, p.stderr[-200:]))
    st = os.stat(out)
    expect(st.st_uid == 65534 and st.st_gid == 65534, "belongs to %d:%d"
           % (st.st_uid, st.st_gid))
    expect(stat.S_IMODE(st.st_mode) == 0o600, "mode %o" % stat.S_IMODE(st.st_mode))


def test_thousands_of_tasks():
    """A command forking 2000 short-lived processes: one row each, drawn."""
    x = Traced("many", ["--", "sh", "-c", "i=0; while [ $i -lt 2000 ]; do /bin/true & "
                        "i=$((i+1)); done; wait"])
    n = len(x.runs[0]["tasks"])
    expect(n >= 2001, "%d tasks" % n)
    expect(x.data["segments"] <= 150000, "%d segments" % x.data["segments"])
    r = Render(x.html_path)
    expect(r.errors == "0" and r.rendered == "1" and not console_lines(r.stderr),
           "errors %s %s %r" % (r.errors, r.error_text, console_lines(r.stderr)[:3]))
    rows = r.rows()
    expect(sorted(t for _, t in rows) == sorted(t["tid"] for t in x.runs[0]["tasks"]),
           "%d Gantt rows for %d tasks" % (len(rows), n))
    print("# %d tasks: page %d KiB, rendered in %.2f s (chromium start included)"
          % (n, os.path.getsize(x.html_path) // 1024, r.secs))


if __name__ == "__main__":
    try:
        rc = mpxtest.main(globals())
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
