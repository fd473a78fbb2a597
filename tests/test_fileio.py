"""Writes that fail leave the old file and name the path; JSON records read back name their damage."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch

from cnnlab.errors import UserError
from cnnlab.fileio import (
    WriteFailed,
    atomic_write,
    atomic_write_text,
    make_folder,
    read_json,
    remove_stray_temporaries,
    write_through_file,
)


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"),  # safetensors
    ],
)
def test_a_full_disk_keeps_the_old_file_and_names_the_path(tmp_path: Path, failure: Exception) -> None:
    path = atomic_write_text(tmp_path / "metrics.jsonl", "old\n")

    def fill(tmp: Path) -> None:
        tmp.write_text("half")
        raise failure

    with pytest.raises(WriteFailed, match=rf"cannot write '{path}': No space left on device\. Free space"):
        atomic_write(path, fill)
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]


def test_other_errors_of_a_writer_pass_through(tmp_path: Path) -> None:
    def broken(tmp: Path) -> None:
        raise ValueError("a bug, not the disk")

    with pytest.raises(ValueError, match="a bug"):
        atomic_write(tmp_path / "x", broken)
    assert not list(tmp_path.iterdir())


def test_torch_save_keeps_the_oserror_it_hides(tmp_path: Path) -> None:
    class FullFile:
        def __init__(self, file) -> None:
            self.file = file

        def write(self, data) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    def save(tmp: Path) -> None:
        write_through_file(tmp, lambda f: torch.save({"w": torch.zeros(1000)}, FullFile(f)))

    with pytest.raises(OSError, match="No space left on device"):
        save(tmp_path / "state.pt")  # torch alone raises a RuntimeError without the errno
    with pytest.raises(WriteFailed, match="state.pt': No space left on device"):
        atomic_write(tmp_path / "state.pt", save)


def test_a_folder_under_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    under = tmp_path / "f" / "a" / "b"
    with pytest.raises(UserError, match=rf"'{under}' lies under '{tmp_path / 'f'}', which is a file"):
        make_folder(under)
    assert make_folder(tmp_path / "new" / "run").is_dir() and not list((tmp_path / "new" / "run").iterdir())


@pytest.mark.parametrize(
    ("text", "what"),
    [("", "not JSON"), ('{"a": 1', "not JSON"), ("[1]", "a JSON list, not an object"), ("\udcff", "not JSON")],
)
def test_a_damaged_json_record_is_named_with_the_fix(tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "summary.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(UserError, match=rf"summary.json' is damaged \({what}.*\): do this"):
        read_json(path, "do this")
    assert read_json(tmp_path / "none.json", "do this") is None


def test_stray_temporaries_are_removed_and_nothing_else(tmp_path: Path) -> None:
    for name in (".state.pt.x1.tmp", ".metrics.jsonl.y2.tmp", "state.pt", ".claim", "notes.tmp"):
        (tmp_path / name).write_text("x")
    removed = remove_stray_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == [".metrics.jsonl.y2.tmp", ".state.pt.x1.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".claim", "notes.tmp", "state.pt"]
