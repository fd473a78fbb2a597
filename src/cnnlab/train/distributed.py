"""One run on several processes: DistributedDataParallel under torchrun.

`torchrun --nproc_per_node N -m cnnlab train ...` starts N copies of the same command. `train` and
`resume` find torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, ...) and join the copies into one
process group (gloo for the CPU, NCCL for CUDA; across machines through torchrun's rendezvous). Each
process then takes its share of every batch of the seeded order (`BatchIterator`'s `rank`), DDP
averages the gradients, each epoch's metrics are summed over the processes, and only rank 0, the
writer, claims and writes the run folder; the others hear its decisions (`agree`) and never touch it,
so nothing needs a shared disk but the data each machine reads.

Without torchrun (or with one process) there is no world: every function here is then a no-op, and a
run is the plain one-process run.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from cnnlab.errors import UserError
from cnnlab.runs import WEIGHTS, RunFolder

from .callbacks import Callback

log = logging.getLogger("cnnlab")

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the processes that train one run together."""

    rank: int
    size: int
    local_rank: int  # among the processes on this machine: which GPU it takes
    local_size: int  # processes on this machine: they share its cores

    @property
    def writer(self) -> bool:
        """Whether this process writes the run folder (rank 0)."""
        return self.rank == 0

    def backend(self, device: torch.device) -> str:
        """The communication backend of tensors on `device`: NCCL for CUDA, gloo otherwise."""
        return "nccl" if device.type == "cuda" else "gloo"

    def total(self, tensor: torch.Tensor) -> torch.Tensor:
        """`tensor` summed over every process, in place."""
        dist.all_reduce(tensor)
        return tensor

    def anywhere(self, flag: bool, device: torch.device) -> bool:
        """Whether `flag` holds on at least one process (every process must ask)."""
        return bool(self.total(torch.tensor([float(flag)], device=device)).item() > 0)


