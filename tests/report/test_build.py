"""The report of a small real study: tables, ranking, figures, a self-contained HTML page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnlab.cli.main import main
from cnnlab.config import StudySpec, validate
from cnnlab.errors import UserError
from cnnlab.report import build_report, probability_of_beating, wilson_interval
from cnnlab.study import read_results, run_study


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
    files = build_report(study)
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
    # the data every figure is measured on, from the runs' own facts (the failed variant read none)
    assert "- data (every figure below is measured on it): digits, 1,293 training / 145 validation / 359 test" in text


def test_report_figures_and_self_contained_html(study: Path) -> None:
    files = build_report(study)
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
        build_report(tmp_path)
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
    files = build_report(tmp_path)
    assert sorted(p.name for p in files.figures) == ["curves-a.png", "curves-b.png", "overlay-test.png"]
    assert "Test loss and top-1 of every variant" in files.markdown.read_text()
    assert "Learning curves of a: loss and top-1, train vs test" in files.markdown.read_text()


def _row(text: str, heading: str, first: str) -> list[str]:
    """The cells of the first row under `heading` whose leading cells match the regex `first`."""
    section = text.split(heading, 1)[1]
    line = re.search(rf"^\| {first} \|.*$", section, flags=re.MULTILINE).group(0)
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_each_variant_against_the_baseline_with_a_verdict_that_follows_its_interval(study: Path) -> None:
    text = build_report(study).markdown.read_text()
    assert (
        "| variant | seeds | test top-1 vs raw [95% CI] | P(beats it on a new seed) [95% CI] | seeds needed |" in text
    )
    _, seeds, diff, probability, needed, verdict = _row(text, "### Each variant against raw", "std")
    assert seeds == "2"
    low, high = map(float, re.search(r"\[([-+][\d.]+), ([-+][\d.]+)\]", diff).groups())
    expected = "better" if low > 0 else "worse" if high < 0 else "not resolved at 2 seeds"
    assert verdict == expected
    p, p_low, p_high = map(float, re.fullmatch(r"([\d.]+) \[([\d.]+), ([\d.]+)\]", probability).groups())
    assert 0 <= p_low <= p <= p_high <= 1
    assert needed == "-" or needed.startswith("> ") or int(needed) >= 2
    rows = [r for r in read_results(study) if r["status"] in ("completed", "early_stopped")]
    std = [r["test_top1"] for r in rows if r["variant"] == "std"]
    raw = [r["test_top1"] for r in rows if r["variant"] == "raw"]
    assert probability == f"{probability_of_beating(std, raw).p:.2f} [{p_low:.2f}, {p_high:.2f}]"
    assert "| raw |" not in text.split("### Each variant against raw", 1)[1].split("###", 1)[0]  # not against itself


def test_the_results_table_prices_the_test_sets_own_noise(study: Path) -> None:
    text = build_report(study).markdown.read_text()
    assert "| test top-1 | test top-1 +- binomial |" in text
    rows = [r for r in read_results(study) if r["variant"] == "raw"]
    mean = sum(r["test_top1"] for r in rows) / len(rows)
    low, high = wilson_interval(mean, rows[0]["test_images"])
    cells = _row(text, "## Results", r"\d \| raw")
    assert cells[5] == f"+- {(high - low) / 2 * 100:.2f}"
    assert float(cells[5][3:]) > 2  # a few hundred digits test images: several points of noise


def test_the_last_epochs_figures_have_a_table_of_their_own(study: Path) -> None:
    text = build_report(study).markdown.read_text()
    assert "### At the last epoch" in text
    rows = [r for r in read_results(study) if r["variant"] == "std"]
    assert all(r["last_epoch"] == 3 for r in rows)
    cells = _row(text, "### At the last epoch", "std")
    mean = sum(r["last_test_top1"] for r in rows) / len(rows)
    assert cells[1] == "3.0 +- 0.0" and cells[3].startswith(f"{mean:.2%}")
    assert _row(text, "### At the last epoch", "raw")[5] == "baseline"
