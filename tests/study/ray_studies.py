"""What the Ray engine's tests share: tiny studies, and a study folder compared with the local engine's."""

from __future__ import annotations

from pathlib import Path

import yaml

from cnnlab.config import StudySpec, validate
from cnnlab.runs import RunFolder
from cnnlab.study import collect, read_results
from tests.fakes import without_seconds

# the embedded digits and a tiny tme2: a run takes a fraction of a second an epoch on one thread
BASE = {
    "data": {"source": "digits"},
    "model": {"widths": [4, 8, 8], "hidden": 16},
    "train": {"epochs": 2, "threads": 1},
}
TIMINGS = {"seconds", "images_per_second"}


def tiny_spec(variants: dict, seeds: int = 2, epochs: int = 2) -> StudySpec:
    base = {**BASE, "train": {**BASE["train"], "epochs": epochs}}
    return validate({"name": "t", "base": base, "variants": variants, "seeds": seeds}, StudySpec)


def write_spec(spec: StudySpec, path: Path) -> Path:
    path.write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    return path


def assert_same_study(ours: Path, reference: Path) -> None:
    """The same runs with the same status, metrics rows (timings aside) and results, and the same files."""
    rows = [(r["variant"], r["seed"], r["status"]) for r in collect(ours)]
    assert rows == [(r["variant"], r["seed"], r["status"]) for r in collect(reference)]
    for row in collect(reference):
        mine, theirs = RunFolder(ours / row["folder"]), RunFolder(reference / row["folder"])
        assert without_seconds(mine.read_metrics()) == without_seconds(theirs.read_metrics()), row["folder"]
        assert _files(mine.path) == _files(theirs.path), row["folder"]
    drop = lambda rows: [{k: v for k, v in r.items() if k not in TIMINGS} for r in rows]  # noqa: E731
    assert drop(read_results(ours)) == drop(read_results(reference))


def _files(folder: Path) -> list[str]:
    """The run's files, hidden ones (its claim, a file a killed process was writing) aside."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name[0] != ".")
