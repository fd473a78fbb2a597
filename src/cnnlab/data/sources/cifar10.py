"""CIFAR-10 in its official format: the pickled `cifar-10-batches-py` folder, downloaded when absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cnnlab.data.cache import ArrayStore
from cnnlab.data.download import download, extract_tar
from cnnlab.data.safe_pickle import safe_load_file
from cnnlab.errors import UserError

from .base import Source

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META = "batches.meta"
ALL_FILES = [*TRAIN_BATCHES, TEST_BATCH, META]


def is_cifar_folder(path: Path) -> bool:
    """Whether `path` looks like an official cifar-10-batches-py folder."""
    return (path / TRAIN_BATCHES[0]).is_file() or (path / META).is_file()


class Cifar10Source(Source):
    """`data.source=cifar10` (folder under data.root, downloaded if missing) or a path to the folder."""

    def __init__(self, name: str, root: Path, folder: Path | None = None, **options: object) -> None:
        super().__init__(name, root, **options)
        self.folder = folder if folder is not None else root / FOLDER
        self.downloadable = folder is None

    def location(self) -> str:
        return str(self.folder)

    def input_files(self) -> list[Path]:
        if not self.folder.exists() and self.downloadable:
            self._download()
        missing = [f for f in ALL_FILES if not (self.folder / f).is_file()]
        if len(missing) == len(ALL_FILES):
            raise UserError(
                f"no CIFAR-10 batches in '{self.folder}': expected the official files "
                f"({', '.join(ALL_FILES)}) from {ARCHIVE}"
            )
        if missing:
            raise UserError(
                f"CIFAR-10 folder '{self.folder}' is incomplete: {', '.join(missing)} missing. Copy the missing "
                "files from the official archive, or delete the folder so that cnnlab downloads it again."
            )
        return [self.folder / f for f in ALL_FILES]

    def _download(self) -> None:
        archive = self.root / ARCHIVE
        download(
            ARCHIVE_URLS,
            archive,
            ARCHIVE_MD5,
            what="CIFAR-10",
            manual_hint=(
                f"Without internet, put the official '{FOLDER}' folder (unpacked from {ARCHIVE}, "
                f"https://www.cs.toronto.edu/~kriz/cifar.html) in '{self.root}', or the archive itself at "
                f"'{archive}', or set data.source to the folder's path."
            ),
        )
        extract_tar(archive, self.root)
        archive.unlink()

    def decode(self, files: list[Path], store: ArrayStore) -> None:
        by_name = {f.name: f for f in files}
        train = [self._read_batch(by_name[b]) for b in TRAIN_BATCHES]
        test_x, test_y = self._read_batch(by_name[TEST_BATCH])
        store.put("train_x", np.concatenate([x for x, _ in train]))
        store.put("train_y", np.concatenate([y for _, y in train]))
        store.put("test_x", test_x)
        store.put("test_y", test_y)
        meta = safe_load_file(by_name[META])
        names = meta.get(b"label_names") if isinstance(meta, dict) else None
        if not isinstance(names, list):
            raise UserError(f"'{by_name[META]}' has no label_names list: it is not an official CIFAR-10 meta file")
        store.meta["classes"] = [n.decode() if isinstance(n, bytes) else str(n) for n in names]

    @staticmethod
    def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
        batch = safe_load_file(path)
        data = batch.get(b"data") if isinstance(batch, dict) else None
        labels = batch.get(b"labels") if isinstance(batch, dict) else None
        if not isinstance(data, np.ndarray) or labels is None or data.ndim != 2 or data.shape[1] != 3072:
            raise UserError(f"'{path}' is not an official CIFAR-10 batch (expected 'data' of N x 3072 and 'labels')")
        if len(labels) != len(data):
            raise UserError(f"'{path}' has {len(data)} images but {len(labels)} labels")
        images = data.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)
