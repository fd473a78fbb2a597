"""The hooks a model may offer the trainer, as protocols: a model has one by having the method.

- `init_from_data(images)`: set some weights from the training images before the first epoch (fastnet's
  whitening filters from the patch covariance). The trainer calls it once, with up to a few thousand
  normalised training images as evaluation sees them (N, C, H, W), and never on resume.
- `set_epoch(epoch)`: change behaviour with the epoch (fastnet trains its whitening bias for the first
  epochs only). The trainer calls it before each epoch's training pass, on resume too.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class InitFromData(Protocol):
    """A model that sets some of its weights from the training images before training."""

    def init_from_data(self, images: torch.Tensor) -> None: ...


@runtime_checkable
class EpochAware(Protocol):
    """A model whose training behaviour depends on the epoch."""

    def set_epoch(self, epoch: int) -> None: ...
