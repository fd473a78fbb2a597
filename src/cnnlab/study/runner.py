"""Running a study: every planned run once, skipping finished ones, resuming stopped ones.

A failed or diverged run is recorded and the study goes on; Ctrl-C stops it (resumable).
`workers > 1` runs that many runs at once in separate processes, splitting the cores; an `engine`
(`cnnlab.study.ray_engine.RayEngine`) runs them elsewhere. Every engine shares the planning, the
recording of results and the report here, and trains each run with `_run_one`.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from cnnlab.claim import RunInUse, claim
from cnnlab.config import RunConfig, StudySpec, with_overrides
from cnnlab.errors import UserError
from cnnlab.fileio import atomic_write_json, atomic_write_text, make_folder
from cnnlab.machine import usable_cores
from cnnlab.models import check_model
from cnnlab.runs import FINISHED, HELD_OUT, RunFolder
from cnnlab.train import resume, train
from cnnlab.train.device import check_threads

from .results import PLAN, read_plan, write_results
from .spec import MAX_RUNS, PlannedRun, baseline_of, check_reference, expand, run_names
from .workers import start_worker, stopping

log = logging.getLogger("cnnlab")

SKIPPED = (*FINISHED, "diverged")


@dataclass
class StudyOutcome:
    """What one invocation did."""

    folder: Path
    planned: int
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)  # runs another process was training: left to it
    interrupted: bool = False
    seconds: float = 0.0


Record = Callable[[PlannedRun, dict[str, Any]], None]  # a run's result (as `_run_one` returns it) into the study


class StudyEngine(Protocol):
    """Trains a study's runs somewhere other than this process's pool (e.g. on Ray)."""

    def run(self, study_dir: Path, todo: Sequence[PlannedRun], record: Record) -> None:
        """Train (or resume) every run of `todo` into `study_dir/<run.folder>`, passing each result to `record`
        as it comes; a KeyboardInterrupt stops it (resumable)."""
        ...


def run_study(
    spec: StudySpec,
    out_dir: str | Path,
    overrides: Sequence[str] = (),
    workers: int = 1,
    max_runs: int = MAX_RUNS,
    rerun_changed: bool = False,
    engine: StudyEngine | None = None,
) -> StudyOutcome:
    """Run (or resume) the study described by `spec` in `out_dir`: in this process, in a pool of `workers`,
    or on `engine`.

    A run folder that holds a run of another config than the plan's (finished or not) stops the study
    before anything is trained, unless `rerun_changed`: then that run is trained again, replacing it.
    More than `max_runs` runs are refused before any is built.
    """
    study_dir = Path(out_dir)
    runs = expand(spec, overrides, max_runs=max_runs)
    check_reference(spec, run_names(runs), baseline_of(spec, runs))  # before any training, not in the report
    if workers < 1:
        raise UserError("--workers must be at least 1")
    if engine is not None and workers != 1:
        raise UserError("--workers is for the local engine: on another engine each run asks for its own cores")
    outcome = StudyOutcome(study_dir, len(runs))
    started = time.perf_counter()
    todo, outcome.skipped, changed = _triage(study_dir, runs)
    if changed and not rerun_changed:
        raise UserError(_changed_message(study_dir, changed))
    for folder in changed:  # --rerun-changed: each replaced before any engine starts it again
        with claim(study_dir / folder):  # never under a process that trains it
            RunFolder(study_dir / folder).clear()
    _check_models(spec, todo)
    _write_plan(study_dir, spec, overrides, runs)
    log.info(
        "study '%s': %d runs (%d variants x %d seeds), %d to run, %d already done",
        spec.name,
        len(runs),
        len(run_names(runs)),
        len(spec.seeds),
        len(todo),
        len(outcome.skipped),
    )
    try:
        if engine is not None:
            done = itertools.count(1)
            engine.run(study_dir, todo, lambda run, res: _record(study_dir, outcome, run, res, next(done), len(todo)))
        elif workers == 1:
            for k, run in enumerate(todo, start=1):
                log.info("[%d/%d] %s seed %d: training", k, len(todo), run.variant, run.seed)
                result = _run_one(study_dir, run, threads=None)
                _record(study_dir, outcome, run, result, k, len(todo))
                if result["status"] == "interrupted":
                    raise KeyboardInterrupt
        else:
            _run_in_pool(study_dir, todo, workers, outcome)
    except KeyboardInterrupt:
        outcome.interrupted = True
        log.warning("study interrupted: run the same command again to continue where it stopped")
    finally:
        write_results(study_dir)
        outcome.seconds = time.perf_counter() - started
    return outcome


def _triage(study_dir: Path, runs: Sequence[PlannedRun]) -> tuple[list[PlannedRun], list[str], dict[str, list[str]]]:
    """(to train or resume, already done, changed): the planned runs by what their folders hold.

    Done is finished (or diverged) with the plan's config; changed maps each folder holding a run of
    another config, finished or not, to the keys that differ (those runs are also to train). A folder
    that cannot be read is to train: the attempt records it as failed, naming the damaged file.
    """
    todo, done, changed = [], [], {}
    for run in runs:
        folder = RunFolder(study_dir / run.folder)
        try:
            if folder.has_run() and (differences := config_differences(folder.read_config(), run.config)):
                changed[str(run.folder)] = differences
                todo.append(run)
            elif folder.status() in SKIPPED:
                done.append(str(run.folder))
            else:
                todo.append(run)
        except UserError:
            todo.append(run)
    return todo, done, changed


def _changed_message(study_dir: Path, changed: dict[str, list[str]], shown: int = 3) -> str:
    examples = "; ".join(f"{folder} differs in {', '.join(keys)}" for folder, keys in list(changed.items())[:shown])
    more = f"; and {len(changed) - shown} more" if len(changed) > shown else ""
    return (
        f"'{study_dir}' holds {len(changed)} run(s) trained with another config than this study plans "
        f"({examples}{more}): add --rerun-changed to train them again with the plan's config (their results "
        "are replaced), or run the study into another --out folder"
    )


def _check_models(spec: StudySpec, todo: Sequence[PlannedRun]) -> None:
    """Every model the runs to do will build can be built (e.g. its pretrained weights are at hand) and its
    thread count fits the machine, checked once a distinct model before anything is written or trained: a
    study that cannot finish stops now."""
    seen: set[str] = set()
    for run in todo:
        key = run.config.model.model_dump_json()
        try:
            check_threads(run.config.train)
            if key not in seen:
                check_model(run.config.model.name, run.config.model.options())
        except UserError as err:
            raise UserError(f"study '{spec.name}' cannot start (variant '{run.variant}'): {err}") from None
        seen.add(key)


def _run_one(
    study_dir: Path,
    run: PlannedRun,
    threads: int | None,
    in_pool: bool = False,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    """Train (or resume) one run; never raises for a bad run, returns its status and message.

    A run's own set-up and epoch lines are left out (the study prints a line a run); on a terminal
    a progress bar shows the run in flight (not in worker processes, whose bars would collide).
    `callbacks` hook into its fit loop (an engine's, to send each epoch's files back).
    """
    if in_pool and stopping():
        return {
            "status": "interrupted",
            "message": "the study was stopped before this run started",
            "summary": {},
            "seconds": 0.0,
        }
    training_log = logging.getLogger("cnnlab.train")
    level = training_log.level
    training_log.setLevel(logging.WARNING)
    try:
        return _train_quietly(study_dir, run, threads, progress=False if in_pool else None, callbacks=callbacks)
    finally:
        training_log.setLevel(level)


def _train_quietly(
    study_dir: Path,
    run: PlannedRun,
    threads: int | None,
    progress: bool | None,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    folder = RunFolder(study_dir / run.folder)
    config = run.config
    if threads is not None and config.train.threads is None:
        config = with_overrides(config, {"train": {"threads": threads}})
    start = time.perf_counter()
    try:
        started = folder.has_run()
        if started and (changed := config_differences(folder.read_config(), config)):
            raise UserError(
                f"'{folder.path}' holds a run with another config (differs in {', '.join(changed)}): "
                "add --rerun-changed to train it again, or run the study into another --out folder"
            )
        result = (
            resume(folder.path, progress=progress, callbacks=callbacks)
            if started
            else train(config, folder.path, progress=progress, callbacks=callbacks)
        )
        summary = result.summary
        return {
            "status": result.status,
            "message": summary.get("message"),
            "summary": summary,
            "seconds": time.perf_counter() - start,
        }
    except RunInUse as err:
        return {"status": "busy", "message": str(err), "summary": {}, "seconds": time.perf_counter() - start}
    except UserError as err:
        return {"status": "failed", "message": str(err), "summary": {}, "seconds": time.perf_counter() - start}
    except KeyboardInterrupt:
        return {"status": "interrupted", "message": None, "summary": {}, "seconds": time.perf_counter() - start}
    except Exception as err:  # a bug in one run must not lose the others
        log.exception("run %s crashed", run.folder)
        return {
            "status": "failed",
            "message": f"internal error: {err!r}",
            "summary": {},
            "seconds": time.perf_counter() - start,
        }


def config_differences(a: RunConfig, b: RunConfig) -> list[str]:
    """Dotted keys whose values differ, ignoring how many threads a run was given."""
    flat_a, flat_b = _flatten(a.model_dump(mode="json")), _flatten(b.model_dump(mode="json"))
    ignored = {"train.threads", "train.progress"}
    return sorted(k for k in flat_a.keys() | flat_b.keys() if k not in ignored and flat_a.get(k) != flat_b.get(k))


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _run_in_pool(study_dir: Path, todo: list[PlannedRun], workers: int, outcome: StudyOutcome) -> None:
    threads = max(1, usable_cores() // workers)
    log.info("running %d at a time in separate processes, %d thread(s) each", workers, threads)
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no torch threads inherited by fork
    # the workers die with this process: killed alone, it must not leave them training (workers.py)
    stopped = context.Event()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=start_worker, initargs=(os.getpid(), stopped)
    ) as pool:
        futures = {pool.submit(_run_one, study_dir, run, threads, True): run for run in todo}
        try:
            for k, future in enumerate(as_completed(futures), start=1):
                run = futures[future]
                _record(study_dir, outcome, run, future.result(), k, len(todo))
        except KeyboardInterrupt:
            stopped.set()  # runs the pool already queued for a worker are left untrained (workers.py)
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _record(study_dir: Path, outcome: StudyOutcome, run: PlannedRun, result: dict, k: int, n: int) -> None:
    status, key = result["status"], str(run.folder)
    if status == "busy":
        outcome.busy.append(key)
        log.info("[%d/%d] %s seed %d: left alone: %s", k, n, run.variant, run.seed, result["message"])
        return
    plan = read_plan(study_dir)
    failures = plan.setdefault("failures", {})
    if status == "failed":
        outcome.failed[key] = result["message"]
        failures[key] = result["message"]
        log.error("[%d/%d] %s seed %d failed: %s", k, n, run.variant, run.seed, result["message"])
    else:
        failures.pop(key, None)
        if status != "interrupted":
            outcome.trained.append(key)
        s = result["summary"]
        figures = ", ".join(
            f"{split} top-1 {s[f'{split}_top1']:.2%}" for split in HELD_OUT if s.get(f"{split}_top1") is not None
        )
        if s.get("best_epoch"):
            figures += f" at epoch {s['best_epoch']}"
        figures = figures or (result["message"] or "")
        log.info("[%d/%d] %s seed %d: %s: %s (%.0f s)", k, n, run.variant, run.seed, status, figures, result["seconds"])
    atomic_write_json(study_dir / PLAN, plan)
    write_results(study_dir)


def _write_plan(study_dir: Path, spec: StudySpec, overrides: Sequence[str], runs: list[PlannedRun]) -> None:
    """spec.yaml (the spec as given) and study.json (overrides, the expanded runs, failures so far)."""
    make_folder(study_dir)
    atomic_write_text(study_dir / "spec.yaml", yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    previous = read_plan(study_dir).get("failures", {}) if (study_dir / PLAN).is_file() else {}
    atomic_write_json(
        study_dir / PLAN,
        {
            "name": spec.name,
            "description": spec.description,
            "baseline": baseline_of(spec, runs),
            "seeds": spec.seeds,
            "overrides": list(overrides),
            "runs": [{"variant": r.variant, "seed": r.seed, "folder": str(r.folder)} for r in runs],
            "failures": previous,
        },
    )
