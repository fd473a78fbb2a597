"""Reports: a study's tables, statistics, learning curves and Markdown/HTML write-up."""

from .aggregate import (
    Comparison,
    Difference,
    Probability,
    SeedsNeeded,
    Stat,
    compare,
    difference,
    probability_of_beating,
    seeds_needed,
    summarize,
    verdict,
    wilson_interval,
)
from .build import ReportFiles, build_report

__all__ = [
    "Comparison",
    "Difference",
    "Probability",
    "ReportFiles",
    "SeedsNeeded",
    "Stat",
    "build_report",
    "compare",
    "difference",
    "probability_of_beating",
    "seeds_needed",
    "summarize",
    "verdict",
    "wilson_interval",
]
