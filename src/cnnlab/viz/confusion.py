"""The confusion matrix of a run's best weights on its test split, with per-class accuracy.

The test split is rebuilt from the run's saved config and normalised with the statistics the run
saved (never refitted), then predicted as the trainer evaluated it (evaluation crop and the run's
test-time augmentation), so its accuracy is the test top-1 the run reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnlab.data import BatchIterator, Samples, load_splits
from cnnlab.errors import UserError
from cnnlab.evaluation import confusion_matrix, tta_logits
from cnnlab.inference import TrainedRun, load_run

from .canvas import default_path, new_figure, save_png
from .inputs import run_label

MAX_ANNOTATED = 30  # classes up to which every cell shows its count


@dataclass(frozen=True)
class Confusion:
    """counts[true, predicted] on a split, with the class names."""

    counts: torch.Tensor  # int64 (K, K)
    classes: list[str]

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def accuracy(self) -> float:
        return float(self.counts.diag().sum()) / max(self.total, 1)

    def per_class_accuracy(self) -> np.ndarray:
        """The fraction of each true class predicted right (NaN for a class without examples)."""
        rows = self.counts.sum(dim=1).double().numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, self.counts.diag().double().numpy() / rows, np.nan)


def load_test_split(run: TrainedRun) -> Samples:
    """The run's test split, rebuilt from its saved config."""
    return load_splits(run.config.data).test


@torch.inference_mode()
def predict_samples(run: TrainedRun, samples: Samples) -> torch.Tensor:
    """The predicted class of every example, as the trainer's evaluation computed it."""
    batches = BatchIterator(
        samples, run.preprocess, batch_size=run.config.train.eval_batch_size, augment=run.augment, device="cpu"
    )
    predicted = [
        tta_logits(run.model, x, run.config.train.tta, run.config.train.tta_fraction).argmax(dim=1) for x, _ in batches
    ]
    return torch.cat(predicted) if predicted else torch.zeros(0, dtype=torch.int64)


def confusion_on_test(run: TrainedRun) -> Confusion:
    """The confusion matrix of the run's best weights on its test split."""
    samples = load_test_split(run)
    if len(samples) == 0:
        raise UserError("this run's test split is empty: there is nothing to build a confusion matrix from")
    target = torch.from_numpy(np.asarray(samples.y, dtype=np.int64))
    counts = confusion_matrix(predict_samples(run, samples), target, len(run.classes))
    return Confusion(counts, run.classes)


def draw_confusion(confusion: Confusion, path: str | Path, title: str) -> Path:
    """Counts coloured by their share of the true class, class names on both axes, per-class accuracy by each row."""
    counts = confusion.counts.numpy()
    k = len(confusion.classes)
    side = min(20.0, max(5.0, 0.55 * k + 3.0))
    figure = new_figure(side + 1.2, side)
    ax = figure.subplots()
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.nan_to_num(counts / counts.sum(axis=1, keepdims=True))
    shown = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    if k <= MAX_ANNOTATED:
        size = 9 if k <= 12 else 7
        for (i, j), count in np.ndenumerate(counts):
            if count or i == j:
                colour = "white" if shares[i, j] > 0.55 else "black"
                ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=size)
    accuracy = confusion.per_class_accuracy()
    rows = [
        f"{name} ({'n/a' if np.isnan(a) else f'{a:.0%}'})" for name, a in zip(confusion.classes, accuracy, strict=True)
    ]
    ax.set_yticks(range(k), rows, fontsize=8)
    ax.set_xticks(range(k), confusion.classes, rotation=45, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (its accuracy)")
    figure.colorbar(shown, ax=ax, shrink=0.8).set_label("share of the true class", fontsize=8)
    ax.set_title(title, fontsize=10)
    return save_png(figure, path)


def confusion_figure(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw the confusion matrix of the run in `run_dir` on its test split; returns the PNG's path."""
    run = load_run(run_dir)
    confusion = confusion_on_test(run)
    title = (
        f"{run_label(run)}: confusion matrix on the test split\n"
        f"{confusion.total} images, top-1 {confusion.accuracy:.1%} (counts in cells)"
    )
    return draw_confusion(confusion, out or default_path(run_dir, "confusion"), title)
