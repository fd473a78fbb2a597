"""Damaged run folders: every verb that reads one stops with exit 2 and a message naming the file and the fix,
never a traceback; a resume first checks that the history, the state and the summary agree."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tests.fakes import stop_at_epoch, without_seconds

from cnnlab.cli.main import main
from cnnlab.config import load_config
from cnnlab.errors import UserError
from cnnlab.runs import RunFolder
from cnnlab.train import resume, train

TINY = [
    "data.source=digits",
    "model.widths=[4,8,8]",
    "model.hidden=16",
    "train.epochs=4",
    "train.threads=1",
    "optim.lr=0.05",
]


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run interrupted after epoch 3 of 4 (resumable), trained once for the module."""
    folder = tmp_path_factory.mktemp("stopped") / "run"
    train(load_config(None, TINY), folder, callbacks=[stop_at_epoch(3)])
    return folder


@pytest.fixture
def run(stopped_run: Path, tmp_path: Path) -> Path:
    """A fresh copy of the stopped run, to damage."""
    return Path(shutil.copytree(stopped_run, tmp_path / "run"))


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "digit.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(path)
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".claim"}


DAMAGES = {
    "empty summary": ("summary.json", b""),
    "summary cut short": ("summary.json", b'{"status": "interr'),
    "metrics cut mid-line": ("metrics.jsonl", None),  # filled in below: the file cut inside its last line
    "binary metrics": ("metrics.jsonl", b"\x00\xff\xfe\x01"),
    "binary config": ("config.yaml", b"\x89PNG\r\n\x1a\n\x00\xff"),
    "config of bad YAML": ("config.yaml", b"train: [1\n"),
    "random weights": ("model.safetensors", os.urandom(256)),
    "random preprocessing": ("preprocess.safetensors", os.urandom(256)),
    "garbage run.json": ("run.json", b"garbage"),
    "run.json of a list": ("run.json", b"[1, 2]"),
    "random state": ("state.pt", os.urandom(256)),
}


def _damage(run: Path, name: str, data: bytes | None) -> None:
    path = run / name
    path.write_bytes(data if data is not None else path.read_bytes()[:-7])


