"""Image decoding for folder sources: header scan and pixel decode, in worker processes.

This module imports nothing heavy (no torch) so worker processes start fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from cnnlab.machine import usable_cores

GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})
PARALLEL_MIN_FILES = 2000  # below this, starting processes costs more than it saves
CHUNK_FILES = 1000

T = TypeVar("T")


class ImageReadError(Exception):
    """A file that is not a readable image; carries its path."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason


def read_headers(paths: Sequence[str]) -> list[tuple[int, int, str]]:
    """(width, height, mode) of each image, reading only its header."""
    out = []
    for path in paths:
        try:
            with Image.open(path) as im:
                out.append((im.width, im.height, im.mode))
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise ImageReadError(path, str(err) or type(err).__name__) from None
    return out


def read_image(path: str | Path, channels: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image as uint8 (H, W, channels): gray (1) or RGB (3), resized (bilinear) to `size` = (H, W)."""
    try:
        with Image.open(path) as opened:
            im = opened.convert("L" if channels == 1 else "RGB")
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(im)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise ImageReadError(str(path), str(err) or type(err).__name__) from None
    return pixels.reshape(pixels.shape[0], pixels.shape[1], channels)


def decode_into(job: tuple[Sequence[str], str, int, int, int | None]) -> None:
    """Decode `paths` into rows `start...` of the .npy file at `target`, as gray (1) or RGB (3)."""
    paths, target, start, channels, size = job
    out = np.load(target, mmap_mode="r+")
    for i, path in enumerate(paths):
        out[start + i] = read_image(path, channels, (size, size) if size is not None else None)
    out.flush()


def run_chunked(function: Callable[[Any], T], jobs: list[Any], total_files: int) -> list[T]:
    """`function` over `jobs`, in worker processes when the work is big enough to pay for them."""
    workers = min(usable_cores(), len(jobs))
    if workers < 2 or total_files < PARALLEL_MIN_FILES:
        return [function(job) for job in jobs]
    # fork is fastest and safe here (the workers use only PIL and numpy); elsewhere, spawn
    method = "fork" if "fork" in _start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=get_context(method)) as pool:
        return list(pool.map(function, jobs))


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def chunks(items: Sequence[T], size: int | None = None) -> list[Sequence[T]]:
    """`items` cut into consecutive pieces of at most `size` (default CHUNK_FILES)."""
    size = size or CHUNK_FILES
    return [items[i : i + size] for i in range(0, len(items), size)]


def image_files_in(folder: Path, extensions: frozenset[str]) -> tuple[list[Path], list[Path]]:
    """Images under `folder` (recursively, sorted) and the other files that were skipped."""
    images: list[Path] = []
    others: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            (images if path.suffix.lower() in extensions else others).append(path)
    return images, others
