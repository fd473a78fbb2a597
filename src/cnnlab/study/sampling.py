"""Sampled searches: `count` points drawn from a study's grid instead of its whole product.

Random search finds good settings with far fewer runs than a grid when only some keys matter (Bergstra
and Bengio 2012), which is why timm's and Lightning's users reach for it (through Optuna, Ray Tune or a
W&B sweep). Each key is drawn independently: a list (or {choice: [...]}) uniformly among its values,
{uniform: [a, b]} and {loguniform: [a, b]} uniformly on [a, b] or on its logarithm, {randint: [a, b]}
among the whole numbers a..b. Continuous draws are rounded to 3 significant digits, so that a point's
name (its values) is its config. The draws come from numpy's generator seeded with `sample.seed`, key
by key in the grid's order, so the same spec always gives the same points and a study resumes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnlab.config import Sample


def draw(entry: list[Any] | dict[str, Any], rng: np.random.Generator) -> Any:
    """One value of a grid entry (a list of values, or a range checked by the spec's schema)."""
    if isinstance(entry, list):
        return entry[int(rng.integers(len(entry)))]
    ((kind, bounds),) = entry.items()
    if kind == "choice":
        return bounds[int(rng.integers(len(bounds)))]
    if kind == "randint":
        return int(rng.integers(bounds[0], bounds[1] + 1))
    if kind == "loguniform":
        return _three_digits(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))
    return _three_digits(rng.uniform(bounds[0], bounds[1]))


def sample_points(grid: dict[str, list[Any] | dict[str, Any]], sample: Sample) -> list[tuple[Any, ...]]:
    """`sample.count` points of `grid` (a value a key, in the grid's order), drawn with `sample.seed`;
    a point drawn again is kept once (it would be the same runs)."""
    rng = np.random.default_rng(sample.seed)
    points: list[tuple[Any, ...]] = []
    for _ in range(sample.count):
        point = tuple(draw(entry, rng) for entry in grid.values())
        if point not in points:
            points.append(point)
    return points


def _three_digits(value: float) -> float:
    return float(f"{value:.3g}")
