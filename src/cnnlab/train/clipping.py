"""Gradient clipping by norm (`optim.clip_norm`): a callback between the backward pass and the step.

Scaling every gradient by max_norm / total_norm when their joint L2 norm exceeds max_norm keeps one bad
batch (a large loss early in training, a rare outlier) from throwing the weights far, without changing
the direction of the step: what timm's `--clip-grad` and Lightning's `gradient_clip_val` do.
"""

from __future__ import annotations

import torch
from torch import nn

from .callbacks import Callback


class GradientClipping(Callback):
    """Clips the gradients of a model's trainable parameters to a total norm of `max_norm` before each step."""

    def __init__(self, model: nn.Module, max_norm: float) -> None:
        self.parameters = [p for p in model.parameters() if p.requires_grad]
        self.max_norm = max_norm
        self.last_norm: float | None = None  # the norm before clipping, of the last step (a tensor until read)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        self.last_norm = torch.nn.utils.clip_grad_norm_(self.parameters, self.max_norm)  # type: ignore[assignment]
