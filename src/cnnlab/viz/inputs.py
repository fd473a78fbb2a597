"""One image as a run's model sees it, and a run's one-line label for figure titles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnlab.inference import TrainedRun


@dataclass(frozen=True)
class ImageInput:
    """An image read like the run's training images: the model input and the pixels it came from."""

    path: Path
    x: torch.Tensor  # (1, C, H, W) normalised model input
    pixels: np.ndarray  # (H, W, C) in [0, 1]: the same crop, before normalisation, for display


def load_image(run: TrainedRun, path: str | Path) -> ImageInput:
    """Read `path` as the ImageFolder source reads images, resize it to the run's size, normalise it."""
    raw = run.read_images([path])
    shown = torch.from_numpy(raw).permute(0, 3, 1, 2).float() / 255.0
    if run.augment is not None:  # the evaluation crop, so pixels and model input line up
        shown = run.augment.evaluate(shown)
    return ImageInput(Path(path), run.prepare(raw), shown[0].permute(1, 2, 0).numpy())


def run_label(run: TrainedRun) -> str:
    """'<model> on <dataset>', the start of every figure title."""
    return f"{run.config.model.name} on {run.info.get('dataset', run.config.data.source)}"
