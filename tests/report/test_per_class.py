"""Per-class precision, recall and F1 at the best epoch: in summary.json (checked against scikit-learn on
the saved weights' predictions) and in the study report."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support

from cnnlab.config import StudySpec, load_config, validate
from cnnlab.data import BatchIterator, load_splits
from cnnlab.inference import load_run
from cnnlab.report import build_report
from cnnlab.study import read_results, run_study
from cnnlab.train import train

TINY = ["data.source=digits", "model.widths=[4,8,8]", "model.hidden=16", "train.epochs=2", "train.threads=1"]


def test_the_summary_holds_each_class_at_the_best_epoch_as_scikit_learn_counts_it(tmp_path: Path) -> None:
    config = load_config(None, [*TINY, "train.batch_size=32", "optim.lr=0.05"])
    summary = train(config, tmp_path / "run").summary
    run = load_run(tmp_path / "run")
    for split in ("val", "test"):
        samples = getattr(load_splits(config.data), split)
        batches = BatchIterator(samples, run.preprocess, batch_size=512, augment=run.augment)
        with torch.inference_mode():
            predicted = torch.cat([run.model(x).argmax(1) for x, _ in batches])
        p, r, f, support = precision_recall_fscore_support(
            samples.y, predicted.numpy(), labels=range(10), zero_division=0
        )
        table = summary["per_class"][split]
        assert list(table) == run.classes
        assert [table[c]["precision"] for c in run.classes] == pytest.approx(p.tolist())
        assert [table[c]["recall"] for c in run.classes] == pytest.approx(r.tolist())
        assert [table[c]["f1"] for c in run.classes] == pytest.approx(f.tolist())
        assert [table[c]["support"] for c in run.classes] == support.tolist()
        assert summary[f"{split}_macro_f1"] == pytest.approx(f.mean())


def test_the_report_has_macro_figures_and_the_best_variant_class_by_class(tmp_path: Path) -> None:
    spec = validate(
        {
            "name": "classes",
            "base": {"data": {"source": "digits"}, "model": {"widths": [4, 8, 8], "hidden": 16}},
            "variants": {"slow": {"optim.lr": 0.01}, "fast": {"optim.lr": 0.1, "train.batch_size": 32}},
            "seeds": 1,
        },
        StudySpec,
    )
    run_study(spec, tmp_path, overrides=["train.epochs=2", "train.threads=1"])
    rows = read_results(tmp_path)
    assert all(0 <= row["test_macro_f1"] <= 1 for row in rows)
    text = build_report(tmp_path).markdown.read_text()
    assert "### Per class" in text and "| variant | val macro-precision |" in text
    best = max(rows, key=lambda row: row["val_top1"])["variant"]
    assert f"Class by class for {best}" in text
    assert "| class | val precision | val recall | val f1 | test precision |" in text
    assert "\n| 7 |" in text  # the digits' classes are named by their digit
