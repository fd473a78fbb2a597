"""Tiny trained runs for the viz and predict tests, each trained in about a second."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from cnnlab.config import load_config
from cnnlab.train import train

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CORNER_SIZE, PATCH = 16, 4
CORNERS = ("bottom_left", "top_right")  # each other's transpose: a transposed heatmap would swap them


def train_digits_run(folder: Path, *extra: str) -> Path:
    """tme2 with widths 8/16/16 on the 8x8 digits (one channel, 10 classes, 359 test images)."""
    config = load_config(
        None,
        [
            "data.source=digits",
            f"data.root={folder.parent / 'data-root'}",
            "model.widths=[8,16,16]",
            "model.hidden=32",
            "train.epochs=8",
            "train.batch_size=32",
            "optim.lr=0.05",
            "train.threads=1",
            *extra,
        ],
    )
    train(config, folder)
    return folder


def corner_picture(corner: str, seed: int) -> np.ndarray:
    """A dim noise image (H, W, 3) with a bright square patch in `corner`."""
    image = np.random.default_rng(seed).integers(0, 120, (CORNER_SIZE, CORNER_SIZE, 3), dtype=np.uint8)
    rows = slice(0, PATCH) if corner.startswith("top") else slice(CORNER_SIZE - PATCH, CORNER_SIZE)
    cols = slice(0, PATCH) if corner.endswith("left") else slice(CORNER_SIZE - PATCH, CORNER_SIZE)
    image[rows, cols] = 255
    return image


def write_corner_folder(root: Path, train_count: int = 40, test_count: int = 10) -> Path:
    """An ImageFolder of 16x16 RGB images whose class is the corner of their bright patch."""
    seed = 0
    for split, count in (("train", train_count), ("test", test_count)):
        for corner in CORNERS:
            for i in range(count):
                path = root / split / corner / f"{i:03d}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(corner_picture(corner, seed)).save(path)
                seed += 1
    return root


def train_corner_run(folder: Path) -> Path:
    """tme2 with widths 8/8/8 trained on the corner images (it learns them perfectly in 8 epochs)."""
    data = write_corner_folder(folder.parent / "corners")
    config = load_config(
        None,
        [
            f"data.source={data}",
            f"data.root={folder.parent / 'data-root'}",
            "model.widths=[8,8,8]",
            "model.hidden=16",
            "train.epochs=8",
            "train.batch_size=16",
            "optim.lr=0.05",
            "train.threads=1",
        ],
    )
    train(config, folder)
    return folder


def save_png(path: Path, pixels: np.ndarray) -> Path:
    """Write (H, W) or (H, W, 3) uint8 pixels as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def digit_png(path: Path, index: int = 3, scale: int = 1) -> Path:
    """scikit-learn's digit image `index` as a gray PNG, `scale` times the 8x8 size."""
    from sklearn.datasets import load_digits

    pixels = (load_digits().images[index] * (255 / 16)).round().astype(np.uint8)
    image = Image.fromarray(pixels)
    if scale != 1:
        image = image.resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC
