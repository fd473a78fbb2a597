"""Studies on a local Ray of two CPUs: the study folder the local engine writes, busy and failing runs."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.config import with_overrides
from cnnlab.errors import UserError
from cnnlab.runs import RunFolder
from cnnlab.study import collect, expand, run_study
from cnnlab.study.ray_engine import RayEngine
from cnnlab.train import train
from tests.fakes import stop_at_epoch
from tests.study.ray_studies import assert_same_study, tiny_spec

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.ray

HOLD = """
import sys, time
from cnnlab.claim import claim
with claim(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory):
    """A local Ray of two CPUs for this module's tests (the engine uses a Ray it finds started)."""
    data = tmp_path_factory.mktemp("ray-data")
    ray.init(
        address="local",  # a Ray of its own, whatever else runs on this machine
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.ERROR,
        runtime_env={"env_vars": {"CNNLAB_DATA": str(data)}},
    )
    yield
    ray.shutdown()


def test_a_study_on_ray_writes_the_study_folder_the_local_engine_writes(tmp_path: Path, local_ray) -> None:
    spec = tiny_spec({"a": {}, "b": {"data.preprocess": "none"}})
    on_ray = run_study(spec, tmp_path / "ray", engine=RayEngine())
    assert sorted(on_ray.trained) == ["runs/a/seed0", "runs/a/seed1", "runs/b/seed0", "runs/b/seed1"]
    assert not on_ray.failed and not on_ray.busy
    run_study(spec, tmp_path / "local")
    assert_same_study(tmp_path / "ray", tmp_path / "local")
    again = run_study(spec, tmp_path / "ray", engine=RayEngine())
    assert len(again.skipped) == 4 and not again.trained  # nothing is trained twice


def test_runs_go_to_ray_as_the_cluster_has_room_not_all_at_once(tmp_path: Path, local_ray, monkeypatch) -> None:
    """A run's files (its resume state among them) enter Ray's object store only when it is about to train."""
    from cnnlab.study import ray_engine

    in_flight: list[int] = []
    submit = ray_engine._Flights._submit

    def counting(self, task, flight) -> None:
        in_flight.append(len(self.flying) + 1)
        submit(self, task, flight)

    monkeypatch.setattr(ray_engine._Flights, "_submit", counting)
    assert ray_engine._Flights(ray, RayEngine(cpus_per_run=1), tmp_path, print)._window() == 4  # 2 CPUs, twice
    monkeypatch.setattr(ray_engine._Flights, "_window", lambda self: 1)
    outcome = run_study(tiny_spec({"a": {}, "b": {"data.preprocess": "none"}}), tmp_path / "ray", engine=RayEngine())
    assert len(outcome.trained) == 4 and not outcome.failed
    assert in_flight == [1, 1, 1, 1]  # one at a time: each submitted once the one before it finished


def test_busy_and_failing_runs_on_ray_are_left_alone_and_recorded(tmp_path: Path, local_ray) -> None:
    spec = tiny_spec({"ok": {}, "missing": {"data.source": str(tmp_path / "nowhere")}, "held": {}}, seeds=1)
    busy = tmp_path / "study" / "runs" / "held" / "seed0"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(busy)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        outcome = run_study(spec, tmp_path / "study", engine=RayEngine())
    finally:
        holder.kill()
        holder.wait()
    assert outcome.trained == ["runs/ok/seed0"] and outcome.busy == ["runs/held/seed0"]
    assert list(outcome.failed) == ["runs/missing/seed0"] and "nowhere" in outcome.failed["runs/missing/seed0"]
    rows = {row["variant"]: row for row in collect(tmp_path / "study")}
    assert rows["missing"]["status"] == "failed" and rows["ok"]["status"] == "completed"
    assert not (tmp_path / "study" / "runs" / "missing" / "seed0").exists()  # a run that never started leaves nothing


def test_a_run_asking_for_more_than_any_machine_has_stops_the_study_at_once(tmp_path: Path, local_ray) -> None:
    with pytest.raises(UserError, match=r"--cpus-per-run 3: no machine of the Ray cluster has 3 CPUs"):
        run_study(tiny_spec({"a": {}}, seeds=1), tmp_path, engine=RayEngine(cpus_per_run=3))
    assert not (tmp_path / "runs").exists()


def test_a_run_stopped_elsewhere_resumes_on_ray_with_the_tasks_cpus(tmp_path: Path, local_ray) -> None:
    spec = tiny_spec({"a": {}}, seeds=1)
    spec = spec.model_copy(update={"base": {**spec.base, "train": {"epochs": 2}}})  # train.threads unset: all cores
    (planned,) = expand(spec)
    assert planned.config.train.threads is None
    train(planned.config, tmp_path / planned.folder, callbacks=[stop_at_epoch(1)])  # stopped after epoch 1
    outcome = run_study(spec, tmp_path, engine=RayEngine())
    assert outcome.trained == ["runs/a/seed0"]
    folder = RunFolder(tmp_path / planned.folder)
    assert [row["epoch"] for row in folder.read_metrics()] == [0, 1, 2]
    assert folder.read_config() == with_overrides(planned.config, {"train": {"threads": 1}})  # its task's one CPU
