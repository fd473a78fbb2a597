"""A run folder is trained by one process at a time; a claim left by a killed process blocks nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnlab.claim import RunInUse, claim, holder
from cnnlab.cli.main import main
from cnnlab.config import StudySpec, load_config, validate
from cnnlab.errors import UserError
from cnnlab.study import run_study
from cnnlab.train import train

HOLD = """
import sys, time
from cnnlab.claim import claim
with claim(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""
TINY = ["data.source=digits", "model.widths=[4,8,8]", "model.hidden=16", "train.epochs=1", "train.threads=1"]


@pytest.fixture
def held(tmp_path: Path):
    """A live process holding the claim of tmp_path/run, killed (-9) at the end of the test."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_second_process_is_told_who_trains_the_folder(tmp_path: Path, held, capsys) -> None:
    assert f"pid {held.pid}" in (holder(tmp_path / "run") or "")
    with pytest.raises(RunInUse, match=rf"being trained by another process \(host .*, pid {held.pid}"):
        train(load_config(None, TINY), tmp_path / "run")
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 2
    assert "being trained by another process" in capsys.readouterr().err
    assert not (tmp_path / "run" / "config.yaml").exists()  # nothing of the second one was written


def test_a_claim_left_by_a_killed_process_blocks_nothing(tmp_path: Path, held) -> None:
    os.kill(held.pid, signal.SIGKILL)
    held.wait()
    assert holder(tmp_path / "run") is None
    assert train(load_config(None, TINY), tmp_path / "run").status == "completed"


def test_a_study_leaves_a_run_in_flight_to_its_process_and_says_so(tmp_path: Path) -> None:
    spec = validate(
        {
            "name": "t",
            "base": {
                "data": {"source": "digits"},
                "model": {"widths": [4, 8, 8], "hidden": 16},
                "train": {"epochs": 1, "threads": 1},
            },
            "variants": {"a": {}, "b": {}},
            "seeds": 1,
        },
        StudySpec,
    )
    busy = tmp_path / "runs" / "a" / "seed0"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(busy)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        outcome = run_study(spec, tmp_path)
        assert outcome.busy == [str(Path("runs/a/seed0"))] and outcome.trained == [str(Path("runs/b/seed0"))]
        assert not outcome.failed
    finally:
        process.kill()
        process.wait()
    again = run_study(spec, tmp_path)  # once its holder is gone, the run is trained
    assert again.trained == [str(Path("runs/a/seed0"))]


def test_a_failed_start_leaves_no_folder_behind(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="has no option"), claim(tmp_path / "new"):
        raise UserError("model 'x' has no option 'y'")
    assert not (tmp_path / "new").exists()
    started = time.time()
    with claim(tmp_path / "kept"):
        (tmp_path / "kept" / "config.yaml").write_text("x")
    assert (tmp_path / "kept" / "config.yaml").exists() and time.time() - started < 5


def test_a_claim_file_removed_while_it_was_being_locked_is_not_trusted(tmp_path: Path, monkeypatch) -> None:
    """The last holder of an empty folder removes its claim file; a lock taken on that removed file guards
    nothing, so the claim takes the new file instead (two processes must never both hold one folder)."""
    import fcntl

    from cnnlab import claim as claim_module

    real = fcntl.flock
    removed: list[bool] = []

    def flock_after_the_file_went(handle, flags):
        if not removed:  # the previous holder removes the file between our open and our lock
            removed.append(True)
            (tmp_path / "run" / ".claim").unlink()
        return real(handle, flags)

    monkeypatch.setattr(claim_module.fcntl, "flock", flock_after_the_file_went)
    with claim(tmp_path / "run"):
        held = (tmp_path / "run" / ".claim").stat().st_ino
        assert removed and holder(tmp_path / "run") is not None  # a lock on the file that is there now
    assert held
