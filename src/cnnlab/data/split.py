"""Seeded, stratified splits: every class keeps its share in each part."""

from __future__ import annotations

import numpy as np

from cnnlab.errors import UserError

from .types import Dataset, Samples, Splits


def stratified_indices(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, taken): `fraction` of each class's indices taken at random, the rest kept.

    Each class gives round(fraction * its count) examples (written by hand rather than with
    scikit-learn so that tiny classes are defined: a class always keeps at least one example).
    """
    rng = np.random.default_rng(seed)
    kept, taken = [], []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        members = members[rng.permutation(len(members))]
        n_taken = min(int(np.floor(fraction * len(members) + 0.5)), len(members) - 1)
        taken.append(members[:n_taken])
        kept.append(members[n_taken:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(taken))


def split(dataset: Dataset, val_fraction: float = 0.1, seed: int = 0, train_size: int | None = None) -> Splits:
    """Carve a stratified validation split from the training samples; the test set stays apart.

    `train_size` then keeps only that many of the remaining training examples (a stratified, seeded
    subset, rounded class by class), as course notebooks that train on part of CIFAR-10 do.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    train_idx, val_idx = stratified_indices(dataset.train.y, val_fraction, seed)
    if train_size is not None:
        if not 0 < train_size <= len(train_idx):
            raise UserError(
                f"data.train_size={train_size} asks for more training examples than the {len(train_idx)} left "
                f"after the validation split of {dataset.name}: give at most {len(train_idx)}, or leave it out"
            )
        kept, _ = stratified_indices(dataset.train.y[train_idx], 1 - train_size / len(train_idx), seed + 1)
        train_idx = train_idx[kept] if train_size < len(train_idx) else train_idx
    return Splits(
        train=dataset.train.subset(train_idx),
        val=dataset.train.subset(val_idx),
        test=dataset.test,
        dataset=dataset,
    )


def carve_test(train: Samples, fraction: float, seed: int) -> tuple[Samples, Samples]:
    """(train, test) for a source without an official test set."""
    kept, taken = stratified_indices(train.y, fraction, seed)
    return train.subset(kept), train.subset(taken)
