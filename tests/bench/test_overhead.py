#!/usr/bin/env python3
"""The overhead bench's statistics and pairing, without running anything:
median, the bootstrap interval against the exact bootstrap distribution,
the verdict, the discard rules and the round robin with its retry bound."""
import os
import sys
import traceback
from math import comb

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import overhead as o  # noqa: E402


def S(wall, self_=None, steal=0.0, foreign=0.0):
    return o.Sample(wall, self_, steal, foreign)


def test_median():
    assert o.median([3, 1, 2]) == 2
    assert o.median([4, 1, 3, 2]) == 2.5
    assert o.median([7]) == 7
    try:
        o.median([])
    except ValueError:
        return
    raise AssertionError("median of nothing returned")


def exact_quantiles(n, level=0.90):
    """The percentile interval of the bootstrap median of 1..n, from the
    exact distribution: P(median <= k) = P(at least n//2+1 draws <= k)."""
    m = n // 2 + 1
    cdf = [sum(comb(n, j) * (k / n) ** j * (1 - k / n) ** (n - j) for j in range(m, n + 1))
           for k in range(1, n + 1)]
    tail = (1 - level) / 2
    lo = min(k for k in range(1, n + 1) if cdf[k - 1] > tail)
    hi = min(k for k in range(1, n + 1) if cdf[k - 1] >= 1 - tail)
    return lo, hi


def test_bootstrap_matches_exact_distribution():
    # n = 7 and 15: no exact cdf value lies within 0.02 of 5% or 95%, so
    # 2000 resamples land on the exact quantile whatever the seed.
    for n, want in ((7, (2, 6)), (15, (5, 11))):
        assert exact_quantiles(n) == want, exact_quantiles(n)
        for seed in (1, 2, 3, 4, 5):
            got = o.bootstrap_ci(list(range(1, n + 1)), seed=seed)
            assert got == want, "n=%d seed=%d: %s, exact %s" % (n, seed, got, want)


def test_bootstrap_fixed_seed_and_degenerate():
    xs = [1.01, 0.99, 1.05, 1.02, 0.97, 1.10, 1.00, 1.03, 1.04, 0.98]
    assert o.bootstrap_ci(xs) == o.bootstrap_ci(list(xs))
    lo, hi = o.bootstrap_ci(xs)
    assert min(xs) <= lo <= o.median(xs) <= hi <= max(xs), (lo, hi)
    assert o.bootstrap_ci([1.5] * 10) == (1.5, 1.5)
    assert o.bootstrap_ci([]) == (None, None)


def test_verdict():
    assert o.verdict(0.99, 1.02, 1.02) == "met"
    assert o.verdict(1.021, 1.3, 1.02) == "NOT"
    assert o.verdict(1.0, 1.03, 1.02) == "?"
    assert o.verdict(1.0, 1.03, None) == ""
    assert o.verdict(0.99, 1.01, 1.02, n=7) == ""       # too few pairs to tell
    assert o.fmt_ratio([1.0] * 7, 1.02).split() == ["1.000", "[1.000,1.000]"]
    assert o.fmt_ratio([1.0] * 8, 1.02).split()[-1] == "met"


def test_against_lowest():
    ours = [1.04, 1.05, 1.05, 1.06, 1.04, 1.05, 1.05, 1.06, 1.05, 1.04]
    low = [1.01, 1.02, 1.02, 1.01, 1.02, 1.02, 1.01, 1.02, 1.01, 1.02]
    high = [x + 0.1 for x in ours]
    same = [x + 0.001 for x in ours]
    label, med, lo, hi, word = o.against_lowest(ours, {"a": high, "b": low, "c": []})
    assert label == "b" and lo <= med <= hi and word == "higher", (label, word)
    assert o.against_lowest(ours, {"a": high})[4] == "lower"
    assert o.against_lowest(ours, {"a": same})[4] == "cannot tell"
    assert o.against_lowest(ours, {}) is None and o.against_lowest([], {"a": low}) is None


