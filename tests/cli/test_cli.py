"""The command line: thin verbs, exit codes 0 / 2 / 1, messages without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_quickstart_runs_offline(tmp_path: Path) -> None:
    assert main(["quickstart", "--out", str(tmp_path / "qs")]) == 0
