"""What every data source provides: the files it reads (for the cache key) and a decoder."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal

from cnnlab.data.cache import ArrayStore


class Source(ABC):
    """A dataset on disk (or embedded) that decodes into train_x/train_y[/test_x/test_y] arrays.

    `decode` puts uint8 images (N, H, W, C) or float32 points (N, D) and int64 labels into the
    store, and sets `meta['classes']` (and optionally `meta['notes']`).
    """

    kind: ClassVar[Literal["images", "points"]] = "images"
    cacheable: ClassVar[bool] = True

    def __init__(self, name: str, root: Path, **options: Any) -> None:
        self.name = name
        self.root = root
        self.options = options

    @property
    def slug(self) -> str:
        """The cache entry's name prefix: readable, and distinct for distinct locations."""
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name) or "data"
        return f"{readable}-{hashlib.sha1(self.location().encode()).hexdigest()[:8]}"

    @abstractmethod
    def location(self) -> str:
        """Where the data lives, as shown to the user."""

    def input_files(self) -> list[Path]:
        """The files decoding reads, made present first (downloading where it can)."""
        return []

    @abstractmethod
    def decode(self, files: list[Path], store: ArrayStore) -> None:
        """Fill `store` from `files`."""
