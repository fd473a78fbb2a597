"""The learning-rate finder: the suggestion on a curve of known shape, a real sweep on the digits that writes
nothing but its plot, a sweep that stops when the loss blows up, and the command's errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cnnlab.cli import main as cli
from cnnlab.config import load_config
from cnnlab.train import lr_find
from cnnlab.train.lr_find import suggest_lr

TINY = ["data.source=digits", "model.widths=[4,8,8]", "model.hidden=16", "train.batch_size=32", "train.threads=1"]


def test_the_suggestion_is_the_steepest_descent_before_the_minimum() -> None:
    lrs = list(np.logspace(-6, 1, 300))
    # falls fastest at 1e-3 (the tanh's centre), bottoms out near 1e-1, then blows up
    loss = [2 - math.tanh(2 * (math.log10(lr) + 3)) + math.exp(4 * (math.log10(lr) + 0.5)) for lr in lrs]
    assert suggest_lr(lrs, loss) == pytest.approx(1e-3, rel=0.1)
    assert suggest_lr(lrs, sorted(loss)) is None  # a loss that only rises suggests nothing


def test_a_sweep_on_the_digits(tmp_path: Path) -> None:
    result = lr_find(load_config(None, TINY), steps=40, start=1e-4, end=1.0)
    assert len(result.lrs) == 40 and result.lrs[0] == pytest.approx(1e-4) and result.lrs[-1] == pytest.approx(1.0)
    ratios = np.array(result.lrs[1:]) / np.array(result.lrs[:-1])
    assert np.allclose(ratios, ratios[0])  # geometric
    assert all(math.isfinite(v) for v in result.losses) and not result.stopped_early
    assert result.suggestion is None or 1e-4 <= result.suggestion <= result.minimum


def test_the_sweep_stops_when_the_loss_blows_up() -> None:
    result = lr_find(load_config(None, [*TINY, "model.dropout=0"]), steps=60, start=1e-2, end=1e6)
    assert result.stopped_early and len(result.lrs) < 60


def test_the_command_leaves_only_its_plot_unless_asked(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["lr-find", *TINY, "--steps", "20", "--start", "1e-3", "--end", "1"]) == 0
    out = capsys.readouterr().out
    assert "swept 20 steps from lr 0.001 to 1" in out and "plot: lr-find.png" in out
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cnnlab-data") == ["lr-find.png"]
    assert (tmp_path / "lr-find.png").read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["lr-find", *TINY, "--steps", "20", "--out", "sweep"]) == 0
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == ["config.yaml", "lr-find.csv", "lr-find.png"]
    assert len((tmp_path / "sweep" / "lr-find.csv").read_text().splitlines()) == 21
    assert cli.main(["lr-find", *TINY, "--steps", "5"]) == 2
    assert "--steps must be at least 10" in capsys.readouterr().err
    assert cli.main(["lr-find", *TINY, "--start", "1", "--end", "0.1"]) == 2
