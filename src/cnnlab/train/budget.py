"""Train to a time budget: the best net of the fast family that this machine trains within the budget.

A student has ten minutes, not a number of epochs. `plan_budget` measures this machine's training and
evaluation speed on the fast family's nets in a short probe (a few steps on the real images), predicts
each candidate's time (its epochs at the measured speed, the final evaluation with its test-time
views, and the set-up), and picks the candidate with the best accuracy measured for it that fits;
`train_to_budget` then trains it on the images the plan loaded and writes the choice and the probe's
figures beside the run. A net's probed speed is kept for this machine's boot (`speed_records`), so
only a budget's first run here pays for probing it.

The candidates are `cnnlab/builtin/budgets/fast.yaml`: points of the presets' family (the records'
recipes at several widths and lengths) with the test top-1 each reached on the CIFAR-10 JPEG copy. The
schedule's length follows the epochs chosen (the presets' learning rate decays to 0 over the run).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from cnnlab.builtin import path as builtin_path
from cnnlab.builtin import preset_path
from cnnlab.config import RunConfig, load_config
from cnnlab.config.schema import DataConfig
from cnnlab.data import BatchAugment, BatchIterator, Splits, fit_preprocess, load_splits
from cnnlab.errors import UserError
from cnnlab.evaluation import tta_logits, tta_views
from cnnlab.fileio import atomic_write_json
from cnnlab.models import build
from cnnlab.models.hooks import InitFromData
from cnnlab.runs import RunFolder

from .device import Compute, resolve_compute
from .loop import FitSettings, RunResult, train_one_epoch
from .optim import build_optimizer, build_scheduler
from .run import Hook, train
from .selection import proxy_selection
from .speed_records import Speed, recall, remember, speed_key

log = logging.getLogger("cnnlab.train")

PROBE_STEPS = 6  # timed training steps a width (after WARMUP_STEPS; see timed_steps): enough to average one slow step
WARMUP_STEPS = 2
PROBE_EVAL_IMAGES = 1000
# of the budget left after the probe: what the chosen run's predicted time may use. With a probe per
# setting the predictions came within 2-7% of the runs on a 2-core EPYC (the narrow nets' 3% short and
# 7% long, the 64-wide net's 5% short), inside this margin and the 5% the goal allows past the budget.
MARGIN = 0.96
BUDGET_FILE = "budget.json"
CHOSEN_KEYS = ("model.widths", "train.epochs", "train.batch_size")  # what the budget decides


@dataclass(frozen=True)
class Candidate:
    """One point of the family: a preset's recipe at `widths` for `epochs`, and the test top-1 it reached."""

    preset: str
    widths: tuple[int, int, int]
    epochs: int
    batch_size: int
    top1: float  # measured on the CIFAR-10 JPEG copy (the candidates file says where and how)

    @property
    def label(self) -> str:
        return f"{'/'.join(map(str, self.widths))} x {self.epochs} epochs (batch {self.batch_size}, from {self.preset})"

    @property
    def setting(self) -> str:
        """What sets its speed, the length apart: its net, its batch and its preset's recipe (one probe each)."""
        return f"{'/'.join(map(str, self.widths))}, batch {self.batch_size}, {self.preset}"

    @property
    def cost(self) -> int:
        """How wide its net is, to order probes from the narrowest: the sum of its widths squared."""
        return sum(w * w for w in self.widths)

    def config(self, overrides: Sequence[str]) -> RunConfig:
        """The run config of this candidate: its preset, its width and length, then the user's overrides."""
        mine = [f"model.widths=[{','.join(map(str, self.widths))}]", f"train.epochs={self.epochs}"]
        mine.append(f"train.batch_size={self.batch_size}")
        return load_config(preset_path(self.preset), [*mine, *overrides])


@dataclass
class BudgetPlan:
    """The choice for a budget: every candidate's predicted seconds, the chosen one, the probe's speeds."""

    budget_seconds: float
    probe_seconds: float
    speeds: dict[str, Speed]
    predictions: list[dict[str, Any]] = field(default_factory=list)
    chosen: Candidate | None = None
    measured: dict[str, str] = field(default_factory=dict)  # setting: "now", or when an earlier probe measured it
    splits: Splits | None = None  # the data the plan loaded (for `data`), which the run then trains on
    data: DataConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget_seconds": self.budget_seconds,
            "probe_seconds": round(self.probe_seconds, 1),
            "speeds": {width: asdict(speed) for width, speed in self.speeds.items()},
            "speeds_measured": self.measured,
            "candidates": self.predictions,
            "chosen": asdict(self.chosen) if self.chosen else None,
        }


def parse_budget(text: str) -> float:
    """Seconds from '10m', '90s', '1h30m', '2.5m' or a plain number of seconds; a UserError otherwise."""
    words = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or words is None or not any(words.groups()):
        raise UserError(f"--budget '{text}' is not a duration: write it as 10m, 90s, 1h30m or a number of seconds")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in words.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise UserError(f"--budget '{text}' is no time at all: give a positive duration such as 10m")
    return total


