"""The moving average of the weights: torch's AveragedModel as the reference, evaluated and saved in place of
the raw weights, and restored exactly on resume; the plateau schedule against torch's ReduceLROnPlateau."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tests.fakes import stop_at_epoch, without_seconds
from torch.optim import lr_scheduler
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from cnnlab.config import ScheduleConfig, load_config
from cnnlab.data import BatchIterator, load_splits
from cnnlab.errors import UserError
from cnnlab.inference import load_run
from cnnlab.runs import RunFolder
from cnnlab.train import evaluate, resolve_compute, resume, train
from cnnlab.train.ema import ExponentialMovingAverage
from cnnlab.train.plateau import PlateauSchedule

TINY = ["data.source=digits", "model.widths=[4,8,8]", "model.hidden=16", "train.epochs=3", "train.threads=1"]


def test_the_average_follows_torch_s_averaged_model() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    ema = ExponentialMovingAverage(model, decay=0.9)
    ema.on_fit_start(model)
    reference = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    reference.update_parameters(model)  # its first update copies: the initial weights, as ours
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(1, 6):
        model(torch.randn(8, 3)).square().mean().backward()
        optimizer.step()
        optimizer.zero_grad()
        ema.on_train_step_end(step)
        reference.update_parameters(model)
    for key, value in reference.module.state_dict().items():
        assert torch.allclose(ema.average[key], value, atol=1e-6), key
    raw = {k: v.clone() for k, v in model.state_dict().items()}
    ema.on_train_epoch_end(1)  # evaluation sees the average ...
    assert all(torch.equal(model.state_dict()[k], ema.average[k]) for k in raw)
    ema.on_evaluation_end({})  # ... and training goes on from its own weights
    assert all(torch.equal(model.state_dict()[k], raw[k]) for k in raw)


def test_saved_weights_are_the_average_evaluated_and_resume_is_exact(tmp_path: Path) -> None:
    # a rate high enough for the validation loss to stall, so that the plateau reduces it after the resume
    schedule = ["schedule.name=plateau", "schedule.patience=0", "optim.lr=0.3", "train.batch_size=32", "train.epochs=4"]
    config = load_config(None, [*TINY, *schedule, "train.ema=0.5"])
    whole = train(config, tmp_path / "whole")
    stopped = train(config, tmp_path / "run", callbacks=[stop_at_epoch(1)])
    assert stopped.status == "interrupted"
    resume(tmp_path / "run")
    assert without_seconds(RunFolder(tmp_path / "run").read_metrics()) == without_seconds(whole.history)
    for key, value in load_file(tmp_path / "whole" / "model.safetensors").items():
        assert torch.equal(value, load_file(tmp_path / "run" / "model.safetensors")[key]), key
    # the weights saved are those the run evaluated: predict's model scores the summary's test figures
    run = load_run(tmp_path / "whole")
    splits = load_splits(config.data)
    test = BatchIterator(splits.test, run.preprocess, batch_size=512, augment=run.augment)
    figures = evaluate(run.model, test, torch.nn.CrossEntropyLoss(), resolve_compute(config.train))
    assert figures["top1"] == pytest.approx(whole.summary["test_top1"], abs=1e-9)
    assert figures["loss"] == pytest.approx(whole.summary["test_loss"], rel=1e-5)
    # without the average the same run ends elsewhere
    plain = train(load_config(None, [*TINY, *schedule]), tmp_path / "plain")
    assert plain.summary["test_loss"] != whole.summary["test_loss"]
    assert [row["lr"] for row in whole.history] == pytest.approx([0.3, 0.3, 0.3, 0.03, 0.003])


def test_plateau_reduces_at_the_epochs_torch_s_reduce_on_plateau_does() -> None:
    losses = [1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.86, 0.9]
    param = torch.nn.Parameter(torch.zeros(1))
    ours = torch.optim.SGD([param], lr=0.1)
    plateau = PlateauSchedule(ours, ScheduleConfig(name="plateau", patience=1, gamma=0.5, min_lr=0.03))
    reference_optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    reference = lr_scheduler.ReduceLROnPlateau(reference_optimizer, factor=0.5, patience=1, min_lr=0.03)
    rates = []
    for epoch, loss in enumerate(losses, start=1):
        plateau.on_evaluation_end({"epoch": epoch, "val_loss": loss})
        reference.step(loss)
        rates.append(ours.param_groups[0]["lr"])
        assert rates[-1] == reference_optimizer.param_groups[0]["lr"]
    assert rates[0] == 0.1 and min(rates) == 0.03  # the floor
    # its counters come back from the resume state
    again = PlateauSchedule(torch.optim.SGD([param], lr=0.1), ScheduleConfig(name="plateau", patience=1))
    again.load_state_dict(plateau.state_dict())
    assert again.scheduler.num_bad_epochs == reference.num_bad_epochs and again.scheduler.best == reference.best


def test_plateau_without_a_validation_split_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="schedule.name=plateau.*data.val_fraction"):
        train(load_config(None, [*TINY, "schedule.name=plateau", "data.val_fraction=0"]), tmp_path / "run")
    assert not (tmp_path / "run").exists()
