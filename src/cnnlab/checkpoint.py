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
from cnnlab.models.legacy import with_current_names


class Stateful(Protocol):
    """A part of training that saves and restores itself (a stateful callback, e.g. weight averaging)."""

    state_key: str  # the key its state is saved under (hooks without one are not stateful)

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
    where: str = field(default="state.pt", compare=False, repr=False)  # the file it was read from, for errors

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
        """Put this state into freshly built objects of the same run; a state that does not fit them (another
        model's weights, a damaged optimiser state) is a UserError naming the file it came from."""
        try:
            model.load_state_dict(with_current_names(model, self.model))
            optimizer.load_state_dict(self.optimizer)
            scheduler.load_state_dict(self.scheduler)
            if scaler is not None and self.scaler:
                scaler.load_state_dict(self.scaler)
            for hook in _stateful(hooks):
                hook.load_state_dict(self.hooks.get(hook.state_key, {}))
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
            reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
            raise UserError(
                f"'{self.where}' does not fit this run ({reason}): it is damaged or another run's; start a new run"
            ) from None

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
        if not isinstance(data, Mapping) or not isinstance(data.get("epoch"), int) or data["epoch"] < 0:
            raise UserError(f"'{where}' does not hold a cnnlab resume state (no epoch number): start a new run")
        for key in ("model", "optimizer", "scheduler"):
            if not isinstance(data.get(key), Mapping):
                raise UserError(f"'{where}' lacks the {key} state a resume needs; it is damaged: start a new run")
        for key in ("scaler", "hooks", "lookahead"):
            if data.get(key) is not None and not isinstance(data[key], Mapping):
                raise UserError(f"'{where}' holds a {key} state that is not a mapping; it is damaged: start a new run")
        hooks = dict(data.get("hooks") or {})
        if data.get("lookahead"):
            hooks.setdefault("lookahead", data["lookahead"])
        return cls(
            epoch=int(data["epoch"]),
            model=dict(data["model"]),
            optimizer=dict(data["optimizer"]),
            scheduler=dict(data["scheduler"]),
            scaler=dict(data.get("scaler") or {}),
            hooks=hooks,
            progress=_progress(data, where),
            where=where,
        )


def _progress(data: Mapping[str, Any], where: str) -> FitProgress:
    """The fit progress saved beside the state; a figure that is not a number is a UserError naming `where`."""
    fields = FitProgress.__dataclass_fields__
    values = {key: data[key] for key in fields if key in data}
    for key, value in values.items():
        if key == "best_confusion":
            if not (isinstance(value, Mapping) and all(isinstance(v, list) for v in value.values())):
                raise UserError(f"'{where}' holds best_confusion = {value!r}, not confusion counts; start a new run")
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (number or (key == "best_epoch" and value is None)):
            raise UserError(f"'{where}' holds {key} = {value!r}, not a number; it is damaged: start a new run")
    return FitProgress(**values)


def _stateful(hooks: Sequence[Any]) -> list[Stateful]:
    return [hook for hook in hooks if getattr(hook, "state_key", None)]
