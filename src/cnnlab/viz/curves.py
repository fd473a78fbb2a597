"""Learning curves of one run: loss and top-1 of train, val and test by epoch, from its metrics.jsonl."""

from __future__ import annotations

from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.plotting import learning_curves
from cnnlab.runs import SPLITS, RunFolder

from .canvas import default_path


def curves_figure(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw the run's loss and top-1 by epoch for train, val and test; returns the PNG's path."""
    folder = RunFolder(run_dir)
    if not folder.has_run():
        raise UserError(f"'{run_dir}' is not a run folder (no config.yaml): give a folder written by cnnlab train")
    history = folder.read_metrics()
    if not history:
        raise UserError(f"the run in '{run_dir}' has finished no epoch yet: there are no curves to draw")
    config, info, summary = folder.read_config(), folder.read_info(), folder.read_summary() or {}
    best = f", best epoch {summary['best_epoch']}" if summary.get("best_epoch") else ""
    title = f"{config.model.name} on {info.get('dataset', config.data.source)}: learning curves{best}"
    return learning_curves([history], title, Path(out or default_path(run_dir, "curves")), SPLITS)
