"""Small datasets in the official on-disk formats, written by the tests themselves."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# -- CIFAR-10, pickled the way Python 2's cPickle (protocol 2) wrote the official batches ---------


def _py2_str(data: bytes) -> bytes:
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data  # SHORT_BINSTRING
    return b"T" + struct.pack("<i", len(data)) + data  # BINSTRING


def _py2_int(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])  # BININT1
    return b"J" + struct.pack("<i", value)  # BININT


def _py2_value(value: object) -> bytes:
    if isinstance(value, bytes):
        return _py2_str(value)
    if isinstance(value, bool):
        return b"\x88" if value else b"\x89"
    if isinstance(value, int):
        return _py2_int(value)
    if isinstance(value, list):
        return b"](" + b"".join(_py2_value(v) for v in value) + b"e"  # EMPTY_LIST MARK ... APPENDS
    if isinstance(value, dict):
        items = b"".join(_py2_value(k) + _py2_value(v) for k, v in value.items())
        return b"}(" + items + b"u"  # EMPTY_DICT MARK ... SETITEMS
    if isinstance(value, np.ndarray):
        return _py2_ndarray(value)
    raise TypeError(type(value))


def _py2_ndarray(array: np.ndarray) -> bytes:
    """numpy's __reduce__ as Python 2 pickled it: _reconstruct(ndarray, (0,), 'b') then BUILD state."""
    assert array.dtype == np.uint8
    head = b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + _py2_int(0) + b"\x85" + _py2_str(b"b")
    head += b"\x87R"  # TUPLE3 REDUCE
    shape = b"(" + b"".join(_py2_int(d) for d in array.shape) + b"t"
    dtype = b"cnumpy\ndtype\n" + _py2_str(b"u1") + _py2_int(0) + _py2_int(1) + b"\x87R"
    dtype += b"(" + _py2_int(3) + _py2_str(b"|") + b"NNN" + _py2_int(-1) + _py2_int(-1) + _py2_int(0) + b"tb"
    state = b"(" + _py2_int(1) + shape + dtype + b"\x89" + _py2_str(array.tobytes()) + b"tb"
    return head + state


def py2_pickle(obj: object) -> bytes:
    """`obj` pickled in the protocol-2 byte stream Python 2 wrote (str keys as byte strings)."""
    return b"\x80\x02" + _py2_value(obj) + b"."


def write_cifar10_folder(
    root: Path, per_batch: int = 6, test_count: int = 8, seed: int = 0
) -> tuple[Path, np.ndarray, np.ndarray]:
    """A tiny official-format `cifar-10-batches-py` folder; returns it and all images/labels (train then test)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    images, labels = [], []
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = test_count if name == "test_batch" else per_batch
        x = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, size=n)]
        batch = {
            b"batch_label": name.encode(),
            b"labels": y,
            b"data": x.reshape(n, 3072),
            b"filenames": [f"img_{name}_{i}.png".encode() for i in range(n)],
        }
        (folder / name).write_bytes(py2_pickle(batch))
        images.append(x.transpose(0, 2, 3, 1))
        labels.extend(y)
    meta = {b"num_cases_per_batch": per_batch, b"label_names": [c.encode() for c in CIFAR_CLASSES], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(py2_pickle(meta))
    return folder, np.concatenate(images), np.array(labels)


def tar_gz(folder: Path, archive: Path) -> str:
    """Pack `folder` into a .tar.gz (its name as the top entry); returns the archive's MD5."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return hashlib.md5(archive.read_bytes()).hexdigest()


# -- idx files (MNIST / Fashion-MNIST) ------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte idx file: magic 0x0000080N, big-endian dims, then the data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, train: int = 20, test: int = 10, gz: bool = True, seed: int = 0) -> dict:
    """The four idx files of an MNIST-style dataset; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


def write_bar_idx_folder(folder: Path, train: int = 60, test: int = 30, seed: int = 0) -> dict:
    """A tiny MNIST in the four official gzipped idx files that a perceptron can learn: an image of class c
    is dim noise with a bright bar across rows 2c + 4 and 2c + 5. Returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, count in (("train", train), ("t10k", test)):
        labels = np.arange(count, dtype=np.uint8) % 10
        images = rng.integers(0, 60, (count, 28, 28), dtype=np.uint8)
        for image, label in zip(images, labels, strict=True):
            image[2 * label + 4 : 2 * label + 6, 4:24] = 255
        arrays[f"{prefix}-images-idx3-ubyte"], arrays[f"{prefix}-labels-idx1-ubyte"] = images, labels
    for name, array in arrays.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(array)))
    return arrays


# -- image folders --------------------------------------------------------------------------------


def save_image(path: Path, array: np.ndarray, fmt: str | None = None) -> None:
    """Save an (H, W) or (H, W, 3) uint8 array as an image file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


def write_image_folder(
    root: Path, classes: dict[str, int], size: int = 8, split: str = "train", seed: int = 0, gray: bool = False
) -> None:
    """root/split/<class>/<i>.png with random images."""
    rng = np.random.default_rng(seed)
    for name, count in classes.items():
        for i in range(count):
            shape = (size, size) if gray else (size, size, 3)
            save_image(root / split / name / f"{i:04d}.png", rng.integers(0, 256, shape, dtype=np.uint8))


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def stop_at_epoch(epoch: int):
    """A callback (a function of each epoch's metrics row) that interrupts training, as Ctrl-C would, after `epoch`."""

    def stop(row: dict) -> None:
        if row["epoch"] == epoch:
            raise KeyboardInterrupt

    return stop


def without_seconds(rows: list[dict]) -> list[dict]:
    """History rows without their timings, to compare two runs of the same config."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]