def candidates(family: str = "fast") -> list[Candidate]:
    """The family's candidates, cheapest first (by epochs x width)."""
    data = yaml.safe_load(builtin_path("budgets", family, "unknown budget family '{name}'{suggestion}").read_text())
    out = [
        Candidate(c["preset"], tuple(c["widths"]), int(c["epochs"]), int(c["batch_size"]), float(c["top1"]))
        for c in data["candidates"]
    ]
    return sorted(out, key=lambda c: (c.epochs * c.cost, c.epochs))


def predicted_seconds(
    candidate: Candidate, speed: Speed, train_images: int, test_images: int, tta_views: float
) -> float:
    """Set-up, `epochs` passes over the training images, and one evaluation of the test set with its views."""
    training = candidate.epochs * train_images / speed.train_images_per_second
    evaluation = test_images * tta_views / speed.eval_images_per_second
    return speed.setup_seconds + training + evaluation


def plan_budget(budget_seconds: float, overrides: Sequence[str] = (), family: str = "fast") -> BudgetPlan:
    """Probe this machine and choose the most accurate candidate of `family` predicted to fit the budget.

    Each setting (net, batch, recipe) is probed once, from the narrowest net up, and only while the
    narrower ones leave room: a net whose shortest candidate could not fit even at the narrower nets'
    speed is not probed. A budget too short for the cheapest candidate is a UserError saying what it
    would need.
    """
    started = time.perf_counter()
    chosen_keys = [o.split("=", 1)[0] for o in overrides if o.split("=", 1)[0] in CHOSEN_KEYS]
    if chosen_keys:
        raise UserError(
            f"--budget chooses {', '.join(CHOSEN_KEYS)} itself: leave {chosen_keys[0]} out (or train a preset "
            "without --budget)"
        )
    pool = candidates(family)
    plan = BudgetPlan(budget_seconds, 0.0, {})
    splits = load_splits(pool[0].config(overrides).data)
    if splits.dataset.kind != "images":
        raise UserError(f"--budget trains the fast family's image nets: {splits.dataset.name} holds no images")
    train_images, test_images = len(splits.train), len(splits.test)
    shortest: dict[str, Candidate] = {}  # each setting's shortest candidate, the narrowest nets first
    for candidate in sorted(pool, key=lambda c: (c.cost, c.batch_size, c.epochs)):
        shortest.setdefault(candidate.setting, candidate)
    for key, first in shortest.items():
        narrower = [
            plan.speeds[k].train_images_per_second
            for k, c in shortest.items()
            if k in plan.speeds and c.cost < first.cost
        ]
        if narrower:  # stop once a wider net's shortest run could not fit even at the narrower nets' speed
            bound = min(narrower)  # a wider net trains no faster
            if first.epochs * train_images / bound > _usable(budget_seconds, started):
                break
        plan.speeds[key], plan.measured[key] = probe_once(first.config(overrides), splits)
        log.info(
            "probe %s: %.0f training images/s, %.0f evaluation images/s, %.1f s set-up (measured %s)",
            key,
            plan.speeds[key].train_images_per_second,
            plan.speeds[key].eval_images_per_second,
            plan.speeds[key].setup_seconds,
            plan.measured[key],
        )
    plan.probe_seconds = time.perf_counter() - started
    plan.splits, plan.data = splits, pool[0].config(overrides).data
    usable = _usable(budget_seconds, started)
    for candidate in pool:
        speed = plan.speeds.get(candidate.setting)
        config = candidate.config(overrides)
        seconds = (
            predicted_seconds(
                candidate, speed, train_images, test_images, tta_views(config.train.tta, config.train.tta_fraction)
            )
            if speed
            else math.inf
        )
        fits = seconds <= usable
        plan.predictions.append({**asdict(candidate), "predicted_seconds": round(seconds, 1), "fits": fits})
        if fits and (plan.chosen is None or candidate.top1 > plan.chosen.top1):
            plan.chosen = candidate
    if plan.chosen is None:
        cheapest = plan.predictions[0]
        need = cheapest["predicted_seconds"] / MARGIN + plan.probe_seconds
        raise UserError(
            f"a budget of {_minutes(budget_seconds)} is too short for the smallest net here: "
            f"{pool[0].label} would take about {_minutes(need)} on this machine (the probe measured "
            f"{plan.speeds[next(iter(plan.speeds))].train_images_per_second:,.0f} training images/s); "
            f"give --budget {math.ceil(need / 60)}m or more"
        )
    return plan


