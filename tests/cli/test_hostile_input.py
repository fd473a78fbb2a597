"""The command line against hostile or unlucky input: two commands at once, names that climb out of the
working folder, documents and plans of hostile size, outputs that cannot be written, overrides anywhere.
Each ends in a correct result or exit 2 with a message naming the file or key, never a traceback."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cnnlab.cli.cmd_study import default_folder
from cnnlab.cli.main import main
from cnnlab.config import StudySpec, validate
from cnnlab.machine import usable_cores
from cnnlab.runs import RunFolder

TINY = ["data.source=digits", "model.widths=[4,8,8]", "model.hidden=16", "train.epochs=1", "train.threads=1"]
TINY_BASE = {
    "data": {"source": "digits"},
    "model": {"widths": [4, 8, 8], "hidden": 16},
    "train": {"epochs": 1, "threads": 1},
}
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


def _cnnlab(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cnnlab", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        **kwargs,
    )


def _write_spec(path: Path, **fields) -> Path:
    path.write_text(yaml.safe_dump({"name": "s", "base": TINY_BASE, "variants": {"a": {}}, "seeds": 1, **fields}))
    return path


# -- two commands at once ----------------------------------------------------------------------------


def test_two_trains_into_one_folder_at_once_leave_one_consistent_run(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    common = [*TINY[:-2], "train.threads=1", "--out", out, "--no-progress"]
    first, second = _cnnlab("train", *common, "train.epochs=6"), _cnnlab("train", *common, "train.epochs=5")
    results = [(p, *p.communicate(timeout=240)) for p in (first, second)]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], [err for _, _, err in results]
    loser_err = next(err for p, _, err in results if p.returncode == 2)
    assert "being trained by another process" in loser_err or "already holds a run" in loser_err
    assert "Traceback" not in loser_err
    folder = RunFolder(out)
    epochs = folder.read_config().train.epochs  # the winner's config, its metrics and its summary
    assert [row["epoch"] for row in folder.read_metrics()] == list(range(epochs + 1))
    assert folder.read_summary()["epochs_run"] == epochs and folder.status() == "completed"


# -- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", "a/../../../escaped", "~/escaped", "..x"])
def test_a_studys_default_folder_is_a_safe_name_inside_the_working_folder(name: str, tmp_path: Path) -> None:
    folder = default_folder(validate({"name": name}, StudySpec))
    assert len(folder.parts) == 2 and folder.parts[0] == "studies" and "/" not in folder.parts[1]
    assert (tmp_path / folder).resolve().is_relative_to(tmp_path / "studies")


def test_a_spec_named_to_escape_writes_inside_the_working_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    spec = _write_spec(tmp_path / "spec.yaml", name="../../escaped")
    assert main(["study", str(spec), "--no-report"]) == 0
    assert (work / "studies" / ".._.._escaped" / "results.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cnnlab-data") == ["spec.yaml", "work"]
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["here"]  # nothing climbed out


# -- hostile sizes ----------------------------------------------------------------------------------

BOMB = "".join(
    f"  l{k}: &l{k} [{', '.join(['x' if k == 0 else f'*l{k - 1}'] * 10)}]\n" for k in range(10)
)  # 10**10 values once expanded


def test_an_alias_bomb_in_a_config_or_a_spec_exits_2_within_2_seconds(tmp_path: Path, capsys) -> None:
    config, spec = tmp_path / "config.yaml", tmp_path / "spec.yaml"
    config.write_text("train: {epochs: 1}\nmodel:\n  name: tme2\n  bomb:\n" + BOMB.replace("  l", "    l"))
    spec.write_text("name: s\nbase:\n" + BOMB)
    for argv in (["train", str(config), "--out", str(tmp_path / "run")], ["study", str(spec)]):
        started = time.perf_counter()
        assert main(argv) == 2
        assert time.perf_counter() - started < 2
        err = capsys.readouterr().err
        assert "is refused: it expands to more than 100,000 values" in err and len(err) < 1000
    assert not (tmp_path / "run").exists()


def test_a_grid_of_a_million_points_exits_2_within_2_seconds_saying_how_many(tmp_path: Path, capsys) -> None:
    values = list(range(1000))
    spec = _write_spec(
        tmp_path / "spec.yaml", grid={"optim.momentum": [v / 1000 for v in values], "train.seed": values}
    )
    started = time.perf_counter()
    assert main(["study", str(spec), "--out", str(tmp_path / "study")]) == 2
    assert time.perf_counter() - started < 2
    assert "would be 1,000,000 runs" in capsys.readouterr().err and not (tmp_path / "study").exists()


def test_more_runs_than_max_runs_need_the_flag(tmp_path: Path, capsys) -> None:
    spec = _write_spec(tmp_path / "spec.yaml", variants={"a": {}, "b": {}}, seeds=3)
    assert main(["study", str(spec), "--out", str(tmp_path / "study"), "--max-runs", "5"]) == 2
    assert "would be 6 runs (2 variants x 1 grid points x 3 seeds), more than --max-runs 5" in capsys.readouterr().err
    assert main(["study", str(spec), "--out", str(tmp_path / "study"), "--max-runs", "6", "--no-report"]) == 0


# -- outputs that cannot be written ------------------------------------------------------------------


def test_an_out_that_is_a_file_or_lies_under_one_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for out, expected in ((blocker, "is a file, not a folder"), (blocker / "sub" / "run", "lies under")):
        for verb in (["train", *TINY], ["study", str(_write_spec(tmp_path / "spec.yaml"))]):
            assert main([*verb, "--out", str(out)]) == 2
            err = capsys.readouterr().err
            assert f"'{out}' {expected}" in err and "Traceback" not in err
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_out_inside_a_read_only_folder_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["train", *TINY, "--out", str(locked / "run")]) == 2
        assert f"cannot write '{locked / 'run'}': Permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o755)


def test_a_folder_refusing_writes_exits_2_naming_it(tmp_path: Path, monkeypatch, capsys) -> None:
    """As a read-only folder refuses (also where the tests run as root, who may write anywhere)."""
    import cnnlab.fileio

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(cnnlab.fileio.tempfile, "mkstemp", refuse)
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 2
    assert f"cannot write '{tmp_path / 'run'}': Permission denied" in capsys.readouterr().err


def _limit_file_size() -> None:
    """In the child: files may not grow beyond 20 kB (state.pt is 30 kB), as on a disk that is full."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_a_full_disk_while_saving_exits_2_naming_the_file_and_the_run_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [*TINY[:-2], "train.epochs=2", "train.threads=1", "--out", str(out), "--no-progress"]
    full = _cnnlab("train", *args, preexec_fn=_limit_file_size)
    _, err = full.communicate(timeout=240)
    assert full.returncode == 2, err
    assert f"cannot write '{out / 'state.pt'}': File too large" in err and "Traceback" not in err
    assert not list(out.glob(".*.tmp"))  # no half-written file left
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0  # space again: it goes on
    assert [row["epoch"] for row in RunFolder(out).read_metrics()] == [0, 1, 2]


