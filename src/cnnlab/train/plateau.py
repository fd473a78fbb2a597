"""`schedule.name=plateau`: the learning rate divided when the validation loss stops improving.

torch's ReduceLROnPlateau, stepped once an epoch on the epoch's validation loss (Keras's and
Lightning's usual companion of SGD). It is a stateful callback: its counters (best loss, epochs
without improvement, cooldown) go into the run's resume state, so a resumed run reduces the rate at
the same epochs as one never interrupted. The per-batch scheduler of `build_scheduler` leaves the
rate alone for this schedule, but for an optional warm-up.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import lr_scheduler

from cnnlab.config import ScheduleConfig

from .callbacks import Callback


class PlateauSchedule(Callback):
    """Multiplies every group's rate by `gamma` after `patience` evaluated epochs without a lower validation
    loss (relative threshold 1e-4, torch's default), down to `min_lr`."""

    state_key = "plateau"

    def __init__(self, optimizer: torch.optim.Optimizer, config: ScheduleConfig) -> None:
        self.scheduler = lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=config.gamma, patience=config.patience, min_lr=config.min_lr
        )

    def on_evaluation_end(self, row: dict[str, Any]) -> None:
        if row.get("val_loss") is not None:  # epochs without an evaluation (train.eval_every) do not count
            self.scheduler.step(row["val_loss"])

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            self.scheduler.load_state_dict(state)
