"""Faults on Ray: a worker killed mid-run on a simulated two-machine cluster, and a killed driver."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cnnlab.claim import holder
from cnnlab.runs import SUMMARY, RunFolder
from cnnlab.study import collect, run_study
from cnnlab.study.ray_engine import SCRATCH_ENV, RayEngine
from tests.study.ray_studies import assert_same_study, tiny_spec, write_spec

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.ray


@pytest.fixture
def two_machines(tmp_path: Path):
    """A Ray cluster of two nodes of one CPU each, each training in a scratch folder of its own: nothing of a
    run reaches the study but what the tasks send back. Yields the two scratch folders."""
    from ray.cluster_utils import Cluster

    scratch = [tmp_path / "scratch-head", tmp_path / "scratch-other"]
    env = [{SCRATCH_ENV: str(folder), "CNNLAB_DATA": str(tmp_path / "data")} for folder in scratch]
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "env_vars": env[0]})
    try:
        cluster.add_node(num_cpus=1, env_vars=env[1])
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level=logging.ERROR)
        yield scratch
    finally:
        ray.shutdown()
        cluster.shutdown()


def _kill_a_worker_mid_run(scratch: list[Path], study: Path, killed: dict[str, int], timeout: float = 120) -> None:
    """Kill (-9) the worker process training a run once the driver holds epoch 2 of it and the run goes on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for claim_file in (path for root in scratch for path in root.glob("cnnlab-ray/*/runs/*/*/.claim")):
            folder = claim_file.parent
            run = folder.relative_to(folder.parents[2]).as_posix()
            at_driver = RunFolder(study / run)
            epochs = [row["epoch"] for row in at_driver.read_metrics()]
            who = holder(folder)  # the worker's train() holds the claim of its scratch copy while it trains
            if who and max(epochs, default=0) >= 2 and at_driver.read_summary() is None:
                os.kill(int(re.search(r"pid (\d+)", who).group(1)), signal.SIGKILL)  # type: ignore[union-attr]
                killed[run] = max(epochs)
                return
        time.sleep(0.05)


def test_a_worker_killed_mid_run_resumes_from_its_last_epoch_elsewhere_and_the_study_finishes(
    tmp_path: Path, two_machines: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    spec = tiny_spec({"a": {}, "b": {"data.preprocess": "none"}}, seeds=1, epochs=12)
    killed: dict[str, int] = {}
    killer = threading.Thread(target=_kill_a_worker_mid_run, args=(two_machines, tmp_path / "study", killed))
    killer.start()
    with caplog.at_level(logging.INFO, logger="cnnlab"):
        outcome = run_study(spec, tmp_path / "study", engine=RayEngine())
    killer.join()
    assert len(killed) == 1, "no run was still training once its epoch 2 had come back"
    ((run, epoch),) = killed.items()
    assert sorted(outcome.trained) == ["runs/a/seed0", "runs/b/seed0"] and not outcome.failed
    retry = r"its Ray worker died \(\w+\); trying again from after epoch (\d+) \(attempt 2 of 4\)"
    retried = re.search(retry, caplog.text)
    assert retried and int(retried.group(1)) >= epoch  # resumed from what came back, not from the start
    assert [row["epoch"] for row in RunFolder(tmp_path / "study" / run).read_metrics()] == list(range(13))
    assert all((root / "cnnlab-ray").is_dir() for root in two_machines)  # both machines trained
    left = [folder for root in two_machines for folder in (root / "cnnlab-ray").iterdir()]
    assert len(left) <= 1 and all(holder(folder) is None for folder in left)  # the killed task's, unless swept
    run_study(spec, tmp_path / "local")
    assert_same_study(tmp_path / "study", tmp_path / "local")  # the resumed run ends as one never stopped


def test_a_killed_driver_leaves_a_study_that_the_same_command_continues(tmp_path: Path) -> None:
    spec = tiny_spec({"a": {}, "b": {"data.preprocess": "none"}, "c": {"data.preprocess": "minmax"}}, 1, epochs=6)
    study = tmp_path / "study"
    command = [sys.executable, "-m", "cnnlab", "study", str(write_spec(spec, tmp_path / "spec.yaml"))]
    command += ["--engine", "ray", "--out", str(study), "--no-report"]
    env = {**os.environ, SCRATCH_ENV: str(tmp_path / "scratch")}
    with open(tmp_path / "driver.log", "w") as log:
        driver = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            finished = _wait_for_one_finished_and_one_in_flight(study)
        finally:
            os.killpg(driver.pid, signal.SIGKILL)  # the driver and the local Ray it started
            driver.wait()
    assert finished, (tmp_path / "driver.log").read_text()[-3000:]
    before = {run: (study / run / SUMMARY).read_bytes() for run in finished}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(finished)} already done" in done.stdout
    assert {run: (study / run / SUMMARY).read_bytes() for run in finished} == before  # not trained again
    assert [row["status"] for row in collect(study)] == ["completed"] * 3
    run_study(spec, tmp_path / "local")
    assert_same_study(study, tmp_path / "local")


def _wait_for_one_finished_and_one_in_flight(study: Path, timeout: float = 180) -> list[str]:
    """The runs finished once another has epochs at the driver but no summary yet; [] at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        folders = [RunFolder(study / "runs" / name / "seed0") for name in "abc"]
        finished = [f for f in folders if f.read_summary() is not None]
        in_flight = [f for f in folders if f.read_summary() is None and len(f.read_metrics()) >= 2]
        if finished and in_flight:
            return [f.path.relative_to(study).as_posix() for f in finished]
        time.sleep(0.05)
    return []
