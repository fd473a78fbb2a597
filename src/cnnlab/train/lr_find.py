"""The learning-rate finder (`cnnlab lr-find`): the training loss while the rate grows exponentially, and
the rate where the loss falls fastest, as fastai's `lr_find` and Lightning's Tuner do it (Smith 2017).

From the run's initial weights (built and seeded as `train` builds them, then thrown away: no run folder
is written), each training step takes the next rate of a geometric sweep from `start` to `end`, on the
run's own training batches (augmentation and mixing included), with its optimiser and gradient clipping.
The sweep stops early once the loss blows up (4x the lowest smoothed loss, or not finite). The loss is
smoothed by an exponential moving average (0.98, bias-corrected); the suggestion is the rate of the
steepest descent of the smoothed loss against log(rate), looked for between the first tenth of the sweep
and the minimum: past the minimum a rate is already too large.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnlab.config import RunConfig, dump_config
from cnnlab.data import fit_preprocess, load_splits
from cnnlab.errors import UserError
from cnnlab.fileio import atomic_write_text

from .clipping import GradientClipping
from .device import resolve_compute
from .loop import seed_epoch
from .optim import build_optimizer
from .run import _augment, model_on_device, split_batches

log = logging.getLogger("cnnlab.train")

SMOOTHING = 0.98
BLOW_UP = 4.0  # the sweep stops when the smoothed loss exceeds this many times its lowest value


@dataclass
class LRFindResult:
    """The sweep: each step's rate, loss and smoothed loss, and the suggested `optim.lr` (None if none)."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    stopped_early: bool

    @property
    def minimum(self) -> float:
        """The rate at the lowest smoothed loss."""
        return self.lrs[int(np.argmin(self.smoothed))]


def lr_find(config: RunConfig, steps: int = 200, start: float = 1e-7, end: float = 10.0) -> LRFindResult:
    """Sweep the learning rate geometrically from `start` to `end` over `steps` training steps of `config`'s
    run, from its initial weights; nothing is written."""
    if steps < 10:
        raise UserError(f"--steps must be at least 10 for a loss curve, got {steps}")
    if not 0 < start < end:
        raise UserError(f"the sweep needs 0 < --start < --end, got {start:g} and {end:g}")
    compute = resolve_compute(config.train)
    torch.manual_seed(config.train.seed)
    splits = load_splits(config.data)
    prep = fit_preprocess(splits.train, config.data.preprocess, config.data.zca_epsilon)
    augment = _augment(config, splits)
    batches = split_batches(config, splits, "train", prep, augment, compute)
    model = model_on_device(config, splits, augment, compute, batches)
    optimizer = build_optimizer(model, config.optim, compute.precision)
    relative = [group["lr"] / config.optim.lr for group in optimizer.param_groups]  # e.g. norm_bias_lr_scale
    clip = GradientClipping(model, config.optim.clip_norm) if config.optim.clip_norm else None
    criterion = nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing)
    rates = start * (end / start) ** (np.arange(steps) / (steps - 1))
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    average, stopped = 0.0, False
    model.train()
    epoch = 0
    while len(lrs) < steps and not stopped:
        epoch += 1
        seed_epoch(config.train.seed, epoch)
        batches.set_epoch(epoch)
        for x, y in batches:
            rate = float(rates[len(lrs)])
            for group, scale in zip(optimizer.param_groups, relative, strict=True):
                group["lr"] = rate * scale
            x, target = batches.mix(x, y)
            with compute.autocast():
                loss = criterion(model(x), target)
            value = float(loss.detach())
            if not math.isfinite(value):
                stopped = True
                break
            average = SMOOTHING * average + (1 - SMOOTHING) * value
            lrs.append(rate)
            losses.append(value)
            smoothed.append(average / (1 - SMOOTHING ** len(lrs)))
            if len(lrs) > 1 and smoothed[-1] > BLOW_UP * min(smoothed):
                stopped = True
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                clip.on_before_optimizer_step(optimizer)
            optimizer.step()
            if len(lrs) == steps:
                break
    if len(lrs) < 2:
        raise UserError(f"the loss was not finite from the first step at lr {start:g}: lower --start")
    return LRFindResult(lrs, losses, smoothed, suggest_lr(lrs, smoothed), stopped)


def suggest_lr(lrs: list[float], smoothed: list[float], skip: float = 0.1) -> float | None:
    """The rate of the steepest descent of `smoothed` against log(rate), between the first `skip` share of the
    sweep and the lowest loss; None when the loss never falls there."""
    lowest = int(np.argmin(smoothed))
    first = int(len(lrs) * skip)
    if lowest - first < 2:
        return None
    slope = np.gradient(np.asarray(smoothed, dtype=float), np.log(np.asarray(lrs, dtype=float)))
    steepest = first + int(np.argmin(slope[first:lowest]))
    return float(lrs[steepest]) if slope[steepest] < 0 else None


def plot_lr_find(result: LRFindResult, path: str | Path) -> Path:
    """Loss against learning rate (log axis): each step, the smoothed curve, and the suggestion marked."""
    from cnnlab.plotting import new_figure, save_png  # matplotlib only for the plot, not for every training run

    figure = new_figure(6.5, 4)
    ax = figure.subplots()
    ax.plot(result.lrs, result.losses, color="tab:blue", alpha=0.3, linewidth=1, label="loss a step")
    ax.plot(result.lrs, result.smoothed, color="tab:blue", linewidth=2, label="smoothed")
    if result.suggestion is not None:
        ax.axvline(result.suggestion, color="tab:red", linestyle="--", label=f"suggested lr {result.suggestion:.3g}")
    ax.set_xscale("log")
    low, high = min(result.smoothed), max(result.smoothed[: int(np.argmin(result.smoothed)) + 1])
    ax.set_ylim(low - 0.1 * (high - low + 1e-9), high + 0.3 * (high - low + 1e-9))  # the blow-up off the chart
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("Learning-rate finder")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_png(figure, path)


def write_lr_find(result: LRFindResult, config: RunConfig, out_dir: str | Path) -> Path:
    """A folder holding the sweep (lr-find.csv), its plot (lr-find.png) and the config it swept."""
    folder = Path(out_dir)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["step", "lr", "loss", "smoothed"])
    for k, row in enumerate(zip(result.lrs, result.losses, result.smoothed, strict=True), start=1):
        writer.writerow([k, *(f"{v:.6g}" for v in row)])
    atomic_write_text(folder / "lr-find.csv", buffer.getvalue())
    atomic_write_text(folder / "config.yaml", dump_config(config))
    return plot_lr_find(result, folder / "lr-find.png")
