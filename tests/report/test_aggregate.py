"""Mean, std and the baseline difference's 95% interval against hand-computed values."""

from __future__ import annotations

import math

import pytest

from cnnlab.report import Stat, difference, summarize


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
