"""CIFAR-10 in the official format: read like torchvision reads it, safely, and downloaded when absent."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torchvision

from cnnlab.data import load
from cnnlab.data.safe_pickle import safe_loads
from cnnlab.data.sources import cifar10
from cnnlab.errors import UserError
from tests.fakes import CIFAR_CLASSES, py2_pickle, tar_gz, write_cifar10_folder


def _torchvision_reader(root: Path, train: bool) -> torchvision.datasets.CIFAR10:
    """torchvision's CIFAR10 with its integrity list pointed at the files we wrote (their MD5s)."""
    folder = root / "cifar-10-batches-py"
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    class TinyCIFAR10(torchvision.datasets.CIFAR10):
        train_list = [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)]
        test_list = [["test_batch", md5["test_batch"]]]
        meta = {"filename": "batches.meta", "key": "label_names", "md5": md5["batches.meta"]}

    return TinyCIFAR10(str(root), train=train, download=False)


def test_python2_pickles_read_like_torchvision(tmp_path: Path) -> None:
    folder, images, _labels = write_cifar10_folder(tmp_path / "raw")
    dataset = load(str(folder))
    reference_train = _torchvision_reader(tmp_path / "raw", train=True)
    reference_test = _torchvision_reader(tmp_path / "raw", train=False)

    assert dataset.train.x.dtype == np.uint8 and dataset.train.x.shape == (30, 32, 32, 3)
    np.testing.assert_array_equal(dataset.train.take(), reference_train.data)
    np.testing.assert_array_equal(dataset.train.y, reference_train.targets)
    np.testing.assert_array_equal(dataset.test.take(), reference_test.data)
    np.testing.assert_array_equal(dataset.test.y, reference_test.targets)
    assert list(dataset.classes) == reference_train.classes == CIFAR_CLASSES
    assert dataset.train.y.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([dataset.train.take(), dataset.test.take()]), images)
    assert dataset.test_is_official


def test_the_pickle_writer_really_writes_python2_opcodes() -> None:
    data = py2_pickle({b"labels": [1, 2], b"data": np.zeros((2, 3), np.uint8)})
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in data
    assert data[:2] == b"\x80\x02"
    restored = safe_loads(data)
    assert restored[b"labels"] == [1, 2]
    assert restored[b"data"].shape == (2, 3)


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def test_malicious_pickle_is_refused_without_running(tmp_path: Path, data_root: Path) -> None:
    folder, _, _ = write_cifar10_folder(tmp_path / "raw")
    marker = tmp_path / "code-ran"
    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": _Evil(marker)}, protocol=4))

    with pytest.raises(UserError, match=r"refusing to read .*data_batch_3.*builtins.exec"):
        load(str(folder))
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        safe_loads(pickle.dumps(_Evil(marker)))
    assert not marker.exists()
    cache = data_root / "cache"
    assert not cache.exists() or not any(p for p in cache.iterdir() if not p.name.startswith("."))


def test_other_callables_are_refused_too() -> None:
    sneaky = pickle.dumps(__import__("collections").OrderedDict(a=1), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="OrderedDict"):
        safe_loads(sneaky)


def test_incomplete_folder_names_the_missing_files(tmp_path: Path) -> None:
    folder, _, _ = write_cifar10_folder(tmp_path / "raw")
    (folder / "test_batch").unlink()
    with pytest.raises(UserError, match="incomplete: test_batch missing"):
        load(str(folder))


def test_a_parent_folder_of_the_batches_is_accepted(tmp_path: Path) -> None:
    write_cifar10_folder(tmp_path / "raw")
    assert len(load(str(tmp_path / "raw")).test) == 8


def test_download_verifies_md5_and_unpacks(tmp_path: Path, http_server, monkeypatch, data_root: Path) -> None:
    url, served = http_server
    folder, images, _ = write_cifar10_folder(tmp_path / "official")
    md5 = tar_gz(folder, served / "cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar10, "ARCHIVE_URLS", [url + "cifar-10-python.tar.gz"])
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", md5)

    dataset = load("cifar10")

    assert (data_root / "cifar-10-batches-py" / "data_batch_1").is_file()
    assert not (data_root / "cifar-10-python.tar.gz").exists()  # unpacked, then removed
    np.testing.assert_array_equal(dataset.train.take(), images[:30])


def test_damaged_download_is_refused_and_not_kept(tmp_path: Path, http_server, monkeypatch, data_root) -> None:
    url, served = http_server
    folder, _, _ = write_cifar10_folder(tmp_path / "official")
    tar_gz(folder, served / "cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar10, "ARCHIVE_URLS", [url + "cifar-10-python.tar.gz"])
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", "0" * 32)

    with pytest.raises(UserError, match="MD5 mismatch"):
        load("cifar10")
    assert not any(data_root.glob("*.tar.gz*")) and not (data_root / "cifar-10-batches-py").exists()


def test_offline_says_where_to_put_the_folder(monkeypatch, data_root: Path) -> None:
    monkeypatch.setattr(cifar10, "ARCHIVE_URLS", ["http://127.0.0.1:9/cifar-10-python.tar.gz"])
    with pytest.raises(UserError) as err:
        load("cifar10")
    message = str(err.value)
    assert "could not download CIFAR-10" in message
    assert "put the official 'cifar-10-batches-py' folder" in message and str(data_root) in message


def test_a_local_archive_in_root_is_used_without_network(tmp_path: Path, monkeypatch, data_root: Path) -> None:
    folder, _, _ = write_cifar10_folder(tmp_path / "official")
    data_root.mkdir(parents=True)
    md5 = tar_gz(folder, data_root / "cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar10, "ARCHIVE_URLS", ["http://127.0.0.1:9/unreachable"])
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", md5)
    assert len(load("cifar10").train) == 30
