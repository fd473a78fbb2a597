"""Studies on Ray: each planned run is one Ray task, on a local Ray or an existing cluster, no shared disk.

    run_study(spec, "studies/x", engine=RayEngine())                  # a local Ray of this machine's cores
    run_study(spec, "studies/x", engine=RayEngine(address="auto"))    # the cluster this machine belongs to

The driver (this process) claims each run folder of the study for its task while the task is in
flight (`cnnlab.claim`), and is the only process that writes the study folder. A task asks Ray for
`cpus_per_run` CPUs (and `gpus_per_run` GPUs), trains the run with the runner's `_run_one` (the same
`train` / `resume` as every engine, torch's threads set to its CPUs) in a scratch folder on its node,
seeded with the files the driver already has of the run (its resume state among them), and streams
back the files that changed after each epoch and at the end (a Ray generator task), which the driver
writes into the study as they come. Nothing needs a disk shared between the machines; a study folder
on shared storage is written by the driver all the same.

Faults: a task whose worker process or node dies is submitted again, seeded with what came back,
so it resumes from its last returned epoch (from the start when none came back), up to `retries`
times; the study goes on. A finished run is on the driver's disk before it counts as finished, and a
driver killed at any point leaves the study where the local engine would: run the same command again
and it continues, finished runs skipped, stopped ones resumed.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cnnlab
from cnnlab.claim import CLAIM, RunInUse, claim, holder
from cnnlab.config import with_overrides
from cnnlab.errors import UserError
from cnnlab.machine import usable_cores
from cnnlab.runs import STATE, RunFolder

from .run_files import ChangedFiles, Files, read_run_files, write_run_files
from .runner import Record, _run_one
from .spec import PlannedRun

log = logging.getLogger("cnnlab")

INSTALL = "pip install 'cnnlab[ray]' (or pip install 'ray>=2.9')"
SCRATCH_ENV = "CNNLAB_SCRATCH"  # where a node's tasks train (default: the system's temporary folder)


def require_ray() -> Any:
    """The `ray` module, or a UserError saying what to install."""
    try:
        import ray
    except ImportError:
        raise UserError(f"--engine ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


@dataclass(frozen=True)
class RayEngine:
    """Runs a study's runs as Ray tasks (see the module's docstring).

    `address`: None starts a local Ray of this machine's cores for the study (or uses the Ray this
    process already started); 'auto' or HOST:PORT joins an existing cluster.
    """

    address: str | None = None
    cpus_per_run: int = 1
    gpus_per_run: float = 0.0
    retries: int = 3  # attempts after the first for a run whose worker or node died, as Ray's own default

    def __post_init__(self) -> None:
        if self.cpus_per_run < 1:
            raise UserError("--cpus-per-run must be at least 1")
        if self.gpus_per_run < 0:
            raise UserError("--gpus-per-run cannot be negative")
        require_ray()  # before anything of the study is written

    def run(self, study_dir: Path, todo: Sequence[PlannedRun], record: Record) -> None:
        """Train every run of `todo` on Ray into `study_dir`, each result to `record` as it finishes."""
        if not todo:
            return  # nothing to train: no Ray to start
        ray = require_ray()
        started_here = self._connect(ray)
        try:
            self._check_fits(ray)
            _Flights(ray, self, study_dir, record).run(todo)
        finally:
            if started_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Connect to Ray; whether this call started it (and so stops it at the end)."""
        if ray.is_initialized():
            return False
        try:
            if self.address is None:
                # "local": a Ray of its own, even where `ray start` runs one on this machine (which plain
                # ray.init() would join)
                ray.init(address="local", num_cpus=usable_cores(), include_dashboard=False, logging_level=logging.ERROR)
                log.info("started a local Ray of %d cores", usable_cores())
            else:
                ray.init(address=self.address, logging_level=logging.ERROR)
        except ConnectionError as err:
            raise UserError(
                f"cannot join the Ray cluster at '{self.address}' ({err}): is it running (`ray start --head` on its "
                "head machine, then --address HEAD:6379)? A cluster whose head has a Ray token (~/.ray/auth_token) "
                "needs the same file here and, with --address HOST:PORT, RAY_AUTH_MODE=token in the environment"
            ) from None
        return True

    def _check_fits(self, ray: Any) -> None:
        """Some machine of the cluster has the CPUs and GPUs a run asks for (else its tasks would wait forever)."""
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        asked = (("--cpus-per-run", "CPU", self.cpus_per_run), ("--gpus-per-run", "GPU", self.gpus_per_run))
        for flag, key, wanted in asked:
            most = max((node.get(key, 0) for node in nodes), default=0)
            if wanted > most:
                raise UserError(
                    f"{flag} {wanted:g}: no machine of the Ray cluster has {wanted:g} {key}s "
                    f"(the most any has is {most:g}); ask for fewer"
                )


