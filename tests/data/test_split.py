"""Stratified, seeded splits."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.data import Dataset, Samples, load, split
from cnnlab.data.split import stratified_indices
from cnnlab.errors import UserError


def _dataset(labels: np.ndarray) -> Dataset:
    x = np.arange(len(labels), dtype=np.uint8).reshape(-1, 1, 1, 1).repeat(2, axis=1)
    samples = Samples(x, labels.astype(np.int64))
    return Dataset("toy", "images", ("a", "b", "c"), samples, samples, "memory")


def test_each_class_keeps_its_share() -> None:
    labels = np.repeat([0, 1, 2], [100, 40, 8])
    splits = split(_dataset(labels), val_fraction=0.25, seed=1)
    assert splits.val.class_counts(3) == [25, 10, 2]
    assert splits.train.class_counts(3) == [75, 30, 6]
    rows = np.concatenate([splits.train.rows, splits.val.rows])
    assert sorted(rows.tolist()) == list(range(len(labels)))  # disjoint and complete


def test_seeded_and_seed_dependent() -> None:
    labels = np.repeat([0, 1], 50)
    a = stratified_indices(labels, 0.2, seed=5)[1]
    b = stratified_indices(labels, 0.2, seed=5)[1]
    c = stratified_indices(labels, 0.2, seed=6)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_class_always_keeps_one_training_example() -> None:
    labels = np.array([0, 0, 0, 1])
    kept, taken = stratified_indices(labels, 0.9, seed=0)
    assert 3 in kept and np.isin([0, 1, 2], np.concatenate([kept, taken])).all()


def test_zero_fraction_gives_empty_val_and_bad_fraction_fails() -> None:
    splits = split(_dataset(np.repeat([0, 1], 5)), val_fraction=0.0)
    assert len(splits.val) == 0 and len(splits.train) == 10
    with pytest.raises(ValueError):
        split(_dataset(np.repeat([0, 1], 5)), val_fraction=1.0)


def test_subset_views_do_not_copy_and_compose() -> None:
    base = Samples(np.arange(10, dtype=np.uint8).reshape(10, 1), np.arange(10))
    view = base.subset(np.array([7, 2, 5])).subset(np.array([2, 0]))
    assert view.x is base.x
    np.testing.assert_array_equal(view.take()[:, 0], [2, 7])  # storage order is kept
    np.testing.assert_array_equal(view.y, [2, 7])


def test_digits_split_end_to_end() -> None:
    splits = split(load("digits"), val_fraction=0.1, seed=0)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 1797
    assert max(splits.val.class_counts(10)) - min(splits.val.class_counts(10)) <= 1


def test_train_size_keeps_a_stratified_subset_of_what_the_val_split_leaves() -> None:
    labels = np.repeat([0, 1, 2], [100, 100, 100])
    whole = split(_dataset(labels), val_fraction=0.1, seed=3)
    part = split(_dataset(labels), val_fraction=0.1, seed=3, train_size=120)
    assert part.train.class_counts(3) == [40, 40, 40]  # 120 of the 270 left, a third of each class
    np.testing.assert_array_equal(part.val.rows, whole.val.rows)  # the validation split does not move
    assert set(part.train.rows) < set(whole.train.rows)
    np.testing.assert_array_equal(split(_dataset(labels), 0.1, 3, train_size=120).train.rows, part.train.rows)
    with pytest.raises(UserError, match=r"data.train_size=271 asks for more training examples than the 270"):
        split(_dataset(labels), val_fraction=0.1, seed=3, train_size=271)
