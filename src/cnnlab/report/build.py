"""`build_report(study_dir)`: the lab report of a study, as report.md and a self-contained report.html."""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import cnnlab
from cnnlab.config import StudySpec, read_yaml, validate
from cnnlab.fileio import atomic_write_text
from cnnlab.plotting import learning_curves, overlay
from cnnlab.runs import HELD_OUT, LAST_METRICS, MACRO_METRICS, METRICS, RunFolder
from cnnlab.study import check_reference, collect, read_plan, write_results

from . import cells
from .aggregate import COUNTED, Stat, by_variant, compare, summarize, values
from .document import Block, Bullets, Code, Figure, Heading, Paragraph, Table, to_html, to_markdown
from .per_class import per_class_section
from .reference import against_reference

EXTRA = ["best_epoch", "seconds", "images_per_second"]


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    html: Path
    figures: list[Path]


def build_report(study_dir: str | Path) -> ReportFiles:
    """Write report.md, report.html and figures/ beside the study's runs."""
    study_dir = Path(study_dir)
    plan = read_plan(study_dir)
    spec = _read_spec(study_dir, plan)
    write_results(study_dir)
    rows = collect(study_dir)
    histories = {
        variant: [RunFolder(study_dir / r["folder"]).read_metrics() for r in group if r["status"] in COUNTED]
        for variant, group in by_variant(rows).items()
    }
    figures = _figures(study_dir, histories)
    blocks = _document(study_dir, plan, spec, rows, figures)
    md = atomic_write_text(study_dir / "report.md", to_markdown(blocks))
    page = atomic_write_text(study_dir / "report.html", to_html(blocks, f"cnnlab study: {plan['name']}"))
    return ReportFiles(md, page, [f.path for f in figures])


def _held_out_split(histories: dict[str, list]) -> str | None:
    """The split the curves compare with training: validation, or test for runs without a validation
    split (the fast presets train on every training image), or None when no run evaluated either."""
    rows = [row for runs in histories.values() for history in runs for row in history]
    return next((split for split in HELD_OUT if any(row.get(f"{split}_top1") is not None for row in rows)), None)


def _figures(study_dir: Path, histories: dict[str, list]) -> list[Figure]:
    out = []
    drawn = {v: h for v, h in histories.items() if h}
    split = _held_out_split(drawn)
    if len(drawn) > 1 and split:
        path = overlay(drawn, study_dir / "figures" / f"overlay-{split}.png", split=split)
        name = {"val": "Validation", "test": "Test"}[split]
        out.append(Figure(path, f"{name} loss and top-1 of every variant", study_dir))
    splits = ("train", split or "val")
    for variant, runs in drawn.items():
        path = learning_curves(runs, variant, study_dir / "figures" / f"curves-{_slug(variant)}.png", splits)
        caption = f"Learning curves of {variant}: loss and top-1, {' vs '.join(splits)}"
        out.append(Figure(path, caption, study_dir))
    return out


def _read_spec(study_dir: Path, plan: dict[str, Any]) -> StudySpec:
    """The study's spec.yaml, with the names its reference and conclusions give checked against the plan
    (spec.yaml may have been edited since the study ran, to add a course report's figures)."""
    spec = validate(read_yaml(study_dir / "spec.yaml"), StudySpec)
    check_reference(spec, list(dict.fromkeys(run["variant"] for run in plan["runs"])), plan["baseline"])
    return spec


def _document(
    study_dir: Path, plan: dict[str, Any], spec: StudySpec, rows: list[dict[str, Any]], figures: list[Figure]
) -> list[Block]:
    baseline = plan["baseline"]
    stats = summarize(rows, METRICS + EXTRA + ["last_epoch", *LAST_METRICS, *MACRO_METRICS])
    blocks: list[Block] = [Heading(1, f"Study: {plan['name']}")]
    if plan.get("description"):
        blocks.append(Paragraph(plan["description"].strip()))
    blocks += _settings(plan, spec, rows, _run_infos(study_dir, rows))
    blocks += _ranking(rows, stats)
    blocks += _against_baseline(rows, stats, baseline)
    blocks += _last_epoch(rows, stats, baseline)
    blocks += _full_table(stats)
    ranked = _ranked(stats)
    blocks += per_class_section(study_dir, rows, stats, ranked[0] if ranked else None)
    blocks += against_reference(spec, rows, stats, baseline)
    if figures:
        blocks.append(Heading(2, "Learning curves"))
        blocks += figures
    blocks += _runs_table(rows)
    blocks += _environment(study_dir, rows)
    return blocks


