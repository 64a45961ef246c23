"""The shared runner of the integration suites: every function named test_*
in a module is a test; a test fails by raising.  Prints `ok - NAME` or
`FAIL - NAME: detail`, then `N passed, M failed`; returns the exit status.
Arguments select tests by part of their name."""
import subprocess
import sys


class Failed(Exception):
    """An expectation that did not hold; the message says actual vs expected."""


def expect(cond, what):
    if not cond:
        raise Failed(what)


def main(namespace, *args):
    tests = [(n, f) for n, f in sorted(namespace.items()) if n.startswith("test_")]
    only = sys.argv[1:]
    passed = failed = 0
    for name, fn in tests:
        if only and not any(o in name for o in only):
            continue
        try:
            fn(*args)
            print("ok - %s" % name)
            passed += 1
        except (Failed, AssertionError, subprocess.TimeoutExpired, KeyError, IndexError,
                TypeError, ValueError) as e:
            print("FAIL - %s: %s: %s" % (name, type(e).__name__, e))
            failed += 1
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
