"""Shared bits of the benchmark scripts: where the real data is, timing, the final JSON line."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CIFAR_JPEG = SHARED_DATA / "cifar10-jpeg"


def require_cifar_jpeg(path: str | None) -> Path:
    """The CIFAR-10 JPEG ImageFolder to measure on, or exit with a hint."""
    folder = Path(path) if path else CIFAR_JPEG
    if not (folder / "train").is_dir():
        raise SystemExit(f"no CIFAR-10 ImageFolder at {folder}: pass --data ROOT (with ROOT/train/<class>/*.jpg)")
    return folder.resolve()


def images_per_second(batches: Iterable[Any], count: Callable[[Any], int], limit: int, warmup: int = 5) -> float:
    """Images/s over `limit` batches after `warmup` batches, consuming the batches and nothing more."""
    iterator = iter(batches)
    for _ in range(warmup):
        next(iterator)
    seen = 0
    start = time.perf_counter()
    for i, batch in enumerate(iterator):
        seen += count(batch)
        if i + 1 >= limit:
            break
    return seen / (time.perf_counter() - start)


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` in a new interpreter: a reference pipeline must not inherit process-wide settings
    cnnlab made in this one (such as its memory allocator tuning)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    # a plain (non-daemonic) process, so that the pipeline inside may start DataLoader workers
    process = context.Process(target=_call_and_send, args=(send, function, args))
    process.start()
    result = receive.recv()
    process.join()
    if isinstance(result, BaseException):
        raise result
    return result


def _call_and_send(connection: Any, function: Callable[..., Any], args: tuple) -> None:
    try:
        connection.send(function(*args))
    except BaseException as err:  # shown by the parent
        connection.send(err)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def spread(values: list[float]) -> float:
    """The sample standard deviation, 0 for a single value."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


def finish(figures: dict[str, Any]) -> None:
    """Print the figures as the last line: one JSON object."""
    print(json.dumps(figures), flush=True)
