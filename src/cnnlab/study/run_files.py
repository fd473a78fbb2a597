"""A run folder's files as bytes: how a run travels between machines that share no disk.

An engine that trains runs elsewhere (Ray) seeds the worker's scratch folder with the files the study
already holds of a run, its resume state among them, and writes back into the study what the worker
sends after each epoch and at the end. The files are whatever the run folder holds (config, metrics,
summary, run facts, weights, fitted preprocessing, resume state, a TensorBoard log ...), so a file a
later cnnlab adds to runs travels too; hidden ones (the claim, files being written) stay behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from cnnlab.fileio import atomic_write
from cnnlab.runs import STATE, SUMMARY

Files = dict[str, bytes]  # a path inside the run folder ('tensorboard/events...'), '/'-separated -> its bytes

# written after every other file: a resume state on disk implies the files of its epoch are there, and a
# summary (a finished run) implies everything is
LAST = (STATE, SUMMARY)


def read_run_files(folder: str | Path) -> Files:
    """Every file of the run folder, hidden ones aside; {} when the folder does not exist."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    }


def write_run_files(folder: str | Path, files: Files) -> None:
    """Write `files` into the run folder, each atomically, the resume state and then the summary last."""
    folder = Path(folder)
    for name in sorted(files, key=lambda name: (LAST.index(name) + 1 if name in LAST else 0, name)):
        atomic_write(folder / _inside(name), _writing(files[name]))


def _writing(data: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    return write


def _inside(name: str) -> PurePosixPath:
    """`name` as a path inside the run folder; anything that would leave it is refused."""
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        raise ValueError(f"'{name}' is not a file inside a run folder")
    return path


class ChangedFiles:
    """The run folder's files that changed since they were last taken (or since it was seeded)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.digests = {name: _digest(data) for name, data in read_run_files(self.folder).items()}

    def take(self) -> Files:
        """The files new or changed since the last call; they count as taken."""
        changed = {}
        for name, data in read_run_files(self.folder).items():
            digest = _digest(data)
            if self.digests.get(name) != digest:
                changed[name] = data
                self.digests[name] = digest
        return changed


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()