def _settings(
    plan: dict[str, Any], spec: StudySpec, rows: list[dict[str, Any]], infos: list[dict[str, Any]]
) -> list[Block]:
    changes = [[name, _describe_changes(spec.variants.get(name, {}))] for name in by_variant(rows)]
    seeds = ", ".join(map(str, plan["seeds"]))
    items = [
        f"{len(rows)} runs: {len(by_variant(rows))} variants x {len(plan['seeds'])} seeds ({seeds})",
        f"data (every figure below is measured on it): {_data_described(infos)}",
        f"baseline: {plan['baseline']}; every variant has the same budget unless its changes say otherwise",
        "best epoch: lowest validation loss; the ranking uses validation top-1; "
        "test figures are shown, never used to choose",
    ]
    if plan.get("overrides"):
        items.append(f"command-line overrides applied to every run: {' '.join(plan['overrides'])}")
    if spec.grid:
        items.append(f"grid: {', '.join(f'{k} in {v}' for k, v in spec.grid.items())}")
    if spec.sample is not None:
        items.append(
            f"sampled search: {spec.sample.count} points drawn from the grid with seed {spec.sample.seed} "
            "(each named by its values), not its product"
        )
    return [
        Heading(2, "Settings"),
        Bullets(items),
        Paragraph("Base configuration (every run starts from it):"),
        Code(yaml.safe_dump(spec.base, sort_keys=False) or "{}"),
        Table(["variant", "changes from the base"], changes, align="ll"),
    ]


def _ranking(rows: list[dict[str, Any]], stats: dict[str, dict[str, Stat | None]]) -> list[Block]:
    header = [
        "rank",
        "variant",
        "seeds",
        "val top-1",
        "test top-1",
        "test top-1 +- binomial",
        "test top-5",
        "test loss",
        "train top-1",
        "best epoch",
        "seconds",
    ]
    table_rows = []
    for rank, variant in enumerate(_ranked(stats), start=1):
        s = stats[variant]
        table_rows.append(
            [
                str(rank),
                variant,
                str(_seeds(s)),
                cells.pct(s["val_top1"]),
                cells.pct(s["test_top1"]),
                cells.binomial(s["test_top1"], _test_images(rows, variant)),
                cells.pct(s["test_top5"]),
                cells.num(s["test_loss"]),
                cells.pct(s["train_top1"]),
                cells.num(s["best_epoch"], 1),
                cells.num(s["seconds"], 0),
            ]
        )
    return [
        Heading(2, "Results"),
        Paragraph(
            "Variants ranked by validation top-1 (mean +- std over seeds; figures at each run's best epoch). "
            "The binomial column is the test set's own sampling noise: the half-width, in points, of the "
            "Wilson 95% interval of a top-1 measured on that many test images, which no number of seeds "
            "removes (two variants scored on the same images share much of it, so their difference is less "
            "noisy than this)."
        ),
        Table(header, table_rows, align="rlr"),
    ]


def _against_baseline(
    rows: list[dict[str, Any]], stats: dict[str, dict[str, Stat | None]], baseline: str
) -> list[Block]:
    header = [
        "variant",
        "seeds",
        f"test top-1 vs {baseline} [95% CI]",
        "P(beats it on a new seed) [95% CI]",
        "seeds needed",
        "verdict",
    ]
    table_rows = []
    for variant in _ranked(stats):
        if variant == baseline:
            continue
        c = compare(values(rows, variant, "test_top1"), values(rows, baseline, "test_top1"))
        table_rows.append(
            [
                variant,
                str(_seeds(stats[variant])),
                cells.difference(c.difference),
                cells.probability(c.probability),
                cells.seeds(c.seeds_needed),
                c.verdict or "-",
            ]
        )
    if not table_rows:
        return []
    return [
        Heading(3, f"Each variant against {baseline}"),
        Paragraph(
            "On test top-1 at the best epoch: the difference of means with its Welch 95% interval; the "
            "probability that the variant beats the baseline on a new seed (under a normal model, "
            "Phi(d / sqrt(sd_v^2 + sd_b^2)), with a bootstrap 95% interval over the seeds); the seeds needed: "
            "how many seeds per variant a two-sided Welch test at 5% needs to detect a difference of this size "
            "80% of the time, given the spreads seen (a figure for planning more runs); and the verdict: better "
            "or worse when the interval lies on one side of 0, not resolved when it straddles 0."
        ),
        Table(header, table_rows, align="lrrrrl"),
    ]


