"""The confusion matrix on a run's test split: its total, an independent count, the reported top-1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sklearn.datasets import load_digits

from cnnlab.inference import load_run
from cnnlab.viz import Confusion, confusion_figure, confusion_on_test

from .runs import is_png


def _digits_test_split(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The run's test images and labels, found again from scikit-learn's digits and the run's split rule."""
    from cnnlab.data.split import stratified_indices

    digits = load_digits()
    _, test = stratified_indices(digits.target, 0.2, 0)  # test_fraction and split_seed in the run's config
    config = (run_dir / "config.yaml").read_text()
    assert "test_fraction: 0.2" in config and "split_seed: 0" in config
    return digits.images[test], digits.target[test]


def test_the_matrix_counts_every_test_image_as_the_model_predicts_it(digits_run: Path) -> None:
    run = load_run(digits_run)
    confusion = confusion_on_test(run)
    info = json.loads((digits_run / "run.json").read_text())
    assert confusion.counts.shape == (10, 10) and confusion.total == info["split_counts"]["test"] == 359
    # an independent count: normalise with the saved statistics by hand, forward, tally
    images, labels = _digits_test_split(digits_run)
    stats = load_file(str(digits_run / "preprocess.safetensors"))
    pixels = torch.from_numpy(np.round(images * 255 / 16).astype(np.float32))  # the source's uint8 scaling
    x = (pixels * float(stats["input_scale"]) * stats["scale"] + stats["shift"])[:, None]
    with torch.no_grad():
        predicted = run.model(x).argmax(dim=1).numpy()
    expected = np.zeros((10, 10), dtype=np.int64)
    np.add.at(expected, (labels, predicted), 1)
    assert np.array_equal(confusion.counts.numpy(), expected)
    summary = json.loads((digits_run / "summary.json").read_text())
    assert confusion.accuracy == pytest.approx(summary["test_top1"], abs=1e-9)  # the top-1 the run reported


def test_per_class_accuracy_reads_the_rows_and_marks_empty_classes() -> None:
    confusion = Confusion(torch.tensor([[3, 1, 0], [0, 0, 0], [2, 0, 2]]), ["a", "b", "c"])
    accuracy = confusion.per_class_accuracy()
    assert accuracy[0] == pytest.approx(0.75) and np.isnan(accuracy[1]) and accuracy[2] == pytest.approx(0.5)
    assert confusion.total == 8 and confusion.accuracy == pytest.approx(5 / 8)


def test_confusion_figure_writes_a_png(digits_run: Path) -> None:
    out = confusion_figure(digits_run)
    assert out == digits_run / "figures" / "confusion.png" and is_png(out)
