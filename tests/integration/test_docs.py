#!/usr/bin/env python3
"""The documentation says what the program does: every long option of
`mpxtrace --help` is in the man page and the other way round, and the
README's quick start names the make targets that exist.

Plain python3, no root needed.  Prints `ok - NAME` / `FAIL - NAME: detail`
and ends with `N passed, M failed`.
"""
import os
import re
import subprocess
import sys

import mpxtest
from mpxtest import Failed, expect

MPXTRACE = os.environ.get("MPXTRACE", "./mpxtrace")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def help_options():
    out = subprocess.run([MPXTRACE, "--help"], stdout=subprocess.PIPE, text=True).stdout
    return set(re.findall(r"--([a-z][a-z0-9-]+)", out.split("OPTIONS:", 1)[1]))


def man_options():
    with open(os.path.join(ROOT, "mpxtrace.8")) as f:
        man = f.read()
    # Only the OPTIONS section defines options (.TP items there).
    opts = man.split(".SH OPTIONS", 1)[1].split("\n.SH ", 1)[0]
    return set(re.findall(r"\\-\\-([a-z][a-z0-9\\-]+)", opts.replace("\\-", "-")
                          .replace("-", "\\-")))


def test_help_and_man_page_list_the_same_options():
    h, m = help_options(), {o.replace("\\", "") for o in man_options()}
    missing_in_man, missing_in_help = sorted(h - m), sorted(m - h)
    assert not missing_in_man and not missing_in_help, \
        "only in --help: %r; only in the man page: %r" % (missing_in_man, missing_in_help)


def test_help_has_usage_and_examples():
    out = subprocess.run([MPXTRACE, "--help"], stdout=subprocess.PIPE, text=True).stdout
    assert "USAGE:" in out and "EXAMPLES:" in out, "no USAGE/EXAMPLES in --help"


def test_readme_quick_start_targets_exist():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(ROOT, "Makefile")) as f:
        targets = set(re.findall(r"^([a-z][a-z0-9_-]*):", f.read(), re.M))
    named = set(re.findall(r"make ([a-z][a-z0-9_-]*)", readme))
    assert {"run", "check"} <= named, "quick start does not name make run/check"
    assert named <= targets, "README names missing targets: %r" % sorted(named - targets)


def main():
    return mpxtest.main(globals())


if __name__ == "__main__":
    sys.exit(main())
