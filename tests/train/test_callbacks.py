"""Named hooks: called at their points in order, and a stateful one saved and restored with the run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.fakes import stop_at_epoch

from cnnlab.checkpoint import FitProgress, TrainingState
from cnnlab.config import load_config
from cnnlab.errors import UserError
from cnnlab.runs import RunFolder
from cnnlab.train import Callback, resume, train

TINY = ["data.source=digits", "model.widths=[4,8,8]", "model.hidden=16", "train.epochs=3", "train.threads=1"]


class Recorder(Callback):
    """Records every point it is called at; counts steps as its state."""

    state_key = "recorder"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.steps = 0

    def on_fit_start(self, model) -> None:
        self.calls.append("fit_start")

    def on_epoch_start(self, epoch: int) -> None:
        self.calls.append(f"epoch_start {epoch}")

    def on_train_step_end(self, step: int) -> None:
        self.steps += 1

    def on_train_epoch_end(self, epoch: int) -> None:
        self.calls.append(f"train_epoch_end {epoch}")

    def on_epoch_end(self, row: dict) -> None:
        self.calls.append(f"epoch_end {row['epoch']}")

    def on_fit_end(self, status: str) -> None:
        self.calls.append(f"fit_end {status}")

    def state_dict(self) -> dict:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.steps = state.get("steps", 0)


def test_each_point_is_called_in_order(tmp_path: Path) -> None:
    recorder = Recorder()
    result = train(load_config(None, TINY), tmp_path / "run", callbacks=[recorder])
    epochs = [f"{point} {e}" for e in (1, 2, 3) for point in ("epoch_start", "train_epoch_end", "epoch_end")]
    assert recorder.calls == ["fit_start", *epochs, "fit_end completed"]
    steps_per_epoch = -(-result.folder.read_info()["split_counts"]["train"] // 128)
    assert recorder.steps == 3 * steps_per_epoch


def test_a_stateful_callback_is_saved_and_restored_on_resume(tmp_path: Path) -> None:
    first = Recorder()
    train(load_config(None, TINY), tmp_path / "run", callbacks=[first, stop_at_epoch(1)])
    assert RunFolder(tmp_path / "run").load_state().hooks["recorder"] == {"steps": first.steps}
    again = Recorder()
    resume(tmp_path / "run", callbacks=[again])
    whole = Recorder()
    train(load_config(None, TINY), tmp_path / "whole", callbacks=[whole])
    assert again.steps == whole.steps  # it went on counting from what the state saved


def test_the_resume_state_round_trips_and_a_foreign_one_is_refused(tmp_path: Path) -> None:
    state = TrainingState(3, {"w": torch.ones(2)}, {"state": {}}, {"last_epoch": 3}, hooks={"x": {"a": 1}})
    state.progress = FitProgress(best_epoch=2, best_val_loss=0.5, bad_epochs=1, train_seconds=9.5, train_images=90)
    back = TrainingState.from_dict(state.to_dict())
    assert back.epoch == 3 and back.progress == state.progress and back.hooks == {"x": {"a": 1}}
    assert torch.equal(back.model["w"], torch.ones(2))
    old = {**state.to_dict(), "lookahead": {"w": torch.zeros(2)}}  # written before hooks had their own entry
    del old["hooks"]
    assert torch.equal(TrainingState.from_dict(old).hooks["lookahead"]["w"], torch.zeros(2))
    for bad in ([1, 2], {"epoch": "3"}, {"epoch": 3, "model": {}, "optimizer": 5, "scheduler": {}}):
        with pytest.raises(UserError, match=r"'where\.pt' (does not hold a cnnlab resume state|lacks the optimizer)"):
            TrainingState.from_dict(bad, "where.pt")