def test_pair_order_alternates():
    assert [o.pair_order(i) for i in range(4)] == [(False, True), (True, False)] * 2


def test_judge_steal():
    # 2% of 1000 ms is 20 ms: 20 passes, 30 in either run does not.
    assert o.judge(S(1000, steal=20), S(1000), steal_pct=2) is None
    assert o.judge(S(1000, steal=30), S(1000), steal_pct=2) == "steal"
    assert o.judge(S(1000), S(1000, steal=30), steal_pct=2) == "steal"
    # One 10 ms tick in a 300 ms run is over 2%.
    assert o.judge(S(300), S(300, steal=10), steal_pct=2) == "steal"


def test_judge_load():
    # A steady load of one CPU in both runs: the pair stands.
    assert o.judge(S(1000, foreign=1000), S(1100, foreign=1100), load_pct=10,
                   tick_ms=10) is None
    # A job that came in during the traced run only.
    assert o.judge(S(1000, foreign=0), S(1000, foreign=500), load_pct=10,
                   tick_ms=10) == "load"
    # Within the counters' tick noise of a short run: kept.
    assert o.judge(S(40, foreign=0), S(40, foreign=30), load_pct=10, tick_ms=10) is None


def test_cell_ratios():
    c = o.Cell()
    c.pairs = [(S(100, 10), S(110, 12)), (S(200, 20), S(200, 21))]
    assert c.ratios("wall") == [1.1, 1.0]
    assert [round(r, 6) for r in c.ratios("self")] == [1.2, 1.05]
    c.pairs.append((S(100, None), S(100, None)))
    assert c.ratios("self") == []           # a case without its own clock


def test_cell_line():
    c = o.Cell()
    c.pairs = [(S(100, 10, foreign=50), S(101, 10.1, foreign=50))] * 10
    c.dropped["steal"] = 2
    c.steal = 40
    line = o.cell_line("mpxtrace", c, 1.02)
    want = ["mpxtrace", "10", "2", "40ms", "0.50", "1.010 [1.010,1.010] met"]
    assert line.split()[:5] == want[:5] and want[5] in line, line
    c.pairs = [(S(1.0), S(100.0))] * 3             # /bin/true: wall only
    assert o.cell_line("floor", c, None).split()[5:] == ["-", "100.0", "[100.0,100.0]"], \
        o.cell_line("floor", c, None)


def test_fill_round_robin_discards_and_bound():
    calls = []

    def run_pair(key, attempt):
        calls.append((key, attempt))
        # Cell "a": the first two attempts see steal; "b" always does.
        bad = key == "b" or (key == "a" and attempt < 2)
        return S(1000), S(1000, steal=100 if bad else 0)

    rounds = []
    cells = o.fill(["a", "b", "c"], 3, run_pair, check=o.judge,
                   progress=lambda r, cs: rounds.append(r))
    a, b, c = cells["a"], cells["b"], cells["c"]
    assert (len(a.pairs), a.dropped["steal"], a.attempts) == (3, 2, 5)
    assert (len(b.pairs), b.dropped["steal"], b.attempts) == (0, 6, 6)   # 2n attempts
    assert (len(c.pairs), sum(c.dropped.values()), c.attempts) == (3, 0, 3)
    assert b.steal == 600
    # Round robin: every cell once per round while it lacks pairs.
    assert calls[:3] == [("a", 0), ("b", 0), ("c", 0)]
    assert calls[6:9] == [("a", 2), ("b", 2), ("c", 2)]
    assert calls[9:] == [("a", 3), ("b", 3), ("a", 4), ("b", 4), ("b", 5)]
    assert rounds == [1, 2, 3, 4, 5, 6]


def main():
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    passed = failed = 0
    for name, fn in tests:
        try:
            fn()
            print("ok - %s" % name)
            passed += 1
        except Exception as e:
            print("FAIL - %s: %s" % (name, e or traceback.format_exc().splitlines()[-2]))
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
