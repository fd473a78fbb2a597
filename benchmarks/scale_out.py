"""Beyond one machine, measured: a study's runs per hour on each engine, and one run on two DDP processes.

1. One small study (the built-in `quickstart` unless --study says otherwise: 6 runs of a narrow tme2
   on the embedded digits) trained by the local engine with --workers 1 (one run at a time, every core)
   and 2 (two at a time, a core each), by Ray on a local Ray of this machine's cores, and by Ray on a
   simulated cluster of two nodes on this machine (`ray.cluster_utils.Cluster`, half the cores each,
   each training in a scratch folder of its own). Each gives runs per hour (runs / wall seconds of the
   study, Ray's start-up timed apart), and Ray's overhead per run is the wall time it adds to the local
   engine's --workers 2 (both two runs at a time, one thread each), times 2, divided by the runs.
2. One `fast-80` run on CIFAR-10: one process with 2 threads against `torchrun` with 2 processes of 1
   thread (DDP, gloo), each the preset's global batch of 256. Compared on the run's own seconds
   (training and evaluation, from its summary; data already decoded) and test top-1.

    python benchmarks/scale_out.py [--data CIFAR_ROOT] [--study NAME] [key=value ...]   # about 15 minutes
    python benchmarks/scale_out.py --tiny                                               # a minute or two

`--tiny` checks the script end to end: a 4-run study of a tiny tme2, and fast-80 cut to 1 epoch of a
narrow fastnet on the digits resized to 16x16; its figures mean nothing. Study overrides (key=value)
apply to every run of the study. Prints each figure as it is measured, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _common import finish, machine, require_cifar_jpeg
from cnnlab.config import StudySpec, validate
from cnnlab.data import load
from cnnlab.machine import usable_cores
from cnnlab.study import expand, load_spec, run_study
from cnnlab.study.ray_engine import SCRATCH_ENV, RayEngine

TINY_STUDY = {
    "name": "tiny",
    "base": {"data": {"source": "digits"}, "model": {"widths": [4, 8, 8], "hidden": 16}, "train": {"epochs": 2}},
    "variants": {"standardize": {}, "raw": {"data.preprocess": "none"}},
    "seeds": 2,
}
TINY_FAST = ["data.image_size=16", "model.widths=[8,16,16]", "train.epochs=1", "train.eval_batch_size=500"]


def timed_study(spec: StudySpec, overrides: Sequence[str], label: str, **how: Any) -> float:
    """Wall seconds of the whole study in a fresh folder (every run trained)."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        outcome = run_study(spec, Path(folder) / "study", overrides, **how)
        seconds = time.perf_counter() - start
    if outcome.failed or len(outcome.trained) != outcome.planned:
        raise SystemExit(f"{label}: {len(outcome.trained)} of {outcome.planned} runs trained: {outcome.failed}")
    print(f"{label}: {outcome.planned} runs in {seconds:.1f} s: {outcome.planned / seconds * 3600:,.0f} runs/hour")
    return seconds


def on_ray(
    start: Callable[[], Callable[[], None]], spec: StudySpec, overrides: Sequence[str], label: str
) -> tuple[float, float]:
    """(start-up seconds, study seconds) of the study on the Ray that `start` brings up (it returns its stop)."""
    began = time.perf_counter()
    stop = start()
    started = time.perf_counter() - began
    print(f"{label}: Ray up in {started:.1f} s")
    try:
        return started, timed_study(spec, overrides, label, engine=RayEngine())
    finally:
        stop()


def local_ray() -> Callable[[], None]:
    import ray

    ray.init(address="local", num_cpus=usable_cores(), include_dashboard=False, logging_level=logging.ERROR)
    return ray.shutdown


def two_node_cluster(scratch: Path) -> Callable[[], None]:
    """Two Ray nodes on this machine, half the cores each, each with a scratch folder of its own."""
    import ray
    from ray.cluster_utils import Cluster

    half = max(1, usable_cores() // 2)
    env = [{SCRATCH_ENV: str(scratch / name)} for name in ("head", "other")]
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": half, "env_vars": env[0]})
    cluster.add_node(num_cpus=half, env_vars=env[1])
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level=logging.ERROR)

    def stop() -> None:
        ray.shutdown()
        cluster.shutdown()

    return stop


