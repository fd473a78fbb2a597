"""The containers the data layer hands on: labelled samples, a dataset's train/test, a run's three splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Samples:
    """Labelled examples `x[rows]`, `y`.

    `x` holds uint8 images (N, H, W, C) or float32 points (N, D) and may be a memory-mapped
    cache; `rows` lets a split view it without copying (None means every row, in order).
    """

    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.x) if self.rows is None else len(self.rows)
        if n != len(self.y):
            raise ValueError(f"{n} examples but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.y)

    @property
    def example_shape(self) -> tuple[int, ...]:
        """The shape of one example: (H, W, C) for images, (D,) for points."""
        return tuple(self.x.shape[1:])

    def take(self, indices: np.ndarray | slice | None = None) -> np.ndarray:
        """The examples at `indices` (all when None) as an in-memory array."""
        if indices is None:
            indices = slice(None)
        if self.rows is None:
            return np.ascontiguousarray(self.x[indices])
        return np.ascontiguousarray(self.x[self.rows[indices]])

    def subset(self, indices: np.ndarray) -> Samples:
        """A view of the examples at `indices`, kept in storage order so reads stay sequential."""
        indices = np.sort(np.asarray(indices, dtype=np.int64))
        rows = indices if self.rows is None else self.rows[indices]
        return Samples(self.x, self.y[indices], rows)

    def class_counts(self, num_classes: int) -> list[int]:
        """How many examples each class has."""
        return np.bincount(self.y, minlength=num_classes).tolist()


@dataclass(frozen=True)
class Dataset:
    """What a source holds: train and test samples apart, class names, and where it came from."""

    name: str
    kind: Literal["images", "points"]
    classes: tuple[str, ...]
    train: Samples
    test: Samples
    location: str
    test_is_official: bool = True
    cache_dir: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def example_shape(self) -> tuple[int, ...]:
        """(H, W, C) for images, (D,) for points."""
        return self.train.example_shape

    @property
    def channels(self) -> int:
        return self.example_shape[-1] if self.kind == "images" else 1


@dataclass(frozen=True)
class Splits:
    """One run's train / val / test, with the dataset they came from."""

    train: Samples
    val: Samples
    test: Samples
    dataset: Dataset

    @property
    def classes(self) -> tuple[str, ...]:
        return self.dataset.classes
