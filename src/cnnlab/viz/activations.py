"""Activation maps: what one layer outputs for one image, captured with forward hooks.

Outputs are copied as the hook sees them: cnnlab's models use in-place activations, which would
otherwise overwrite a conv layer's output with its ReLU after the hook has run.

The maps are drawn side by side, or each laid over the input image (`overlay`), which shows where in
the image a channel responds: report 004 (task 4c, figures 12 and 13) finds the maps of ResNet18's
last conv layer hard to read alone, and sees the zebra's legs and head once they lie over the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from cnnlab.errors import UserError
from cnnlab.inference import load_run

from .canvas import default_path, grid_shape, label_tiles, mosaic, new_figure, save_png, show_image, show_mosaic
from .inputs import ImageInput, load_image, run_label
from .layers import choose_conv, choose_layer
from .overlay import draw_overlay, upsample_maps

MAX_MAPS = 64  # feature maps drawn unless a number is asked for; the title says when more were left out


@dataclass(frozen=True)
class LayerActivation:
    """One layer's output for one image, without the batch dimension: (C, H, W) maps or a (D,) vector."""

    layer: str
    output: torch.Tensor


def layer_outputs(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Each named layer's output for the batch `x` (a forward pass in inference mode, hooks on the layers)."""
    captured: dict[str, torch.Tensor] = {}

    def keeper(name: str):
        def hook(module: nn.Module, inputs: object, output: object) -> None:
            tensor = output[0] if isinstance(output, (tuple, list)) else output
            if isinstance(tensor, torch.Tensor):
                captured[name] = tensor.detach().clone()  # before an in-place activation changes it

        return hook

    handles = [choose_layer(model, name).register_forward_hook(keeper(name)) for name in layers]
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in layers if name not in captured]
    if missing:
        raise UserError(f"layer {', '.join(missing)} produced no tensor in the forward pass: choose another layer")
    return captured


def activation_maps(model: nn.Module, x: torch.Tensor, layer: str | None = None) -> LayerActivation:
    """`layer`'s output (default: the first conv layer) for the single image `x` (1, C, H, W)."""
    name = layer if layer is not None else choose_conv(model, None, "first")[0]
    return LayerActivation(name, layer_outputs(model, x, [name])[name][0])


def activation_figure(
    activation: LayerActivation,
    image: ImageInput,
    title: str,
    classes: Sequence[str] = (),
    overlay: bool = False,
    maps: int | None = None,
) -> Figure:
    """The input beside the layer's maps (one colour scale for all) or, for a vector, a bar per unit.

    `overlay` lays each map, upsampled to the image's size, semi-transparent over the input instead (as
    Grad-CAM lays its heat map). `maps` draws the first that many channels (default: up to MAX_MAPS).
    Both need feature maps: asking for them on a vector (a fully connected layer) is a UserError.
    """
    output = activation.output.float()
    if output.dim() != 3:
        if overlay or maps is not None:
            flag = "--overlay lays feature maps over the image" if overlay else "--maps counts feature maps"
            raise UserError(
                f"{flag}, but layer '{activation.layer}' outputs a vector of {output.numel()} values (a fully "
                "connected layer has no positions in the image): choose a conv or pooling layer with --layer "
                "(`cnnlab inspect MODEL` lists them)"
            )
        figure = _vector_figure(output.flatten(), image, classes)
    else:
        if maps is not None and maps < 1:
            raise UserError(f"--maps must be at least 1, not {maps}")
        shown = output[: maps or MAX_MAPS]
        figure = _overlay_figure(shown, len(output), image) if overlay else _maps_figure(shown, len(output), image)
    figure.suptitle(title, fontsize=10)
    return figure


def draw_activations(
    activation: LayerActivation,
    image: ImageInput,
    path: str | Path,
    title: str,
    classes: Sequence[str] = (),
    overlay: bool = False,
    maps: int | None = None,
) -> Path:
    """Write `activation_figure(...)` as a PNG and return its path."""
    return save_png(activation_figure(activation, image, title, classes, overlay, maps), path)


def _left_out(shown: int, total: int) -> str:
    return f" (the first {shown} of {total})" if shown < total else ""


