"""Where and how a run computes: device, threads, precision (autocast), memory format."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from cnnlab.config import TrainConfig
from cnnlab.errors import UserError
from cnnlab.machine import native_bf16, usable_cores

log = logging.getLogger("cnnlab.train")

if TYPE_CHECKING:
    from .distributed import World


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA, then Apple MPS, then CPU; an unavailable device is a UserError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"train.device={name} but CUDA is not available here: use train.device=auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"train.device={name} but Apple MPS is not available here: use train.device=auto or cpu")
    return device


@dataclass(frozen=True)
class Compute:
    """The resolved compute choices of a run."""

    device: torch.device
    precision: str  # fp32, bf16 or fp16
    channels_last: bool
    threads: int
    compile: bool
    world: World | None = None  # the processes training this run together (torchrun), or None for one

    @property
    def backend(self) -> str | None:
        """How the processes of a distributed run talk: gloo or nccl (None for one process)."""
        return self.world.backend(self.device) if self.world is not None else None

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Mixed precision around forward passes when the precision asks for it."""
        dtype = self.autocast_dtype
        if dtype is None:
            yield
        else:
            with torch.autocast(device_type=self.device.type, dtype=dtype):
                yield

    def describe(self) -> str:
        extras = [self.precision]
        if self.channels_last:
            extras.append("channels_last")
        if self.compile:
            extras.append("compiled")
        threads = f", {self.threads} thread{'s' if self.threads != 1 else ''}" if self.device.type == "cpu" else ""
        world = f" x {self.world.size} processes ({self.backend})" if self.world is not None else ""
        return f"{self.device}{threads}{world} ({', '.join(extras)})"


_ALLOCATOR_TUNED = False


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse instead of handing it back to the OS (Linux only).

    By default glibc serves each large allocation (a batch's activations: tens of MB) with a fresh
    mmap and unmaps it when freed, so every training step faults its activation pages in again.
    Serving everything from the heap and keeping it (M_MMAP_MAX = 0, M_TRIM_THRESHOLD = 1 GiB)
    trained fastnet 1.5x faster on a 2-core AVX-512 EPYC (1,230 -> 1,860 images/s at batch 512) and
    1.14x faster on the 2-core Zen 3 reference CPU (347 -> 394), tme2 slightly faster; the price is
    that the process keeps its peak memory until it exits. Returns whether the setting took effect
    (False off glibc).
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4
        _ALLOCATOR_TUNED = bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):
        return False
    return _ALLOCATOR_TUNED


def check_threads(config: TrainConfig) -> None:
    """A UserError when `train.threads` asks for more threads than the cores this process may use: the
    threads would only take turns on the cores, every step slower."""
    cores = usable_cores()
    if config.threads is not None and config.threads > cores:
        raise UserError(
            f"train.threads={config.threads} is more than the {cores} core(s) this process may use: "
            f"give at most {cores}, or leave it out to use them all"
        )


def resolve_compute(config: TrainConfig, world: World | None = None) -> Compute:
    """Turn `auto` choices into concrete ones and apply the thread count.

    In a distributed run (`world`) each process takes its own GPU (its local rank) or, on the CPU, its
    part of the machine's cores (`train.threads` still wins).

    bf16 autocast where the device computes bf16 natively (CUDA, and CPUs with AVX512-BF16 or AMX);
    fp32 elsewhere (emulated bf16 was slower on the 2-core Zen 3 reference CPU). channels_last on
    CUDA and the CPU: oneDNN's convolutions trained every conv net of the registry 1.05x-1.49x
    faster in it (tme2 1.26x, fastnet 1.31x, 2-core AVX-512 EPYC, batch 128). Apple MPS keeps the
    default format.
    """
    device = resolve_device(config.device)
    if world is not None and device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    precision = config.precision
    if precision == "auto":
        precision = "bf16" if native_bf16(device) else "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise UserError("train.precision=fp16 needs CUDA; use bf16 or fp32 on this device")
    auto_channels_last = device.type in ("cuda", "cpu")
    channels_last = auto_channels_last if config.channels_last == "auto" else bool(config.channels_last)
    share = max(1, usable_cores() // (world.local_size if world is not None else 1))  # a process's part
    threads = min(config.threads or share, usable_cores())
    if config.threads is not None and threads < config.threads:  # a run resumed on a smaller machine
        log.warning("train.threads=%d, but this process may use %d core(s): it uses those", config.threads, threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # batch shapes are fixed: let cuDNN pick the fastest kernels once
    if device.type == "cpu":
        torch.set_num_threads(threads)
        if config.keep_freed_memory:
            keep_freed_memory()
    compile_model = device.type == "cuda" if config.compile == "auto" else bool(config.compile)
    return Compute(device, precision, channels_last, threads, compile_model, world)
