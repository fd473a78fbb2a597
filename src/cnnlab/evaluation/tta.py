"""Test-time augmentation: average the logits of a few views of each image.

Level 1 averages the image and its mirror; level 2 adds the mirrored pair of the image shifted by
one pixel up-left and down-right (reflect padding), weighted half and half with level 1, as in the
record CIFAR-10 recipes. With a `fraction` below 1, only that share of each batch, the images the
plain view is least sure of, gets the other views (a later record's saving: the views mostly change
the answer where the net hesitates).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _views(model: nn.Module, x: torch.Tensor, level: int, plain: torch.Tensor) -> torch.Tensor:
    """The level's averaged logits, given the plain view's `plain` = model(x)."""
    mirrored = 0.5 * (plain + model(x.flip(3)))
    if level == 1:
        return mirrored
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    shifted = [padded[..., 0:h, 0:w], padded[..., 2 : h + 2, 2 : w + 2]]
    pairs = [0.5 * (model(s) + model(s.flip(3))) for s in shifted]
    return 0.5 * mirrored + 0.5 * torch.stack(pairs).mean(0)


def tta_logits(model: nn.Module, x: torch.Tensor, level: int, fraction: float = 1.0) -> torch.Tensor:
    """The model's logits for `x`, averaged over the views of `level` (0: just x); with `fraction` < 1,
    only the ceil(fraction * len(x)) images of lowest top softmax probability get more than x."""
    plain = model(x)
    if level == 0 or x.dim() != 4:
        return plain
    if fraction >= 1:
        return _views(model, x, level, plain)
    confidence = plain.detach().float().softmax(1).amax(1)
    unsure = confidence.topk(math.ceil(fraction * len(x)), largest=False).indices
    logits = plain.clone()
    logits[unsure] = _views(model, x[unsure], level, plain[unsure]).to(logits.dtype)
    return logits


def tta_views(level: int, fraction: float = 1.0) -> float:
    """How many forward passes an image costs at `level`, on average over a batch."""
    return 1 + fraction * {0: 0, 1: 1, 2: 5}[level]
