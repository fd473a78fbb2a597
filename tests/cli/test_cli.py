"""The command line: thin verbs, exit codes 0 / 2 / 1, messages without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.cli.main import main
from tests.fakes import write_image_folder


def test_data_json_reports_counts(capsys) -> None:
    assert main(["data", "digits", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["image_size"] == [8, 8] and info["channels"] == 1
    assert info["splits"]["train"]["count"] + info["splits"]["test"]["count"] == 1797
    assert info["test_is_official"] is False and info["cache"] is None


def test_data_text_for_a_folder(tmp_path: Path, capsys) -> None:
    write_image_folder(tmp_path, {"cats": 3, "dogs": 2})
    write_image_folder(tmp_path, {"cats": 1, "dogs": 1}, split="test")
    assert main(["data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "images: 8x8, 3 channels" in out and "cats" in out and "decoded cache:" in out


def test_user_errors_exit_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "train" / "empty").mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-m", "cnnlab", "data", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "has no images" in result.stderr and "Traceback" not in result.stderr


def test_internal_errors_exit_1(monkeypatch, capsys) -> None:
    from cnnlab.cli import cmd_data

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cmd_data, "load", broken)
    assert main(["data", "digits"]) == 1
    assert "internal error" in capsys.readouterr().err


def test_quickstart_runs_a_small_study_offline_and_writes_its_report(tmp_path: Path, capsys) -> None:
    assert main(["quickstart", "--out", str(tmp_path / "qs")]) == 0
    rows = (tmp_path / "qs" / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 6 and all(",completed," in row for row in rows[1:])
    report = (tmp_path / "qs" / "report.md").read_text()
    assert "| rank | variant |" in report and "standardize+bn" in report
    assert (tmp_path / "qs" / "report.html").is_file()
    assert main(["quickstart", "--out", str(tmp_path / "qs")]) == 0  # again: every run is kept, none retrained
    assert "0 trained, 6 already done" in capsys.readouterr().out


TINY = ["data.source=digits", "model.widths=[8,8,8]", "model.hidden=16", "train.epochs=2", "train.threads=1"]


def test_train_writes_a_run_and_prints_the_best_epoch(tmp_path: Path, capsys) -> None:
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "status: completed" in out and "best epoch" in out and "test loss" in out
    assert (tmp_path / "run" / "summary.json").is_file()


def test_train_with_a_yaml_file_and_overrides(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("data: {source: digits}\nmodel: {widths: [8, 8, 8], hidden: 16}\ntrain: {epochs: 3}\n")
    assert main(["train", str(config), "train.epochs=1", "train.threads=1", "--out", str(tmp_path / "run")]) == 0
    import yaml

    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 1 and saved["model"]["widths"] == [8, 8, 8]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["optim.lr=-1"], "'optim.lr' = -1 is invalid"),
        (["optim.moemntum=0.5"], "did you mean 'optim.momentum'"),
        (["model.drpout=0.5", "data.source=digits"], "has no option 'drpout'"),
        (["model.name=vgg99", "data.source=digits"], "unknown model 'vgg99'"),
        (["data.source=/no/such/folder"], "neither a known dataset"),
        (["a.yaml", "b.yaml"], "only one config file"),
    ],
)
def test_train_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args, message, capsys) -> None:
    assert main(["train", *args, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_train_divergence_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["train", *TINY, "optim.lr=1e6", "--out", str(tmp_path / "run")]) == 2
    assert "diverged at epoch 1" in capsys.readouterr().out


def test_train_resume_needs_out(capsys) -> None:
    assert main(["train", "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err