def launched_by_torchrun() -> bool:
    """Whether this process is one of several that torchrun (or another launcher of its kind) started."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def writes_results() -> bool:
    """Whether this process is the one that reports (rank 0, or the only process): for printing."""
    return int(os.environ.get("RANK", "0")) == 0


@contextlib.contextmanager
def joined() -> Iterator[World | None]:
    """The world of this torchrun process for the block, its process group set up (and torn down after,
    when this block set it up); None outside torchrun or with one process.

    Non-writers log errors only, so a terminal shows the run once.
    """
    if not launched_by_torchrun():
        yield None
        return
    env = os.environ
    world = World(
        rank=int(env["RANK"]),
        size=int(env["WORLD_SIZE"]),
        local_rank=int(env.get("LOCAL_RANK", "0")),
        local_size=int(env.get("LOCAL_WORLD_SIZE", env["WORLD_SIZE"])),
    )
    set_up_here = not dist.is_initialized()
    if set_up_here:
        # both backends: the run's device is only known once its config is (read from the folder, for a resume)
        cuda = torch.cuda.is_available() and dist.is_nccl_available()
        dist.init_process_group("cpu:gloo,cuda:nccl" if cuda else "gloo")
    quiet = logging.getLogger("cnnlab")
    level = quiet.level
    if not world.writer:
        quiet.setLevel(logging.ERROR)
    try:
        yield world
        if set_up_here:  # every process done with its collectives before any tears the group down
            dist.barrier()
    finally:
        quiet.setLevel(level)
        if set_up_here:
            dist.destroy_process_group()


def agree(world: World | None, decide: Callable[[], T]) -> T:
    """`decide()` on the writer, its result given to every process.

    A UserError there (the folder is in use, holds another run, ...) is raised on every process with
    the same message, so that none waits for a process that stopped; any other error is raised on the
    writer and reported to the others.
    """
    if world is None:
        return decide()
    box: list[Any] = [None]
    error: BaseException | None = None
    if world.writer:
        try:
            box[0] = ("ok", decide())
        except UserError as err:
            error, box[0] = err, ("user", str(err))
        except BaseException as err:
            error, box[0] = err, ("crash", f"{type(err).__name__}: {err}")
    dist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if error is not None:
        raise error
    if kind == "user":
        raise UserError(value)
    if kind == "crash":
        raise RuntimeError(f"rank 0 stopped: {value}")
    return value


def writer_first(world: World | None, work: Callable[[], T]) -> T:
    """`work()` on the writer first, then on the other processes once it succeeded: a download or the decode
    cache is filled once, not raced by every process of the machine."""
    if world is None:
        return work()
    kept: list[T] = []
    agree(world, lambda: kept.append(work()))
    return kept[0] if world.writer else work()


def check_same_compute(world: World | None, facts: dict[str, Any]) -> None:
    """Every process resolved the same device kind and precision (`auto` is decided by each on its own
    machine): processes that trained differently would drift apart, or wait in collectives the others
    never reach. The same UserError on every process otherwise."""
    if world is None:
        return
    everyone: list[Any] = [None] * world.size
    dist.all_gather_object(everyone, facts)
    differing = sorted({key for other in everyone for key in facts if other[key] != everyone[0][key]})
    if differing:
        seen = "; ".join(
            f"rank {rank}: " + ", ".join(f"{k}={other[k]}" for k in differing) for rank, other in enumerate(everyone)
        )
        raise UserError(
            f"the processes of this run chose different {', '.join(differing)} ({seen}): set "
            + " and ".join(f"train.{key}" for key in differing)
            + " explicitly, or run on machines of one kind"
        )


def share_of(world: World | None) -> tuple[int, int]:
    """(rank, world_size): BatchIterator's arguments for this process's share of every batch."""
    return (world.rank, world.size) if world is not None else (0, 1)


def check_shares(world: World | None, batch_sizes: dict[str, int], split_sizes: dict[str, int]) -> None:
    """Every process gets at least one example of each batch: batches and splits at least as large as the world."""
    if world is None:
        return
    for key, size in batch_sizes.items():
        if size < world.size:
            raise UserError(f"{key}={size} is smaller than the {world.size} processes: each needs its share of a batch")
    for split, count in split_sizes.items():
        if 0 < count < world.size:
            raise UserError(f"the {split} split has {count} examples for {world.size} processes: train on fewer")


def folder_for(world: World | None, folder: RunFolder) -> RunFolder:
    """The run folder as this process uses it: the writer's writes it, the others' only read it."""
    return folder if world is None or world.writer else _ReadOnlyFolder(folder.path)


class _ReadOnlyFolder(RunFolder):
    """The run folder as a process other than the writer sees it: it writes nothing, and reads no history
    (what it needs to resume comes from the writer; a copy on its own machine may be stale or damaged)."""

    def read_metrics(self) -> list[dict[str, Any]]:
        return []

    def write_config(self, config: Any) -> None:
        pass

    def write_info(self, info: dict[str, Any]) -> None:
        pass

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        pass

    def save_weights(self, model: nn.Module, name: str = WEIGHTS) -> None:
        pass

    def save_preprocess(self, prep: Any) -> None:
        pass

    def save_state(self, state: Any) -> None:
        pass

    def write_summary(self, summary: dict[str, Any]) -> None:
        pass


def sync_batch_norm(world: World | None, model: nn.Module, sync_bn: bool, device: torch.device) -> nn.Module:
    """With `model.sync_bn`, batch norm computed over the whole batch (every process's share) rather than each
    share; before the optimiser is built. Only torch's CUDA kernels do it."""
    if world is None or not sync_bn:
        return model
    if device.type != "cuda":
        raise UserError(
            "model.sync_bn=true needs CUDA (torch's SyncBatchNorm runs on GPUs only): drop it, and each process "
            "normalises by its own share of the batch"
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


def data_parallel(world: World | None, model: nn.Module, device: torch.device, find_unused: bool) -> nn.Module:
    """What the fit loop runs: the model itself on one process, `_SharedBatch` around it on several.

    `find_unused` for a model that may stop training some parameters part-way (fastnet's whitening bias
    after its first epochs), which DDP must then look for at each step.
    """
    if world is None:
        return model
    return _SharedBatch(model, world, device, find_unused)


class _SharedBatch(nn.Module):
    """A model trained with DistributedDataParallel on each process's share of a batch.

    DDP averages the processes' gradients, which is the gradient of the whole batch only when the shares
    are equal; the last batch of an epoch may not split evenly, so each process's gradient is weighted
    by its share (n_k * world / n), making the average exactly the whole batch's mean. Evaluation runs
    the model itself: each process evaluates its share and the loop sums the metrics.
    """

    def __init__(self, model: nn.Module, world: World, device: torch.device, find_unused: bool) -> None:
        super().__init__()
        self.world = world
        self.ddp = DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=find_unused,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and torch.is_grad_enabled()):
            return self.ddp.module(x)
        count = self.world.total(torch.tensor([float(len(x))], device=x.device))
        output = self.ddp(x)
        if output.requires_grad:
            weight = len(x) * self.world.size / count
            output.register_hook(lambda grad: (grad * weight).to(grad.dtype))
        return output


class SyncBuffers(Callback):
    """After each training pass every process takes rank 0's buffers (batch-norm statistics): each then
    evaluates its share with the model that rank 0 saves."""

    def __init__(self, model: nn.Module) -> None:
        self.buffers = list(model.buffers())

    def on_train_epoch_end(self, epoch: int) -> None:
        for buffer in self.buffers:
            dist.broadcast(buffer, src=0)
