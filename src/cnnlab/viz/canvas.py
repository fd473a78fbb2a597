"""What viz figures share beyond cnnlab.plotting's figure and PNG output: where a run's figures go, and
tile mosaics (filters, activation maps) with their labels."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.image import AxesImage

from cnnlab.plotting import new_figure, save_png

__all__ = ["default_path", "grid_shape", "label_tiles", "mosaic", "new_figure", "save_png", "show_image", "show_mosaic"]

GAP = 1  # pixels between the tiles of a mosaic
MAX_TICKS = 16  # tick labels an axis of a mosaic gets before it labels every k-th tile only


def default_path(run_dir: str | Path, kind: str, *parts: str | None) -> Path:
    """RUN_DIR/figures/<kind>[-<part>...].png, leaving out the parts that are None."""
    words = [kind, *(re.sub(r"[^\w.+-]+", "_", p) for p in parts if p)]
    return Path(run_dir) / "figures" / ("-".join(words) + ".png")


def grid_shape(count: int, max_cols: int = 8) -> tuple[int, int]:
    """(rows, cols) of a grid for `count` tiles: rows of at most `max_cols`."""
    cols = max(1, min(count, max_cols))
    return math.ceil(count / cols), cols


def mosaic(tiles: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(N, h, w, C) tiles laid row by row into one (H, W, C) image, NaN in the gaps and empty cells."""
    n, h, w, c = tiles.shape
    out = np.full((rows * (h + GAP) - GAP, cols * (w + GAP) - GAP, c), np.nan, dtype=np.float32)
    for i in range(n):
        r, k = divmod(i, cols)
        out[r * (h + GAP) : r * (h + GAP) + h, k * (w + GAP) : k * (w + GAP) + w] = tiles[i]
    return out


def show_mosaic(
    ax: Axes, image: np.ndarray, cmap: str = "gray", vmin: float | None = None, vmax: float | None = None
) -> AxesImage:
    """Draw a mosaic: one channel through `cmap`, three as RGB; the gaps stay transparent."""
    gaps = np.isnan(image).any(axis=-1)
    if image.shape[-1] == 3:
        rgba = np.concatenate([np.nan_to_num(image), (~gaps)[..., None].astype(np.float32)], axis=-1)
        return ax.imshow(rgba, interpolation="nearest")
    return ax.imshow(np.ma.masked_array(image[..., 0], gaps), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")


def label_tiles(ax: Axes, axis: str, count: int, size: int, labels: Sequence[str], title: str) -> None:
    """Ticks at the centres of `count` tiles of `size` pixels along `axis` ('x' or 'y'), named by `labels`."""
    step = max(1, math.ceil(count / MAX_TICKS))
    index = list(range(0, count, step))
    centres = [i * (size + GAP) + (size - 1) / 2 for i in index]
    names = [labels[i] for i in index]
    if axis == "x":
        ax.set_xticks(centres, names)
        ax.set_xlabel(title)
    else:
        ax.set_yticks(centres, names)
        ax.set_ylabel(title)
    ax.tick_params(length=0, labelsize=8)
    for side in ax.spines.values():
        side.set_visible(False)


def show_image(ax: Axes, pixels: np.ndarray, title: str) -> None:
    """An (H, W, C) image in [0, 1] (gray when C is 1) with pixel axes."""
    if pixels.shape[-1] == 1:
        ax.imshow(pixels[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(np.clip(pixels, 0, 1), interpolation="nearest")
    ax.set(title=title, xlabel="x (pixel)", ylabel="y (pixel)")
    ax.title.set_fontsize(9)
