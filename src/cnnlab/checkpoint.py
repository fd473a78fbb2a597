"""The resume state of a run: everything training needs to continue after its last finished epoch.

One type owns it: `TrainingState.capture` takes it from the live objects after an epoch,
`restore` puts it back into fresh ones, and `to_dict` / `from_dict` are its form on disk (`state.pt`,
plain tensors and numbers, read with `torch.load(weights_only=True)`). Resuming from it replays the
rest of the run exactly: with the per-epoch seeding of shuffling, augmentation and dropout, a resumed
run ends with the same metrics and weights as one never interrupted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from cnnlab.errors import UserError


class Stateful(Protocol):
    """A part of training that saves and restores itself (a stateful callback, e.g. weight averaging)."""

    state_key: str | None

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class FitProgress:
    """Where the fit loop stands: the best epoch so far and the counts the summary reports."""

    best_epoch: int | None = None
    best_val_loss: float = math.inf
    bad_epochs: int = 0  # epochs since the best one, for early stopping
    train_seconds: float = 0.0
    train_images: int = 0
    best_confusion: dict[str, list[list[int]]] = field(default_factory=dict)  # per held-out split, at the best epoch


@dataclass
class TrainingState:
    """The state of a run after `epoch`: weights, optimiser, schedule, scaler, stateful hooks, progress."""

    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # by each stateful hook's state_key
    progress: FitProgress = field(default_factory=FitProgress)

    @classmethod
    def capture(
        cls,
        epoch: int,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler | None,
        hooks: Sequence[Any],
        progress: FitProgress,
    ) -> TrainingState:
        """The state of the live objects now (after `epoch` finished)."""
        return cls(
            epoch=epoch,
            model=model.state_dict(),
            optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict(),
            scaler=scaler.state_dict() if scaler is not None else {},
            hooks={hook.state_key: hook.state_dict() for hook in _stateful(hooks)},
            progress=FitProgress(**vars(progress)),
        )

    def restore(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler | None,
        hooks: Sequence[Any],
    ) -> None:
        """Put this state into freshly built objects of the same run."""
        model.load_state_dict(self.model)
        optimizer.load_state_dict(self.optimizer)
        scheduler.load_state_dict(self.scheduler)
        if scaler is not None and self.scaler:
            scaler.load_state_dict(self.scaler)
        for hook in _stateful(hooks):
            hook.load_state_dict(self.hooks.get(hook.state_key, {}))

    def to_dict(self) -> dict[str, Any]:
        """The form saved in state.pt: tensors, numbers and strings only."""
        return {
            "epoch": self.epoch,
            "model": self.model,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "scaler": self.scaler,
            "hooks": self.hooks,
            **vars(self.progress),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "state.pt") -> TrainingState:
        """The state read back from `to_dict`'s form; anything else is a UserError naming `where`.

        State written before hooks had their own entry kept the weight averaging under "lookahead".
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("epoch"), int):
            raise UserError(f"'{where}' does not hold a cnnlab resume state (no epoch number): start a new run")
        for key in ("model", "optimizer", "scheduler"):
            if not isinstance(data.get(key), Mapping):
                raise UserError(f"'{where}' lacks the {key} state a resume needs; it is damaged: start a new run")
        hooks = dict(data.get("hooks") or {})
        if data.get("lookahead"):
            hooks.setdefault("lookahead", data["lookahead"])
        fields = FitProgress.__dataclass_fields__
        return cls(
            epoch=int(data["epoch"]),
            model=dict(data["model"]),
            optimizer=dict(data["optimizer"]),
            scheduler=dict(data["scheduler"]),
            scaler=dict(data.get("scaler") or {}),
            hooks=hooks,
            progress=FitProgress(**{k: data[k] for k in fields if k in data}),
        )


def _stateful(hooks: Sequence[Any]) -> list[Stateful]:
    return [hook for hook in hooks if getattr(hook, "state_key", None)]
