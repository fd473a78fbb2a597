"""The batch iterator: every example once an epoch, reproducible, the same in memory and streamed."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from cnnlab.config import AugmentConfig
from cnnlab.data import BatchAugment, BatchIterator, Samples, fit_preprocess
from cnnlab.data import batches as batches_module


def _samples(n: int = 103) -> Samples:
    """Images whose first pixel holds their index, so batches can be traced back."""
    x = np.zeros((n, 4, 4, 1), np.uint8)
    x[:, 0, 0, 0] = np.arange(n)
    return Samples(x, np.arange(n, dtype=np.int64) % 7)


def _ids(batch: torch.Tensor) -> list[int]:
    return torch.round(batch[:, 0, 0, 0] * 255).long().tolist()


def _epoch(it: BatchIterator) -> tuple[list[int], list[int]]:
    ids, labels = [], []
    for x, y in it:
        ids += _ids(x)
        labels += y.tolist()
    return ids, labels


@pytest.fixture
def prep():
    return fit_preprocess(_samples(), "none")


@pytest.mark.parametrize("storage", ["memory", "stream"])
def test_each_example_once_an_epoch_with_its_label(prep, storage, monkeypatch) -> None:
    monkeypatch.setattr(batches_module, "STREAM_CHUNK_BYTES", 64 * 10 * 4)  # chunks of a few batches
    samples = _samples()
    it = BatchIterator(samples, prep, batch_size=10, train=True, storage=storage, seed=1)
    assert it.storage == storage and len(it) == 11
    ids, labels = _epoch(it)
    assert sorted(ids) == list(range(103))
    assert labels == [samples.y[i] for i in ids]
    assert ids != list(range(103))  # shuffled


@pytest.mark.parametrize("storage", ["memory", "stream"])
def test_no_shuffle_keeps_order_and_drop_last_drops_the_tail(prep, storage) -> None:
    it = BatchIterator(_samples(), prep, batch_size=10, shuffle=False, storage=storage)
    assert _epoch(it)[0] == list(range(103))
    dropped = BatchIterator(_samples(), prep, batch_size=10, train=True, drop_last=True, storage=storage)
    ids = _epoch(dropped)[0]
    assert len(dropped) == 10 and len(ids) == 100 and len(set(ids)) == 100


def test_epochs_are_reproducible_and_differ(prep) -> None:
    a = BatchIterator(_samples(), prep, batch_size=16, train=True, seed=5)
    b = BatchIterator(_samples(), prep, batch_size=16, train=True, seed=5)
    first, second = _epoch(a)[0], _epoch(a)[0]
    assert first != second
    b.set_epoch(1)  # a resumed run jumps straight to epoch 1 and sees the same order
    assert _epoch(b)[0] == second


def test_memory_and_stream_give_the_same_normalised_values(monkeypatch) -> None:
    monkeypatch.setattr(batches_module, "STREAM_CHUNK_BYTES", 2048)
    rng = np.random.default_rng(0)
    samples = Samples(rng.integers(0, 256, (50, 4, 4, 3), dtype=np.uint8), np.arange(50))
    prep = fit_preprocess(samples, "standardize")
    outputs = {}
    for storage in ("memory", "stream"):
        it = BatchIterator(samples, prep, batch_size=8, shuffle=False, storage=storage)
        xs, ys = zip(*it, strict=True)
        outputs[storage] = (torch.cat(xs), torch.cat(ys))
    torch.testing.assert_close(outputs["memory"][0], outputs["stream"][0])
    assert torch.equal(outputs["memory"][1], torch.arange(50))


def test_auto_streams_when_the_split_exceeds_the_budget_and_says_so(prep, monkeypatch, caplog) -> None:
    monkeypatch.setattr(batches_module, "available_memory", lambda device: 1000)
    with caplog.at_level(logging.INFO, logger="cnnlab"):
        it = BatchIterator(_samples(), prep, batch_size=10, name="train")
    assert it.storage == "stream"
    assert "train split streams from the decoded cache" in caplog.text
    assert sorted(_epoch(it)[0]) == list(range(103))
    monkeypatch.setattr(batches_module, "available_memory", lambda device: 1 << 30)
    assert BatchIterator(_samples(), prep, batch_size=10).storage == "memory"


def test_training_batches_are_augmented_and_evaluation_batches_centre_cropped(prep) -> None:
    augment = BatchAugment(AugmentConfig(crop=2, flip=True), (4, 4))
    train = BatchIterator(_samples(), prep, batch_size=8, train=True, augment=augment)
    evaluation = BatchIterator(_samples(), prep, batch_size=8, augment=augment)
    assert next(iter(train))[0].shape == (8, 1, 2, 2)
    x, _ = next(iter(evaluation))
    assert x.shape == (8, 1, 2, 2)
    assert torch.count_nonzero(x) == 0  # the centre of each image holds no index pixel


def test_channels_last_batches(prep) -> None:
    samples = Samples(np.zeros((9, 4, 4, 3), np.uint8), np.zeros(9, np.int64))
    it = BatchIterator(samples, fit_preprocess(samples, "none"), batch_size=4, memory_format=torch.channels_last)
    x, _ = next(iter(it))
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_points_batches(prep) -> None:
    x = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    samples = Samples(x, np.zeros(30, np.int64))
    it = BatchIterator(samples, fit_preprocess(samples, "standardize"), batch_size=7, train=True)
    shapes = [b.shape for b, _ in it]
    assert shapes[0] == (7, 2) and sum(s[0] for s in shapes) == 30


@pytest.mark.parametrize("storage", ["memory", "stream"])
@pytest.mark.parametrize(("n", "world_size"), [(103, 2), (103, 4), (83, 4), (100, 3), (3, 3)])
def test_processes_share_each_batch_and_see_every_example_once(prep, monkeypatch, storage, n, world_size) -> None:
    """Each process of a distributed run takes its share of every batch of the one seeded order: together
    they see each example once an epoch, in the batches one process would (a last batch too small to give
    every process an example joins the one before it: 103 = 10 x 10 + 3 on 4 processes)."""
    monkeypatch.setattr(batches_module, "STREAM_CHUNK_BYTES", 64 * 10 * 4)
    samples = _samples(n)
    prep = fit_preprocess(samples, "none")

    def batches(**share) -> list[list[int]]:
        it = BatchIterator(samples, prep, batch_size=10, train=True, seed=3, storage=storage, **share)
        it.set_epoch(2)
        ids = [_ids(x) for x, _ in it]
        assert len(ids) == len(it)
        return ids

    whole = batches()
    shares = [batches(rank=rank, world_size=world_size) for rank in range(world_size)]
    steps = len(shares[0])
    assert all(len(share) == steps for share in shares)  # every process takes the same number of steps
    together = [sorted(i for share in shares for i in share[step]) for step in range(steps)]
    if steps < len(whole):  # the tail joined the batch before it
        whole = [*whole[:-2], whole[-2] + whole[-1]]
    alone = storage == "stream" and n == 83  # streamed, the tail was a chunk of its own, so it joined the chunk
    assert (together == [sorted(batch) for batch in whole]) != alone  # before it, shuffled as one: other batches
    assert all(share[step] for share in shares for step in range(steps))  # no process gets an empty batch
    assert sorted(i for batch in together for i in batch) == list(range(n))