def fast_run(launcher: list[str], overrides: list[str], folder: Path, label: str) -> dict[str, Any]:
    """One fast-80 run through `launcher` (python, or torchrun); its seconds and test top-1 from its summary."""
    command = [*launcher, "-m", "cnnlab", "train", "--preset", "fast-80", *overrides, "--out", str(folder)]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{label} failed:\n{done.stderr[-3000:]}")
    summary = json.loads((folder / "summary.json").read_text())
    print(
        f"{label}: test top-1 {summary['test_top1']:.2%} in {summary['seconds']:.1f} s of training and evaluation "
        f"({wall:.1f} s with start-up and data loading)",
        flush=True,
    )
    return {"seconds": summary["seconds"], "wall_seconds": round(wall, 1), "test_top1": summary["test_top1"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="a tiny study and a 1-epoch fast run on digits")
    parser.add_argument("--study", default="quickstart", help="the study to time (a built-in name or a YAML file)")
    parser.add_argument("--data", help="CIFAR-10 ImageFolder root (default: ../shared/data/cifar10-jpeg)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="overrides of every run of the study")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    print(f"machine: {machine()}, {usable_cores()} cores", flush=True)

    spec = validate(TINY_STUDY, StudySpec) if args.tiny else load_spec(args.study)
    figures: dict[str, Any] = {"study": spec.name, "tiny": args.tiny}
    local1 = timed_study(spec, args.overrides, "local engine, --workers 1", workers=1)
    local2 = timed_study(spec, args.overrides, "local engine, --workers 2", workers=2)
    ray_up, ray_local = on_ray(local_ray, spec, args.overrides, "Ray, local")
    with tempfile.TemporaryDirectory() as scratch:
        cluster_up, cluster = on_ray(lambda: two_node_cluster(Path(scratch)), spec, args.overrides, "Ray, 2 nodes")
    runs = len(expand(spec, args.overrides))
    overhead = (ray_local - local2) * 2 / runs
    print(f"Ray's overhead: {overhead:.2f} s a run (start-up aside: {ray_up:.1f} s local, {cluster_up:.1f} s 2 nodes)")
    per_hour = lambda seconds: round(runs / seconds * 3600, 1)  # noqa: E731
    figures |= {
        "runs": runs,
        "local_workers1_runs_per_hour": per_hour(local1),
        "local_workers2_runs_per_hour": per_hour(local2),
        "ray_local_runs_per_hour": per_hour(ray_local),
        "ray_2nodes_runs_per_hour": per_hour(cluster),
        "ray_overhead_seconds_per_run": round(overhead, 2),
        "ray_local_start_seconds": round(ray_up, 1),
        "ray_2nodes_start_seconds": round(cluster_up, 1),
    }

    source = "digits" if args.tiny else str(require_cifar_jpeg(args.data))
    fast = [f"data.source={source}", "train.progress=false", *(TINY_FAST if args.tiny else [])]
    load(source)  # decode once (or find the cache): neither run pays for it
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    with tempfile.TemporaryDirectory() as folder:
        one = fast_run([sys.executable], [*fast, "train.threads=2"], Path(folder) / "one", "fast-80, 1 process x 2")
        two = fast_run(torchrun, [*fast, "train.threads=1"], Path(folder) / "ddp", "fast-80, 2 processes x 1")
    ratio = one["seconds"] / two["seconds"]
    print(f"fast-80: 2 DDP processes x 1 thread are {ratio:.2f}x as fast as 1 process x 2 threads", flush=True)
    figures |= {
        "fast80_1x2_seconds": one["seconds"],
        "fast80_2x1_seconds": two["seconds"],
        "fast80_speedup_2x1_over_1x2": round(ratio, 3),
        "fast80_1x2_test_top1": one["test_top1"],
        "fast80_2x1_test_top1": two["test_top1"],
        "fast80_1x2_wall_seconds": one["wall_seconds"],
        "fast80_2x1_wall_seconds": two["wall_seconds"],
        "machine": machine(),
    }
    finish(figures)


if __name__ == "__main__":
    main()
