"""Learning curves of one run, drawn from its metrics.jsonl."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab.errors import UserError
from cnnlab.viz import curves_figure

from .runs import is_png


def test_curves_figure_writes_a_png(digits_run: Path, tmp_path: Path) -> None:
    assert curves_figure(digits_run) == digits_run / "figures" / "curves.png"
    assert is_png(digits_run / "figures" / "curves.png")
    assert is_png(curves_figure(digits_run, tmp_path / "deep" / "c.png"))


def test_a_folder_without_a_run_or_epochs_is_a_user_error(digits_run: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a run folder"):
        curves_figure(tmp_path)
    started = tmp_path / "started"
    started.mkdir()
    (started / "config.yaml").write_text((digits_run / "config.yaml").read_text())
    with pytest.raises(UserError, match="finished no epoch"):
        curves_figure(started)
