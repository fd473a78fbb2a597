"""Lookahead weight averaging: every few steps the weights and a slow copy meet at their average.

The record CIFAR-10 recipes use it instead of a plain EMA: the slow copy moves towards the weights
by (1 - rho), then the weights are reset to the slow copy, with rho growing over training so that
early steps move fast and late ones average strongly.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.config import LookaheadConfig

from .callbacks import Callback


class Lookahead(Callback):
    """Averages a model's floating-point state (weights and batch-norm statistics) every `every` steps.

    A stateful callback: it steps after each optimiser step, puts the slow weights into the model at the
    end of each training pass (before evaluation), and its slow copy is saved with the run's resume state.
    """

    state_key = "lookahead"

    def __init__(self, model: nn.Module, config: LookaheadConfig, total_steps: int, steps_per_epoch: int) -> None:
        self.model = model
        self.config = config
        self.total_steps = max(1, total_steps)
        self.start_step = int(config.start * steps_per_epoch)
        self.slow: dict[str, torch.Tensor] | None = None

    @property
    def enabled(self) -> bool:
        return self.config.decay > 0

    def _float_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def step(self, global_step: int) -> None:
        """Call after each optimiser step; `global_step` counts from 1 over the whole run."""
        if not self.enabled or global_step < self.start_step or global_step % self.config.every:
            return
        state = self._float_state()
        if self.slow is None:
            self.slow = {k: v.detach().clone() for k, v in state.items()}
            return
        rho = self.config.decay**self.config.every * (global_step / self.total_steps) ** self.config.power
        for key, value in state.items():
            slow = self.slow[key]
            slow.lerp_(value, 1 - rho)
            value.copy_(slow)

    @torch.no_grad()
    def sync(self) -> None:
        """Put the slow weights into the model (at the end of an epoch, before evaluating)."""
        if self.slow is not None:
            for key, value in self._float_state().items():
                value.copy_(self.slow[key])

    def on_train_step_end(self, step: int) -> None:
        self.step(step)

    def on_train_epoch_end(self, epoch: int) -> None:
        self.sync()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in (self.slow or {}).items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """The slow copy from a resume state (read onto the CPU), moved beside the model's own tensors."""
        if not state:
            self.slow = None
            return
        current = self._float_state()
        self.slow = {k: v.to(current[k].device if k in current else v.device, copy=True) for k, v in state.items()}
