"""The gradient check: the hand-written backward pass against autograd on the same forward pass.

Run it in float64: float32 rounding alone gives relative errors near 1e-7, which would hide a
small mistake in a derivation, while a correct backward agrees with autograd to about 1e-15.
"""

from __future__ import annotations

from typing import cast

import torch

from .mlp import MLPParams, backward, cross_entropy, forward


def autograd_gradients(params: MLPParams, x: torch.Tensor, labels: torch.Tensor) -> MLPParams:
    """dL/dtheta for each parameter, by autograd through the hand-written forward and loss."""
    leaves = MLPParams(*(t.detach().clone().requires_grad_(True) for t in params.as_dict().values()))
    cross_entropy(forward(leaves, x).logits, labels).backward()
    return MLPParams(*(cast(torch.Tensor, t.grad) for t in leaves.as_dict().values()))  # backward() set each


def manual_gradients(params: MLPParams, x: torch.Tensor, labels: torch.Tensor) -> MLPParams:
    """dL/dtheta for each parameter, by the hand-written backward pass."""
    return backward(params, x, labels, forward(params, x))


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / (||a|| + ||b||): 0 when equal, 1 when opposite, scale-free; 0 for two zero tensors."""
    denominator = (a.norm() + b.norm()).item()
    return 0.0 if denominator == 0 else (a - b).norm().item() / denominator


def gradient_errors(params: MLPParams, x: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """The relative error of the hand-written gradient of each parameter against autograd's."""
    manual, auto = manual_gradients(params, x, labels), autograd_gradients(params, x, labels)
    return {name: relative_error(g, getattr(auto, name)) for name, g in manual.as_dict().items()}
