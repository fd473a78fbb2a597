"""`load(source)`: a source's decoded arrays, from the cache when its files have not changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from cnnlab.config import DataConfig
from cnnlab.errors import UserError

from .cache import ArrayStore, CacheEntryWriter, default_root, file_fingerprint, prune_stale, read_entry
from .sources import Source, resolve_source
from .split import carve_test, split
from .types import Dataset, Samples, Splits


def load(
    source: str,
    root: str | Path | None = None,
    image_size: int | None = None,
    test_fraction: float = 0.2,
    split_seed: int = 0,
) -> Dataset:
    """The dataset behind `source` (a name or a folder), decoded once and cached under `root`.

    Without an official test set, a seeded stratified `test_fraction` of train becomes the test set.
    """
    root_dir = Path(root).expanduser() if root else default_root()
    src = resolve_source(source, root_dir, image_size=image_size, seed=split_seed)
    cache_dir: Path | None = None
    if src.cacheable:
        arrays, meta, cache_dir = _load_cached(src, root_dir)
    else:
        store = ArrayStore()
        src.decode([], store)
        arrays, meta = store.arrays, store.meta
    if image_size is not None and src.kind == "images":
        arrays, meta = _resized(arrays, meta, image_size)
    return _assemble(src, arrays, meta, cache_dir, test_fraction, split_seed)


RESIZE_CHUNK = 4096


def _resized(arrays: dict[str, np.ndarray], meta: dict, size: int) -> tuple[dict[str, np.ndarray], dict]:
    """The images at `size` x `size` (antialiased bilinear), for sources whose files hold another size.

    A folder of images is resized as it is decoded; the fixed-size formats (CIFAR-10, idx, digits) are
    resized here, after the cache, so the cache keeps the originals.
    """
    height, width = arrays["train_x"].shape[1:3]
    if (height, width) == (size, size):
        return arrays, meta
    import torch
    import torch.nn.functional as F

    out = dict(arrays)
    for key in ("train_x", "test_x"):
        if key not in arrays:
            continue
        images = arrays[key]
        resized = np.empty((len(images), size, size, images.shape[3]), dtype=np.uint8)
        for start in range(0, len(images), RESIZE_CHUNK):  # a chunk at a time: float copies of all would be GBs
            x = torch.from_numpy(np.ascontiguousarray(images[start : start + RESIZE_CHUNK])).permute(0, 3, 1, 2)
            y = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            resized[start : start + len(x)] = y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        out[key] = resized
    notes = [*meta.get("notes", []), f"images resized from {height}x{width} to {size}x{size} (data.image_size)"]
    return out, {**meta, "notes": notes}


def load_splits(data: DataConfig) -> Splits:
    """The train / val / test splits a run's data config describes: its source loaded (from the cache),
    the validation split carved and the training subset taken, exactly as when the run trained.

    The one way they are built, by the trainer and by everything that rebuilds a run's splits later.
    """
    dataset = load(
        data.source,
        root=data.root,
        image_size=data.image_size,
        test_fraction=data.test_fraction,
        split_seed=data.split_seed,
    )
    return split(dataset, data.val_fraction, data.split_seed, data.train_size)


def cache_root(root: Path) -> Path:
    """The folder holding the decoded cache entries."""
    return root / "cache"


def _load_cached(src: Source, root: Path) -> tuple[dict[str, np.ndarray], dict, Path]:
    files = src.input_files()
    key = file_fingerprint(files, {"kind": type(src).__name__, **src.options, "size": getattr(src, "image_size", None)})
    entry = cache_root(root) / f"{src.slug}-{key}"
    found = read_entry(entry)
    if found is None:
        if entry.exists():  # a damaged entry: decode again
            shutil.rmtree(entry, ignore_errors=True)
        try:
            writer = CacheEntryWriter(entry)
        except OSError as err:
            raise UserError(
                f"cannot write the decoded cache in '{entry.parent}' ({err.strerror}): "
                "set data.root to a writable folder"
            ) from None
        try:
            src.decode(files, writer)
            writer.commit()
        except BaseException:
            writer.discard()
            raise
        prune_stale(entry.parent, src.slug, keep=entry)
        found = read_entry(entry)
        if found is None:  # pragma: no cover - the file system lost what we just wrote
            raise UserError(f"the decoded cache at '{entry}' could not be read back; check the disk")
    arrays, meta = found
    return arrays, meta, entry


def _assemble(
    src: Source,
    arrays: dict[str, np.ndarray],
    meta: dict,
    cache_dir: Path | None,
    test_fraction: float,
    split_seed: int,
) -> Dataset:
    classes = tuple(meta["classes"])
    notes = list(meta.get("notes", []))
    train = Samples(arrays["train_x"], np.asarray(arrays["train_y"], dtype=np.int64))
    if "test_x" in arrays:
        test = Samples(arrays["test_x"], np.asarray(arrays["test_y"], dtype=np.int64))
        official = True
    else:
        train, test = carve_test(train, test_fraction, split_seed)
        official = False
        notes.append(
            f"no separate test set: {len(test)} examples ({test_fraction:.0%} of each class, "
            f"seed {split_seed}) were set aside as the test split"
        )
    return Dataset(
        name=src.name,
        kind=src.kind,
        classes=classes,
        train=train,
        test=test,
        location=src.location(),
        test_is_official=official,
        cache_dir=cache_dir,
        notes=tuple(notes),
    )
