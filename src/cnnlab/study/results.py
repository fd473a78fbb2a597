"""The study's results table: a row a run, read back from the run folders (so it survives resumes).

A row holds each figure at the run's best epoch (lowest validation loss, from summary.json), the same
figures at its last epoch (`last_*`, from metrics.jsonl), the macro-averaged precision, recall and F1 over
classes at the best epoch (`{val,test}_macro_*`) and the size of its test set (from run.json).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from cnnlab.errors import UserError
from cnnlab.fileio import atomic_write_text, read_json
from cnnlab.runs import LAST_METRICS, MACRO_METRICS, METRICS, RunFolder, last_epoch

PLAN = "study.json"
RESULTS = "results.csv"
# what a course report may give for a run: figures at its best epoch, or at its last one (`last_*`) for
# reports that print the final epoch's figures
REFERENCE_FIGURES = ["best_epoch", *METRICS, "last_epoch", *LAST_METRICS]
COMPARED = [*METRICS, *LAST_METRICS]  # the figures a conclusion may compare between two variants
COLUMNS = [
    "variant",
    "seed",
    "status",
    "best_epoch",
    "epochs_run",
    *METRICS,
    "last_epoch",
    *LAST_METRICS,
    *MACRO_METRICS,
    "test_images",
    "seconds",
    "params",
    "images_per_second",
    "folder",
    "message",
]


def read_plan(study_dir: str | Path) -> dict[str, Any]:
    """The study's plan (spec name, overrides, runs in order, failures) as written by the runner."""
    path = Path(study_dir) / PLAN
    fix = "delete it and run the study again (`cnnlab study SPEC --out DIR`): it is written again from the spec"
    plan = read_json(path, fix)
    if plan is None:
        raise UserError(f"'{study_dir}' is not a study folder (no {PLAN}): run `cnnlab study SPEC --out DIR` first")
    runs = plan.get("runs")
    keys = {"variant", "seed", "folder"}
    if not isinstance(runs, list) or not all(isinstance(run, dict) and keys <= set(run) for run in runs):
        raise UserError(f"'{path}' is damaged (its list of runs is not one): {fix}")
    return plan


def collect(study_dir: str | Path) -> list[dict[str, Any]]:
    """One row a planned run: its summary's figures, or its status (pending, failed, started)."""
    study_dir = Path(study_dir)
    plan = read_plan(study_dir)
    failures = plan.get("failures", {})
    rows = []
    for run in plan["runs"]:
        row = {**dict.fromkeys(COLUMNS), "variant": run["variant"], "seed": run["seed"], "folder": run["folder"]}
        try:
            row.update(_run_row(RunFolder(study_dir / run["folder"]), failures.get(run["folder"])))
        except UserError as err:  # a damaged run is a failed row; the others are still read
            row.update({"status": "failed", "message": str(err)})
        rows.append(row)
    return rows


def _run_row(folder: RunFolder, failure: str | None) -> dict[str, Any]:
    """A run's status, its figures at the best and last epochs, its test set's size and its message."""
    summary = folder.read_summary() or {}
    status = folder.status() or "pending"
    message = summary.get("message")
    if failure is not None and status in ("pending", "started"):
        status, message = "failed", failure
    row: dict[str, Any] = {"status": status}
    for key in ("best_epoch", "epochs_run", *METRICS, *MACRO_METRICS, "seconds", "params", "images_per_second"):
        row[key] = summary.get(key)
    row.update(last_epoch(folder.read_metrics()))
    splits = folder.read_info().get("split_counts")
    row["test_images"] = splits.get("test") if isinstance(splits, dict) else None
    row["message"] = message
    return row


def write_results(study_dir: str | Path) -> Path:
    """results.csv from the run folders, written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in collect(study_dir):
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in COLUMNS})
    return atomic_write_text(Path(study_dir) / RESULTS, buffer.getvalue())


def read_results(study_dir: str | Path) -> list[dict[str, Any]]:
    """results.csv parsed back, numbers as numbers and blanks as None."""
    with open(Path(study_dir) / RESULTS, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: str) -> Any:
    if text == "":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text
