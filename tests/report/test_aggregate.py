"""Mean, std, the baseline comparison's statistics, and the test set's binomial noise, against hand-computed
values, scipy, textbook tables and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from cnnlab.report import (
    Probability,
    Stat,
    compare,
    difference,
    probability_of_beating,
    seeds_needed,
    summarize,
    verdict,
    wilson_interval,
)


def test_stat_is_mean_and_sample_std() -> None:
    s = Stat.of([0.70, 0.72, 0.74])
    assert s is not None and s.n == 3
    assert s.mean == pytest.approx(0.72)
    assert s.std == pytest.approx(0.02)  # sqrt(((-0.02)^2 + 0 + 0.02^2) / 2)
    one = Stat.of([0.5])
    assert one is not None and one.std is None
    assert Stat.of([]) is None and Stat.of([None, float("nan")]) is None


def test_welch_interval_by_hand() -> None:
    # variant 1,2,3 against baseline 2,4,6: diff -2; s^2 = 1 and 4; se = sqrt(1/3 + 4/3) = 1.2910;
    # Welch dof = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = 50/17 = 2.9412; t(0.975, 2.9412) = 3.21876
    d = difference([1, 2, 3], [2, 4, 6])
    assert d is not None and d.diff == pytest.approx(-2)
    half = 3.21876 * math.sqrt(5 / 3)
    assert d.low == pytest.approx(-2 - half, abs=1e-4) and d.high == pytest.approx(-2 + half, abs=1e-4)


def test_one_seed_gives_a_difference_without_interval() -> None:
    d = difference([0.8], [0.7, 0.72])
    assert d is not None and d.diff == pytest.approx(0.09) and d.low is None


def test_only_finished_runs_count() -> None:
    rows = [
        {"variant": "a", "status": "completed", "test_top1": 0.5},
        {"variant": "a", "status": "early_stopped", "test_top1": 0.7},
        {"variant": "a", "status": "diverged", "test_top1": None},
        {"variant": "a", "status": "failed", "test_top1": 0.0},
    ]
    stat = summarize(rows, ["test_top1"])["a"]["test_top1"]
    assert stat is not None and stat.n == 2 and stat.mean == pytest.approx(0.6)


def _exact(mean: float, sd: float, n: int, seed: int = 0) -> list[float]:
    """n values whose sample mean and sample standard deviation are exactly `mean` and `sd`."""
    x = np.random.default_rng(seed).normal(size=n)
    return list(mean + sd * (x - x.mean()) / x.std(ddof=1))


def test_welch_interval_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.71, 0.01, 5), rng.normal(0.70, 0.03, 3)
    d = difference(list(a), list(b))
    expected = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert d is not None and (d.low, d.high) == pytest.approx((expected.low, expected.high))


@pytest.mark.parametrize(("k", "n"), [(9000, 10000), (7021, 10000), (3, 40), (0, 50), (50, 50)])
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    expected = scipy_stats.binomtest(k, n).proportion_ci(method="wilson")
    assert wilson_interval(k / n, n) == pytest.approx((expected.low, expected.high))


def test_the_test_sets_own_noise_at_ten_thousand_images() -> None:
    low, high = wilson_interval(0.90, 10_000)
    assert (high - low) / 2 == pytest.approx(0.0059, abs=0.0001)  # about +-0.6 points


@pytest.mark.parametrize(("d", "n"), [(0.5, 64), (0.8, 26), (1.0, 17)])
def test_seeds_needed_matches_the_textbook_two_sample_t_test(d: float, n: int) -> None:
    # Cohen (1988), table 2.4.1: 80% power, two-sided 5%, equal spreads: d 0.5 -> 64, 0.8 -> 26, 1.0 -> 17 a group
    needed = seeds_needed(_exact(d, 1.0, 4), _exact(0.0, 1.0, 4, seed=1))
    assert needed is not None and needed.n == n and str(needed) == str(n)
    swapped = seeds_needed(_exact(0.0, 1.0, 4), _exact(d, 1.0, 4, seed=1))
    assert swapped is not None and swapped.n == n  # the sign of the difference does not matter


def test_seeds_needed_at_the_edges() -> None:
    assert seeds_needed([0.7], [0.6, 0.62]) is None  # one seed: no spread to plan from
    same = seeds_needed(_exact(0.7, 0.01, 3), _exact(0.7, 0.01, 3, seed=1))
    assert same is not None and same.n is None and str(same) == "> 1000"
    tiny = seeds_needed(_exact(0.7001, 0.01, 3), _exact(0.7, 0.01, 3, seed=1), cap=50)
    assert tiny is not None and str(tiny) == "> 50"
    flat = seeds_needed([0.8, 0.8], [0.7, 0.7, 0.7])
    assert flat is not None and flat.n == 2  # no spread at all: two seeds resolve it


def test_probability_of_beating_matches_a_monte_carlo_estimate() -> None:
    variant, baseline = _exact(0.72, 0.010, 4), _exact(0.70, 0.015, 5, seed=1)
    rng = np.random.default_rng(2)
    draws = 2_000_000
    monte_carlo = np.mean(rng.normal(0.72, 0.010, draws) > rng.normal(0.70, 0.015, draws))
    prob = probability_of_beating(variant, baseline)
    assert prob is not None and prob.p == pytest.approx(monte_carlo, abs=0.002)
    assert prob.p == pytest.approx(scipy_stats.norm.cdf(0.02 / math.hypot(0.010, 0.015)))
    assert 0 <= prob.low <= prob.p <= prob.high <= 1
    loss = probability_of_beating(variant, baseline, lower_is_better=True)
    assert loss is not None and loss.p == pytest.approx(1 - prob.p)  # a lower loss beats


def test_the_bootstrap_interval_is_reproducible_and_narrows_with_seeds() -> None:
    few_v, few_b = _exact(0.72, 0.01, 3), _exact(0.71, 0.01, 3, seed=1)
    first, again = probability_of_beating(few_v, few_b), probability_of_beating(few_v, few_b)
    assert first == again  # a report rebuilt from the same runs prints the same interval
    many = probability_of_beating(_exact(0.72, 0.01, 300), _exact(0.71, 0.01, 300, seed=1))
    assert first is not None and many is not None
    assert first.high - first.low > 0.3 and many.high - many.low < 0.1
    assert many.p == pytest.approx(first.p)  # the same means and spreads: the same point estimate


def test_probability_without_spread() -> None:
    assert probability_of_beating([0.8, 0.8], [0.7, 0.7]) == Probability(1.0, 1.0, 1.0)
    assert probability_of_beating([0.7, 0.7], [0.7, 0.7]) == Probability(0.5, 0.5, 0.5)
    assert probability_of_beating([0.8, 0.8], [0.7, 0.7], lower_is_better=True) == Probability(0.0, 0.0, 0.0)
    assert probability_of_beating([0.8], [0.7, 0.71]) is None  # one seed: no spread


def test_verdicts_in_words() -> None:
    high, low = [0.80, 0.81, 0.82], [0.70, 0.71, 0.72]
    assert verdict(high, low) == "better" and verdict(low, high) == "worse"
    assert verdict(high, low, lower_is_better=True) == "worse"  # a higher loss is worse
    assert verdict(low, high, lower_is_better=True) == "better"
    assert verdict([0.70, 0.74, 0.78], [0.71, 0.73, 0.75]) == "not resolved at 3 seeds"
    assert verdict([0.70, 0.74], [0.71, 0.73, 0.75]) == "not resolved at 2 and 3 seeds"
    assert verdict([0.80], low) == "not resolved (1 seed)"
    assert verdict([], low) is None


def test_compare_gathers_every_figure() -> None:
    comparison = compare([0.80, 0.81, 0.82], [0.70, 0.71, 0.72])
    assert comparison.verdict == "better" and comparison.difference is not None
    assert comparison.difference.diff == pytest.approx(0.10)
    assert comparison.probability is not None and comparison.probability.p > 0.99
    assert comparison.seeds_needed is not None and comparison.seeds_needed.n == 2
