"""Filter grids: the kernels of a conv layer as images.

The first conv layer of a three-channel input shows each kernel as one RGB tile; any other conv
layer shows one tile for each (filter, input channel) pair, a row per filter. Each kernel (all
its input channels together) is scaled to its own range [0, 1], so a filter with small weights
is as visible as one with large weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.inference import load_run

from .canvas import default_path, grid_shape, label_tiles, mosaic, new_figure, save_png, show_mosaic
from .inputs import run_label
from .layers import choose_conv, conv_layers

MAX_KERNELS = 64  # whole kernels (RGB or single-channel) shown in a grid
MAX_FILTERS = 16  # rows of a (filter x input channel) grid
MAX_INPUTS = 16  # its columns


@dataclass(frozen=True)
class FilterGrid:
    """The tiles of one conv layer's filters and how many were left out."""

    layer: str
    tiles: torch.Tensor  # (filters, inputs, kh, kw, C) in [0, 1]; inputs is 1 for whole kernels, C is 3 for RGB
    total_filters: int
    total_inputs: int

    @property
    def rgb(self) -> bool:
        return self.tiles.shape[-1] == 3

    @property
    def whole_kernels(self) -> bool:
        """A tile a kernel (laid out in a square-ish grid) rather than a tile a (filter, input channel)."""
        return self.tiles.shape[1] == 1

    @property
    def tile_count(self) -> int:
        return self.tiles.shape[0] * self.tiles.shape[1]


def scale_kernels(weight: torch.Tensor) -> torch.Tensor:
    """Each kernel weight[i] mapped linearly onto [0, 1] by its own min and max (a constant kernel is 0.5)."""
    flat = weight.detach().float().cpu().flatten(1)
    low, high = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    span = high - low
    scaled = torch.where(span > 0, (flat - low) / span.clamp_min(torch.finfo(flat.dtype).tiny), 0.5)
    return scaled.view(weight.shape)


def filter_grid(model: nn.Module, layer: str | None = None) -> FilterGrid:
    """The tiles of `layer`'s filters (default: the first conv layer), each kernel scaled to [0, 1]."""
    name, conv = choose_conv(model, layer, "first")
    scaled = scale_kernels(conv.weight)  # (out, in / groups, kh, kw)
    out_channels, in_channels = scaled.shape[:2]
    first = name == next(iter(conv_layers(model)))
    if (first and in_channels == 3) or in_channels == 1:
        tiles = scaled[:MAX_KERNELS].permute(0, 2, 3, 1)[:, None]  # a kernel a tile, its channels as colours
    else:
        tiles = scaled[:MAX_FILTERS, :MAX_INPUTS, :, :, None]  # a row a filter, a column an input channel
    return FilterGrid(name, tiles.contiguous(), out_channels, in_channels)


def describe(grid: FilterGrid) -> str:
    """What the grid shows and what was left out: '32 filters 5x5, RGB', 'the first 16 of 64 filters x ...'."""
    kh, kw = grid.tiles.shape[2:4]
    filters = _count(grid.tiles.shape[0], grid.total_filters, "filters")
    if grid.whole_kernels:
        return f"{filters} {kh}x{kw}, {'RGB' if grid.rgb else 'one channel'}"
    return f"{filters} x {_count(grid.tiles.shape[1], grid.total_inputs, 'input channels')}, {kh}x{kw}"


def _count(shown: int, total: int, what: str) -> str:
    return f"the first {shown} of {total} {what}" if shown < total else f"{total} {what}"


def draw_filters(grid: FilterGrid, path: str | Path, title: str) -> Path:
    """A PNG of the grid: whole kernels in rows of 8, or a row per filter and a column per input channel."""
    tiles = grid.tiles.numpy()
    kh, kw = tiles.shape[2:4]
    if grid.whole_kernels:
        rows, cols = grid_shape(tiles.shape[0])
        image = mosaic(tiles[:, 0], rows, cols)
    else:
        rows, cols = tiles.shape[:2]
        image = mosaic(tiles.reshape(rows * cols, kh, kw, tiles.shape[-1]), rows, cols)
    tile_inches = min(0.9, 7.0 / max(rows, cols))  # big tiles for a few kernels, a page for many
    figure = new_figure(max(4.0, cols * tile_inches + 2.2), max(2.2, rows * tile_inches * (kh + 1) / (kw + 1) + 1.3))
    ax = figure.subplots()
    shown = show_mosaic(ax, image, cmap="gray", vmin=0.0, vmax=1.0)
    if grid.whole_kernels:
        label_tiles(ax, "x", cols, kw, [f"+{c}" for c in range(cols)], "filter = row start + column")
        label_tiles(ax, "y", rows, kh, [str(r * cols) for r in range(rows)], "filter (row start)")
    else:
        label_tiles(ax, "x", cols, kw, [str(c) for c in range(cols)], "input channel")
        label_tiles(ax, "y", rows, kh, [str(r) for r in range(rows)], "filter (output channel)")
    if not grid.rgb:
        bar = figure.colorbar(shown, ax=ax, shrink=0.9)
        bar.set_ticks([0.0, 0.5, 1.0], labels=["kernel min", "", "kernel max"], fontsize=8)
    figure.suptitle(title, fontsize=10)
    return save_png(figure, path)


def filters_figure(run_dir: str | Path, layer: str | None = None, out: str | Path | None = None) -> Path:
    """Draw the filters of `layer` (default: the first conv layer) of the run in `run_dir`; returns the PNG's path."""
    run = load_run(run_dir)
    grid = filter_grid(run.model, layer)
    title = f"{run_label(run)}: filters of {grid.layer}\n{describe(grid)}, each kernel scaled to its own range"
    return draw_filters(grid, out or default_path(run_dir, "filters", layer), title)
