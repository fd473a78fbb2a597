"""numpy -> torch without copying, including the read-only arrays of the memory-mapped cache."""

from __future__ import annotations

import warnings

import numpy as np
import torch


def tensor_from_numpy(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing `array`'s memory. Callers only read it (they convert or copy before any write),
    so torch's warning about read-only arrays does not apply."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)
