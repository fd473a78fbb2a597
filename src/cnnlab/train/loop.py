"""The fit loop: train_one_epoch, evaluate, and fit with early stopping, divergence checks and resume.

One loop for every model and experiment; what varies comes in through the config, and everything
optional (weight averaging, logging, a model's epoch hook) through the named callbacks of
`train/callbacks.py`.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnlab.checkpoint import FitProgress, TrainingState
from cnnlab.data import BatchIterator
from cnnlab.evaluation import MetricMeter, tta_logits
from cnnlab.runs import HELD_OUT, METRICS, SPLITS, RunFolder, metrics_row, per_class_figures

from .callbacks import Callback
from .device import Compute
from .optim import current_lr

log = logging.getLogger("cnnlab.train")


class Diverged(Exception):
    """The training loss became NaN or infinite."""

    def __init__(self, epoch: int, step: int, steps: int, lr: float, loss: float) -> None:
        self.epoch, self.step, self.steps, self.lr, self.loss = epoch, step, steps, lr, loss
        super().__init__(
            f"training diverged at epoch {epoch}, step {step} of {steps} (learning rate {lr:.4g}): the loss became "
            f"{loss}. Lower optim.lr, add a warm-up (schedule.warmup) or batch norm, and start a new run"
        )


@dataclass
class FitSettings:
    """What the loop needs besides the model and the data."""

    epochs: int
    seed: int = 0
    early_stop: int = 0  # patience in epochs on validation loss; 0 turns it off
    progress: bool = False
    divergence_check_every: int = 1  # steps; more than 1 avoids a device sync a step on GPUs
    eval_every: int = 1  # epochs between evaluations of val and test (the last epoch always)
    epoch_zero: bool = False  # evaluate the initial weights on every split first, as epoch 0
    tta: int = 0  # test-time augmentation level of every evaluation
    tta_fraction: float = 1.0  # share of each evaluation batch (least confident first) given the views
    callbacks: list[Callback] = field(default_factory=list)  # named hooks, called in order (train/callbacks.py)
    class_names: list[str] = field(default_factory=list)  # names for the per-class figures of the summary


@dataclass
class RunResult:
    """What a finished (or stopped) run reports: its folder, status, best epoch and history."""

    folder: RunFolder
    status: str
    summary: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def best_epoch(self) -> int | None:
        return self.summary.get("best_epoch")

    @property
    def best(self) -> dict[str, Any]:
        """The metrics row of the best epoch."""
        epoch = self.best_epoch
        return next((row for row in self.history if row["epoch"] == epoch), {})


def seed_epoch(seed: int, epoch: int, stream: int = 0) -> None:
    """Seed torch's global generator (dropout, ...) from (seed, epoch), so a resumed epoch replays exactly;
    `stream` > 0 for each process of a distributed run, which draws its own dropout for its share."""
    entropy = [seed, epoch, 1, stream] if stream else [seed, epoch, 1]
    torch.manual_seed(int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> 1))


def train_one_epoch(
    model: nn.Module,
    batches: BatchIterator,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    criterion: nn.Module,
    compute: Compute,
    epoch: int,
    settings: FitSettings,
    scaler: torch.amp.GradScaler | None = None,
) -> dict[str, float]:
    """One pass over the training batches; returns loss, top-1 and top-5 seen while training."""
    model.train()
    meter = MetricMeter(compute.device)
    steps = len(batches)
    first_step = (epoch - 1) * steps
    bar = _progress_bar(steps, epoch, settings)
    start = time.perf_counter()
    check = max(1, settings.divergence_check_every)
    for step, (x, y) in enumerate(batches, start=1):
        for callback in settings.callbacks:
            x, y = callback.select_batch(x, y)
        x, target = batches.mix(x, y)  # mixup / CutMix: soft targets for the loss; top-k counts against y
        with compute.autocast():
            output = model(x)
            loss = criterion(output, target)
        if step % check == 0 or step == steps:
            value = float(loss.detach())
            diverged = not math.isfinite(value)
            if compute.world is not None:  # every process stops together, or the others wait for it
                diverged = compute.world.anywhere(diverged, compute.device)
            if diverged:
                shown = value if not math.isfinite(value) else math.nan  # the process that saw it says what it was
                raise Diverged(epoch, step, steps, current_lr(optimizer), shown)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)  # the hooks see the true gradients (clipping by norm needs them)
            for callback in settings.callbacks:
                callback.on_before_optimizer_step(optimizer)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            for callback in settings.callbacks:
                callback.on_before_optimizer_step(optimizer)
            optimizer.step()
        scheduler.step()
        for callback in settings.callbacks:
            callback.on_train_step_end(first_step + step)
        meter.update(loss, output.float(), y)
        if bar is not None and (step % 10 == 0 or step == steps):
            so_far = meter.result()
            rate = meter.count / (time.perf_counter() - start)
            bar.set_postfix(loss=f"{so_far['loss']:.3f}", top1=f"{so_far['top1']:.1%}", img_s=f"{rate:,.0f}")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    for callback in settings.callbacks:
        callback.on_train_epoch_end(epoch)
    if compute.world is not None:
        meter.combine(compute.world.total)  # every process's share of the epoch
    seconds = time.perf_counter() - start
    return {**meter.result(), "images": meter.count, "seconds": seconds}


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    batches: BatchIterator,
    criterion: nn.Module,
    compute: Compute,
    tta: int = 0,
    tta_fraction: float = 1.0,
) -> dict[str, Any]:
    """Loss, top-1 and top-5 on a split, in evaluation mode (dropout off, batch-norm running statistics),
    averaging the logits of `tta`'s views of each image (of the least confident `tta_fraction`), and the
    confusion counts ("confusion": counts[true][predicted], lists of ints) behind the per-class figures.

    Always in fp32, even when training uses bf16/fp16 autocast: the figures reported are then exactly
    what `predict` and `viz` reproduce from the saved weights (it cost an early 8-minute fast-90 run 13 s).
    """
    was_training = model.training
    model.eval()
    meter = MetricMeter(compute.device, confusion=True)
    for x, y in batches:
        output = tta_logits(model, x, tta, tta_fraction)
        loss = criterion(output, y)
        meter.update(loss, output.float(), y)
    model.train(was_training)
    if compute.world is not None:
        meter.combine(compute.world.total)
    confusion = meter.confusion_counts.tolist() if meter.confusion_counts is not None else None
    return {**meter.result(), "confusion": confusion}


def fit(
    model: nn.Module,
    batches: dict[str, BatchIterator | None],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    criterion: nn.Module,
    compute: Compute,
    folder: RunFolder,
    settings: FitSettings,
    module: nn.Module | None = None,
    state: TrainingState | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> RunResult:
    """Train for `settings.epochs`, evaluating val and test each epoch, saving the resume state after each.

    The best epoch is the one with the lowest validation loss (the last one without a validation
    split); its weights are saved as the run's model. `module` is the uncompiled model whose
    weights are saved (defaults to `model`); `state` resumes after its epoch: it is restored into
    the model, optimiser, schedule, scaler and the stateful callbacks here.
    """
    module = module if module is not None else model
    train_batches = batches["train"]
    assert train_batches is not None
    has_val = batches.get("val") is not None and len(batches["val"].samples) > 0  # type: ignore[union-attr]
    if settings.early_stop and not has_val:
        log.warning("early stopping needs a validation split (data.val_fraction > 0): it is off for this run")
    callbacks = settings.callbacks
    if state is not None:
        state.restore(module, optimizer, scheduler, scaler, callbacks)
    progress = state.progress if state is not None else FitProgress()
    done = state.epoch if state is not None else 0
    history = [row for row in folder.read_metrics() if row["epoch"] <= done] if state is not None else []
    status, message = "completed", None
    if state is not None and _patience_spent(settings, has_val, progress):  # stopped early, then killed
        status, message, done = "early_stopped", _early_stop_message(progress), settings.epochs
    for callback in callbacks:
        callback.on_fit_start(module)
    try:
        if done == 0 and settings.epoch_zero:
            history.append(_epoch_zero(model, batches, optimizer, criterion, compute, settings))
            folder.write_metrics(history)
            log.info("%s", _epoch_line(history[0], settings.epochs))
        for epoch in range(done + 1, settings.epochs + 1):
            started = time.perf_counter()
            seed_epoch(settings.seed, epoch, compute.world.rank + 1 if compute.world is not None else 0)
            train_batches.set_epoch(epoch)
            for callback in callbacks:
                callback.on_epoch_start(epoch)
            lr = current_lr(optimizer)
            train = train_one_epoch(
                model, train_batches, optimizer, scheduler, criterion, compute, epoch, settings, scaler
            )
            progress.train_seconds += train["seconds"]
            progress.train_images += int(train["images"])
            results: dict[str, dict[str, Any]] = {"train": train}
            due = epoch % settings.eval_every == 0 or epoch == settings.epochs
            for split in HELD_OUT if due else ():
                split_batches = batches.get(split)
                if split_batches is not None and len(split_batches.samples):
                    results[split] = evaluate(
                        model, split_batches, criterion, compute, settings.tta, settings.tta_fraction
                    )
            row = metrics_row(epoch, lr, time.perf_counter() - started, results)
            history.append(row)
            if due:
                val_loss = results["val"]["loss"] if has_val else -float(epoch)  # without val: the last epoch
                if val_loss < progress.best_val_loss:
                    progress.best_epoch, progress.best_val_loss, progress.bad_epochs = epoch, val_loss, 0
                    progress.best_confusion = {
                        split: results[split]["confusion"]
                        for split in HELD_OUT
                        if results.get(split, {}).get("confusion") is not None
                    }
                    folder.save_weights(module)
                else:
                    progress.bad_epochs += 1
            for callback in callbacks:
                callback.on_evaluation_end(row)
            folder.write_metrics(history)
            folder.save_state(TrainingState.capture(epoch, module, optimizer, scheduler, scaler, callbacks, progress))
            log.info("%s", _epoch_line(row, settings.epochs, train))
            for callback in callbacks:
                callback.on_epoch_end(row)
            if _patience_spent(settings, has_val, progress):
                status, message = "early_stopped", _early_stop_message(progress)
                log.info("early stop: %s", message)
                break
    except Diverged as err:
        status, message = "diverged", str(err)
        log.error("%s", message)
    except KeyboardInterrupt:
        status = "interrupted"
        stopped = (history[-1]["epoch"] if history else 0) + 1
        message = f"interrupted during epoch {stopped}; resume to continue from epoch {stopped}"
        log.warning("%s", message)
    for callback in callbacks:
        callback.on_fit_end(status)
    summary = _summary(status, message, history, progress, module, compute, settings.class_names)
    folder.write_summary(summary)
    return RunResult(folder, status, summary, history)


def _patience_spent(settings: FitSettings, has_val: bool, progress: FitProgress) -> bool:
    """Whether early stopping ends the run now: validation loss has not improved for `early_stop` epochs."""
    return bool(settings.early_stop) and has_val and progress.bad_epochs >= settings.early_stop


def _early_stop_message(progress: FitProgress) -> str:
    return f"no validation-loss improvement for {progress.bad_epochs} epochs; best epoch {progress.best_epoch}"


def _epoch_zero(
    model: nn.Module,
    batches: dict[str, BatchIterator | None],
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    compute: Compute,
    settings: FitSettings,
) -> dict[str, Any]:
    """The initial weights evaluated on every split: the metrics row of epoch 0.

    The training images are seen as evaluation sees them (no augmentation, dropout off, batch norm on its
    initial running statistics), so epoch 0 shows the untrained net's loss: about ln(classes), 2.30 for 10.
    """
    started = time.perf_counter()
    results = {}
    for split, split_batches in batches.items():
        if split_batches is not None and len(split_batches.samples):
            view = split_batches.for_evaluation() if split == "train" else split_batches
            results[split] = evaluate(model, view, criterion, compute, settings.tta, settings.tta_fraction)
    return metrics_row(0, current_lr(optimizer), time.perf_counter() - started, results)


def _summary(
    status: str,
    message: str | None,
    history: list[dict[str, Any]],
    progress: FitProgress,
    module: nn.Module,
    compute: Compute,
    class_names: list[str],
) -> dict[str, Any]:
    best = next((row for row in history if row["epoch"] == progress.best_epoch), None)
    summary: dict[str, Any] = {
        "status": status,
        "best_epoch": progress.best_epoch,
        "epochs_run": sum(1 for row in history if row["epoch"] > 0),
        "params": sum(p.numel() for p in module.parameters()),
        "seconds": round(sum(row["seconds"] for row in history), 3),
        "train_seconds": round(progress.train_seconds, 3),
        "images_per_second": (
            round(progress.train_images / progress.train_seconds, 1) if progress.train_seconds else None
        ),
        "device": compute.describe(),
    }
    for key in METRICS:
        summary[key] = best[key] if best else None
    summary.update(per_class_figures(progress.best_confusion if best else {}, class_names))
    if message:
        summary["message"] = message
    return summary


def _epoch_line(row: dict[str, Any], epochs: int, train: dict[str, float] | None = None) -> str:
    parts = [f"epoch {row['epoch']}/{epochs}" + (" (initial weights)" if row["epoch"] == 0 else "")]
    for split in SPLITS:
        if row[f"{split}_loss"] is not None:
            parts.append(f"{split} loss {row[f'{split}_loss']:.4f} top1 {row[f'{split}_top1']:.2%}")
    parts.append(f"lr {row['lr']:.3g}")
    rate = f" ({train['images'] / train['seconds']:,.0f} img/s)" if train else ""
    parts.append(f"{row['seconds']:.1f} s{rate}")
    return "  ".join(parts)


def _progress_bar(steps: int, epoch: int, settings: FitSettings):
    if not settings.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc=f"epoch {epoch}/{settings.epochs}", leave=False, file=sys.stderr, unit="batch")
