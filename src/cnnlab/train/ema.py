"""An exponential moving average of the weights (`train.ema`), evaluated in place of the raw weights.

After every optimiser step the average moves towards the weights: avg <- decay * avg + (1 - decay) * w
(timm's ModelEmaV2, torch's AveragedModel with get_ema_multi_avg_fn), over the floating-point state,
batch-norm statistics included. Unlike lookahead (`train/averaging.py`), the average never feeds back
into training: it is put into the model for the epoch's evaluation only, so the figures reported and the
best weights saved are the average's, and the training weights come back before the resume state is saved.
"""

from __future__ import annotations

import torch
from torch import nn

from .callbacks import Callback


class ExponentialMovingAverage(Callback):
    """Keeps the average from the initial weights on; a stateful callback (saved with the resume state)."""

    state_key = "ema"

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model = model
        self.decay = decay
        self.average: dict[str, torch.Tensor] | None = None
        self._training: dict[str, torch.Tensor] | None = None  # the raw weights, set aside while evaluating

    def _float_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items() if v.is_floating_point()}

    def on_fit_start(self, model: nn.Module) -> None:
        if self.average is None:  # a resumed run has its average back already
            self.average = {k: v.detach().clone() for k, v in self._float_state().items()}

    @torch.no_grad()
    def on_train_step_end(self, step: int) -> None:
        assert self.average is not None
        state = self._float_state()
        torch._foreach_lerp_(list(self.average.values()), [state[k] for k in self.average], 1 - self.decay)

    @torch.no_grad()
    def on_train_epoch_end(self, epoch: int) -> None:
        """The average into the model for evaluation; the training weights kept aside."""
        assert self.average is not None
        state = self._float_state()
        self._training = {k: v.detach().clone() for k, v in state.items()}
        for key, value in state.items():
            value.copy_(self.average[key])

    @torch.no_grad()
    def on_evaluation_end(self, row: dict) -> None:
        """The training weights back, before the resume state captures them."""
        if self._training is not None:
            for key, value in self._float_state().items():
                value.copy_(self._training[key])
            self._training = None

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in (self.average or {}).items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.average = {k: v.clone() for k, v in state.items()} if state else None