def _maps_figure(maps: torch.Tensor, total: int, image: ImageInput) -> Figure:
    shown = maps.numpy()
    h, w = shown.shape[1:]
    rows, cols = grid_shape(len(shown))
    tile = min(1.1, 9.0 / cols, 7.5 / rows)  # inches a map: 64 maps stay on one page
    figure = new_figure(3.6 + cols * tile * w / max(h, w), max(3.0, rows * tile * h / max(h, w) + 1.1))
    image_ax, maps_ax = figure.subplots(1, 2, width_ratios=[2.4, cols * tile])
    show_image(image_ax, image.pixels, f"input ({image.path.name})")
    low, high = float(shown.min()), float(shown.max())
    drawn = show_mosaic(
        maps_ax, mosaic(shown[..., None], rows, cols), cmap="viridis", vmin=low, vmax=max(high, low + 1e-6)
    )
    label_tiles(maps_ax, "x", cols, w, [f"+{c}" for c in range(cols)], "channel = row start + column")
    label_tiles(maps_ax, "y", rows, h, [str(r * cols) for r in range(rows)], "channel (row start)")
    maps_ax.set_title(f"{len(shown)} feature maps {h}x{w}{_left_out(len(shown), total)}", fontsize=9)
    figure.colorbar(drawn, ax=maps_ax, shrink=0.8).set_label("activation", fontsize=8)
    return figure


def _overlay_figure(maps: torch.Tensor, total: int, image: ImageInput) -> Figure:
    """The input, then a panel per channel: its map upsampled to the image and laid over it (one colour scale)."""
    height, width = image.pixels.shape[:2]
    upsampled = upsample_maps(maps, (height, width)).numpy()
    low, high = float(maps.min()), float(maps.max())
    rows, cols = grid_shape(len(maps) + 1)
    tile = min(1.6, 11.0 / cols, 8.5 / rows)  # inches a panel: 64 maps and the input stay on one page
    figure = new_figure(cols * tile + 1.0, rows * tile + 1.0)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    show_image(axes[0], image.pixels, f"input ({image.path.name})")
    panels = axes[1 : len(maps) + 1]
    for channel, ax in enumerate(panels):
        heat = draw_overlay(ax, image.pixels, upsampled[channel], f"channel {channel}", low, max(high, low + 1e-6))
        ax.set_axis_off()
    for ax in axes[len(maps) + 1 :]:
        ax.remove()
    figure.colorbar(heat, ax=list(panels), shrink=0.8).set_label("activation", fontsize=8)
    h, w = maps.shape[1:]
    figure.supxlabel(
        f"{len(maps)} feature maps {h}x{w}{_left_out(len(maps), total)}, each upsampled to {height}x{width} and "
        "laid half-transparent over the input",
        fontsize=8,
    )
    return figure


def _vector_figure(values: torch.Tensor, image: ImageInput, classes: Sequence[str]) -> Figure:
    figure = new_figure(11.0, 3.8)
    image_ax, bar_ax = figure.subplots(1, 2, width_ratios=[1, 3])
    show_image(image_ax, image.pixels, f"input ({image.path.name})")
    units = np.arange(len(values))
    bar_ax.bar(units, values.numpy(), color="tab:blue", width=0.8)
    if len(values) == len(classes):  # the logits: name each bar by its class
        bar_ax.set_xticks(units, list(classes), rotation=45, ha="right", fontsize=8)
        bar_ax.set_xlabel("class")
    else:
        bar_ax.set_xlabel("unit")
    bar_ax.set_ylabel("activation")
    bar_ax.set_title(f"{len(values)} outputs", fontsize=9)
    bar_ax.grid(axis="y", alpha=0.3)
    return figure


def activations_figure(
    run_dir: str | Path,
    image: str | Path,
    layer: str | None = None,
    out: str | Path | None = None,
    overlay: bool = False,
    maps: int | None = None,
) -> Path:
    """Draw `layer`'s activations (default: the first conv layer) for `image`, laid over it with `overlay`,
    the first `maps` channels when given; returns the PNG's path."""
    run = load_run(run_dir)
    picture = load_image(run, image)
    activation = activation_maps(run.model, picture.x, layer)
    over = " over the input" if overlay else ""
    title = f"{run_label(run)}: activations of {activation.layer} for {picture.path.name}{over}"
    path = out or default_path(run_dir, "activations", layer, picture.path.stem, "overlay" if overlay else None)
    return draw_activations(activation, picture, path, title, run.classes, overlay, maps)
