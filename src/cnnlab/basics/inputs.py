"""The teaching sets as flat, standardised tensors: what a perceptron or an SVM takes as input.

Images are flattened to one vector each; every set is standardised with statistics fitted on its
training split only. 2-D point sets also keep their raw coordinates, for decision-boundary plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnlab.data import Preprocessor, fit_preprocess, load
from cnnlab.errors import UserError, did_you_mean

SOURCES = ("circles", "moons", "digits", "mnist", "fashion-mnist")
PLANAR_SOURCES = ("circles", "moons")


@dataclass(frozen=True)
class BasicsData:
    """Train and test inputs (N, D), labels (N,), class names, and the fitted preprocessing."""

    name: str
    classes: tuple[str, ...]
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    prep: Preprocessor
    points_train: np.ndarray | None = None  # raw (N, 2) coordinates of a 2-D set, else None
    points_test: np.ndarray | None = None

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def is_planar(self) -> bool:
        """True for 2-D points, whose decision boundary can be drawn."""
        return self.points_train is not None

    def inputs(self, raw: np.ndarray) -> torch.Tensor:
        """Raw examples (points or uint8 images) mapped the way the training inputs were."""
        return flat_inputs(self.prep, raw, self.x_train.dtype)


def flat_inputs(prep: Preprocessor, raw: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """Raw examples normalised by `prep`, one flat row each: (N, D)."""
    x = prep.apply(torch.from_numpy(np.ascontiguousarray(raw)))
    return x.reshape(len(x), -1).to(dtype)


def check_source(source: str, allowed: tuple[str, ...] = SOURCES) -> str:
    """The canonical name of `source`, or a UserError naming the choices."""
    key = source.strip().lower()
    if key not in allowed:
        raise UserError(f"unknown --data '{source}'{did_you_mean(key, allowed)}: choose one of {', '.join(allowed)}")
    return key


def load_basics_data(
    source: str,
    dtype: torch.dtype = torch.float32,
    root: str | Path | None = None,
    allowed: tuple[str, ...] = SOURCES,
) -> BasicsData:
    """`source` loaded, flattened and standardised (statistics from its training split only)."""
    name = check_source(source, allowed)
    dataset = load(name, root=root)
    prep = fit_preprocess(dataset.train, "standardize")
    raw_train, raw_test = dataset.train.take(), dataset.test.take()
    planar = dataset.kind == "points" and dataset.example_shape == (2,)
    return BasicsData(
        name=name,
        classes=dataset.classes,
        x_train=flat_inputs(prep, raw_train, dtype),
        y_train=torch.from_numpy(np.asarray(dataset.train.y, dtype=np.int64).copy()),
        x_test=flat_inputs(prep, raw_test, dtype),
        y_test=torch.from_numpy(np.asarray(dataset.test.y, dtype=np.int64).copy()),
        prep=prep,
        points_train=raw_train if planar else None,
        points_test=raw_test if planar else None,
    )
