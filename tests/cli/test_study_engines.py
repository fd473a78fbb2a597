"""`cnnlab study --engine local|ray`: the flags are checked before anything runs, and Ray stays optional."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.cli.main import main


def test_engine_ray_without_ray_is_a_usage_error_that_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed: `import ray` fails
    assert main(["study", "quickstart", "--engine", "ray", "--out", str(tmp_path / "study")]) == 2
    assert "--engine ray needs Ray, which is not installed here: pip install 'cnnlab[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "study").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--address", "auto"], "--address is for --engine ray"),
        (["--cpus-per-run", "2", "--gpus-per-run", "1"], "--cpus-per-run, --gpus-per-run are for --engine ray"),
        (["--engine", "ray", "--workers", "2"], "--workers is for the local engine"),
    ],
)
def test_engine_flags_that_do_not_go_together_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture, flags: list[str], message: str
) -> None:
    assert main(["study", "quickstart", *flags, "--out", str(tmp_path / "study")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "study").exists()


def test_the_command_line_and_the_local_engine_do_not_import_ray() -> None:
    code = "import sys, cnnlab.cli.main, cnnlab.study.runner; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
