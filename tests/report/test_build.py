"""The report of a small real study: tables, ranking, figures, a self-contained HTML page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnlab.cli.main import main
from cnnlab.config import StudySpec, validate
from cnnlab.errors import UserError
from cnnlab.report import build
from cnnlab.study import run_study


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("study")
    spec = validate(
        {
            "name": "tiny",
            "description": "A tiny study for the report tests.",
            "base": {
                "data": {"source": "digits"},
                "model": {"widths": [4, 8, 8], "hidden": 16},
                "train": {"epochs": 3, "threads": 1},
            },
            "variants": {"raw": {"data.preprocess": "none"}, "std": {}, "broken": {"data.source": "/nowhere"}},
            "baseline": "raw",
            "seeds": 2,
        },
        StudySpec,
    )
    run_study(spec, folder)
    return folder


def test_report_has_settings_ranked_table_and_intervals(study: Path) -> None:
    files = build(study)
    text = files.markdown.read_text()
    assert "# Study: tiny" in text and "A tiny study for the report tests." in text
    assert "| variant | changes from the base |" in text and "data.preprocess=none" in text
    header = "| rank | variant | seeds | val top-1 | test top-1 |"
    assert header in text
    ranked = re.findall(r"^\| (\d) \| (\w+) \| (\d) \|", text, flags=re.MULTILINE)
    assert [r[0] for r in ranked] == ["1", "2", "3"] and {r[1] for r in ranked[:2]} == {"raw", "std"}
    assert [r[2] for r in ranked] == ["2", "2", "0"]  # seeds counted; the failed variant ranks last, with none
    assert re.search(r"\| std \|.*pts \[[-+]\d+\.\d\d, [-+]\d+\.\d\d\] \|", text)  # difference with 95% CI
    assert "| broken | 0 | failed |" in text  # the failure is reported, not hidden
    assert "## Environment" in text and "torch" in text and "total training time" in text


def test_report_figures_and_self_contained_html(study: Path) -> None:
    files = build(study)
    names = sorted(p.name for p in files.figures)
    assert names == ["curves-raw.png", "curves-std.png", "overlay-val.png"]
    for figure in files.figures:
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"figures/{figure.name}" in files.markdown.read_text()
    page = files.html.read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "src='figures/" not in page and "<table>" in page


def test_report_verb_and_a_folder_that_is_no_study(study: Path, tmp_path: Path, capsys) -> None:
    assert main(["report", str(study)]) == 0
    assert "report.html" in capsys.readouterr().out
    with pytest.raises(UserError, match="not a study folder"):
        build(tmp_path)
    assert main(["report", str(tmp_path)]) == 2


def test_a_study_without_a_validation_split_overlays_the_test_curves(tmp_path: Path) -> None:
    spec = validate(
        {
            "name": "no-val",
            "base": {
                "data": {"source": "digits", "val_fraction": 0.0},
                "model": {"widths": [4, 8, 8], "hidden": 16},
                "train": {"epochs": 2, "threads": 1},
            },
            "variants": {"a": {}, "b": {"optim.lr": 0.05}},
            "seeds": 1,
        },
        StudySpec,
    )
    run_study(spec, tmp_path)
    files = build(tmp_path)
    assert sorted(p.name for p in files.figures) == ["curves-a.png", "curves-b.png", "overlay-test.png"]
    assert "Test loss and top-1 of every variant" in files.markdown.read_text()
    assert "Learning curves of a: loss and top-1, train vs test" in files.markdown.read_text()
