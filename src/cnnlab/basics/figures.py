"""The figures of the basics: learning curves, decision boundaries during training, the SVM grid.

Drawn with matplotlib's object-oriented API on an Agg canvas: no pyplot and no backend switch, so
nothing changes for other code (or a notebook) running in the same process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from cnnlab import plotting

from .fit import EpochRecord

Predict = Callable[[np.ndarray], np.ndarray]  # raw (M, 2) points -> class index of each (M,)

DPI = 100
PANEL_INCHES = 2.6
GRID_RESOLUTION = 120  # points a side of the plane where the classifier is evaluated (SVC.predict dominates)
CLASS_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def new_figure(width: float, height: float) -> Figure:
    """A figure of the basics (at their resolution), from cnnlab.plotting."""
    return plotting.new_figure(width, height, dpi=DPI)


def curves_figure(
    history: Sequence[EpochRecord],
    batch_losses: Sequence[float],
    iterations_per_epoch: int,
    title: str,
) -> Figure:
    """Loss (every batch, and each epoch on whole train and test) and accuracy against epochs."""
    fig = new_figure(11, 4)
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = [r.epoch for r in history]
    if batch_losses:
        steps = np.arange(1, len(batch_losses) + 1) / iterations_per_epoch
        loss_ax.plot(steps, batch_losses, color="0.75", linewidth=0.6, label="each batch (before its step)")
    loss_ax.plot(epochs, [r.train_loss for r in history], marker=".", label="train")
    loss_ax.plot(epochs, [r.test_loss for r in history], marker=".", label="test")
    loss_ax.set(title="cross-entropy loss", xlabel="epoch", ylabel="mean loss")
    acc_ax.plot(epochs, [r.train_accuracy for r in history], marker=".", label="train")
    acc_ax.plot(epochs, [r.test_accuracy for r in history], marker=".", label="test")
    acc_ax.set(title="accuracy", xlabel="epoch", ylabel="fraction correct", ylim=(0, 1.02))
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


def plane_grid(points: np.ndarray, resolution: int = GRID_RESOLUTION, margin: float = 0.15) -> np.ndarray:
    """A (resolution, resolution, 2) grid over the points' bounding box, widened by `margin` of its size."""
    low, high = points.min(axis=0), points.max(axis=0)
    pad = (high - low) * margin
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    return np.stack(np.meshgrid(xs, ys), axis=-1).astype(points.dtype)


def draw_boundary(ax: Axes, predict: Predict, points: np.ndarray, labels: np.ndarray, title: str) -> None:
    """The classifier's class regions over the plane, with the labelled points on top."""
    classes = max(int(labels.max()) + 1, 2)
    colours = [CLASS_COLOURS[k % len(CLASS_COLOURS)] for k in range(classes)]
    grid = plane_grid(points)
    regions = predict(grid.reshape(-1, 2)).reshape(grid.shape[:2])
    levels = np.arange(classes + 1) - 0.5
    ax.contourf(grid[..., 0], grid[..., 1], regions, levels=levels, cmap=ListedColormap(colours), alpha=0.25)
    ax.contour(grid[..., 0], grid[..., 1], regions, levels=levels[1:-1], colors="k", linewidths=0.8)
    ax.scatter(points[:, 0], points[:, 1], c=[colours[k] for k in labels], s=6, linewidths=0)
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    ax.set_aspect("equal", adjustable="box")
    ax.tick_params(labelsize=7)


def boundary_strip_figure(
    panels: Sequence[tuple[str, Predict]],
    points: np.ndarray,
    labels: np.ndarray,
    title: str,
) -> Figure:
    """One decision-boundary panel per (title, classifier), side by side: a model as it learns."""
    fig = new_figure(PANEL_INCHES * len(panels), PANEL_INCHES + 0.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (panel_title, predict) in zip(axes, panels, strict=True):
        draw_boundary(ax, predict, points, labels, panel_title)
        ax.title.set_fontsize(9)
    fig.suptitle(title)
    return fig


def boundary_grid_figure(
    rows: Sequence[tuple[str, Sequence[tuple[str, Predict]]]],
    points: np.ndarray,
    labels: np.ndarray,
    title: str,
) -> Figure:
    """Decision-boundary panels in rows (a row per family of settings, e.g. a kernel), unused cells hidden."""
    columns = max(len(panels) for _, panels in rows)
    fig = new_figure(PANEL_INCHES * columns, (PANEL_INCHES + 0.2) * len(rows) + 0.5)
    axes = np.asarray(fig.subplots(len(rows), columns, squeeze=False))
    for r, (row_title, panels) in enumerate(rows):
        for c in range(columns):
            ax = axes[r, c]
            if c >= len(panels):
                ax.set_visible(False)
                continue
            panel_title, predict = panels[c]
            draw_boundary(ax, predict, points, labels, f"{row_title}\n{panel_title}")
            ax.title.set_fontsize(8)
    fig.suptitle(title)
    return fig
