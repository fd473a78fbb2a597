"""Files written and read safely: atomic writes (a reader never sees half a file, an interrupted write leaves
the old one), output folders checked before anything is written there, and JSON records read back with any
damage reported as a UserError that names the file.

Every write of the package goes through `atomic_write`, so a full disk, a read-only folder or an `--out`
that lies under a file is one kind of error (`WriteFailed`, exit 2), wherever it happens.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from cnnlab.errors import UserError

TMP_SUFFIX = ".tmp"

# errors of the place written to, not of the program: a full disk or quota, a file too large for the
# system or the process's limit, no permission, a read-only file system, a failing device
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO}


class WriteFailed(UserError):
    """A file or folder could not be written: the message names it, says why and what to do."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(
            f"cannot write '{path}': {reason}. Free space or fix the permissions (or choose another --out folder), "
            "then run the same command again: what was written so far is intact, and a run continues with --resume"
        )


def make_folder(path: str | Path, probe: bool = True) -> Path:
    """Create `path` (and its parents) as a folder cnnlab can write in, or a UserError naming what is in the way.

    `probe` also creates and removes a file in it, which catches a read-only folder before any work starts.
    """
    path = Path(path)
    try:
        blocker = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            where = "is a file" if blocker == path else f"lies under '{blocker}', which is a file"
            raise UserError(f"'{path}' {where}, not a folder: choose another --out folder")
        path.mkdir(parents=True, exist_ok=True)
        if probe:
            fd, name = tempfile.mkstemp(prefix=".probe.", suffix=TMP_SUFFIX, dir=path)
            os.close(fd)
            Path(name).unlink(missing_ok=True)  # the holder of a run's claim may have swept it already
    except OSError as err:
        raise WriteFailed(path, err.strerror or str(err)) from None
    return path


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it over `path`.

    A failure of the place written to (see WRITE_ERRNOS) becomes WriteFailed naming `path`; the old
    file, if any, is left as it was and the temporary file is removed.
    """
    path = Path(path)
    make_folder(path.parent, probe=False)
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        cause = _write_error(err)
        if cause is not None:
            raise WriteFailed(path, os.strerror(cause)) from None
        raise
    return path


def write_through_file(tmp: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call `write(file)` with `tmp` opened for writing, keeping the OSError of a failed write.

    For writers that turn the OSError of a full disk into an error of their own without its number
    (torch.save raises a RuntimeError): the OSError is raised instead, so `atomic_write` can report it.
    """
    with open(tmp, "wb") as f:
        recorder = _RecordingFile(f)
        try:
            write(recorder)  # type: ignore[arg-type]
        except Exception as err:
            if recorder.error is not None:
                raise recorder.error from err
            raise


class _RecordingFile:
    """A file that remembers the first OSError its writes raised, and is otherwise the file itself."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.file.write(data)
        except OSError as err:
            self.error = self.error or err
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)


def _write_error(err: BaseException) -> int | None:
    """The errno of a failure of the place written to, from an OSError or a library's message, else None.

    Rust's I/O errors (safetensors) end their message with '(os error N)'.
    """
    number = err.errno if isinstance(err, OSError) else None
    if number is None and (match := re.search(r"\(os error (\d+)\)", str(err))):
        number = int(match.group(1))
    return number if number in WRITE_ERRNOS else None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write `obj` as indented JSON to `path` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def remove_stray_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files that writes killed mid-way left in `folder` (not below it); returns them.

    Only for a folder no other process writes in at the time (a run folder whose claim is held): a
    temporary file of a live write would vanish under it.
    """
    folder = Path(folder)
    stray = [p for p in folder.glob(f".*{TMP_SUFFIX}") if p.is_file()] if folder.is_dir() else []
    for path in stray:
        path.unlink(missing_ok=True)
    return stray


def read_json(path: str | Path, fix: str) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when there is no such file.

    A file that is not a JSON object (empty, cut short, binary, a list) is a UserError naming it, with
    `fix`: what to do about it.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, OSError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise UserError(f"'{path}' is damaged (not JSON: {first_line(err)}): {fix}") from None
    if not isinstance(data, dict):
        raise UserError(f"'{path}' is damaged (a JSON {type(data).__name__}, not an object): {fix}")
    return data


def first_line(err: BaseException) -> str:
    """The first line of an error's message (at most 200 characters), or its type's name when it has none."""
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
