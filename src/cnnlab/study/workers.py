"""A study's worker processes die with the study, and start no run once it is stopped.

`cnnlab study --workers N` trains in a process pool. Killing only the study's own process (kill -9, a
crashed terminal) would otherwise leave its workers training to the end, each holding its memory (about
850 MB for tme2 on CIFAR-10) and racing a rerun of the study. Each worker asks the kernel to kill it when
its parent dies (Linux: prctl PR_SET_PDEATHSIG), and watches its parent itself where that is not
available; its run folder stays consistent (every write is atomic) and resumes with the next run of the study.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 1.0
_stopped: Any = None  # the study's stop event, in a worker process
_interrupted = False  # whether Ctrl-C reached this worker


def start_worker(parent: int, stopped: Any) -> None:
    """Pool initializer: die with `parent`, and keep `stopped` (an Event the study sets on Ctrl-C). The pool
    hands a worker runs queued before the stop, which `stopping()` then tells it to leave untrained."""
    global _stopped
    _stopped = stopped
    signal.signal(signal.SIGINT, _on_ctrl_c)
    die_with_parent(parent)


def _on_ctrl_c(signum: int, frame: Any) -> None:
    """Ctrl-C reaches the study and its workers together. A worker that was training ends its run at once
    and may be handed the next queued run before the study, busier, has set its stop event: remembering
    the signal here, it leaves that run untrained too."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def stopping() -> bool:
    """Whether the study this worker serves was stopped (never in the study's own process)."""
    return _interrupted or (_stopped is not None and _stopped.is_set())


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker as soon as `parent` (the study's process) ends, however it ends."""
    _kill_me_with_parent()
    if os.getppid() != parent:  # the parent died before the kernel was asked
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="cnnlab-parent-watch", daemon=True).start()


def _kill_me_with_parent() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that cannot be asked."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    return False


def _watch(parent: int) -> None:
    """The fallback: once this process is no longer `parent`'s child (it was re-parented), end it."""
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)
