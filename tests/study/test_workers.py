"""A study's worker processes die with it: killing only the study's process leaves nothing training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cnnlab.study import workers

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux: /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


LONG_RUNS = {
    "data": {"source": "digits"},
    "model": {"widths": [4, 8, 8], "hidden": 16},
    "train": {"epochs": 2000, "threads": 1},  # minutes: far longer than the tests
}


def _long_study(tmp_path: Path, variants: str, **popen) -> tuple[subprocess.Popen, Path]:
    """`cnnlab study --workers 2` on one seed of long runs named by the letters of `variants`; and its folder."""
    spec = tmp_path / "spec.yaml"
    named = {name: {} for name in variants}
    spec.write_text(yaml.safe_dump({"name": "long", "base": LONG_RUNS, "variants": named, "seeds": 1}))
    out = tmp_path / "study"
    command = [sys.executable, "-m", "cnnlab", "study", str(spec), "--out", str(out), "--workers", "2", "--no-report"]
    return subprocess.Popen(command, env=ENV, **popen), out


def test_killing_the_study_alone_kills_its_workers(tmp_path: Path) -> None:
    study, out = _long_study(tmp_path, "ab", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        started = [out / "runs" / v / "seed0" / "config.yaml" for v in ("a", "b")]
        assert _wait_for(lambda: all(p.is_file() for p in started), 240), "the workers never started training"
        workers = [pid for pid in _children(study.pid) if _is_worker(pid)]
        assert len(workers) == 2
        study.send_signal(signal.SIGKILL)  # the study's process only, as `kill -9 PID` does
        study.wait()
        assert _wait_for(lambda: not any(_alive(pid) for pid in workers), 10), "workers outlived the study"
    finally:
        study.kill()
        study.wait()
        for pid in workers:  # never leave one behind, even when the test fails
            if _alive(pid) and _is_worker(pid):
                os.kill(pid, signal.SIGKILL)


FALLBACK = """
import os, sys, time
import cnnlab.study.workers as workers
workers._kill_me_with_parent = lambda: False  # as where prctl is not available: the watch alone
workers.WATCH_SECONDS = 0.1
workers.die_with_parent(int(sys.argv[1]))
print("ready", flush=True)
time.sleep(120)
"""
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(__import__("os").getpid())], stdout=subprocess.PIPE)
print(child.pid, child.stdout.readline().decode().strip(), flush=True)
time.sleep(120)
"""


def test_without_prctl_the_worker_watches_its_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, FALLBACK], stdout=subprocess.PIPE, text=True, env=ENV, start_new_session=True
    )
    child = 0
    try:
        assert parent.stdout is not None
        pid, ready = parent.stdout.readline().split()
        child = int(pid)
        assert ready == "ready" and _alive(child)
        parent.kill()
        parent.wait()
        assert _wait_for(lambda: not _alive(child), 5), "the worker outlived its parent"
    finally:
        parent.kill()
        parent.wait()
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)


def test_ctrl_c_stops_a_study_of_workers_without_starting_the_runs_they_had_queued(tmp_path: Path) -> None:
    # two train, and the pool queues more for its workers
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "start_new_session": True, "text": True}
    study, out = _long_study(tmp_path, "abcdef", **popen)
    try:
        trained = [out / "runs" / v / "seed0" / "state.pt" for v in "ab"]  # an epoch each, to resume from
        assert _wait_for(lambda: all(p.is_file() for p in trained), 240), "the workers never trained an epoch"
        os.killpg(study.pid, signal.SIGINT)  # Ctrl-C on a terminal: the study and its workers
        output, _ = study.communicate(timeout=60)
    finally:
        if study.poll() is None:
            os.killpg(study.pid, signal.SIGKILL)
            study.wait()
    assert "study interrupted: run the same command again" in output
    trained = sorted(p.parent.parent.name for p in out.glob("runs/*/seed0/config.yaml"))
    assert trained == ["a", "b"]  # the runs queued behind them never started
    assert sorted(p.parent.parent.name for p in out.glob("runs/*/seed0/state.pt")) == ["a", "b"]  # still there


def test_a_worker_that_got_ctrl_c_starts_no_further_run(monkeypatch) -> None:
    """Ctrl-C reaches a worker at once; the study's stop event may come later, after the pool has handed
    the worker its next run: the worker's own signal is enough to leave that run untrained."""
    monkeypatch.setattr(workers, "_interrupted", False)
    monkeypatch.setattr(workers, "_stopped", None)
    assert not workers.stopping()
    with pytest.raises(KeyboardInterrupt):
        workers._on_ctrl_c(signal.SIGINT, None)
    assert workers.stopping()
