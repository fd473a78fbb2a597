"""The section "Against the course report": a course report's figures beside ours, its conclusions checked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from cnnlab.config import StudySpec, validate
from cnnlab.errors import UserError
from cnnlab.report import build_report
from cnnlab.report.reference import conclusion_verdict
from cnnlab.study import read_results, run_study

BASE = {
    "data": {"source": "digits"},
    "model": {"widths": [4, 8, 8], "hidden": 16},
    "optim": {"name": "adam", "lr": 0.03},
    "train": {"epochs": 4, "threads": 1},
}
FIGURES = {
    "slow": {"best_epoch": 4, "test_top1": 0.10, "test_loss": 2.31},
    "adam": {"best_epoch": 3, "test_top1": 0.45},
}
CONCLUSIONS = [
    {"claim": "Adam beats a tiny step", "variant": "adam", "expect": "better"},
    {"claim": "Adam is worse than a tiny step", "variant": "adam", "expect": "worse"},
    {"claim": "Adam lowers the loss", "variant": "adam", "metric": "test_loss", "expect": "better"},
    {"claim": "the same run twice differs", "variant": "again", "baseline": "adam", "expect": "better"},
    {
        "claim": "a tiny step ends worse",
        "variant": "slow",
        "baseline": "adam",
        "metric": "last_test_top1",
        "expect": "worse",
    },
]


@pytest.fixture(scope="module")
def claims(tmp_path_factory) -> Path:
    """A study where Adam (lr 0.03) learns in 4 epochs and a step of 1e-6 does not; `again` repeats Adam."""
    folder = tmp_path_factory.mktemp("claims")
    spec = {
        "name": "claims",
        "base": BASE,
        "variants": {"slow": {"optim.lr": 1e-6}, "adam": {}, "again": {}},
        "baseline": "slow",
        "seeds": 3,
        "reference": {"report": "a course report, table 2", "figures": FIGURES},
        "conclusions": CONCLUSIONS,
    }
    run_study(validate(spec, StudySpec), folder)
    return folder


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n#", 1)[0]


def _cells(section: str, first: str) -> list[str]:
    line = re.search(rf"^\| {first} \|.*$", section, flags=re.MULTILINE).group(0)
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def _mean(study: Path, variant: str, figure: str) -> float:
    values = [r[figure] for r in read_results(study) if r["variant"] == variant]
    return sum(values) / len(values)


def test_the_course_reports_figures_stand_beside_ours(claims: Path) -> None:
    text = build_report(claims).markdown.read_text()
    assert "## Against the course report" in text and "a course report, table 2" in text
    figures = _section(text, "### Its figures beside cnnlab's")
    assert "| variant | figure | course report | cnnlab (mean +- std) | cnnlab - course report |" in figures
    ours = _mean(claims, "adam", "test_top1")
    row = _cells(figures, r"adam \| test top-1")
    assert row[2] == "45.00%" and row[3].startswith(f"{ours:.2%} +- ") and row[4] == f"{(ours - 0.45) * 100:+.2f} pts"
    assert _cells(figures, r"slow \| test loss")[2] == "2.3100"
    assert _cells(figures, r"slow \| best epoch")[2:4] == ["4", "4.0 +- 0.0"]
    assert len(re.findall(r"^\| (adam|slow) \|", figures, flags=re.MULTILINE)) == 5  # one row a figure given


def test_each_conclusion_is_checked_against_the_seeds(claims: Path) -> None:
    text = build_report(claims).markdown.read_text()
    table = _section(text, "### Its conclusions, checked")
    better = _cells(table, "Adam beats a tiny step")
    assert better[1] == "adam vs slow, test top-1 (claimed better)"
    assert better[2] == "+35.00 pts"  # the course report's own difference, 45% - 10%
    diff = _mean(claims, "adam", "test_top1") - _mean(claims, "slow", "test_top1")
    assert better[3].startswith(f"{diff * 100:+.2f} pts [+")  # the interval lies above 0
    assert better[6] == "holds"
    assert _cells(table, "Adam is worse than a tiny step")[6] == "contradicted"
    loss = _cells(table, "Adam lowers the loss")
    assert loss[2] == "-" and loss[3].startswith("-") and loss[6] == "holds"  # a lower loss is better
    same = _cells(table, "the same run twice differs")
    assert same[3].startswith("+0.00 pts [-") and same[4].startswith("0.50 [")  # identical runs: no difference
    assert same[5:] == ["> 1000", "not resolved at 3 seeds"]
    last = _cells(table, "a tiny step ends worse")
    assert last[1] == "slow vs adam, last test top-1 (claimed worse)" and last[2] == "-" and last[6] == "holds"


def test_a_reference_added_to_a_finished_study_is_reported_and_checked(claims: Path, tmp_path: Path) -> None:
    study = tmp_path / "study"
    shutil.copytree(claims, study)
    spec = yaml.safe_load((study / "spec.yaml").read_text())
    for key in ("reference", "conclusions"):
        spec.pop(key)
    (study / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert "Against the course report" not in build_report(study).markdown.read_text()  # nothing to set beside
    spec["conclusions"] = [{"claim": "added later", "variant": "adam", "expect": "better"}]
    (study / "spec.yaml").write_text(yaml.safe_dump(spec))
    text = build_report(study).markdown.read_text()
    assert "### Its conclusions, checked" in text and "### Its figures" not in text
    assert _cells(_section(text, "### Its conclusions, checked"), "added later")[2] == "-"  # no course figures
    spec["conclusions"][0]["variant"] = "adma"
    (study / "spec.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(UserError, match=r"variant 'adma' is not a variant of the study \(did you mean 'adam'\?\)"):
        build_report(study)


@pytest.mark.parametrize(
    ("verdict", "expect", "outcome"),
    [
        ("better", "better", "holds"),
        ("worse", "worse", "holds"),
        ("worse", "better", "contradicted"),
        ("better", "worse", "contradicted"),
        ("not resolved at 3 seeds", "better", "not resolved at 3 seeds"),
        ("not resolved (1 seed)", "worse", "not resolved (1 seed)"),
        (None, "better", "no finished runs"),
    ],
)
def test_conclusion_verdicts(verdict: str | None, expect: str, outcome: str) -> None:
    assert conclusion_verdict(verdict, expect) == outcome
