"""Data sources by name or path: CIFAR-10, MNIST, Fashion-MNIST, ImageFolder trees, embedded sets."""

from __future__ import annotations

from pathlib import Path

from cnnlab.errors import UserError, did_you_mean

from .base import Source
from .cifar10 import FOLDER as CIFAR_FOLDER
from .cifar10 import Cifar10Source, is_cifar_folder
from .embedded import DigitsSource, ToyPointsSource
from .idx import IdxSource, is_idx_folder
from .imagefolder import ImageFolderSource, is_image_folder

NAMED_SOURCES: dict[str, type[Source]] = {
    "cifar10": Cifar10Source,
    "mnist": IdxSource,
    "fashion-mnist": IdxSource,
    "digits": DigitsSource,
    "circles": ToyPointsSource,
    "moons": ToyPointsSource,
}

LAYOUTS = (
    "an ImageFolder tree (ROOT/train/<class>/*.png|jpg, optionally ROOT/test/<class>/*), "
    "a 'cifar-10-batches-py' folder, or a folder of the four MNIST-style idx files"
)


def resolve_source(source: str, root: Path, image_size: int | None = None, seed: int = 0) -> Source:
    """The Source for a name (`cifar10`, `digits`, ...) or a folder path."""
    key = source.strip().lower()
    if key in NAMED_SOURCES:
        return NAMED_SOURCES[key](key, root, image_size=image_size, seed=seed)
    path = Path(source).expanduser()
    if not path.exists():
        raise UserError(
            f"data.source '{source}' is neither a known dataset ({', '.join(NAMED_SOURCES)})"
            f"{did_you_mean(key, NAMED_SOURCES)} nor an existing folder"
        )
    if not path.is_dir():
        raise UserError(f"data.source '{source}' is a file; give a folder: {LAYOUTS}")
    name = path.resolve().name
    if is_image_folder(path):
        return ImageFolderSource(name, root, folder=path, image_size=image_size)
    if is_cifar_folder(path):
        return Cifar10Source("cifar10", root, folder=path)
    if is_cifar_folder(path / CIFAR_FOLDER):
        return Cifar10Source("cifar10", root, folder=path / CIFAR_FOLDER)
    if is_idx_folder(path):
        return IdxSource(name, root, folder=path)
    raise UserError(f"data.source '{source}' does not look like a dataset folder: expected {LAYOUTS}")


__all__ = ["NAMED_SOURCES", "Source", "resolve_source"]