@dataclass
class _Flight:
    """A run in flight: its claim on the study's folder (held by the driver), and which attempt this is."""

    run: PlannedRun
    held: contextlib.ExitStack
    attempt: int = 1


@dataclass
class _Flights:
    """The driver's loop: submit the runs as the cluster has room, write what comes back, retry what died,
    record what finished."""

    ray: Any
    engine: RayEngine
    study_dir: Path
    record: Record
    flying: dict[Any, _Flight] = field(default_factory=dict)  # by the task's generator

    def run(self, todo: Sequence[PlannedRun]) -> None:
        task = self.ray.remote(_train_in_scratch)
        waiting = collections.deque(todo)
        try:
            self._fill(task, waiting)
            while self.flying:
                ready, _ = self.ray.wait(list(self.flying), num_returns=1)
                for generator in ready:
                    flight = self.flying.pop(generator)
                    try:
                        self._receive(task, generator, flight)
                    except BaseException:
                        if flight not in self.flying.values():  # not back in flight: release its run now
                            flight.held.close()
                        raise
                self._fill(task, waiting)
        finally:
            for generator, flight in self.flying.items():  # interrupted: stop the tasks, release their runs
                with contextlib.suppress(Exception):
                    self.ray.cancel(generator, force=True)
                flight.held.close()
            self.flying.clear()

    def _fill(self, task: Any, waiting: collections.deque[PlannedRun]) -> None:
        """Claim and submit waiting runs while fewer than `_window()` are in flight: a run's files (a resume
        state among them) go into Ray's object store only when it is about to train, not all at once."""
        window = self._window()  # asked of Ray once a fill, not once a run
        while waiting and len(self.flying) < window:
            run = waiting.popleft()
            held = contextlib.ExitStack()
            try:
                held.enter_context(claim(self.study_dir / run.folder))
            except RunInUse as err:  # trained by another process: left to it, as the local engine does
                self.record(run, {"status": "busy", "message": str(err), "summary": {}, "seconds": 0.0})
                continue
            except UserError as err:  # e.g. a file where its folder should be
                self.record(run, _failed(str(err)))
                continue
            try:
                self._submit(task, _Flight(run, held))
            except BaseException:
                held.close()
                raise

    def _window(self) -> int:
        """How many runs to keep in flight: twice as many as the cluster trains at once now (it may grow),
        so that a freed slot never waits for the driver."""
        resources = self.ray.cluster_resources()
        slots = resources.get("CPU", 0) / self.engine.cpus_per_run  # at least 1 (RayEngine checks)
        if self.engine.gpus_per_run:
            slots = min(slots, resources.get("GPU", 0) / self.engine.gpus_per_run)
        return 2 * max(1, int(slots))

    def _submit(self, task: Any, flight: _Flight) -> None:
        files = read_run_files(self.study_dir / flight.run.folder)
        asking = task.options(
            num_cpus=self.engine.cpus_per_run,
            num_gpus=self.engine.gpus_per_run,
            max_retries=0,  # retried here instead, seeded with what came back: a retry resumes
            name=f"cnnlab {self.study_dir.name}/{flight.run.folder}",  # as Ray's tools list it
        )
        self.flying[asking.remote(flight.run, files, cnnlab.__version__)] = flight

    def _receive(self, task: Any, generator: Any, flight: _Flight) -> None:
        """The next message of a task: an epoch's files, its end, or the news that its worker died."""
        run, folder = flight.run, self.study_dir / flight.run.folder
        try:
            kind, payload, files = self.ray.get(next(generator))
        except StopIteration:
            return self._finish(flight, _failed("its Ray task ended without a result"))
        except self.ray.exceptions.RayTaskError as err:  # the task itself raised: not a fault of the machine
            return self._finish(flight, _failed(_task_error(err)))
        except self.ray.exceptions.RayError as err:  # its worker or node died, or its result was lost
            if flight.attempt > self.engine.retries:
                died = f"its Ray worker died {flight.attempt} times (last: {_first_line(err)})"
                return self._finish(flight, _failed(died))
            after = _resume_epoch(folder)
            log.warning(
                "%s seed %d: its Ray worker died (%s); trying again from %s (attempt %d of %d)",
                run.variant,
                run.seed,
                type(err).__name__,
                f"after epoch {after}" if after else "the start",
                flight.attempt + 1,
                self.engine.retries + 1,
            )
            flight.attempt += 1
            with contextlib.suppress(Exception):  # not every RayError means the attempt is dead: never two at once
                self.ray.cancel(generator, force=True)
            return self._submit(task, flight)
        write_run_files(folder, files)
        if kind == "epoch":
            self.flying[generator] = flight  # more to come
            return None
        log.debug("%s seed %d trained on Ray node %s", run.variant, run.seed, payload.get("node"))
        return self._finish(flight, payload)

    def _finish(self, flight: _Flight, result: dict[str, Any]) -> None:
        flight.held.close()
        self.record(flight.run, result)


