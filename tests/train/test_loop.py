"""The fit loop on synthetic data: early stopping keeps the best epoch's weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab.data import BatchIterator, Samples, fit_preprocess
from cnnlab.models import build
from cnnlab.runs import RunFolder
from cnnlab.train import Compute, FitSettings, evaluate, fit

CPU = Compute(torch.device("cpu"), "fp32", False, 1, False)


def _noise_split(n: int, seed: int) -> Samples:
    """Random points with random labels: a model can only memorise them, so val loss must rise."""
    rng = np.random.default_rng(seed)
    return Samples(rng.normal(size=(n, 20)).astype(np.float32), rng.integers(0, 4, n))


def test_early_stopping_restores_the_best_epoch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    train_s, val_s = _noise_split(200, 0), _noise_split(100, 1)
    prep = fit_preprocess(train_s, "standardize")
    batches = {
        "train": BatchIterator(train_s, prep, batch_size=20, train=True),
        "val": BatchIterator(val_s, prep, batch_size=100),
        "test": None,
    }
    model = build("mlp", in_channels=20, num_classes=4, input_size=None, hidden=(256,))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)
    criterion = torch.nn.CrossEntropyLoss()
    folder = RunFolder(tmp_path)
    result = fit(model, batches, optimizer, scheduler, criterion, CPU, folder, FitSettings(epochs=40, early_stop=3))

    assert result.status == "early_stopped"
    val_losses = [row["val_loss"] for row in result.history]
    best = result.best_epoch
    assert best == 1 + int(np.argmin(val_losses))
    assert len(result.history) == best + 3  # stopped after `patience` epochs without improvement
    assert result.history[-1]["test_loss"] is None  # no test split given

    restored = build("mlp", in_channels=20, num_classes=4, input_size=None, hidden=(256,))
    folder.load_weights(restored)
    assert evaluate(restored, batches["val"], criterion, CPU)["loss"] == pytest.approx(val_losses[best - 1], abs=1e-6)
    assert evaluate(model, batches["val"], criterion, CPU)["loss"] > val_losses[best - 1]  # the last epoch is worse


def test_evaluate_uses_eval_mode_and_no_grad() -> None:
    model = build("mlp", in_channels=4, num_classes=3, input_size=None, dropout=0.9, batch_norm=True)
    samples = Samples(np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32), np.zeros(64, np.int64))
    batches = BatchIterator(samples, fit_preprocess(samples, "none"), batch_size=64)
    model.train()
    first = evaluate(model, batches, torch.nn.CrossEntropyLoss(), CPU)
    second = evaluate(model, batches, torch.nn.CrossEntropyLoss(), CPU)
    assert first == second  # dropout off, batch-norm statistics untouched
    assert model.training  # the caller's mode is restored
    assert all(p.grad is None for p in model.parameters())
