"""The decoded cache: arrays a source decoded once, memory-mapped on every later load.

An entry is a folder of .npy files and a meta.json, named by the source and a key made of every
input file's path, size and mtime plus the decoding options, so a changed file means a new entry.
It is written in a temporary folder and renamed into place, so a half-written entry is never read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

CACHE_VERSION = 1


def default_root() -> Path:
    """Where downloads and the cache go unless `data.root` says otherwise."""
    env = os.environ.get("CNNLAB_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cnnlab"


def file_fingerprint(files: Iterable[Path], options: Mapping[str, Any]) -> str:
    """A short hash of each file's path, size and mtime, and the decoding options."""
    digest = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    for path in files:
        st = path.stat()
        digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class ArrayStore:
    """Arrays a decoder writes: in memory, or (subclass) as a cache entry on disk."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.meta: dict[str, Any] = {}

    def allocate(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A writable array the decoder fills in place (memory-mapped for big entries on disk)."""
        self.arrays[name] = np.empty(shape, dtype=dtype)
        return self.arrays[name]

    def put(self, name: str, array: np.ndarray) -> None:
        self.arrays[name] = np.asarray(array)


class CacheEntryWriter(ArrayStore):
    """Writes arrays straight into a temporary folder; `commit` renames it into place."""

    def __init__(self, final_dir: Path) -> None:
        super().__init__()
        self.final_dir = final_dir
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        self.tmp_dir = Path(tempfile.mkdtemp(prefix=f".{final_dir.name}.", dir=final_dir.parent))

    def allocate(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        array = np.lib.format.open_memmap(self.tmp_dir / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)
        self.arrays[name] = array
        return array

    def put(self, name: str, array: np.ndarray) -> None:
        np.save(self.tmp_dir / f"{name}.npy", np.asarray(array))
        self.arrays[name] = np.asarray(array)

    def commit(self) -> None:
        for array in self.arrays.values():
            if isinstance(array, np.memmap):
                array.flush()
        (self.tmp_dir / "meta.json").write_text(json.dumps(self.meta, indent=2))
        try:
            os.replace(self.tmp_dir, self.final_dir)
        except OSError:  # another process committed the same entry first: theirs is as good
            shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.tmp_dir, ignore_errors=True)


def read_entry(entry: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The arrays (memory-mapped, read-only) and meta of a committed entry, or None if there is none."""
    meta_file = entry / "meta.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text())
        arrays = {p.stem: np.load(p, mmap_mode="r") for p in sorted(entry.glob("*.npy"))}
    except (OSError, ValueError):
        return None  # damaged: the caller decodes again and replaces it
    return arrays, meta


def prune_stale(cache_dir: Path, prefix: str, keep: Path) -> None:
    """Remove older entries of the same source (they were keyed on files that have since changed)."""
    if not cache_dir.is_dir():
        return
    for entry in cache_dir.glob(f"{prefix}-" + "?" * 16):
        if entry != keep and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
