"""One mini-batch SGD loop for the two-layer perceptron, whichever of the four steps takes each update.

The initial weights and the batch order both come from one seeded generator, and a learner never
draws random numbers itself, so every step sees the same weights and the same batches.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

import torch

from cnnlab.errors import UserError

from .inputs import BasicsData
from .mlp import MLPParams, cross_entropy, init_params
from .steps import Learner, check_step, make_learner


@dataclass(frozen=True)
class MLPSettings:
    """What one training of the perceptron is: the step, the hidden width and the SGD schedule."""

    step: str = "manual"
    hidden: int = 32
    lr: float = 0.1
    epochs: int | None = None  # None: by the size of the training set (`default_epochs`)
    batch_size: int = 32
    seed: int = 0
    init_std: float | None = None  # None: N(0, 1/fan_in); a number: N(0, init_std^2), e.g. 002's 0.3

    def check(self) -> None:
        """A UserError naming the first setting out of range."""
        check_step(self.step)
        for name in ("hidden", "epochs", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, not {value}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UserError(f"--lr must be a positive number, not {self.lr}")
        if self.init_std is not None and not (self.init_std > 0 and math.isfinite(self.init_std)):
            raise UserError(
                f"--init-std must be a positive finite number (a standard deviation, e.g. 0.3), not {self.init_std}"
            )

    def init_label(self) -> str:
        """How the initial weights are drawn, in words: 'N(0, 1/fan_in)' or 'N(0, 0.3^2)'."""
        return "N(0, 1/fan_in)" if self.init_std is None else f"N(0, {self.init_std:g}^2)"

    def for_examples(self, examples: int) -> MLPSettings:
        """These settings with the epochs filled in for a training set of `examples`."""
        return self if self.epochs is not None else replace(self, epochs=default_epochs(examples))


def default_epochs(examples: int) -> int:
    """50 epochs on the small sets (circles, moons, digits: under a second), 10 on MNIST's and Fashion-MNIST's
    60,000 (about 4 s on two CPU cores), where 10 already reach 86% test accuracy on Fashion-MNIST."""
    return 50 if examples <= 10_000 else 10


@dataclass(frozen=True)
class EpochRecord:
    """Loss and accuracy on the whole train and test splits after `epoch` epochs (0: the initial weights)."""

    epoch: int
    iteration: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float


@dataclass
class MLPRun:
    """A finished training: per-epoch figures, every batch's loss, weight snapshots, final weights."""

    settings: MLPSettings
    history: list[EpochRecord]
    batch_losses: list[float]  # the loss of each SGD step, before that step's update
    snapshots: dict[int, MLPParams] = field(default_factory=dict)  # weights after that many SGD steps
    params: MLPParams | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # warnings about the run, e.g. an unstable loss

    @property
    def final(self) -> EpochRecord:
        return self.history[-1]

    def summary(self) -> dict:
        """A JSON-ready account of the run."""
        return {
            "settings": asdict(self.settings),
            "iterations": len(self.batch_losses),
            "seconds": round(self.seconds, 3),
            **{k: v for k, v in asdict(self.final).items() if k != "seconds"},
            "notes": self.notes,
        }


def iterations_per_epoch(examples: int, batch_size: int) -> int:
    """SGD steps an epoch takes: the last, smaller batch counts too."""
    return math.ceil(examples / batch_size)


def fit_mlp(data: BasicsData, settings: MLPSettings, snapshot_at: Iterable[int] = ()) -> MLPRun:
    """Train the perceptron on `data` by mini-batch SGD with `settings.step`'s learner.

    `snapshot_at` lists iterations (SGD steps taken; 0 is the initial weights) whose weights are kept
    for decision-boundary plots. The tensors' dtype (float32 or float64) is that of `data`.
    """
    settings.check()
    settings = settings.for_examples(len(data.y_train))
    assert settings.epochs is not None
    total = settings.epochs * iterations_per_epoch(len(data.y_train), settings.batch_size)
    wanted = set(snapshot_at)
    outside = sorted(i for i in wanted if not 0 <= i <= total)
    if outside:
        raise UserError(f"boundary step {outside[0]} is outside this run's SGD steps, 0 to {total}")

    generator = torch.Generator().manual_seed(settings.seed)
    start = init_params(
        data.features, settings.hidden, data.num_classes, generator, data.x_train.dtype, settings.init_std
    )
    learner = make_learner(settings.step, start, settings.lr)
    run = MLPRun(settings, history=[], batch_losses=[])
    if 0 in wanted:
        run.snapshots[0] = start.clone()

    began = time.perf_counter()
    run.history.append(evaluate(learner, data, epoch=0, iteration=0, seconds=0.0))
    iteration = 0
    for epoch in range(1, settings.epochs + 1):
        order = torch.randperm(len(data.y_train), generator=generator)
        for batch in order.split(settings.batch_size):
            loss = learner.update(data.x_train[batch], data.y_train[batch])
            iteration += 1
            if not math.isfinite(loss):
                raise UserError(
                    f"the loss became {loss} at SGD step {iteration} (epoch {epoch}): the learning rate "
                    f"{settings.lr:g} is far too large; lower --lr (the default, {MLPSettings.lr:g}, trains every "
                    "set here)"
                )
            run.batch_losses.append(loss)
            if iteration in wanted:
                run.snapshots[iteration] = learner.params()
        run.history.append(evaluate(learner, data, epoch, iteration, time.perf_counter() - began))
    run.params = learner.params()
    run.seconds = time.perf_counter() - began
    run.notes += unstable_loss_notes(run.batch_losses, data.num_classes, settings.lr)
    return run


def unstable_loss_notes(batch_losses: list[float], classes: int, lr: float) -> list[str]:
    """A note when a batch loss went far above chance level ln K (the loss of uniform guesses).

    tanh saturates, so a far too large learning rate seldom makes the loss infinite: it throws the
    logits to huge, confidently wrong values instead. 100 ln K is never reached at the defaults.
    """
    chance, peak = math.log(classes), max(batch_losses, default=0.0)
    if peak <= 100 * chance:
        return []
    return [
        f"a batch loss reached {peak:.3g}, over 100 times the chance level ln {classes} = {chance:.2f}: "
        f"the learning rate {lr:g} is probably too large"
    ]


def evaluate(learner: Learner, data: BasicsData, epoch: int, iteration: int, seconds: float) -> EpochRecord:
    """Mean loss and accuracy on the whole train and test splits."""
    figures = []
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        logits = learner.logits(x)
        figures += [cross_entropy(logits, y).item(), (logits.argmax(dim=1) == y).double().mean().item()]
    train_loss, train_accuracy, test_loss, test_accuracy = figures
    return EpochRecord(epoch, iteration, train_loss, train_accuracy, test_loss, test_accuracy, seconds=seconds)
