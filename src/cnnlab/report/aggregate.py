"""Aggregation over seeds: mean +- std per variant, and how a variant compares with the baseline.

A comparison holds the difference of means with its Welch 95% interval, a verdict in words from that
interval, the probability that the variant beats the baseline on a new seed (with a bootstrap
interval), and how many seeds a difference of the observed size needs to be resolved. The Wilson
interval prices the other noise a top-1 carries: that of the test set's finite sample of images.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

COUNTED = ("completed", "early_stopped")  # runs whose figures enter the statistics
BETTER, WORSE = "better", "worse"
TINY = 1e-12  # a spread or difference below this is zero (a mean of equal floats can be off by an ulp)


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (None for one value) and count of a figure over seeds."""

    mean: float
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Stat | None:
        finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        if not finite:
            return None
        n = len(finite)
        mean = sum(finite) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1)) if n > 1 else None
        return cls(mean, std, n)


@dataclass(frozen=True)
class Difference:
    """mean(variant) - mean(baseline) with a Welch t 95% interval (None with fewer than 2 seeds each)."""

    diff: float
    low: float | None
    high: float | None


def difference(variant: Sequence[float], baseline: Sequence[float], confidence: float = 0.95) -> Difference | None:
    """The difference of means and its Welch-Satterthwaite t interval."""
    a, b = Stat.of(variant), Stat.of(baseline)
    if a is None or b is None:
        return None
    diff = a.mean - b.mean
    if a.n < 2 or b.n < 2 or a.std is None or b.std is None:
        return Difference(diff, None, None)
    va, vb = a.std**2 / a.n, b.std**2 / b.n
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(diff, diff, diff)
    dof = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, dof)) * se
    return Difference(diff, diff - half, diff + half)


def verdict(
    variant: Sequence[float], baseline: Sequence[float], lower_is_better: bool = False, confidence: float = 0.95
) -> str | None:
    """`better` or `worse` when the Welch interval of the difference lies entirely on one side of 0,
    else `not resolved at N seeds` (`not resolved (1 seed)` without an interval); None without values.

    For a figure where lower is better (a loss), a difference entirely below 0 is `better`.
    """
    d = difference(variant, baseline, confidence)
    if d is None:
        return None
    if d.low is None or d.high is None:
        return "not resolved (1 seed)"
    sign = -1 if lower_is_better else 1
    low, high = sorted((sign * d.low, sign * d.high))
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return f"not resolved at {_seed_counts(variant, baseline)} seeds"


def _seed_counts(variant: Sequence[float], baseline: Sequence[float]) -> str:
    """'3', or '3 and 2' when the variant and the baseline count different seeds."""
    counts = [s.n for s in (Stat.of(variant), Stat.of(baseline)) if s is not None]
    return str(counts[0]) if len(set(counts)) == 1 else " and ".join(map(str, counts))


@dataclass(frozen=True)
class Probability:
    """P(variant beats baseline on a new seed) and the bootstrap percentile interval around it."""

    p: float
    low: float
    high: float


