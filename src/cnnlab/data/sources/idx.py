"""MNIST and Fashion-MNIST from their four official idx files (gzipped or not), downloaded when absent."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TypedDict

import numpy as np

from cnnlab.data.cache import ArrayStore
from cnnlab.data.download import download
from cnnlab.errors import UserError

from .base import Source

FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


class IdxDataset(TypedDict):
    """A named idx dataset: its mirrors, its files' MD5s, its class names and the folders it may already be in."""

    mirrors: list[str]
    md5: dict[str, str]
    classes: list[str]
    system_dirs: list[str]
    torchvision_dir: str


DATASETS: dict[str, IdxDataset] = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        "md5": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        "classes": [str(d) for d in range(10)],
        "system_dirs": [],
        "torchvision_dir": "MNIST",
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "md5": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        "classes": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
        "system_dirs": ["/usr/share/datasets/fashion-mnist"],  # Debian's dataset-fashion-mnist
        "torchvision_dir": "FashionMNIST",
    },
}

_DTYPES: dict[int, type[np.generic] | str] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def find_idx_file(folder: Path, stem: str) -> Path | None:
    """`folder/stem` or `folder/stem.gz`, whichever exists."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def is_idx_folder(path: Path) -> bool:
    """Whether `path` holds the four idx files."""
    return all(find_idx_file(path, stem) for stem in FILES.values())


def read_idx(path: Path) -> np.ndarray:
    """An idx file (optionally gzipped) as a numpy array of its declared type and shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise UserError(f"cannot read idx file '{path}' ({err}); delete it and download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise UserError(f"'{path}' is not an idx file (bad magic number); delete it and download it again")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(f"'{path}' is truncated: its header promises {dims} but the data does not match")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


class IdxSource(Source):
    """`mnist` / `fashion-mnist` by name (found or downloaded), or a folder of idx files by path."""

    def __init__(self, name: str, root: Path, folder: Path | None = None, **options: object) -> None:
        super().__init__(name, root, **options)
        self.spec = DATASETS.get(name)
        self.explicit = folder
        self.folder = folder if folder is not None else self._find_folder()

    def _candidates(self) -> list[Path]:
        assert self.spec is not None
        return [Path(d) for d in self.spec["system_dirs"]] + [
            self.root / self.name,
            self.root / self.spec["torchvision_dir"] / "raw",
        ]

    def _find_folder(self) -> Path:
        for folder in self._candidates():
            if is_idx_folder(folder):
                return folder
        return self.root / self.name

    def location(self) -> str:
        return str(self.folder)

    def input_files(self) -> list[Path]:
        if self.explicit is None and not is_idx_folder(self.folder):
            self._download()
        files = [find_idx_file(self.folder, stem) for stem in FILES.values()]
        missing = [stem for stem, f in zip(FILES.values(), files, strict=True) if f is None]
        if missing:
            raise UserError(f"idx folder '{self.folder}' lacks {', '.join(missing)} (or the same with .gz)")
        return [f for f in files if f is not None]

    def _download(self) -> None:
        assert self.spec is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        for filename, md5 in self.spec["md5"].items():
            if find_idx_file(self.folder, filename.removesuffix(".gz")):
                continue
            download(
                [m + filename for m in self.spec["mirrors"]],
                self.folder / filename,
                md5,
                what=f"{self.name} ({filename})",
                manual_hint=self._manual_hint(),
            )

    def _manual_hint(self) -> str:
        """What to do without internet: the four files by name, and the folder they go in."""
        assert self.spec is not None
        return (
            f"Without internet, put the four official idx files ({', '.join(self.spec['md5'])}; gzipped or "
            f"not) in '{self.folder}', the '{self.name}' folder of the data root (set the data root with "
            f"$CNNLAB_DATA, or data.root in a config), or point a config's data.source at the folder that "
            "holds them."
        )

    def decode(self, files: list[Path], store: ArrayStore) -> None:
        arrays = {key: read_idx(path) for key, path in zip(FILES, files, strict=True)}
        for split in ("train", "test"):
            x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise UserError(f"idx files in '{self.folder}' disagree: {split} images {x.shape} and labels {y.shape}")
            store.put(f"{split}_x", np.ascontiguousarray(x.astype(np.uint8, copy=False)[..., None]))
            store.put(f"{split}_y", y.astype(np.int64))
        num_classes = int(max(arrays["train_y"].max(), arrays["test_y"].max())) + 1
        classes = self.spec["classes"] if self.spec else [str(c) for c in range(num_classes)]
        store.meta["classes"] = list(classes)
