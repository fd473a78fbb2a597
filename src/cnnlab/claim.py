"""A run folder is trained by one process at a time: whoever trains it holds its claim.

The claim is an exclusive `flock` on a `.claim` file in the run folder, held for as long as the run
trains. The kernel releases it when the process ends, however it ends (a crash, `kill -9`), so a claim
left by a dead process never blocks a later resume; while its holder lives, every other process that
asks for the run is told who holds it. The file also says who: its host, process id and start time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cnnlab.errors import UserError
from cnnlab.fileio import WriteFailed, make_folder, remove_stray_temporaries

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; runs are then not protected against a second process
    fcntl = None  # type: ignore[assignment]

CLAIM = ".claim"


class RunInUse(UserError):
    """Another live process is training this run folder."""

    def __init__(self, folder: Path, holder: str) -> None:
        self.folder, self.holder = folder, holder
        super().__init__(
            f"'{folder}' is being trained by another process ({holder}): wait for it to finish, "
            "or train into another folder"
        )


@contextlib.contextmanager
def claim(folder: str | Path) -> Iterator[None]:
    """Hold `folder`'s claim for the block; RunInUse at once if a live process holds it.

    Creates the folder if needed (a UserError naming what is in the way when it cannot be written), and
    removes it again on the way out when the block left nothing in it but the claim (a run that failed
    before it started writes nothing). Temporary files that a killed writer left are removed once the
    claim is held: no one else writes here then.
    """
    folder = Path(folder)
    created = not folder.exists()
    path = folder / CLAIM
    handle = _lock(folder, path)
    try:
        _say_who(handle)
        remove_stray_temporaries(folder)
        yield
    finally:
        # an empty folder is removed while the lock is still held, so no other process can have claimed it
        if created and [p.name for p in folder.iterdir()] == [CLAIM]:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):  # a full disk may refuse the last flush; the lock goes all the same
            handle.close()  # releases the lock


def _lock(folder: Path, path: Path, attempts: int = 5) -> IO[str]:
    """The claim file of `folder`, opened and locked; RunInUse if a live process holds it.

    The file locked must still be the one at `path`: its last holder may have removed it (and its empty
    folder) in between, and a lock on a removed file guards nothing, so then the new one is taken.
    """
    for _ in range(attempts):
        make_folder(folder)
        try:
            handle = open(path, "a+")  # noqa: SIM115 - held open for the whole claim: the lock lives with it
        except FileNotFoundError:  # its last holder removed the empty folder in between: make it again
            continue
        except OSError as err:
            raise WriteFailed(path, err.strerror or str(err)) from None
        if fcntl is None:
            return handle
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            who = handle.read().strip() or "unknown"
            handle.close()
            raise RunInUse(folder, who) from None
        try:
            if os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()  # locked a removed file: take the one there now
    raise UserError(f"could not claim '{folder}': its claim file keeps changing; is another process removing it?")


def _say_who(handle: IO[str]) -> None:
    """Write who holds the claim into its file; on a full disk the claim holds without it."""
    with contextlib.suppress(OSError):
        handle.seek(0)
        handle.truncate()
        handle.write(f"host {socket.gethostname()}, pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()


def holder(folder: str | Path) -> str | None:
    """Who holds `folder`'s claim now (its host, pid and start), or None when no live process does."""
    path = Path(folder) / CLAIM
    if fcntl is None or not path.is_file():
        return None
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
