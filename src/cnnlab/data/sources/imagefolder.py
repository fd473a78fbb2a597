"""Your own images: ROOT/train/<class>/* and optionally ROOT/test/<class>/*, decoded in parallel once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from cnnlab.data.cache import ArrayStore
from cnnlab.data.decode import (
    GRAY_MODES,
    ImageReadError,
    chunks,
    decode_into,
    image_files_in,
    read_headers,
    run_chunked,
)
from cnnlab.errors import UserError

from .base import Source

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})


def is_image_folder(path: Path) -> bool:
    """Whether `path` has the train/ folder of an ImageFolder tree."""
    return (path / "train").is_dir()


class ImageFolderSource(Source):
    """An ImageFolder tree; mixed sizes are resized to `image_size` or refused."""

    def __init__(self, name: str, root: Path, folder: Path, image_size: int | None = None, **options: object):
        super().__init__(name, root, **options)
        self.folder = folder.resolve()
        self.image_size = image_size
        self._scan: dict[str, list[tuple[Path, int]]] | None = None
        self._classes: list[str] = []
        self._skipped: list[Path] = []

    def location(self) -> str:
        return str(self.folder)

    def input_files(self) -> list[Path]:
        scan = self._scan_tree()
        return [path for split in scan.values() for path, _ in split]

    def _scan_tree(self) -> dict[str, list[tuple[Path, int]]]:
        if self._scan is not None:
            return self._scan
        train_dir = self.folder / "train"
        self._classes = _class_folders(train_dir)
        if not self._classes:
            raise UserError(f"'{train_dir}' has no class folders: put each class's images in {train_dir}/<class name>/")
        scan = {"train": self._scan_split(train_dir, self._classes)}
        test_dir = self.folder / "test"
        if test_dir.is_dir():
            test_classes = _class_folders(test_dir)
            unknown = sorted(set(test_classes) - set(self._classes))
            if unknown:
                raise UserError(
                    f"'{test_dir}' has class folders that train/ lacks: {', '.join(unknown)}; "
                    "train and test must use the same class names"
                )
            scan["test"] = self._scan_split(test_dir, test_classes)
        self._scan = scan
        return scan

    def _scan_split(self, split_dir: Path, classes: list[str]) -> list[tuple[Path, int]]:
        index = {name: i for i, name in enumerate(self._classes)}
        out: list[tuple[Path, int]] = []
        for name in classes:
            images, others = image_files_in(split_dir / name, EXTENSIONS)
            if not images:
                raise UserError(
                    f"class folder '{split_dir / name}' has no images (.png, .jpg, .jpeg, .bmp, .webp): "
                    "add images to it or remove it"
                )
            self._skipped.extend(others)
            out.extend((path, index[name]) for path in images)
        return out

    def decode(self, files: list[Path], store: ArrayStore) -> None:
        scan = self._scan_tree()
        paths = [str(p) for split in scan.values() for p, _ in split]
        try:
            headers = [h for part in run_chunked(read_headers, chunks(paths), len(paths)) for h in part]
        except ImageReadError as err:
            raise UserError(f"cannot read image '{err.path}' ({err.reason}): remove or replace the file") from None
        channels = 1 if all(mode in GRAY_MODES for _, _, mode in headers) else 3
        height, width = self._common_size(paths, headers)
        jobs = []
        for split, items in scan.items():
            target = store.allocate(f"{split}_x", (len(items), height, width, channels), np.uint8)
            store.put(f"{split}_y", np.array([label for _, label in items], dtype=np.int64))
            split_paths = [str(p) for p, _ in items]
            filename = str(getattr(target, "filename", ""))
            offset = 0
            for part in chunks(split_paths):
                jobs.append((part, filename, offset, channels, self.image_size))
                offset += len(part)
        try:
            run_chunked(decode_into, jobs, len(paths))
        except ImageReadError as err:
            raise UserError(f"cannot decode image '{err.path}' ({err.reason}): remove or replace the file") from None
        store.meta["classes"] = self._classes
        notes = []
        if self._skipped:
            kinds = Counter(p.suffix.lower() or p.name for p in self._skipped)
            shown = ", ".join(f"{n} {k}" for k, n in kinds.most_common(5))
            notes.append(f"ignored {len(self._skipped)} files that are not images ({shown})")
        if channels == 1:
            notes.append("every image is grayscale: kept one channel")
        if self.image_size is not None:
            notes.append(f"images resized to {self.image_size}x{self.image_size}")
        store.meta["notes"] = notes

    def _common_size(self, paths: list[str], headers: list[tuple[int, int, str]]) -> tuple[int, int]:
        if self.image_size is not None:
            return self.image_size, self.image_size
        first_w, first_h, _ = headers[0]
        for path, (w, h, _) in zip(paths, headers, strict=True):
            if (w, h) != (first_w, first_h):
                raise UserError(
                    f"images differ in size: '{paths[0]}' is {first_w}x{first_h} but '{path}' is {w}x{h}; "
                    f"set data.image_size (e.g. data.image_size={min(first_w, first_h)}) to resize them all"
                )
        return first_h, first_w


def _class_folders(split_dir: Path) -> list[str]:
    return sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
