"""Plotting below every stage that draws (report, viz, basics): a figure on its own canvas, atomic PNG
output, and the learning curves of runs (one run, a variant's seeds with their spread, an overlay).

Drawn with matplotlib's object API (Figure + Agg canvas), never pyplot, so no global backend is changed
for other code or a notebook in the same process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cnnlab.fileio import atomic_write

History = list[dict[str, Any]]  # metrics.jsonl rows of one run
SPLIT_COLOURS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}
DPI = 110


def new_figure(width: float, height: float, dpi: int = DPI) -> Figure:
    """A figure of `width` x `height` inches on its own Agg canvas, laid out so labels never overlap."""
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: str | Path) -> Path:
    """Write `figure` as a PNG atomically and return its path."""
    return atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"))


def _by_epoch(histories: Sequence[History], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epochs, mean and std over the runs that have a value at each epoch."""
    values: dict[int, list[float]] = {}
    for history in histories:
        for row in history:
            if row.get(key) is not None:
                values.setdefault(int(row["epoch"]), []).append(float(row[key]))
    epochs = np.array(sorted(values))
    mean = np.array([np.mean(values[e]) for e in epochs])
    std = np.array([np.std(values[e], ddof=1) if len(values[e]) > 1 else 0.0 for e in epochs])
    return epochs, mean, std


def learning_curves(
    histories: Sequence[History], title: str, path: Path, splits: Sequence[str] = ("train", "val")
) -> Path:
    """Loss and top-1 by epoch for `splits`, averaged over the runs (seeds) with a +-1 std band."""
    figure = new_figure(10, 3.8)
    axes = figure.subplots(1, 2)
    for ax, metric, label in ((axes[0], "loss", "loss"), (axes[1], "top1", "top-1 accuracy")):
        for split in splits:
            epochs, mean, std = _by_epoch(histories, f"{split}_{metric}")
            if len(epochs) == 0:
                continue
            colour = SPLIT_COLOURS.get(split)
            ax.plot(epochs, mean, marker="o", markersize=3, color=colour, label=split)
            if len(histories) > 1:
                ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    seeds = f" (mean of {len(histories)} seeds, band +-1 std)" if len(histories) > 1 else ""
    figure.suptitle(f"{title}{seeds}")
    return save_png(figure, path)


def overlay(variants: Mapping[str, Sequence[History]], path: Path, split: str = "val") -> Path:
    """Every variant's `split` loss and top-1 by epoch (mean over seeds) on shared axes."""
    figure = new_figure(12, 5)
    axes = figure.subplots(1, 2)
    colours = _colours(len(variants))
    for ax, metric, label in ((axes[0], "loss", f"{split} loss"), (axes[1], "top1", f"{split} top-1 accuracy")):
        for colour, (name, histories) in zip(colours, variants.items(), strict=True):
            epochs, mean, _ = _by_epoch(histories, f"{split}_{metric}")
            if len(epochs):
                ax.plot(epochs, mean, marker="o", markersize=2.5, color=colour, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    handles, labels = axes[1].get_legend_handles_labels()
    if labels:
        figure.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5), fontsize=8)
    figure.suptitle(f"{split} curves of every variant (mean over seeds)")
    return save_png(figure, path)


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