def probability_of_beating(
    variant: Sequence[float],
    baseline: Sequence[float],
    lower_is_better: bool = False,
    resamples: int = 4000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Probability | None:
    """The common-language effect size under a normal model, P(X_v > X_b) = Phi(d / sqrt(sd_v^2 + sd_b^2)),
    with a percentile bootstrap interval that resamples the seeds within each group.

    It says what one more seed of each would most likely show, where the Welch interval says where the
    mean difference lies. The bootstrap draws from a Generator seeded with `seed`, so a report rebuilt
    from the same runs prints the same interval. None when a group has fewer than two values (no spread).
    """
    v, b = _finite(variant), _finite(baseline)
    if len(v) < 2 or len(b) < 2:
        return None
    sign = -1.0 if lower_is_better else 1.0
    point = _beats(sign * (v.mean() - b.mean()), np.hypot(v.std(ddof=1), b.std(ddof=1)))
    rng = np.random.default_rng(seed)
    v_draws = v[rng.integers(0, len(v), size=(resamples, len(v)))]
    b_draws = b[rng.integers(0, len(b), size=(resamples, len(b)))]
    diffs = sign * (v_draws.mean(axis=1) - b_draws.mean(axis=1))
    spreads = np.hypot(v_draws.std(axis=1, ddof=1), b_draws.std(axis=1, ddof=1))
    tail = 50 * (1 - confidence)
    low, high = np.percentile(_beats(diffs, spreads), [tail, 100 - tail])
    return Probability(float(point), float(low), float(high))


def _beats(diff: Any, spread: Any) -> np.ndarray:
    """Phi(diff / spread), or 1, 0.5, 0 by the sign of diff where the spread is zero (the groups never
    overlap, or are equal)."""
    diff, spread = np.asarray(diff, dtype=float), np.asarray(spread, dtype=float)
    flat = spread <= TINY
    z = diff / np.where(flat, 1.0, spread)
    sure = 0.5 + 0.5 * np.sign(np.where(np.abs(diff) <= TINY, 0.0, diff))
    return np.where(flat, sure, scipy_stats.norm.cdf(z))


def _finite(values: Sequence[float]) -> np.ndarray:
    return np.array([float(x) for x in values if x is not None and math.isfinite(float(x))])


@dataclass(frozen=True)
class SeedsNeeded:
    """Seeds per variant a two-sided Welch test needs to detect a difference; None: more than `cap`."""

    n: int | None
    cap: int

    def __str__(self) -> str:
        return str(self.n) if self.n is not None else f"> {self.cap}"


def seeds_needed(
    variant: Sequence[float],
    baseline: Sequence[float],
    power: float = 0.8,
    alpha: float = 0.05,
    cap: int = 1000,
) -> SeedsNeeded | None:
    """The smallest n seeds per variant for which a two-sided Welch t test at level `alpha` detects the
    observed difference of means with probability `power`, taking the observed spreads as the truth.

    The power is exact under normality: the test statistic follows a noncentral t with the
    Welch-Satterthwaite degrees of freedom. It tells a reader whether running more seeds is worth it.
    None when a group has fewer than two values (no spread to plan from).
    """
    a, b = Stat.of(variant), Stat.of(baseline)
    if a is None or b is None or a.std is None or b.std is None:
        return None
    return SeedsNeeded(_smallest_n(abs(a.mean - b.mean), a.std**2, b.std**2, power, alpha, cap), cap)


def _smallest_n(diff: float, var_a: float, var_b: float, power: float, alpha: float, cap: int) -> int | None:
    if var_a + var_b <= TINY**2:  # no spread at all: any two seeds each resolve a difference, none resolve 0
        return 2 if diff > TINY else None
    n = np.arange(2, cap + 1)
    dof = (var_a + var_b) ** 2 * (n - 1) / (var_a**2 + var_b**2)
    shift = diff / np.sqrt((var_a + var_b) / n)
    critical = scipy_stats.t.ppf(1 - alpha / 2, dof)
    detected = scipy_stats.nct.sf(critical, dof, shift) + scipy_stats.nct.cdf(-critical, dof, shift)
    enough = np.flatnonzero(detected >= power)
    return int(n[enough[0]]) if enough.size else None


@dataclass(frozen=True)
class Comparison:
    """All the report says of a variant against a baseline on one figure."""

    difference: Difference | None
    verdict: str | None
    probability: Probability | None
    seeds_needed: SeedsNeeded | None


def compare(variant: Sequence[float], baseline: Sequence[float], lower_is_better: bool = False) -> Comparison:
    """The difference with its Welch interval, the verdict, P(beats on a new seed) and the seeds needed."""
    return Comparison(
        difference(variant, baseline),
        verdict(variant, baseline, lower_is_better),
        probability_of_beating(variant, baseline, lower_is_better),
        seeds_needed(variant, baseline),
    )


def wilson_interval(fraction: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion measured on `n` items.

    A top-1 measured on n test images estimates the accuracy on the images' whole distribution only to
    within this (about +-0.6 points at 90% on 10,000 images), however many seeds are run. Two variants
    scored on the same images share much of this noise, so their difference is less noisy than it.
    """
    z = float(scipy_stats.norm.ppf(0.5 + confidence / 2))
    shrink = 1 + z * z / n
    centre = (fraction + z * z / (2 * n)) / shrink
    half = z * math.sqrt(fraction * (1 - fraction) / n + z * z / (4 * n * n)) / shrink
    return centre - half, centre + half


def by_variant(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by variant, in first-seen order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row["variant"]), []).append(row)
    return groups


def summarize(rows: Iterable[dict[str, Any]], figures: Sequence[str]) -> dict[str, dict[str, Stat | None]]:
    """For each variant, each figure's Stat over its counted runs."""
    out = {}
    for variant, group in by_variant(rows).items():
        counted = [r for r in group if r.get("status") in COUNTED]
        out[variant] = {f: Stat.of([r.get(f) for r in counted]) for f in figures}
    return out


def values(rows: Iterable[dict[str, Any]], variant: str, figure: str) -> list[float]:
    """A figure's values over a variant's counted runs."""
    return [
        r[figure] for r in rows if r["variant"] == variant and r.get("status") in COUNTED and r.get(figure) is not None
    ]
