"""The text of the report's table cells: figures over seeds, differences, probabilities, seed counts.

Top-k figures are fractions in the run folders and percentages (or points, for differences) on the page;
losses and epochs are printed as they are.
"""

from __future__ import annotations

from typing import Any

from cnnlab.runs import is_top_k

from .aggregate import Difference, Probability, SeedsNeeded, Stat, wilson_interval


def label(metric: str) -> str:
    """'test_top1' -> 'test top-1', 'last_val_loss' -> 'last val loss'."""
    return metric.replace("_", " ").replace("top1", "top-1").replace("top5", "top-5")


def pct(stat: Stat | None) -> str:
    """A fraction over seeds as 'mean% +- std' (the std in points)."""
    if stat is None:
        return "-"
    return f"{stat.mean:.2%}" + (f" +- {stat.std * 100:.2f}" if stat.std is not None else "")


def num(stat: Stat | None, digits: int = 4) -> str:
    """A figure over seeds as 'mean +- std'."""
    if stat is None:
        return "-"
    return f"{stat.mean:.{digits}f}" + (f" +- {stat.std:.{digits}f}" if stat.std is not None else "")


def figure(stat: Stat | None, metric: str) -> str:
    """A figure over seeds in the form its metric reads best: percent for top-k, an epoch to one decimal."""
    if is_top_k(metric):
        return pct(stat)
    return num(stat, 1 if metric.endswith("epoch") else 4)


def single(value: float | None, metric: str) -> str:
    """One run's figure (a course report's), in the same form as `figure`."""
    if value is None:
        return "-"
    if is_top_k(metric):
        return f"{value:.2%}"
    return f"{value:g}" if metric.endswith("epoch") else f"{value:.4f}"


def change(value: float | None, metric: str) -> str:
    """A signed difference: points for top-k, plain units otherwise."""
    if value is None:
        return "-"
    if is_top_k(metric):
        return f"{value * 100:+.2f} pts"
    return f"{value:+.1f}" if metric.endswith("epoch") else f"{value:+.4f}"


def difference(d: Difference | None, metric: str = "test_top1") -> str:
    """A difference of means with its 95% interval when there is one: '+1.20 pts [+0.40, +2.00]'."""
    if d is None:
        return "-"
    text = change(d.diff, metric)
    if d.low is not None and d.high is not None:
        scale, digits = (100, 2) if is_top_k(metric) else (1, 4)
        text += f" [{d.low * scale:+.{digits}f}, {d.high * scale:+.{digits}f}]"
    return text


def probability(p: Probability | None) -> str:
    """'0.83 [0.41, 0.99]', or '-' without a spread to estimate it from."""
    return "-" if p is None else f"{p.p:.2f} [{p.low:.2f}, {p.high:.2f}]"


def seeds(needed: SeedsNeeded | None) -> str:
    return "-" if needed is None else str(needed)


def binomial(top1: Stat | None, images: int | None) -> str:
    """The half-width of the Wilson 95% interval of a top-1 on `images` test images, in points."""
    if top1 is None or not images:
        return "-"
    low, high = wilson_interval(top1.mean, images)
    return f"+- {(high - low) / 2 * 100:.2f}"


def plain(value: Any, digits: int | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if digits is not None else str(value)


def plain_pct(value: Any) -> str:
    return "-" if value is None else f"{value:.2%}"