def _last_epoch(rows: list[dict[str, Any]], stats: dict[str, dict[str, Stat | None]], baseline: str) -> list[Block]:
    header = [
        "variant",
        "last epoch",
        "val top-1",
        "test top-1",
        "test loss",
        f"test top-1 vs {baseline} [95% CI]",
        "verdict",
    ]
    table_rows = []
    for variant in _ranked(stats):
        s = stats[variant]
        if s["last_epoch"] is None:
            continue
        same = variant == baseline
        c = compare(values(rows, variant, "last_test_top1"), values(rows, baseline, "last_test_top1"))
        table_rows.append(
            [
                variant,
                cells.num(s["last_epoch"], 1),
                cells.pct(s["last_val_top1"]),
                cells.pct(s["last_test_top1"]),
                cells.num(s["last_test_loss"]),
                "baseline" if same else cells.difference(c.difference),
                "" if same else c.verdict or "-",
            ]
        )
    if not table_rows:
        return []
    return [
        Heading(3, "At the last epoch"),
        Paragraph("The same runs at the last epoch they trained instead of their best (mean +- std over seeds)."),
        Table(header, table_rows, align="lrrrrrl"),
    ]


def _ranked(stats: dict[str, dict[str, Stat | None]]) -> list[str]:
    """The variants by validation top-1, best first; variants without one last."""

    def key(variant: str) -> float:
        s = stats[variant]["val_top1"]
        return -s.mean if s else float("inf")

    return sorted(stats, key=key)


def _seeds(stats: dict[str, Stat | None]) -> int:
    """How many seeds a variant's figures count (its finished runs)."""
    return max((v.n for v in stats.values() if v), default=0)


def _test_images(rows: list[dict[str, Any]], variant: str) -> int | None:
    """The size of a variant's test set, from its finished runs' facts."""
    counts = [r.get("test_images") for r in rows if r["variant"] == variant and r["status"] in COUNTED]
    return next((n for n in counts if n), None)


def _full_table(stats: dict[str, dict[str, Stat | None]]) -> list[Block]:
    header = ["variant"] + [cells.label(f) for f in METRICS]
    table_rows = [[variant] + [cells.figure(s[f], f) for f in METRICS] for variant, s in stats.items()]
    return [Heading(3, "Every figure, per split"), Table(header, table_rows)]


def _runs_table(rows: list[dict[str, Any]]) -> list[Block]:
    header = ["variant", "seed", "status", "best epoch", "val top-1", "test top-1", "seconds", "note"]
    table_rows = [
        [
            str(r["variant"]),
            str(r["seed"]),
            str(r["status"]),
            cells.plain(r["best_epoch"]),
            cells.plain_pct(r["val_top1"]),
            cells.plain_pct(r["test_top1"]),
            cells.plain(r["seconds"], 0),
            str(r.get("message") or ""),
        ]
        for r in rows
    ]
    return [Heading(2, "Runs"), Table(header, table_rows, align="lrlrrrrl")]


SPLIT_NAMES = (("train", "training"), ("val", "validation"), ("test", "test"))


def _run_infos(study_dir: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run facts (run.json) of the runs that have them; a failed run's may be damaged, and is skipped
    (its failure is in the runs table)."""
    infos = (RunFolder(study_dir / r["folder"]).read_info() for r in rows if r["status"] != "failed")
    return [info for info in infos if info]


def _data_described(infos: list[dict[str, Any]]) -> str:
    """Each dataset the runs read, with its split sizes: 'cifar10-jpeg, 45,000 training / 5,000 ...'."""
    seen = []
    for info in infos:
        counts = info.get("split_counts", {})
        sizes = " / ".join(f"{counts[split]:,} {name}" for split, name in SPLIT_NAMES if split in counts)
        described = f"{info.get('dataset', '?')}, {sizes} images" if sizes else str(info.get("dataset", "?"))
        if described not in seen:
            seen.append(described)
    return "; ".join(seen) or "unknown (no run facts)"


def _environment(study_dir: Path, rows: list[dict[str, Any]]) -> list[Block]:
    devices, hardware, versions = set(), set(), set()
    for info in _run_infos(study_dir, rows):
        devices.add(info.get("device", "?"))
        hardware.add(info.get("hardware", "?"))
        versions.add(", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items()))
    total = sum(r["seconds"] or 0 for r in rows)
    items = [
        f"hardware: {'; '.join(sorted(h for h in hardware if h)) or 'unknown'}",
        f"device: {'; '.join(sorted(devices)) or 'unknown'}",
        f"software: {'; '.join(sorted(versions)) or 'unknown'}",
        f"total training time: {total:,.0f} s ({total / 3600:.2f} h) over {sum(1 for r in rows if r['seconds'])} runs",
        f"report written by cnnlab {cnnlab.__version__} on Python {platform.python_version()}",
    ]
    return [Heading(2, "Environment"), Bullets(items)]


def _describe_changes(changes: dict[str, Any]) -> str:
    if not changes:
        return "(none)"
    flat: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat.append(f"{prefix}={value}")

    walk("", changes)
    return ", ".join(flat)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=+_-]+", "_", name)
