"""A replication's committed records (no weights, no resume state: replications/.gitignore) are a finished
study: `cnnlab study` trains nothing again and `cnnlab report` rebuilds the report from them alone."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from cnnlab.config import StudySpec, validate
from cnnlab.report import build_report
from cnnlab.study import run_study

GITIGNORE = Path(__file__).resolve().parents[2] / "replications" / ".gitignore"
SPEC = {
    "name": "records",
    "base": {"data": {"source": "digits"}, "model": {"widths": [4, 8, 8], "hidden": 16}, "train": {"epochs": 2}},
    "variants": {"a": {}, "b": {"data.preprocess": "none"}},
    "seeds": 2,
}


def _ignored_patterns() -> list[str]:
    lines = (line.strip() for line in GITIGNORE.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith(("#", "!"))]


def _strip_to_records(study: Path) -> list[Path]:
    """Delete what git would not commit under replications/; what was deleted."""
    patterns = _ignored_patterns()
    gone = [p for p in sorted(study.rglob("*")) if any(fnmatch.fnmatch(p.name, pat) for pat in patterns)]
    for path in gone:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)  # perhaps inside a folder already removed
    return gone


def test_committed_records_are_a_finished_study_that_the_report_rebuilds(tmp_path: Path) -> None:
    spec = validate(SPEC, StudySpec)
    study = tmp_path / "study"
    run_study(spec, study)
    build_report(study)
    first = (study / "report.md").read_text()
    gone = _strip_to_records(study)
    assert {p.name for p in gone} >= {"model.safetensors", "state.pt"}  # weights and resume state left out
    assert not list(study.rglob("*.safetensors")) and not list(study.rglob("state.pt"))
    again = run_study(spec, study)
    assert not again.trained and len(again.skipped) == 4  # finished runs stay finished without their weights
    (study / "report.md").unlink()
    build_report(study)
    assert (study / "report.md").read_text() == first
