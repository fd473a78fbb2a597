"""Every built-in study: one study per course report (plus the others), each running a dry pass at tiny size."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from cnnlab.builtin import STUDY_ALIASES, study_names
from cnnlab.cli.main import main
from cnnlab.config import StudySpec
from cnnlab.errors import UserError
from cnnlab.models.architectures import resnet
from cnnlab.report import build_report
from cnnlab.study import expand, load_spec, run_study
from cnnlab.study.spec import run_names

# each course report (the five reports cnnlab reproduces) and the built-in studies named after it
REPORT_STUDIES = {
    "RDFIA homework 1-cd": ["rdfia-homework"],
    "RDFIA TME 2": ["rdfia-tme2"],
    "ROB313 TP4": ["rob313", "rob313-vgg"],
    "EQ2425 project 3": ["eq2425"],
    "TDT4265 assignment 3": ["tdt4265", "tdt4265-transfer"],
}
# the dry pass: the embedded digits resized to 32x32 (every course net's input), 100 training images, one epoch
TINY = [
    "data.source=digits",
    "data.image_size=32",
    "data.train_size=100",
    "train.epochs=1",
    "train.batch_size=50",
    "train.threads=1",
]


@pytest.fixture(autouse=True)
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for ImageNet weights fails as it does offline: the tests never download."""

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(resnet.ResNet18_Weights.IMAGENET1K_V1.__class__, "get_state_dict", offline)


def _one_seed(spec: StudySpec, weights: Path) -> StudySpec:
    """The spec with one seed, resnet18 given local weights at a small size and VGG's 4096-wide head narrowed
    (the dry pass's only changes: saving 300 million weights and their Adam state is not what is tested)."""
    variants = {
        name: {**changes, "model.weights": str(weights), "model.resize": 32}
        if changes.get("model.name") == "resnet18"
        else changes
        for name, changes in spec.variants.items()
    }
    base = dict(spec.base)
    if str(base.get("model", {}).get("name", "")).startswith("vgg"):
        base["model"] = {**base["model"], "hidden": [64, 64]}
    return spec.model_copy(update={"seeds": [0], "variants": variants, "base": base})


def test_each_report_has_its_studies_and_the_earlier_names_still_work() -> None:
    names = study_names()
    for report, studies in REPORT_STUDIES.items():
        assert set(studies) <= set(names), report
        for study in studies:
            description = load_spec(study).description
            assert report.split()[0] in description, (study, description)
    assert {"quickstart", "speed", "activations"} <= set(names)  # and the others
    for old, new in STUDY_ALIASES.items():
        assert old not in names and load_spec(old).name == new


@pytest.mark.parametrize("name", study_names())
def test_every_builtin_study_runs_a_dry_pass_and_reports(name: str, tmp_path: Path) -> None:
    weights = tmp_path / "resnet18.pt"
    torch.save(torchvision.models.resnet18().state_dict(), weights)
    spec = _one_seed(load_spec(name), weights)
    outcome = run_study(spec, tmp_path / name, TINY)
    assert not outcome.failed, outcome.failed
    assert len(outcome.trained) == len(run_names(expand(spec, TINY)))
    report = build_report(tmp_path / name).markdown.read_text()
    if spec.conclusions:
        assert "Against the course report" in report and len(spec.conclusions) <= report.count(" | ")


def test_the_transfer_study_stops_before_training_when_the_imagenet_weights_are_missing(tmp_path: Path) -> None:
    spec = load_spec("tdt4265-transfer")
    missing = r"cannot start \(variant 'resnet18'\).*resnet18-f37072fd\.pth in torch's cache"
    with pytest.raises(UserError, match=missing):
        run_study(spec, tmp_path / "transfer", TINY)
    assert not (tmp_path / "transfer").exists()  # nothing written, nothing trained


def test_study_list_reads_as_a_table_of_contents(capsys) -> None:
    assert main(["study", "--list"]) == 0
    listed = capsys.readouterr().out
    for studies in REPORT_STUDIES.values():
        assert all(f"\n{study} " in f"\n{listed}" for study in studies)
    assert "(also: course-improvements)" in listed
