"""The report's per-class section: macro-averaged precision, recall and F1 of every variant, and the best
variant's figures class by class, each a mean +- std over seeds at the runs' best epochs.

A top-1 can hide a class the net never gets right; the per-class table shows which, and the macro average
weighs every class alike. The figures come from each run's summary.json (`per_class`, `*_macro_*`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlab.runs import CLASS_KINDS, HELD_OUT, MACRO_METRICS, RunFolder

from . import cells
from .aggregate import COUNTED, Stat
from .document import Block, Heading, Paragraph, Table


def per_class_section(
    study_dir: Path, rows: list[dict[str, Any]], stats: dict[str, dict[str, Stat | None]], best: str | None
) -> list[Block]:
    """The blocks of the section, or none when no run recorded per-class figures (runs of older versions)."""
    macro = [variant for variant, s in stats.items() if any(s.get(m) for m in MACRO_METRICS)]
    if not macro:
        return []
    header = ["variant"] + [cells.label(m).replace("macro ", "macro-") for m in MACRO_METRICS]
    table_rows = [[variant] + [cells.pct(stats[variant].get(m)) for m in MACRO_METRICS] for variant in macro]
    blocks: list[Block] = [
        Heading(3, "Per class"),
        Paragraph(
            "Precision, recall and F1 averaged over the classes with equal weight (macro), at each run's best "
            "epoch (mean +- std over seeds): a top-1 can hide a class the net never gets right."
        ),
        Table(header, table_rows),
    ]
    if best is None:
        return blocks
    summaries = [
        RunFolder(study_dir / r["folder"]).read_summary() or {}
        for r in rows
        if r["variant"] == best and r["status"] in COUNTED
    ]
    per_class = [s["per_class"] for s in summaries if s.get("per_class")]
    splits = [split for split in HELD_OUT if any(split in p for p in per_class)]
    if not splits:
        return blocks
    classes = list(dict.fromkeys(name for p in per_class for split in splits for name in p.get(split, {})))
    header = ["class"] + [f"{split} {kind}" for split in splits for kind in CLASS_KINDS] + [f"{splits[-1]} images"]
    table_rows = []
    for name in classes:
        row = [name]
        for split in splits:
            for kind in CLASS_KINDS:
                row.append(cells.pct(Stat.of([p[split][name][kind] for p in per_class if name in p.get(split, {})])))
        support = [p[splits[-1]][name]["support"] for p in per_class if name in p.get(splits[-1], {})]
        row.append(str(support[0]) if support else "-")
        table_rows.append(row)
    blocks += [
        Paragraph(f"Class by class for {best}, the variant ranked first (the {' and '.join(splits)} splits):"),
        Table(header, table_rows),
    ]
    return blocks
