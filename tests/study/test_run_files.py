"""A run folder's files as bytes, to carry a run between machines; scratch folders of killed tasks swept."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cnnlab.claim import claim
from cnnlab.study.ray_engine import sweep_scratch
from cnnlab.study.run_files import ChangedFiles, read_run_files, write_run_files


def test_files_travel_whole_and_hidden_ones_stay(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "tensorboard").mkdir(parents=True)
    (run / "config.yaml").write_text("a: 1\n")
    (run / "tensorboard" / "events").write_bytes(b"\x00\x01")
    (run / ".claim").write_text("host h, pid 1")
    (run / ".state.pt.123.tmp").write_bytes(b"half")
    files = read_run_files(run)
    assert files == {"config.yaml": b"a: 1\n", "tensorboard/events": b"\x00\x01"}
    write_run_files(tmp_path / "copy", files)
    assert read_run_files(tmp_path / "copy") == files
    assert read_run_files(tmp_path / "nowhere") == {}


def test_the_resume_state_and_then_the_summary_are_written_last(tmp_path: Path, monkeypatch) -> None:
    order: list[str] = []
    real = Path.write_bytes

    def recording(self: Path, data: bytes) -> int:  # each file's bytes here are its name
        order.append(data.decode())
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", recording)
    write_run_files(tmp_path, {"summary.json": b"summary.json", "state.pt": b"state.pt", "metrics.jsonl": b"m"})
    assert order == ["m", "state.pt", "summary.json"]


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/../../b", ""])
def test_a_name_that_leaves_the_run_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="is not a file inside a run folder"):
        write_run_files(tmp_path / "run", {name: b"x"})


def test_changed_files_are_those_written_since_they_were_last_taken(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("seeded")
    changed = ChangedFiles(tmp_path)
    assert changed.take() == {}  # what the folder was seeded with is not sent back
    (tmp_path / "metrics.jsonl").write_text("1")
    (tmp_path / "config.yaml").write_text("seeded")  # rewritten, the same bytes
    assert changed.take() == {"metrics.jsonl": b"1"}
    (tmp_path / "metrics.jsonl").write_text("1\n2")
    assert changed.take() == {"metrics.jsonl": b"1\n2"}


def test_scratch_folders_of_dead_tasks_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    dead, young, live, unclaimed = (tmp_path / name for name in ("dead", "young", "live", "unclaimed"))
    for folder in (dead, young, unclaimed):
        folder.mkdir()
    (dead / ".claim").write_text("host h, pid 1")
    (young / ".claim").write_text("host h, pid 2")
    past = time.time() - 60
    os.utime(dead / ".claim", (past, past))
    with claim(live):
        os.utime(live / ".claim", (past, past))
        sweep_scratch(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["live", "unclaimed", "young"]
