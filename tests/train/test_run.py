"""Whole runs on the embedded digits: the run folder, resume after a kill, Ctrl-C, determinism."""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tests.fakes import stop_at_epoch, without_seconds

from cnnlab.config import load_config
from cnnlab.errors import UserError
from cnnlab.runs import RunFolder
from cnnlab.train import resume, train

SMALL = [
    "data.source=digits",
    "model.widths=[8,16,16]",
    "model.hidden=32",
    "train.epochs=4",
    "train.batch_size=64",
    "train.threads=1",
    "optim.lr=0.05",
    "data.augment.flip=true",
    "model.dropout=0.3",
]


def _config(*extra: str):
    return load_config(None, [*SMALL, *extra])


def _metrics(folder: Path) -> list[dict]:
    return without_seconds(RunFolder(folder).read_metrics())


def test_run_folder_holds_the_contract(tmp_path: Path) -> None:
    result = train(_config(), tmp_path / "run")
    folder = tmp_path / "run"
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "model.safetensors", "state.pt", "run.json"):
        assert (folder / name).is_file(), name
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [0, 1, 2, 3, 4]
    # epoch 0 is the untrained net (seeds/000 Q17 asks for it): ten classes start near ln 10 = 2.30
    assert abs(rows[0]["train_loss"] - math.log(10)) < 0.1 and abs(rows[0]["test_loss"] - math.log(10)) < 0.1
    expected_keys = {"epoch", "lr", "seconds"} | {
        f"{s}_{m}" for s in ("train", "val", "test") for m in ("loss", "top1", "top5")
    }
    assert set(rows[0]) == expected_keys
    assert all(0 <= row["test_top1"] <= 1 for row in rows)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_run"] == 4
    assert summary["best_epoch"] == min(rows[1:], key=lambda r: r["val_loss"])["epoch"]  # never the untrained net
    best = rows[summary["best_epoch"]]
    assert summary["test_top1"] == best["test_top1"] and summary["val_loss"] == best["val_loss"]
    assert summary["params"] > 0 and summary["images_per_second"] > 0
    assert load_config(folder / "config.yaml") == _config()  # the folder alone reproduces the run
    assert result.status == "completed"
    assert torch.load(folder / "state.pt", weights_only=True)["epoch"] == 4
    assert "features.conv1.weight" in load_file(folder / "model.safetensors")


def test_same_seed_same_metrics_other_seed_differs(tmp_path: Path) -> None:
    train(_config(), tmp_path / "a")
    train(_config(), tmp_path / "b")
    train(_config("train.seed=1"), tmp_path / "c")
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")
    assert _metrics(tmp_path / "a") != _metrics(tmp_path / "c")


KILLER = """
import os, signal, sys
import cnnlab.data.batches as batches
from cnnlab.config import load_config
from cnnlab.train import resume, train

passes = {"train": 0}
original = batches.BatchIterator.__iter__

def killing_iter(self):
    if self.train:
        passes["train"] += 1
    for i, batch in enumerate(original(self)):
        if self.train and passes["train"] == int(sys.argv[2]) and i == 5:
            os.kill(os.getpid(), signal.SIGKILL)  # mid-epoch, no clean-up of any kind
        yield batch

batches.BatchIterator.__iter__ = killing_iter
train(load_config(None, sys.argv[3:]), sys.argv[1], progress=False)
"""


@pytest.mark.parametrize("killed_in_epoch", [1, 3])
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path: Path, killed_in_epoch: int) -> None:
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    run_dir = tmp_path / "killed"
    done = subprocess.run(
        [sys.executable, str(script), str(run_dir), str(killed_in_epoch), *SMALL],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert done.returncode == -9, done.stderr
    # the epoch in flight is all that is lost (epoch 0 is the evaluation of the initial weights)
    assert [row["epoch"] for row in _metrics(run_dir)] == list(range(killed_in_epoch))
    assert RunFolder(run_dir).read_summary() is None

    resumed = resume(run_dir)
    train(_config(), tmp_path / "whole")
    assert resumed.status == "completed"
    assert _metrics(run_dir) == _metrics(tmp_path / "whole")
    assert load_file(run_dir / "model.safetensors").keys() == load_file(tmp_path / "whole" / "model.safetensors").keys()
    for key, value in load_file(run_dir / "model.safetensors").items():
        assert torch.equal(value, load_file(tmp_path / "whole" / "model.safetensors")[key]), key


def test_ctrl_c_writes_the_state_marks_interrupted_and_resumes(tmp_path: Path) -> None:
    stopped = train(_config(), tmp_path / "run", callbacks=[stop_at_epoch(2)])
    assert stopped.status == "interrupted"
    assert RunFolder(tmp_path / "run").read_summary()["status"] == "interrupted"
    assert [row["epoch"] for row in _metrics(tmp_path / "run")] == [0, 1, 2]
    resumed = resume(tmp_path / "run")
    train(_config(), tmp_path / "whole")
    assert resumed.status == "completed" and _metrics(tmp_path / "run") == _metrics(tmp_path / "whole")
    again = resume(tmp_path / "run")  # finished: nothing to do
    assert again.status == "completed" and len(again.history) == 5  # epochs 0 (the initial weights) to 4


def test_divergence_ends_the_run_with_epoch_step_and_rate(tmp_path: Path) -> None:
    result = train(_config("optim.lr=1e6", "model.dropout=0"), tmp_path / "run")
    assert result.status == "diverged"
    message = result.summary["message"]
    assert "diverged at epoch 1, step" in message and "learning rate 1e+06" in message and "Lower optim.lr" in message
    with pytest.raises(UserError, match="diverged"):
        resume(tmp_path / "run")


def test_existing_run_needs_resume_and_resume_needs_a_run(tmp_path: Path) -> None:
    train(_config("train.epochs=1"), tmp_path / "run")
    with pytest.raises(UserError, match="already holds a run: add --resume"):
        train(_config("train.epochs=1"), tmp_path / "run")
    with pytest.raises(UserError, match="nothing to resume"):
        resume(tmp_path / "empty")
    with pytest.raises(UserError, match="saved config"):
        resume(tmp_path / "run", _config("train.epochs=9"))


def test_a_state_file_that_asks_to_run_code_is_refused(tmp_path: Path) -> None:
    def stop(row: dict) -> None:
        raise KeyboardInterrupt

    train(_config(), tmp_path / "run", callbacks=[stop])
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w')",))

    (tmp_path / "run" / "state.pt").write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(UserError, match=r"state.pt' is damaged \(a safe load refused it") as refused:
        resume(tmp_path / "run")
    assert not marker.exists()
    assert "weights_only" not in str(refused.value)  # PyTorch's advice to load it unsafely is not passed on


def test_bad_model_option_fails_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="has no option 'drpout'"):
        train(_config("model.drpout=0.5"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_tensorboard_logs_each_epoch(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    train(_config("train.tensorboard=true", "train.epochs=2"), tmp_path / "run")
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


def test_epoch_zero_can_be_turned_off_and_never_changes_training(tmp_path: Path) -> None:
    with_zero = train(_config(), tmp_path / "with")
    without = train(_config("train.epoch_zero=false"), tmp_path / "without")
    assert [row["epoch"] for row in without.history] == [1, 2, 3, 4]
    assert without_seconds(with_zero.history[1:]) == without_seconds(without.history)  # evaluation draws nothing
    assert with_zero.summary["epochs_run"] == without.summary["epochs_run"] == 4
