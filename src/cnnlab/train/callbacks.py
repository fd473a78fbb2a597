"""Named hooks into the fit loop: everything optional about training plugs in here, not into the loop.

In the spirit of Lightning's callbacks: the loop calls each hook at a named point, in order, and a
callback overrides only the points it needs. A stateful callback names a `state_key` and gives
`state_dict` / `load_state_dict`; the run's resume state (`cnnlab.checkpoint.TrainingState`) saves
and restores it, so a resumed run never forgets it. The loop's points, in order:

    on_fit_start(model)              once, before the first epoch of this process (also on resume)
    on_epoch_start(epoch)            before an epoch's training pass
    select_batch(x, y) -> (x, y)     before each training step: the examples of the batch to train on (all of
                                     them unless a callback keeps fewer: `train.selection`'s hardest examples)
    on_before_optimizer_step(opt)    after each backward pass (gradients unscaled), before the optimiser steps
    on_train_step_end(step)          after each optimiser step; `step` counts from 1 over the whole run
    on_train_epoch_end(epoch)        after the training pass, before the epoch's evaluation
    on_evaluation_end(row)           after the epoch's evaluation and best weights, before its resume state is saved
    on_epoch_end(row)                after each trained epoch's metrics row is written (metrics.jsonl's line; the
                                     epoch-0 row, the untrained net's evaluation, is no epoch's end)
    on_fit_end(status)               once, when the loop stops (completed, early_stopped, diverged, interrupted)

The models' own hooks are in `cnnlab.models.hooks` (`init_from_data`, `set_epoch`); `ModelEpochHook`
brings a model's `set_epoch` into this list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnnlab.models.hooks import EpochAware


class Callback:
    """A hook into the fit loop; every point is a no-op until overridden. See the module's docstring."""

    state_key: str | None = None  # set it, and give state_dict / load_state_dict, to be saved with the run

    def on_fit_start(self, model: nn.Module) -> None:
        pass

    def on_epoch_start(self, epoch: int) -> None:
        pass

    def select_batch(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, y

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        pass

    def on_train_step_end(self, step: int) -> None:
        pass

    def on_train_epoch_end(self, epoch: int) -> None:
        pass

    def on_evaluation_end(self, row: dict[str, Any]) -> None:
        pass

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        pass

    def on_fit_end(self, status: str) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class EpochEndFunction(Callback):
    """A plain function of each epoch's metrics row, as a callback (`train(config, out, callbacks=[f])`)."""

    def __init__(self, function: Callable[[dict[str, Any]], None]) -> None:
        self.function = function

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        self.function(row)


class ModelEpochHook(Callback):
    """Tells a model with epoch-dependent behaviour (e.g. fastnet freezing its whitening bias) each epoch."""

    def __init__(self, model: EpochAware) -> None:
        self.model = model

    def on_epoch_start(self, epoch: int) -> None:
        self.model.set_epoch(epoch)


def as_callbacks(hooks: list[Callback | Callable[[dict[str, Any]], None]]) -> list[Callback]:
    """Callbacks as they are, plain functions of the metrics row wrapped as `EpochEndFunction`s."""
    return [hook if isinstance(hook, Callback) else EpochEndFunction(hook) for hook in hooks]
