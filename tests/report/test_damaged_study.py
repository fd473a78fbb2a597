"""A report of a study with damaged files: a damaged run is a failed row, a damaged study record is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cnnlab.cli.main import main
from cnnlab.config import StudySpec, validate
from cnnlab.study import collect, run_study


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("study") / "study"
    base = {
        "data": {"source": "digits"},
        "model": {"widths": [4, 8, 8], "hidden": 16},
        "train": {"epochs": 1, "threads": 1},
    }
    spec = validate({"name": "t", "base": base, "variants": {"a": {}, "b": {}}}, StudySpec)
    run_study(spec, folder)
    return folder


@pytest.fixture
def study(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "study"))


@pytest.mark.parametrize("name", ["summary.json", "metrics.jsonl", "run.json"])
def test_a_damaged_run_is_a_failed_row_of_the_report(study: Path, name: str, capsys) -> None:
    (study / "runs/a/seed0" / name).write_bytes(b"\x00{garbage")
    assert main(["report", str(study)]) == 0
    rows = {row["variant"]: row for row in collect(study)}
    assert rows["a"]["status"] == "failed" and f"{name}' is damaged" in rows["a"]["message"]
    assert rows["b"]["status"] == "completed"
    assert f"{name}' is damaged" in (study / "report.md").read_text()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("study.json", b"", "study.json' is damaged (not JSON"),
        ("study.json", b'{"runs": 3}', "study.json' is damaged (its list of runs is not one)"),
        ("spec.yaml", b"\xff\xfe\x00", "spec.yaml' is not text (not UTF-8)"),
    ],
)
def test_a_damaged_study_record_exits_2_naming_it(study: Path, name: str, data: bytes, expected: str, capsys) -> None:
    (study / name).write_bytes(data)
    assert main(["report", str(study)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