def train_to_budget(
    budget_seconds: float,
    out_dir: str | Path,
    overrides: Sequence[str] = (),
    progress: bool | None = None,
    callbacks: Sequence[Hook] = (),
) -> tuple[RunResult, BudgetPlan]:
    """Probe, choose (see `plan_budget`), train the choice into `out_dir`, and write budget.json beside it."""
    folder = RunFolder(out_dir)
    if folder.has_run():
        raise UserError(f"'{folder.path}' already holds a run: choose another --out folder for a budgeted run")
    plan = plan_budget(budget_seconds, overrides)
    assert plan.chosen is not None
    log.info(
        "budget %s: training %s (top-1 %.1f%% where measured)",
        _minutes(budget_seconds),
        plan.chosen.label,
        plan.chosen.top1 * 100,
    )
    config = plan.chosen.config(overrides)
    loaded = plan.splits if config.data == plan.data else None  # every candidate reads the same data: not again
    result = train(config, folder.path, progress=progress, callbacks=callbacks, splits=loaded)
    atomic_write_json(folder.file(BUDGET_FILE), plan.to_dict())
    return result, plan


def probe_once(config: RunConfig, splits: Splits) -> tuple[Speed, str]:
    """`config`'s speed here and when it was measured: recalled from an earlier probe on this machine since
    its last start (see `speed_records`), or probed now ("now") and recorded."""
    key = speed_key(config, resolve_compute(config.train))
    known = recall(key)
    if known is not None:
        return known
    speed = probe(config, splits)
    remember(key, speed)
    return speed, "now"


def probe(config: RunConfig, splits: Splits) -> Speed:
    """Time a few training steps and one evaluation batch of `config`'s net on the real images."""
    started = time.perf_counter()
    compute = resolve_compute(config.train)
    batch = min(config.train.batch_size, len(splits.train) // (WARMUP_STEPS + 1))  # a small set: smaller batches
    if batch < 1:
        raise UserError(f"the training split has {len(splits.train)} images: too few to measure this machine's speed")
    steps = timed_steps(config, available=len(splits.train) // batch - WARMUP_STEPS)
    rows = np.arange(batch * (WARMUP_STEPS + steps))
    subset = splits.train.subset(rows)
    prep = fit_preprocess(subset, config.data.preprocess, config.data.zca_epsilon)
    h, w, _ = splits.dataset.example_shape
    augment = BatchAugment(config.data.augment, (h, w))

    def batches_of(samples: Any) -> BatchIterator:  # the run's training batches, as the trainer draws them
        return BatchIterator(
            samples,
            prep,
            batch_size=batch,
            train=True,
            augment=augment,
            device=compute.device,
            drop_last=True,
            memory_format=compute.memory_format,
        )

    batches = batches_of(subset)
    images = next(iter(batches))[0]

    def on_device(net_config: RunConfig) -> nn.Module:  # built and initialised as the trainer does
        model = build(
            net_config.model.name,
            splits.dataset.channels,
            splits.dataset.num_classes,
            augment.output_size,
            **net_config.model.options(),
        )
        if isinstance(model, InitFromData):
            model.init_from_data(images.float())
        model.to(compute.device)
        return model.to(memory_format=torch.channels_last) if compute.channels_last else model

    model = on_device(config)
    optimizer = build_optimizer(model, config.optim, compute.precision)
    scheduler = build_scheduler(optimizer, config.schedule, 1, len(batches))
    criterion = nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing)
    selection = proxy_selection(config, compute, len(batches), on_device)  # its proxy's steps are the run's too
    setup = time.perf_counter() - started  # the run builds and initialises its proxy before training too
    settings = FitSettings(epochs=1, callbacks=[selection] if selection is not None else [])
    warm = batches_of(subset.subset(np.arange(batch * WARMUP_STEPS)))
    train_one_epoch(model, warm, optimizer, scheduler, criterion, compute, 1, settings)
    timed = batches_of(subset.subset(np.arange(batch * WARMUP_STEPS, len(rows))))
    trained = train_one_epoch(model, timed, optimizer, scheduler, criterion, compute, 1, settings)
    drawn = len(timed) * batch  # the images drawn: with a selection the net trains on a share of them
    return Speed(drawn / trained["seconds"], _eval_speed(model, images, config, compute), setup)


def timed_steps(config: RunConfig, available: int | None = None) -> int:
    """The probe's timed steps: PROBE_STEPS rounded up to whole cycles of a selection's proxy training (every
    `train_every` steps), so that the window holds the proxy's training in the run's proportion; where a small
    training split has only `available` steps after the warm-up, as many whole cycles as fit (all of them when
    not one does)."""
    every = config.train.selection.train_every if config.train.selection is not None else 1
    wanted = math.ceil(PROBE_STEPS / every) * every
    if available is None or available >= wanted:
        return wanted
    return available // every * every or available


@torch.inference_mode()
def _eval_speed(model: nn.Module, images: torch.Tensor, config: RunConfig, compute: Compute) -> float:
    """Images a second the evaluation forward pass makes (one view each), in fp32 as evaluation runs."""
    model.eval()
    x = images[: min(len(images), PROBE_EVAL_IMAGES)]
    tta_logits(model, x[:8], 0, 1.0)  # warm-up
    start = time.perf_counter()
    tta_logits(model, x, 0, 1.0)
    return len(x) / (time.perf_counter() - start)


def _usable(budget_seconds: float, started: float) -> float:
    """Seconds the chosen run may be predicted to take: the budget's margin, less what the probe used."""
    return MARGIN * budget_seconds - (time.perf_counter() - started)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
