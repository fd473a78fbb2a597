"""Batches for training and evaluation: the split lives as normalised tensors on the device.

A split that fits the device's memory budget is normalised once and kept there ("memory"); each
batch is then an index, plus augmentation on the whole batch. A split too large for that streams
from the (memory-mapped) decoded cache in chunks ("stream"), read in storage order, normalised on
the device, and shuffled within the chunk. `auto` chooses, and says so.

In a run on several processes (DistributedDataParallel), every process draws the same order and
splits each batch of `batch_size` into its share (`rank`, `world_size`): together they see every
example once an epoch, in the same global batches as one process would.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from cnnlab.machine import available_memory

from .augment import BatchAugment, alternating_flips, take_images
from .convert import tensor_from_numpy
from .mixing import BatchMix
from .preprocess import Preprocessor
from .types import Samples

log = logging.getLogger("cnnlab")

MEMORY_BUDGET_FRACTION = 0.4  # of the device's free memory, for one split's tensors
STREAM_CHUNK_BYTES = 256 << 20
MIX_STREAM = 1 << 16  # the generator streams of mixup / CutMix (one a process), apart from the augmentation's


def choose_storage(nbytes: int, device: torch.device, requested: str = "auto") -> tuple[str, str]:
    """('memory' or 'stream', why) for a split whose normalised tensors take `nbytes`."""
    if requested in ("memory", "stream"):
        return requested, f"data.storage={requested}"
    budget = int(available_memory(device) * MEMORY_BUDGET_FRACTION)
    size = f"{nbytes / 2**20:,.0f} MiB"
    if nbytes <= budget:
        return "memory", f"{size} fits the {device.type} memory budget ({budget / 2**20:,.0f} MiB)"
    return "stream", f"{size} exceeds the {device.type} memory budget ({budget / 2**20:,.0f} MiB)"


def epoch_generator(seed: int, epoch: int, device: torch.device, stream: int = 0) -> torch.Generator:
    """A generator for one epoch's shuffling and augmentation, the same for the same (seed, epoch).

    Another `stream` gives another generator of the same epoch: each process of a distributed run draws
    its own augmentation from one, after the order they all share, and mixup / CutMix draw from their own
    (so turning them on changes no other draw).
    """
    entropy = [seed, epoch, stream] if stream else [seed, epoch]
    state = int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> 1)
    return torch.Generator(device=device).manual_seed(state)


class BatchIterator:
    """(inputs, labels) batches of one split on one device; iterate once an epoch."""

    def __init__(
        self,
        samples: Samples,
        preprocess: Preprocessor,
        *,
        batch_size: int,
        train: bool = False,
        shuffle: bool | None = None,
        augment: BatchAugment | None = None,
        device: torch.device | str = "cpu",
        seed: int = 0,
        drop_last: bool = False,
        storage: str = "auto",
        memory_format: torch.memory_format = torch.contiguous_format,
        name: str = "",
        mix: BatchMix | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not one of the {world_size} processes")
        self.samples = samples
        self.preprocess = preprocess.to(device)
        self.batch_size = batch_size
        self.train = train
        self.shuffle = train if shuffle is None else shuffle
        self.augment = augment
        self.device = torch.device(device)
        self.seed = seed
        self.drop_last = drop_last
        self.memory_format = memory_format
        self.name = name
        self.mixer = mix
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._mix_generator: torch.Generator | None = None
        self.storage, reason = choose_storage(self._stored_bytes(len(samples)), self.device, storage)
        if storage == "auto" and self.storage == "stream":
            log.info("%s split streams from the decoded cache: %s", name or "a", reason)
        self._labels = torch.from_numpy(np.array(samples.y, dtype=np.int64)).to(self.device)
        self._resident = self._store_all() if self.storage == "memory" else None
        alternate = train and augment is not None and augment.config.flip and augment.config.flip_mode == "alternate"
        self._flip_half = alternating_flips(len(samples), seed, self.device) if alternate else None

    def _stored_bytes(self, count: int) -> int:
        """float32 bytes of `count` examples in their stored form (padded if the augmentation pads)."""
        shape = self.samples.example_shape
        if self.augment is not None and len(shape) == 3:
            shape = (*self.augment.stored_size(shape[:2]), shape[2])
        return count * int(np.prod(shape)) * 4

    def _to_store(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw examples -> normalised (and, for augmentation, prepared) tensors on the device."""
        x = self.preprocess.apply(raw.to(self.device, non_blocking=raw.is_pinned()), self.memory_format)
        if self.augment is not None:
            x = self.augment.prepare(x)
        return x.contiguous(memory_format=self.memory_format) if x.dim() == 4 else x

    def _store_all(self) -> torch.Tensor | None:
        """The whole split normalised on the device, written chunk by chunk into one tensor."""
        n = len(self.samples)
        if n == 0:
            return None
        rows = max(1, STREAM_CHUNK_BYTES // max(1, self._stored_bytes(1)))
        store: torch.Tensor | None = None
        for start in range(0, n, rows):
            part = self._to_store(tensor_from_numpy(self.samples.take(slice(start, start + rows))))
            if store is None:
                store = torch.empty((n, *part.shape[1:]), dtype=part.dtype, device=part.device)
            store[start : start + len(part)] = part
        return store

    def for_evaluation(self) -> BatchIterator:
        """The same split and stored tensors, in order and without training augmentation (a centre crop if the
        training crops): how evaluation sees the training images, without a second copy of them."""
        view = copy.copy(self)
        view.train, view.shuffle, view.drop_last, view._flip_half = False, False, False, None
        return view

    def mix(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, loss targets) of a batch this iterator yielded: mixed by mixup / CutMix with soft targets
        when training with them (top-k still counts against `y`), else the batch as it is."""
        if self.mixer is None or not self.train or self._mix_generator is None:
            return x, y
        return self.mixer(x, y, self._mix_generator)

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass draw its order and augmentation from (seed, epoch), so a resumed run matches."""
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.samples)
        if self.drop_last:
            return n // self.batch_size
        steps = -(-n // self.batch_size)
        return steps - 1 if self._tail_joins_previous(n) else steps

    def _tail_joins_previous(self, n: int) -> bool:
        """Whether a last batch too small to give every process an example joins the batch before it."""
        tail = n % self.batch_size
        return self.world_size > 1 and 0 < tail < self.world_size and n > self.batch_size

    @property
    def num_examples(self) -> int:
        """Examples yielded a pass."""
        return len(self) * self.batch_size if self.drop_last else len(self.samples)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = epoch_generator(self.seed, self.epoch, self.device)
        if self.mixer is not None and self.train:
            self._mix_generator = epoch_generator(self.seed, self.epoch, self.device, stream=MIX_STREAM + self.rank)
        # one process draws order and augmentation from one generator; several share the order and each
        # draws its augmentation from a generator of its own, so no two processes repeat each other's draws
        draws = (
            generator
            if self.world_size == 1
            else epoch_generator(self.seed, self.epoch, self.device, stream=self.rank + 1)
        )
        flips = None if self._flip_half is None else self._flip_half ^ bool(self.epoch % 2)
        self.epoch += 1
        n = len(self.samples)
        if n == 0:
            return
        order = (
            torch.randperm(n, generator=generator, device=self.device)
            if self.shuffle
            else torch.arange(n, device=self.device)
        )
        if self._resident is not None:
            for idx in self._batch_indices(order):
                yield self._batch(self._resident, self._labels, idx, draws, flips, idx)
        else:
            yield from self._stream(order.cpu().numpy(), generator, draws, flips)

    def _batch_indices(self, order: torch.Tensor) -> Iterator[torch.Tensor]:
        """Batches of `order` (this process's share of each, in a distributed run)."""
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        starts = list(range(0, stop, self.batch_size))
        if not self.drop_last and self._tail_joins_previous(n):
            starts.pop()
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else stop
            batch = order[start:end]
            yield batch if self.world_size == 1 else batch[self.rank :: self.world_size]

    def _batch(
        self,
        store: torch.Tensor,
        labels: torch.Tensor,
        idx: torch.Tensor,
        generator: torch.Generator,
        flips: torch.Tensor | None,
        positions: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch store[idx]; `positions` are the examples' places in the split (for per-image flips)."""
        if self.augment is None:
            x = take_images(store, idx) if store.dim() == 4 else store[idx]
        elif self.train:
            x = self.augment.train_batch(store, idx, generator, None if flips is None else flips[positions])
        else:
            x = self.augment.eval_batch(store, idx)
        if x.dim() == 4:
            x = x.contiguous(memory_format=self.memory_format)
        return x, labels[idx]

    def _stream(
        self, order: np.ndarray, generator: torch.Generator, draws: torch.Generator, flips: torch.Tensor | None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Chunks of whole batches, read in storage order, the next one prefetched in a thread; `generator`
        shuffles within a chunk and `draws` augments (the same generator on one process)."""
        per_chunk = max(1, STREAM_CHUNK_BYTES // (self._stored_bytes(self.batch_size))) * self.batch_size
        # every chunk but the last holds whole batches, so drop_last acts as in memory mode; a tail that joins
        # the batch before it (a distributed run's) joins that batch's chunk (whose batches then differ from
        # one process's: they are shuffled within the larger chunk)
        starts = list(range(0, len(order), per_chunk))
        if len(starts) > 1 and len(order) - starts[-1] < self.world_size and self._tail_joins_previous(len(order)):
            starts.pop()
        ends = [*starts[1:], len(order)]
        pieces = [np.sort(order[start:end]) for start, end in zip(starts, ends, strict=True)]
        pin = self.device.type == "cuda"
        with ThreadPoolExecutor(1) as reader:
            pending: Future | None = reader.submit(self._read, pieces[0], pin) if pieces else None
            for k, piece in enumerate(pieces):
                assert pending is not None
                raw = pending.result()
                pending = reader.submit(self._read, pieces[k + 1], pin) if k + 1 < len(pieces) else None
                x = self._to_store(raw)
                positions = torch.from_numpy(piece).to(self.device)
                y = self._labels[positions]
                local = (
                    torch.randperm(len(piece), generator=generator, device=self.device)
                    if self.shuffle
                    else torch.arange(len(piece), device=self.device)
                )
                for idx in self._batch_indices(local):
                    yield self._batch(x, y, idx, draws, flips, positions[idx])

    def _read(self, rows: np.ndarray, pin: bool) -> torch.Tensor:
        raw = tensor_from_numpy(self.samples.take(rows))
        return raw.pin_memory() if pin else raw