# -- values and arguments ---------------------------------------------------------------------------


def test_a_negative_seed_writes_nothing_and_a_rerun_is_not_blocked(tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "run")
    assert main(["train", *TINY, "train.seed=-1", "--out", out]) == 2
    assert "'train.seed' = -1 is invalid" in capsys.readouterr().err and not Path(out).exists()
    assert main(["train", *TINY, "train.seed=1", "--out", out]) == 0


def test_more_threads_than_cores_exit_2_naming_the_key(tmp_path: Path, capsys) -> None:
    threads = usable_cores() + 1
    assert main(["train", *TINY, f"train.threads={threads}", "--out", str(tmp_path / "run")]) == 2
    assert f"train.threads={threads} is more than the {usable_cores()} core(s)" in capsys.readouterr().err
    spec = _write_spec(tmp_path / "spec.yaml", base={**TINY_BASE, "train": {"epochs": 1, "threads": threads}})
    assert main(["study", str(spec), "--out", str(tmp_path / "study")]) == 2
    assert "cannot start (variant 'a'): train.threads=" in capsys.readouterr().err
    assert not (tmp_path / "run").exists() and not (tmp_path / "study").exists()


def test_overrides_are_taken_after_the_options_too(tmp_path: Path, capsys) -> None:
    assert main(["train", "--out", str(tmp_path / "run"), *TINY, "optim.lr=0.05"]) == 0
    assert RunFolder(tmp_path / "run").read_config().optim.lr == 0.05
    spec = _write_spec(tmp_path / "spec.yaml")
    assert main(["study", str(spec), "--out", str(tmp_path / "study"), "--no-report", "optim.lr=0.2"]) == 0
    assert RunFolder(tmp_path / "study/runs/a/seed0").read_config().optim.lr == 0.2
    assert json.loads((tmp_path / "study/study.json").read_text())["overrides"] == ["optim.lr=0.2"]
    with pytest.raises(SystemExit) as refused:
        main(["train", "--out", str(tmp_path / "other"), *TINY, "--bogus"])
    assert refused.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err
