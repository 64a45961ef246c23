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


# Host steal (the hypervisor running something else on our vCPUs) skews the
# kernel's own exec and run-queue figures by more than the self-check's bound
# (run_delay keeps counting, exec does not, and their split moves with clock
# updates that steal delays).  Past this much steal during a run the
# self-check is reported but not held against mpxtrace.
STEAL_INCONCLUSIVE_NS = 5000000


def host_steal_ns():
    """Total steal time of all CPUs so far (/proc/stat), in ns."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) * 10000000 if len(fields) > 8 else 0   # USER_HZ = 100


def self_check_holds(check, steal_ns):
    """The report's self-check passed, or the run was inconclusive."""
    if check["pass"]:
        return True
    if steal_ns is not None and steal_ns >= STEAL_INCONCLUSIVE_NS:
        print("# self-check inconclusive under %.0f ms of host steal: %s"
              % (steal_ns / 1e6, {k: v for k, v in check.items() if k.startswith("max_")}))
        return True
    return False


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
