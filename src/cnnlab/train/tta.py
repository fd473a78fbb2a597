"""Test-time augmentation: average the logits of a few views of each image.

Level 1 averages the image and its mirror; level 2 adds the mirrored pair of the image shifted by
one pixel up-left and down-right (reflect padding), weighted half and half with level 1, as in the
record CIFAR-10 recipes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _mirrored(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (model(x) + model(x.flip(3)))


def tta_logits(model: nn.Module, x: torch.Tensor, level: int) -> torch.Tensor:
    """The model's logits for `x`, averaged over the views of `level` (0: just x)."""
    if level == 0 or x.dim() != 4:
        return model(x)
    logits = _mirrored(model, x)
    if level == 1:
        return logits
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    shifted = [padded[..., 0:h, 0:w], padded[..., 2 : h + 2, 2 : w + 2]]
    return 0.5 * logits + 0.5 * torch.stack([_mirrored(model, s) for s in shifted]).mean(0)


def tta_views(level: int) -> int:
    """How many forward passes an image costs at `level`."""
    return {0: 1, 1: 2, 2: 6}[level]
