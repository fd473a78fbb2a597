"""Trained runs shared by the viz tests: each is trained once a session."""

from __future__ import annotations

from pathlib import Path

import pytest

from .runs import train_corner_run, train_digits_run


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_digits_run(tmp_path_factory.mktemp("digits") / "run")


@pytest.fixture(scope="session")
def corner_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_corner_run(tmp_path_factory.mktemp("corners") / "run")
