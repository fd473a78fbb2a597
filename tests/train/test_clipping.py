"""Gradient clipping by norm: the gradients scaled to the limit, their direction kept (checked by hand)."""

from __future__ import annotations

import torch

from cnnlab.train.clipping import GradientClipping


def test_gradients_above_the_limit_are_scaled_to_it_and_below_are_left() -> None:
    model = torch.nn.Linear(2, 1)
    model.weight.grad = torch.tensor([[3.0, 0.0]])
    model.bias.grad = torch.tensor([4.0])  # total norm sqrt(9 + 16) = 5
    clip = GradientClipping(model, max_norm=1.0)
    clip.on_before_optimizer_step(torch.optim.SGD(model.parameters(), lr=0.1))
    assert float(clip.last_norm) == 5.0
    assert torch.allclose(model.weight.grad, torch.tensor([[0.6, 0.0]]), atol=1e-6)  # 3 / 5
    assert torch.allclose(model.bias.grad, torch.tensor([0.8]), atol=1e-6)  # 4 / 5
    GradientClipping(model, max_norm=10.0).on_before_optimizer_step(torch.optim.SGD(model.parameters(), lr=0.1))
    assert torch.allclose(model.bias.grad, torch.tensor([0.8]), atol=1e-6)