def _exits_2_naming(argv: list[str], name: str, capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and f"{name}' is damaged" in err, err
    return err


RESUME_DAMAGES = {
    **DAMAGES,
    "summary with no status": ("summary.json", b"{}"),
    "state of another structure": ("state.pt", None),  # filled in below: a tensor saved where a state should be
}


@pytest.mark.parametrize("damage", list(RESUME_DAMAGES))
def test_resume_of_a_damaged_run_exits_2_naming_the_file_and_writes_nothing(run: Path, damage: str, capsys) -> None:
    name, data = RESUME_DAMAGES[damage]
    if damage == "state of another structure":
        torch.save({"epoch": 3, "model": torch.zeros(3)}, run / name)
        data = (run / name).read_bytes()
    _damage(run, name, data)
    before = _snapshot(run)
    code = main(["train", "--out", str(run), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and f"{name}'" in err, err
    assert any(fix in err for fix in ("restore it from a copy", "start a new run", "delete it and resume"))
    assert _snapshot(run) == before


READERS = {
    "predict": (
        ["predict", "{run}", "{image}"],
        ["config.yaml", "run.json", "model.safetensors", "preprocess.safetensors"],
    ),
    "viz": (["viz", "curves", "{run}"], ["config.yaml", "run.json", "summary.json", "metrics.jsonl"]),
}


@pytest.mark.parametrize(
    ("verb", "damage"),
    [(verb, damage) for verb, (_, files) in READERS.items() for damage, (name, _) in DAMAGES.items() if name in files],
)
def test_predict_and_viz_of_a_damaged_run_exit_2_naming_the_file(
    run: Path, image: Path, verb: str, damage: str, capsys
) -> None:
    name, data = DAMAGES[damage]
    _damage(run, name, data)
    argv = [word.format(run=run, image=image) for word in READERS[verb][0]]
    _exits_2_naming(argv, name, capsys)


def test_a_damaged_summary_is_recovered_by_deleting_it_and_resuming(run: Path) -> None:
    (run / "summary.json").write_text("")
    with pytest.raises(UserError, match="delete it and resume the run"):
        resume(run)
    (run / "summary.json").unlink()  # as the message says
    resumed = resume(run)
    assert resumed.status == "completed" and [row["epoch"] for row in resumed.history] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("dropped", [2, 3])
def test_metrics_cut_at_a_line_boundary_refuse_to_resume(run: Path, dropped: int) -> None:
    """metrics.jsonl without epoch `dropped`'s line (the file cut at a line boundary, or a line taken out): the
    resume state is after epoch 3, so resuming would write epochs 0, 1, (2,) 4 and a best epoch that is no row."""
    lines = (run / "metrics.jsonl").read_text().splitlines(keepends=True)
    (run / "metrics.jsonl").write_text("".join(line for line in lines if json.loads(line)["epoch"] != dropped))
    before = _snapshot(run)
    with pytest.raises(
        UserError, match=r"metrics.jsonl' is damaged \(it holds epochs 0-\d(, 3)? where the resume state"
    ):
        resume(run)
    assert _snapshot(run) == before


def test_a_summary_ahead_of_the_state_refuses_to_resume(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "epochs_run": 9, "best_epoch": 9}))
    with pytest.raises(UserError, match=r"summary.json' is damaged \(its epochs_run is 9, beyond the resume state's 3"):
        resume(run)


def test_the_row_written_just_before_a_kill_is_no_damage(run: Path, tmp_path: Path) -> None:
    """A kill between writing epoch 4's metrics and its state leaves one row beyond the state: resume redoes it."""
    rows = RunFolder(run).read_metrics()
    RunFolder(run).write_metrics([*rows, {**rows[-1], "epoch": 4}])
    resumed = resume(run)
    whole = train(load_config(None, TINY), tmp_path / "whole")
    assert without_seconds(resumed.history) == without_seconds(whole.history)


@pytest.mark.parametrize(("name", "what"), [("preprocess.safetensors", "missing"), ("run.json", "missing or empty")])
def test_a_missing_file_that_predict_needs_stops_the_resume_before_training(run: Path, name: str, what: str) -> None:
    (run / name).unlink()
    with pytest.raises(UserError, match=rf"{name}' is damaged \({what}\)"):
        resume(run)


def test_a_state_of_another_model_is_a_user_error(run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    train(load_config(None, [*TINY, "model.widths=[8,8,8]", "train.epochs=1"]), other, callbacks=[stop_at_epoch(1)])
    state = torch.load(other / "state.pt", weights_only=True)
    torch.save({**state, "epoch": 3}, run / "state.pt")
    with pytest.raises(UserError, match=r"state.pt' does not fit this run .*start a new run"):
        resume(run)


def test_a_deleted_state_restarts_at_epoch_1_and_says_so(run: Path, capsys) -> None:
    (run / "state.pt").unlink()
    assert main(["train", "--out", str(run), "--resume"]) == 0
    captured = capsys.readouterr()
    assert "no resume state (state.pt is missing) though its metrics.jsonl records 3 trained epoch(s)" in captured.err
    assert "restarts at epoch 1" in captured.err and "status: completed" in captured.out
    assert [row["epoch"] for row in RunFolder(run).read_metrics()] == [0, 1, 2, 3, 4]


def test_stray_temporary_files_of_a_killed_write_are_removed_at_the_next_start(run: Path) -> None:
    (run / ".metrics.jsonl.k3j2_x.tmp").write_text('{"epoch": 9}\n')
    (run / ".state.pt.abc.tmp").write_bytes(b"half a state")
    assert resume(run).status == "completed"
    assert not list(run.glob(".*.tmp"))


def test_an_early_stopped_run_killed_before_its_summary_stays_stopped(tmp_path: Path) -> None:
    """Killed between the state of its stopping epoch and the summary, a resume must not train on."""
    folder = tmp_path / "run"
    config = load_config(None, [*TINY, "train.epochs=30", "train.early_stop=1"])
    stopped = train(config, folder)
    assert stopped.status == "early_stopped" and stopped.summary["epochs_run"] < 30
    (folder / "summary.json").unlink()
    again = resume(folder)
    assert again.status == "early_stopped" and again.summary["epochs_run"] == stopped.summary["epochs_run"]
