"""MNIST-style idx files: read as torchvision reads them, gzipped or not, found or downloaded."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torchvision

from cnnlab.data import load
from cnnlab.data.sources import idx
from cnnlab.data.sources.idx import read_idx
from cnnlab.errors import UserError
from tests.fakes import idx_bytes, write_idx_folder

FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def test_idx_files_read_like_torchvision(data_root: Path) -> None:
    raw = data_root / "MNIST" / "raw"  # torchvision's own layout, which cnnlab also finds
    arrays = write_idx_folder(raw, gz=False)
    ours = load("mnist")
    reference = torchvision.datasets.MNIST(str(data_root), train=True, download=False)
    reference_test = torchvision.datasets.MNIST(str(data_root), train=False, download=False)

    np.testing.assert_array_equal(ours.train.take()[..., 0], reference.data.numpy())
    np.testing.assert_array_equal(ours.train.y, reference.targets.numpy())
    np.testing.assert_array_equal(ours.test.take()[..., 0], reference_test.data.numpy())
    np.testing.assert_array_equal(ours.test.y, reference_test.targets.numpy())
    assert ours.train.x.shape == (20, 28, 28, 1) and ours.train.y.dtype == np.int64
    np.testing.assert_array_equal(ours.train.take()[..., 0], arrays["train-images-idx3-ubyte"])


def test_gzipped_and_plain_files_agree(tmp_path: Path) -> None:
    write_idx_folder(tmp_path / "gz", gz=True, seed=3)
    write_idx_folder(tmp_path / "plain", gz=False, seed=3)
    a, b = load(str(tmp_path / "gz")), load(str(tmp_path / "plain"))
    np.testing.assert_array_equal(a.train.take(), b.train.take())
    np.testing.assert_array_equal(a.test.y, b.test.y)


def test_idx_reader_rejects_bad_magic_and_truncation(tmp_path: Path) -> None:
    good = idx_bytes(np.zeros((2, 3, 3), np.uint8))
    (tmp_path / "bad").write_bytes(b"\x01\x02" + good[2:])
    (tmp_path / "short").write_bytes(good[:-1])
    (tmp_path / "ok.gz").write_bytes(gzip.compress(good))
    with pytest.raises(UserError, match="bad magic"):
        read_idx(tmp_path / "bad")
    with pytest.raises(UserError, match="truncated"):
        read_idx(tmp_path / "short")
    assert read_idx(tmp_path / "ok.gz").shape == (2, 3, 3)


def test_mnist_downloads_each_file_with_md5(http_server, monkeypatch, tmp_path: Path, data_root: Path) -> None:
    url, served = http_server
    arrays = write_idx_folder(served, gz=True)
    md5 = {p.name: __import__("hashlib").md5(p.read_bytes()).hexdigest() for p in served.iterdir()}
    spec = dict(idx.DATASETS["mnist"], mirrors=["http://127.0.0.1:9/", url], md5=md5)
    monkeypatch.setitem(idx.DATASETS, "mnist", spec)

    dataset = load("mnist")  # the first mirror is down; the second answers

    assert sorted(p.name for p in (data_root / "mnist").iterdir()) == sorted(md5)
    np.testing.assert_array_equal(dataset.test.y, arrays["t10k-labels-idx1-ubyte"])


def test_mnist_offline_says_where_to_put_the_files(monkeypatch, data_root: Path) -> None:
    spec = dict(idx.DATASETS["mnist"], mirrors=["http://127.0.0.1:9/"])
    monkeypatch.setitem(idx.DATASETS, "mnist", spec)
    with pytest.raises(UserError, match=r"could not download mnist .*put the four official idx files"):
        load("mnist")


def test_fashion_mnist_looks_in_debians_folder_first(monkeypatch, tmp_path: Path) -> None:
    system = tmp_path / "usr-share-fashion"
    write_idx_folder(system, seed=7)
    spec = dict(idx.DATASETS["fashion-mnist"], system_dirs=[str(system)], mirrors=["http://127.0.0.1:9/"])
    monkeypatch.setitem(idx.DATASETS, "fashion-mnist", spec)
    dataset = load("fashion-mnist")
    assert dataset.location == str(system)
    assert dataset.classes[0] == "T-shirt/top" and len(dataset.classes) == 10


@pytest.mark.real_data
@pytest.mark.skipif(not FASHION_DEBIAN.is_dir(), reason="apt-get install -y dataset-fashion-mnist")
def test_real_fashion_mnist_from_debian() -> None:
    dataset = load("fashion-mnist")
    assert dataset.train.x.shape == (60000, 28, 28, 1) and dataset.test.x.shape == (10000, 28, 28, 1)
    assert dataset.train.class_counts(10) == [6000] * 10
    assert dataset.test.class_counts(10) == [1000] * 10
