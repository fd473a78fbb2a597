"""A layer's coarse maps laid over the input image: upsampled to the image's size, drawn semi-transparent.

Grad-CAM's heat map and the activation overlays share this, so both line up with the image the same way.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.image import AxesImage

from .canvas import show_image

OVERLAY_ALPHA = 0.5  # the map's opacity: the image stays visible underneath
OVERLAY_CMAP = "jet"


def upsample_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(C, h, w) maps resized to (C, H, W) by bilinear interpolation, the pixel centres aligned."""
    return F.interpolate(maps[None].float(), size=tuple(size), mode="bilinear", align_corners=False)[0]


def draw_overlay(ax: Axes, pixels: np.ndarray, heat: np.ndarray, title: str, vmin: float, vmax: float) -> AxesImage:
    """The (H, W, C) image in [0, 1] with the (H, W) map `heat` over it, coloured between vmin and vmax."""
    show_image(ax, pixels, title)
    return ax.imshow(heat, cmap=OVERLAY_CMAP, alpha=OVERLAY_ALPHA, vmin=vmin, vmax=vmax, interpolation="bilinear")
