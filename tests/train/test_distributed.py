"""One run on two processes (torchrun, gloo on the CPU): the same training as one process; rank 0 writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from tests.fakes import stop_at_epoch, without_seconds

from cnnlab.config import load_config
from cnnlab.errors import UserError
from cnnlab.runs import RunFolder
from cnnlab.train import train
from cnnlab.train.distributed import World, agree, check_same_compute, check_shares, folder_for, sync_batch_norm

pytestmark = pytest.mark.skipif(not dist.is_gloo_available(), reason="torch was built without gloo")

# no batch norm, dropout or augmentation: two processes then compute what one does, up to the order of sums.
# 1,293 training images are 20 batches of 64 and one of 13, which the two processes split 7 + 6.
TINY = [
    "data.source=digits",
    "model.widths=[4,8,8]",
    "model.hidden=16",
    "train.batch_size=64",
    "train.threads=1",
    "train.precision=fp32",
    "optim.lr=0.05",
]
HOLD = """
import sys, time
from cnnlab.claim import claim
with claim(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    return subprocess.run([*command, "-m", "cnnlab", "train", *args], capture_output=True, text=True, timeout=300)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "state.pt", weights_only=True)["model"]


def _assert_same_training(ours: Path, reference: Path) -> None:
    """The same weights (to float tolerance) and the same metrics rows, timings aside."""
    expected = _weights(reference)
    for key, value in _weights(ours).items():
        torch.testing.assert_close(value, expected[key], rtol=1e-4, atol=1e-6)
    rows, reference_rows = (
        without_seconds(RunFolder(ours).read_metrics()),
        without_seconds(RunFolder(reference).read_metrics()),
    )
    assert [row["epoch"] for row in rows] == [row["epoch"] for row in reference_rows]
    for row, expected_row in zip(rows, reference_rows, strict=True):
        assert row == pytest.approx(expected_row, rel=1e-4, abs=1e-6)


def test_two_processes_train_as_one_with_the_same_global_batch(tmp_path: Path) -> None:
    done = _torchrun(*TINY, "train.epochs=1", "--out", str(tmp_path / "ddp"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("status: completed") == 1  # rank 0 alone prints
    train(load_config(None, [*TINY, "train.epochs=1"]), tmp_path / "one")
    _assert_same_training(tmp_path / "ddp", tmp_path / "one")
    info = json.loads((tmp_path / "ddp" / "run.json").read_text())
    assert info["world_size"] == 2 and info["backend"] == "gloo"
    assert "x 2 processes (gloo)" in info["device"]
    assert json.loads((tmp_path / "one" / "run.json").read_text())["world_size"] == 1


def test_a_run_stopped_on_one_process_resumes_on_two(tmp_path: Path) -> None:
    config = load_config(None, [*TINY, "train.epochs=2"])
    assert train(config, tmp_path / "run", callbacks=[stop_at_epoch(1)]).status == "interrupted"
    done = _torchrun("--resume", "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert RunFolder(tmp_path / "run").status() == "completed"
    train(config, tmp_path / "whole")
    _assert_same_training(tmp_path / "run", tmp_path / "whole")


def test_a_folder_in_use_stops_every_process_with_its_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = _torchrun(*TINY, "train.epochs=1", "--out", str(tmp_path / "run"))
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode != 0
    assert done.stderr.count("is being trained by another process (host") == 2  # each rank says why it stops
    assert f"pid {holder.pid}" in done.stderr
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_sync_bn_needs_cuda_and_shares_need_examples() -> None:
    world = World(rank=0, size=2, local_rank=0, local_size=2)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    with pytest.raises(UserError, match="model.sync_bn=true needs CUDA"):
        sync_batch_norm(world, model, True, torch.device("cpu"))
    assert sync_batch_norm(None, model, True, torch.device("cpu")) is model  # one process: nothing to sync
    assert sync_batch_norm(world, model, False, torch.device("cpu")) is model
    with pytest.raises(UserError, match="train.batch_size=1 is smaller than the 2 processes"):
        check_shares(world, {"train.batch_size": 1}, {"train": 10})
    with pytest.raises(UserError, match="the val split has 1 examples for 2 processes"):
        check_shares(world, {"train.batch_size": 8}, {"train": 10, "val": 1, "test": 0})
    assert agree(None, lambda: 42) == 42  # one process decides alone


def test_processes_that_resolved_another_device_or_precision_stop_together(monkeypatch) -> None:
    """`auto` is decided on each machine: a mixed run would drift apart, so every process stops, saying which."""
    world = World(rank=0, size=2, local_rank=0, local_size=1)
    facts = {"device": "cpu", "precision": "bf16"}

    def gathered(seen: dict[str, str]):
        def gather(out: list, mine: object) -> None:
            out[:] = [mine, seen]

        return gather

    monkeypatch.setattr(dist, "all_gather_object", gathered({"device": "cpu", "precision": "fp32"}))
    with pytest.raises(UserError, match=r"different precision \(rank 0: precision=bf16; rank 1: precision=fp32\)"):
        check_same_compute(world, facts)
    monkeypatch.setattr(dist, "all_gather_object", gathered(dict(facts)))
    check_same_compute(world, facts)  # the same everywhere: nothing to say
    check_same_compute(None, facts)  # one process: nothing to compare


def test_a_time_budget_is_refused_under_torchrun(monkeypatch, capsys) -> None:
    from cnnlab.cli.main import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", "--preset", "fast", "--budget", "10m"]) == 2
    assert "--budget plans a run for one process: run it without torchrun" in capsys.readouterr().err


def test_only_the_writer_reads_the_run_folders_history(tmp_path: Path) -> None:
    """Another machine's copy of the folder may be stale or damaged: a non-writer never reads its metrics."""
    (tmp_path / "metrics.jsonl").write_text("{not json\n")
    other = folder_for(World(rank=1, size=2, local_rank=0, local_size=1), RunFolder(tmp_path))
    assert other.read_metrics() == []
    with pytest.raises(UserError, match="metrics.jsonl"):
        folder_for(World(rank=0, size=2, local_rank=0, local_size=1), RunFolder(tmp_path)).read_metrics()
