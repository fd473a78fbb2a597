"""Folders of your own images: oddities handled, errors named, pixels as torchvision's loader reads them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torchvision

from cnnlab.data import decode, load
from cnnlab.errors import UserError
from tests.fakes import save_image, write_image_folder

SHARED_CIFAR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cifar10-jpeg"


def _rgb(seed: int, size: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _odd_folder(root: Path) -> None:
    """Two classes with a grayscale file, upper-case extensions, BMP/WebP/JPEG and a junk file."""
    save_image(root / "train" / "cat" / "a.png", _rgb(1))
    save_image(root / "train" / "cat" / "B.PNG", _rgb(2))
    save_image(root / "train" / "cat" / "c.bmp", _rgb(3))
    save_image(root / "train" / "dog" / "d.Jpeg", _rgb(4), fmt="JPEG")
    save_image(root / "train" / "dog" / "e.webp", _rgb(5), fmt="WEBP")
    save_image(root / "train" / "dog" / "gray.png", np.full((8, 8), 77, np.uint8))
    (root / "train" / "dog" / "notes.txt").write_text("not an image")
    (root / "train" / "dog" / ".DS_Store").write_bytes(b"junk")
    save_image(root / "test" / "cat" / "t1.png", _rgb(6))
    save_image(root / "test" / "dog" / "t2.png", _rgb(7))


def test_oddities_match_torchvision_imagefolder(tmp_path: Path) -> None:
    _odd_folder(tmp_path)
    dataset = load(str(tmp_path))
    reference = torchvision.datasets.ImageFolder(str(tmp_path / "train"))

    assert dataset.classes == ("cat", "dog") and list(dataset.classes) == reference.classes
    assert dataset.train.x.shape == (6, 8, 8, 3)
    expected = np.stack([np.asarray(reference.loader(path)) for path, _ in reference.samples])
    np.testing.assert_array_equal(dataset.train.take(), expected)
    np.testing.assert_array_equal(dataset.train.y, [label for _, label in reference.samples])
    gray = dataset.train.take()[5]
    assert (gray == 77).all()  # grayscale converted to RGB with equal channels
    assert any("ignored 1 files that are not images" in note and ".txt" in note for note in dataset.notes)
    assert len(dataset.test) == 2 and dataset.test_is_official


def test_all_grayscale_folder_keeps_one_channel(tmp_path: Path) -> None:
    write_image_folder(tmp_path, {"a": 3, "b": 4}, gray=True)
    dataset = load(str(tmp_path))
    assert dataset.channels == 1 and dataset.train.x.shape[1:] == (8, 8, 1)


def test_without_test_folder_a_stratified_test_split_is_carved_and_said(tmp_path: Path) -> None:
    write_image_folder(tmp_path, {"a": 10, "b": 20})
    dataset = load(str(tmp_path), test_fraction=0.2, split_seed=4)
    assert not dataset.test_is_official
    assert dataset.test.class_counts(2) == [2, 4] and dataset.train.class_counts(2) == [8, 16]
    assert any("set aside as the test split" in note for note in dataset.notes)
    again = load(str(tmp_path), test_fraction=0.2, split_seed=4)
    np.testing.assert_array_equal(dataset.test.take(), again.test.take())


def test_corrupt_image_is_named_and_nothing_is_cached(tmp_path: Path, data_root: Path) -> None:
    write_image_folder(tmp_path, {"a": 3, "b": 3})
    bad = tmp_path / "train" / "b" / "0001.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated: the header survives, the pixels do not
    with pytest.raises(UserError, match=r"cannot (read|decode) image '.*0001\.png'"):
        load(str(tmp_path))
    (tmp_path / "train" / "a" / "0000.png").write_bytes(b"not a png at all")
    with pytest.raises(UserError, match=r"cannot read image '.*0000\.png'"):
        load(str(tmp_path))
    assert [p for p in (data_root / "cache").iterdir()] == []


def test_empty_class_folder_is_named(tmp_path: Path) -> None:
    write_image_folder(tmp_path, {"a": 2})
    (tmp_path / "train" / "empty").mkdir()
    (tmp_path / "train" / "empty" / "readme.txt").write_text("x")
    with pytest.raises(UserError, match=r"class folder '.*train/empty' has no images"):
        load(str(tmp_path))


def test_mixed_sizes_are_refused_naming_two_files_or_resized(tmp_path: Path) -> None:
    save_image(tmp_path / "train" / "a" / "small.png", _rgb(1, size=8))
    save_image(tmp_path / "train" / "a" / "large.png", _rgb(2, size=12))
    with pytest.raises(UserError, match=r"'.*large\.png' is 12x12 but '.*small\.png' is 8x8"):
        load(str(tmp_path))
    resized = load(str(tmp_path), image_size=6)
    assert resized.train.x.shape[1:] == (6, 6, 3)
    assert any("resized to 6x6" in note for note in resized.notes)


def test_test_classes_must_exist_in_train(tmp_path: Path) -> None:
    write_image_folder(tmp_path, {"a": 2})
    write_image_folder(tmp_path, {"zebra": 1}, split="test")
    with pytest.raises(UserError, match="zebra"):
        load(str(tmp_path))


def test_no_class_folders_and_unknown_layouts_explain_the_layout(tmp_path: Path) -> None:
    (tmp_path / "flat" / "train").mkdir(parents=True)
    with pytest.raises(UserError, match=r"put each class's images in"):
        load(str(tmp_path / "flat"))
    (tmp_path / "other").mkdir()
    with pytest.raises(UserError, match="ImageFolder tree"):
        load(str(tmp_path / "other"))


def test_parallel_decode_equals_serial(tmp_path: Path, monkeypatch) -> None:
    write_image_folder(tmp_path / "data", {"a": 30, "b": 25}, size=6)
    serial = load(str(tmp_path / "data"), root=tmp_path / "r1")
    monkeypatch.setattr(decode, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(decode, "CHUNK_FILES", 7)
    calls = []
    real_run = decode.run_chunked
    monkeypatch.setattr(
        "cnnlab.data.sources.imagefolder.run_chunked",
        lambda f, jobs, n: calls.append(len(jobs)) or real_run(f, jobs, n),
    )
    parallel = load(str(tmp_path / "data"), root=tmp_path / "r2")
    np.testing.assert_array_equal(serial.train.take(), parallel.train.take())
    np.testing.assert_array_equal(serial.test.y, parallel.test.y)
    assert calls == [8, 8]  # 55 files in chunks of 7: headers, then pixels, over a process pool


def test_cache_is_reused_renewed_on_change_and_repaired(tmp_path: Path, data_root: Path) -> None:
    write_image_folder(tmp_path, {"a": 3, "b": 3})
    first = load(str(tmp_path))
    assert isinstance(first.train.x, np.memmap)  # read back from the cache entry
    entry = first.cache_dir
    assert entry is not None and (entry / "meta.json").is_file()
    assert load(str(tmp_path)).cache_dir == entry

    changed = tmp_path / "train" / "a" / "0000.png"
    save_image(changed, np.zeros((8, 8, 3), np.uint8))
    os.utime(changed, ns=(1, 1))
    renewed = load(str(tmp_path))
    assert renewed.cache_dir != entry and not entry.exists()  # the stale entry is pruned
    assert (renewed.train.take()[renewed.train.y == 0] == 0).all(axis=(1, 2, 3)).any()

    (renewed.cache_dir / "meta.json").unlink()  # damaged entry: decoded again
    assert load(str(tmp_path)).cache_dir == renewed.cache_dir


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED_CIFAR.is_dir(), reason="the CIFAR-10 JPEG copy is not beside the project")
def test_real_cifar10_jpeg_copy() -> None:
    dataset = load(str(SHARED_CIFAR))
    assert dataset.train.x.shape == (50000, 32, 32, 3) and dataset.test.x.shape == (10000, 32, 32, 3)
    assert dataset.classes[0] == "airplane" and dataset.classes[9] == "truck"
    assert dataset.train.class_counts(10) == [5000] * 10
