"""The report's section "Against the course report": a course report's own figures beside the study's,
and each of its conclusions checked against the study's statistics.

A course report ran each variant once, so each of its conclusions rests on one difference between two
runs; the study reruns them with seeds and says which conclusions hold, which its seeds contradict, and
which they cannot resolve yet (with how many seeds would).
"""

from __future__ import annotations

from typing import Any

from cnnlab.config import Conclusion, Reference, StudySpec
from cnnlab.runs import lower_is_better
from cnnlab.study.results import REFERENCE_FIGURES

from . import cells
from .aggregate import BETTER, WORSE, Stat, compare, values
from .document import Block, Heading, Paragraph, Table

HOW_TO_READ = (
    "A conclusion holds when cnnlab's 95% Welch interval of the difference lies on the side the course "
    "report claims (for a loss, lower is better), is contradicted when it lies on the other side, and is "
    "not resolved when it straddles 0. The seeds needed are how many seeds per variant a two-sided Welch "
    "test at 5% needs to detect a difference of the size seen 80% of the time, given the spreads seen."
)


def against_reference(
    spec: StudySpec, rows: list[dict[str, Any]], stats: dict[str, dict[str, Stat | None]], baseline: str
) -> list[Block]:
    """The section's blocks, or none when the spec carries neither `reference` nor `conclusions`."""
    if spec.reference is None and not spec.conclusions:
        return []
    blocks: list[Block] = [Heading(2, "Against the course report")]
    if spec.reference is not None:
        blocks += _figures(spec.reference, stats)
    if spec.conclusions:
        figures = spec.reference.figures if spec.reference else {}
        blocks += _conclusions(spec.conclusions, figures, rows, baseline)
    return blocks


def conclusion_verdict(verdict: str | None, expect: str) -> str:
    """`holds` when the study's verdict is the claimed one, `contradicted` when it is the opposite one,
    else the study's own `not resolved ...` (or `no finished runs`)."""
    if verdict is None:
        return "no finished runs"
    if verdict == expect:
        return "holds"
    return "contradicted" if verdict in (BETTER, WORSE) else verdict


def _figures(reference: Reference, stats: dict[str, dict[str, Stat | None]]) -> list[Block]:
    header = ["variant", "figure", "course report", "cnnlab (mean +- std)", "cnnlab - course report"]
    table_rows = []
    for variant, figures in reference.figures.items():
        for metric in (m for m in REFERENCE_FIGURES if m in figures):
            stat = stats.get(variant, {}).get(metric)
            theirs = figures[metric]
            table_rows.append(
                [
                    variant,
                    cells.label(metric),
                    cells.single(theirs, metric),
                    cells.figure(stat, metric),
                    cells.change(stat.mean - theirs if stat else None, metric),
                ]
            )
    source = f" ({reference.report})" if reference.report else ""
    return [
        Heading(3, "Its figures beside cnnlab's"),
        Paragraph(
            f"The course report's own figures{source}, one run each, beside cnnlab's mean +- std over seeds at "
            "each run's best epoch (lowest validation loss), or at its last epoch for a 'last' figure (a report "
            "that prints the final epoch's figures). One run differs from a mean over seeds by about one seed's "
            "spread even when nothing else differs."
        ),
        Table(header, table_rows, align="ll"),
    ]


def _conclusions(
    conclusions: list[Conclusion],
    figures: dict[str, dict[str, float]],
    rows: list[dict[str, Any]],
    baseline: str,
) -> list[Block]:
    header = [
        "claim",
        "compares",
        "course report",
        "cnnlab [95% CI]",
        "P(beats on a new seed) [95% CI]",
        "seeds needed",
        "verdict",
    ]
    table_rows = []
    for conclusion in conclusions:
        against = conclusion.baseline or baseline
        metric = conclusion.metric
        ours = compare(values(rows, conclusion.variant, metric), values(rows, against, metric), lower_is_better(metric))
        table_rows.append(
            [
                conclusion.claim,
                f"{conclusion.variant} vs {against}, {cells.label(metric)} (claimed {conclusion.expect})",
                cells.change(_their_difference(figures, conclusion.variant, against, metric), metric),
                cells.difference(ours.difference, metric),
                cells.probability(ours.probability),
                cells.seeds(ours.seeds_needed),
                conclusion_verdict(ours.verdict, conclusion.expect),
            ]
        )
    return [Heading(3, "Its conclusions, checked"), Paragraph(HOW_TO_READ), Table(header, table_rows, align="llrrrrl")]


def _their_difference(figures: dict[str, dict[str, float]], variant: str, baseline: str, metric: str) -> float | None:
    """The course report's own difference on `metric`, when it gives the figure for both variants."""
    mine, theirs = figures.get(variant, {}).get(metric), figures.get(baseline, {}).get(metric)
    return None if mine is None or theirs is None else mine - theirs
