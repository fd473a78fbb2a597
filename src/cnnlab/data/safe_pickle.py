"""A restricted unpickler for the official CIFAR-10 batches: plain data and numpy arrays, nothing else.

Python's pickle runs any callable a file names. The official files, written by Python 2, need only
numpy's array and dtype reconstruction; everything else is refused before it can run.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.errors import UserError

try:  # numpy >= 2 keeps the implementation in numpy._core; numpy.core is a deprecated alias
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RefusedPickle(pickle.UnpicklingError):
    """The file names a callable outside the allowed numpy reconstruction."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedPickle(f"{module}.{name}") from None


def safe_loads(data: bytes) -> Any:
    """Unpickle `data` admitting only numpy arrays and plain Python data (keys stay bytes)."""
    return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def safe_load_file(path: Path) -> Any:
    """Unpickle the file at `path` safely; a refused or broken file is a UserError naming it."""
    try:
        return safe_loads(path.read_bytes())
    except RefusedPickle as err:
        raise UserError(
            f"refusing to read '{path}': it asks to run '{err}', which the official CIFAR-10 files never do "
            "(they hold only arrays, lists and strings). Delete the file and let cnnlab download the "
            "official archive, or replace it with a trusted copy."
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise UserError(
            f"'{path}' is not a readable CIFAR-10 batch ({err}); delete it and download the archive again"
        ) from None
