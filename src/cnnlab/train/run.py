"""`train(config, out_dir)` starts one run from a config (data, model, optimiser, fit, run folder);
`resume(out_dir)` continues a stopped one from its saved config and resume state.

Both run on one process, or on the several that torchrun starts (`train/distributed.py`): rank 0 then
claims and writes the run folder and tells the others what it decided.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

import cnnlab
from cnnlab.checkpoint import TrainingState
from cnnlab.claim import claim
from cnnlab.config import RunConfig, dump_config
from cnnlab.data import (
    BatchAugment,
    BatchIterator,
    Preprocessor,
    Splits,
    describe_augment,
    fit_preprocess,
    load_splits,
)
from cnnlab.data.augment import check_augment
from cnnlab.data.mixing import BatchMix
from cnnlab.errors import UserError
from cnnlab.machine import hardware_description
from cnnlab.models import build
from cnnlab.models.hooks import EpochAware, InitFromData
from cnnlab.runs import FINISHED, METRICS_FILE, STATE, RunFolder

from .averaging import Lookahead
from .callbacks import Callback, ModelEpochHook, as_callbacks
from .clipping import GradientClipping
from .device import Compute, check_threads, resolve_compute
from .distributed import (
    SyncBuffers,
    World,
    agree,
    check_same_compute,
    check_shares,
    data_parallel,
    folder_for,
    joined,
    share_of,
    sync_batch_norm,
    writer_first,
)
from .ema import ExponentialMovingAverage
from .loop import FitSettings, RunResult, fit
from .optim import build_optimizer, build_scheduler
from .plateau import PlateauSchedule
from .selection import proxy_selection

log = logging.getLogger("cnnlab.train")

INIT_SAMPLE = 5000  # training images shown to a model's data-dependent initialisation


Hook = Callback | Callable[[dict[str, Any]], None]  # a callback, or a plain function of each epoch's metrics row


def train(
    config: RunConfig,
    out_dir: str | Path,
    progress: bool | None = None,
    callbacks: Sequence[Hook] = (),
    splits: Splits | None = None,
) -> RunResult:
    """Train a new run described by `config` into `out_dir` (which must not hold a run yet).

    `callbacks` hook into the fit loop (`cnnlab.train.Callback`, or plain functions of each epoch's
    metrics row); `progress` shows a progress bar (default: on a terminal, per train.progress).
    `splits`: `config.data` already loaded by the caller (the time budget's probe), not loaded again.
    """
    folder = RunFolder(out_dir)
    check_threads(config.train)
    with joined() as world, contextlib.ExitStack() as held:

        def start() -> None:
            held.enter_context(claim(folder.path))  # held while training: a second process is told and stops
            if folder.has_run():
                raise UserError(
                    f"'{folder.path}' already holds a run: add --resume to continue it, or choose another --out folder"
                )

        agree(world, start)  # on the writer (rank 0) of several processes, which tells the others
        return _run(config, folder_for(world, folder), None, progress, callbacks, world, splits)


def resume(
    out_dir: str | Path,
    config: RunConfig | None = None,
    progress: bool | None = None,
    callbacks: Sequence[Hook] = (),
) -> RunResult:
    """Continue the stopped run in `out_dir` with its saved config from its last finished epoch.

    A finished run is left as it is. `config`, when given, must be the run's own (a safeguard for a
    command line that repeats it).
    """
    folder = RunFolder(out_dir)
    with joined() as world, contextlib.ExitStack() as held:

        def start() -> tuple[RunConfig, TrainingState | None, RunResult | None]:
            if not folder.has_run():
                raise UserError(f"nothing to resume in '{folder.path}': it holds no run (drop --resume to start one)")
            held.enter_context(claim(folder.path))  # a run being trained elsewhere is not resumed beside it
            saved, state = _resume_point(folder, config)
            if state is None and folder.status() in FINISHED:
                status = folder.status() or ""
                log.info("%s already finished (%s): nothing to do", folder.path, status)
                return saved, None, RunResult(folder, status, folder.read_summary() or {}, folder.read_metrics())
            return saved, state, None

        saved, state, finished = agree(world, start)  # read by the writer, given to every process
        if finished is not None:
            return finished
        if state is None:
            _warn_restart(folder)
        return _run(saved, folder_for(world, folder), state, progress, callbacks, world)


def _warn_restart(folder: RunFolder) -> None:
    """Say that a run without resume state starts again at epoch 1, and what that costs."""
    trained = sum(1 for row in folder.read_metrics() if row["epoch"] > 0)
    if trained:
        log.warning(
            "%s has no resume state (%s is missing) though its %s records %d trained epoch(s): it restarts at "
            "epoch 1 and trains them again",
            folder.path,
            STATE,
            METRICS_FILE,
            trained,
        )
    else:
        log.warning("%s has no resume state (%s): no epoch finished, so it restarts at epoch 1", folder.path, STATE)


def _run(
    config: RunConfig,
    folder: RunFolder,
    state: TrainingState | None,
    progress: bool | None,
    hooks: Sequence[Hook],
    world: World | None = None,
    loaded: Splits | None = None,
) -> RunResult:
    """Data (`loaded`, or read now), model, optimiser and schedule for `config`, then the fit loop from
    `state` (or from the start).

    On several processes (`world`) each takes its share of every batch, and the model trains under DDP.
    """
    compute = resolve_compute(config.train, world)
    check_same_compute(world, {"device": compute.device.type, "precision": compute.precision})
    writer = world is None or world.writer
    torch.manual_seed(config.train.seed)
    # a download or decode happens once
    splits = loaded if loaded is not None else writer_first(world, lambda: load_splits(config.data))
    if config.schedule.name == "plateau" and len(splits.val) == 0:
        raise UserError(
            "schedule.name=plateau lowers the rate when the validation loss stalls, and this run has no validation "
            "split: set data.val_fraction above 0 (e.g. 0.1), or choose another schedule.name"
        )
    for note in splits.dataset.notes:
        log.info("%s: %s", splits.dataset.name, note)
    check_shares(
        world,
        {"train.batch_size": config.train.batch_size, "train.eval_batch_size": config.train.eval_batch_size},
        {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
    )
    prep = fit_preprocess(splits.train, config.data.preprocess, config.data.zca_epsilon)
    augment = _augment(config, splits)
    rank, world_size = share_of(world)
    batches: dict[str, BatchIterator | None] = {
        name: split_batches(config, splits, name, prep, augment, compute, rank, world_size)
        for name in ("train", "val", "test")
    }
    train_batches = batches["train"]
    assert train_batches is not None
    steps_per_epoch = len(train_batches)
    model = model_on_device(config, splits, augment, compute, train_batches if state is None else None, world)
    optimizer = build_optimizer(model, config.optim, compute.precision)
    scheduler = build_scheduler(optimizer, config.schedule, config.train.epochs, steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda") if compute.precision == "fp16" else None
    lookahead = Lookahead(model, config.train.lookahead, config.train.epochs * steps_per_epoch, steps_per_epoch)
    selection = proxy_selection(
        config,
        compute,
        steps_per_epoch,
        lambda proxy: model_on_device(proxy, splits, augment, compute, train_batches if state is None else None),
        world,
    )
    callbacks = [
        *([selection] if selection is not None else []),  # first: every later point sees the examples kept
        *([ModelEpochHook(model)] if isinstance(model, EpochAware) else []),
        *([GradientClipping(model, config.optim.clip_norm)] if config.optim.clip_norm else []),
        *([lookahead] if lookahead.enabled else []),
        *([ExponentialMovingAverage(model, config.train.ema)] if config.train.ema else []),  # after lookahead
        *([PlateauSchedule(optimizer, config.schedule)] if config.schedule.name == "plateau" else []),
        *([SyncBuffers(model)] if world is not None and any(True for _ in model.buffers()) else []),
        *([TensorBoardLogger(config, folder)] if config.train.tensorboard and writer else []),
        *as_callbacks(list(hooks)),
    ]
    if state is not None:
        log.info("resuming %s after epoch %d", folder.path, state.epoch)
    else:
        folder.write_config(config)
        folder.save_preprocess(prep)
        folder.write_info(_run_info(config, splits, model, augment, compute))
    runnable = data_parallel(world, model, compute.device, find_unused=isinstance(model, EpochAware))
    if compute.compile:
        runnable = torch.compile(runnable)  # type: ignore[assignment]
    settings = FitSettings(
        epochs=config.train.epochs,
        seed=config.train.seed,
        early_stop=config.train.early_stop,
        progress=_show_progress(config, progress) and writer,
        divergence_check_every=1 if compute.device.type == "cpu" else 25,
        eval_every=config.train.eval_every,
        epoch_zero=config.train.epoch_zero,
        tta=config.train.tta,
        tta_fraction=config.train.tta_fraction,
        callbacks=callbacks,
        class_names=list(splits.dataset.classes),
    )
    _describe_start(config, splits, model, compute, steps_per_epoch)
    return fit(
        runnable,
        batches,
        optimizer,
        scheduler,
        nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing),
        compute,
        folder,
        settings,
        module=model,
        state=state,
        scaler=scaler,
    )


def split_batches(
    config: RunConfig,
    splits: Splits,
    name: str,
    prep: Preprocessor,
    augment: BatchAugment | None,
    compute: Compute,
    rank: int = 0,
    world_size: int = 1,
) -> BatchIterator:
    """The batches of split `name` ("train", "val" or "test") as the run trains or evaluates on them (this
    process's share of each, in a run of `world_size` processes)."""
    return BatchIterator(
        getattr(splits, name),
        prep,
        batch_size=config.train.batch_size if name == "train" else config.train.eval_batch_size,
        train=name == "train",
        shuffle=config.train.shuffle if name == "train" else False,
        augment=augment,
        device=compute.device,
        seed=config.train.seed,
        storage=config.data.storage,
        memory_format=compute.memory_format,
        name=name,
        mix=BatchMix.from_config(config.data.augment, splits.dataset.num_classes) if name == "train" else None,
        rank=rank,
        world_size=world_size,
    )


def model_on_device(
    config: RunConfig,
    splits: Splits,
    augment: BatchAugment | None,
    compute: Compute,
    init_from: BatchIterator | None,
    world: World | None = None,
) -> nn.Module:
    """The run's model on the training device, initialised from the training images `init_from` when it
    takes a data-dependent start (None when resuming: the saved weights replace it); with `model.sync_bn`
    in a distributed run, its batch norms normalise over every process's share."""
    model = sync_batch_norm(world, _build_model(config, splits, augment), config.model.sync_bn, compute.device)
    if init_from is not None and isinstance(model, InitFromData):
        model.init_from_data(_init_sample(init_from))
    model.to(compute.device)
    if compute.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def _resume_point(folder: RunFolder, given: RunConfig | None) -> tuple[RunConfig, TrainingState | None]:
    """The saved config and state to resume from; the run must exist and not have diverged."""
    if not folder.has_run():
        raise UserError(f"nothing to resume in '{folder.path}': it holds no run (drop --resume to start one)")
    saved = folder.read_config()
    if given is not None and given != saved:
        raise UserError(
            f"--resume continues the run in '{folder.path}' with its saved config; the config given differs. "
            "Drop the other arguments, or start a new run in another folder"
        )
    status = folder.status()
    if status == "diverged":
        raise UserError(f"the run in '{folder.path}' diverged; resuming would diverge again: start a new run")
    if status in FINISHED:
        return saved, None
    state = folder.load_state()
    if state is not None:
        folder.check_resumable(state)  # before any data is loaded or anything is written
    return saved, state


def _augment(config: RunConfig, splits: Splits) -> BatchAugment | None:
    check_augment(config.data.augment, splits.dataset.kind, config.data.source)
    if splits.dataset.kind != "images":
        return None
    h, w, _ = splits.dataset.example_shape
    return BatchAugment(config.data.augment, (h, w))


def _build_model(config: RunConfig, splits: Splits, augment: BatchAugment | None) -> nn.Module:
    dataset = splits.dataset
    if dataset.kind == "images":
        assert augment is not None
        return build(
            config.model.name, dataset.channels, dataset.num_classes, augment.output_size, **config.model.options()
        )
    return build(config.model.name, dataset.example_shape[0], dataset.num_classes, None, **config.model.options())


def _init_sample(train: BatchIterator) -> torch.Tensor:
    """Up to INIT_SAMPLE normalised training images, as evaluation would see them (no augmentation)."""
    sample = BatchIterator(
        train.samples.subset(torch.arange(min(len(train.samples), INIT_SAMPLE)).numpy()),
        train.preprocess,
        batch_size=INIT_SAMPLE,
        augment=train.augment,
        device=train.device,
    )
    return next(iter(sample))[0]


def _show_progress(config: RunConfig, progress: bool | None) -> bool:
    if progress is not None:
        return progress
    if config.train.progress == "auto":
        return sys.stderr.isatty()
    return bool(config.train.progress)


def _run_info(config: RunConfig, splits: Splits, model: nn.Module, augment: BatchAugment | None, compute: Compute):
    dataset = splits.dataset
    channels = dataset.channels if dataset.kind == "images" else dataset.example_shape[0]
    return {
        "dataset": dataset.name,
        "location": dataset.location,
        "kind": dataset.kind,
        "classes": list(dataset.classes),
        "num_classes": dataset.num_classes,
        "in_channels": channels,
        "input_size": list(augment.output_size) if augment is not None else None,
        "image_size": list(dataset.example_shape[:2]) if dataset.kind == "images" else None,
        "split_counts": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
        "params": sum(p.numel() for p in model.parameters()),
        "device": compute.describe(),
        "world_size": compute.world.size if compute.world is not None else 1,  # processes training it (torchrun)
        "backend": compute.backend,
        "hardware": hardware_description(),
        "versions": {
            "cnnlab": cnnlab.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _describe_start(config: RunConfig, splits: Splits, model: nn.Module, compute: Compute, steps: int) -> None:
    params = sum(p.numel() for p in model.parameters())
    log.info(
        "%s on %s: %d train / %d val / %d test, preprocess %s, augment %s",
        config.model.name,
        splits.dataset.name,
        len(splits.train),
        len(splits.val),
        len(splits.test),
        config.data.preprocess,
        describe_augment(config.data.augment),
    )
    selection = config.train.selection
    log.info(
        "%s parameters; %s %s lr %g; %d epochs of %d batches%s; on %s",
        f"{params:,}",
        config.optim.name,
        config.schedule.name,
        config.optim.lr,
        config.train.epochs,
        steps,
        f" (each trained on its hardest {selection.keep:.0%}, as a {'/'.join(map(str, selection.widths))} proxy "
        "judges it)"
        if selection is not None
        else "",
        compute.describe(),
    )


class TensorBoardLogger(Callback):
    """Logs each epoch's metrics to TensorBoard (`train.tensorboard=true`), in the run folder's tensorboard/."""

    def __init__(self, config: RunConfig, folder: RunFolder) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("train.tensorboard=true needs the tensorboard package: pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(folder.path / "tensorboard"))
        self.writer.add_text("config", "```\n" + dump_config(config) + "\n```")

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        for key, value in row.items():
            if key != "epoch" and value is not None:
                self.writer.add_scalar(key.replace("_", "/", 1), value, row["epoch"])
        self.writer.flush()

    def on_fit_end(self, status: str) -> None:
        self.writer.close()
