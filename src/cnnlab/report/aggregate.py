"""Aggregation over seeds: mean +- std per variant, and differences from the baseline with a 95% interval."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats as scipy_stats

COUNTED = ("completed", "early_stopped")  # runs whose figures enter the statistics


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (None for one value) and count of a figure over seeds."""

    mean: float
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat | None:
        values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        if not values:
            return None
        n = len(values)
        mean = sum(values) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
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