def _failed(message: str) -> dict[str, Any]:
    return {"status": "failed", "message": message, "summary": {}, "seconds": 0.0}


def _resume_epoch(folder: Path) -> int:
    """The epoch a resume of the run in `folder` continues after (0: from the start)."""
    run = RunFolder(folder)
    if not run.file(STATE).is_file():
        return 0
    return max((row["epoch"] for row in run.read_metrics()), default=0)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _task_error(err: BaseException) -> str:
    text = str(err)
    if "No module named 'cnnlab" in text:
        return f"the Ray workers cannot import cnnlab: install it on every machine of the cluster ({INSTALL})"
    return f"its Ray task failed: {_first_line(err)}"


# -- on a Ray worker ---------------------------------------------------------------------------------


def _train_in_scratch(run: PlannedRun, files: Files, version: str) -> Iterator[tuple[str, Any, Files]]:
    """A Ray generator task: train `run` in a scratch folder seeded with `files`, yielding
    ('epoch', None, files changed) after each epoch and ('done', result, files changed) at the end."""
    import ray

    node = f"{socket.gethostname()} {ray.get_runtime_context().get_node_id()[:8]}"
    if version != cnnlab.__version__:
        message = f"the Ray worker on {node} runs cnnlab {cnnlab.__version__}, the driver {version}: install the same"
        yield "done", {**_failed(message), "node": node}, {}
        return
    threads = max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1)))
    with _scratch_folder() as scratch:
        folder = scratch / run.folder
        write_run_files(folder, files)
        changed = ChangedFiles(folder)
        _resume_with(RunFolder(folder), threads)
        messages: queue.Queue[tuple[str, Any]] = queue.Queue()

        def send_epoch(row: dict[str, Any]) -> None:  # after each epoch's files are written
            messages.put(("epoch", changed.take()))

        def train() -> None:  # in a thread, so that this generator can yield while the run trains
            try:
                messages.put(("done", _run_one(scratch, run, threads, in_pool=True, callbacks=[send_epoch])))
            except BaseException as err:  # never leave the generator waiting
                messages.put(("done", _failed(f"internal error: {err!r}")))

        worker = threading.Thread(target=train, name=f"cnnlab {run.folder}")
        worker.start()
        while True:
            kind, payload = messages.get()
            if kind == "done":
                break
            yield "epoch", None, payload
        worker.join()
        last = changed.take()
    yield "done", {**payload, "node": node}, last  # the scratch folder is gone before the driver hears the end


def _resume_with(folder: RunFolder, threads: int) -> None:
    """A run started with every core of its machine (train.threads unset) resumes with the task's CPUs: its
    scratch copy's config says so (a setting no engine compares), and the study's copy hears it back."""
    with contextlib.suppress(UserError):  # a config it cannot read fails the run in _run_one, with its message
        if folder.has_run() and (config := folder.read_config()).train.threads is None:
            folder.write_config(with_overrides(config, {"train": {"threads": threads}}))


@contextlib.contextmanager
def _scratch_folder() -> Iterator[Path]:
    """A folder of this task's own on its node ($CNNLAB_SCRATCH or the temporary folder), claimed while the
    task lives and removed after it; folders that tasks killed on this node left are removed first."""
    root = Path(os.environ.get(SCRATCH_ENV) or tempfile.gettempdir()) / "cnnlab-ray"
    root.mkdir(parents=True, exist_ok=True)
    sweep_scratch(root)
    folder = Path(tempfile.mkdtemp(prefix="study-", dir=root))
    try:
        with claim(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_scratch(root: Path, settled: float = 10.0) -> None:
    """Remove the scratch folders under `root` whose task died (its claim is no longer held). A claim younger
    than `settled` seconds is left alone: its task may be between creating the file and locking it."""
    for folder in root.iterdir():
        claim_file = folder / CLAIM
        with contextlib.suppress(OSError):
            if time.time() - claim_file.stat().st_mtime > settled and holder(folder) is None:
                shutil.rmtree(folder, ignore_errors=True)
