"""Top-k accuracy and the confusion matrix against hand-made cases."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support

from cnnlab.evaluation import MetricMeter, confusion_matrix, macro_average, per_class_metrics, top_k_accuracy


def test_top_k_on_a_hand_made_case() -> None:
    scores = torch.tensor(
        [
            [0.1, 0.5, 0.2, 0.0, 0.0, 0.0],  # target 1: top-1 hit
            [0.6, 0.1, 0.3, 0.0, 0.0, 0.0],  # target 2: second best -> top-5 hit only
            [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],  # target 0: last of six -> a miss even in top-5
            [0.9, 0.0, 0.0, 0.0, 0.0, 0.05],  # target 5: second -> top-5 hit
        ]
    )
    target = torch.tensor([1, 2, 0, 5])
    assert top_k_accuracy(scores, target, (1, 2, 5)) == [0.25, 0.75, 0.75]


def test_top_5_with_fewer_classes_counts_every_class() -> None:
    scores = torch.tensor([[0.2, 0.8], [0.9, 0.1]])
    assert top_k_accuracy(scores, torch.tensor([0, 0]), (1, 5)) == [0.5, 1.0]


def test_meter_weights_batches_by_size() -> None:
    meter = MetricMeter(torch.device("cpu"))
    meter.update(torch.tensor(1.0), torch.tensor([[1.0, 0.0]]), torch.tensor([0]))
    meter.update(torch.tensor(4.0), torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 1, 1]))
    result = meter.result()
    assert result["loss"] == (1 * 1 + 4 * 3) / 4
    assert result["top1"] == 2 / 4


def test_confusion_matrix_rows_are_true_classes() -> None:
    matrix = confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 0, 1, 2]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert int(matrix.sum()) == 4


def test_per_class_figures_match_scikit_learn() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (200,), generator=generator)  # class 4 never present
    predicted = torch.where(torch.rand(200, generator=generator) < 0.6, target, torch.randint(0, 5, (200,)))
    predicted[predicted == 3] = 2  # class 3 never predicted
    ours = per_class_metrics(confusion_matrix(predicted, target, 5))
    p, r, f, support = precision_recall_fscore_support(target, predicted, labels=range(5), zero_division=0)
    assert ours["precision"] == pytest.approx(p.tolist()) and ours["recall"] == pytest.approx(r.tolist())
    assert ours["f1"] == pytest.approx(f.tolist()) and ours["support"] == support.tolist()
    macro = precision_recall_fscore_support(target, predicted, labels=range(5), average="macro", zero_division=0)
    assert list(macro_average(ours).values()) == pytest.approx(list(macro[:3]))


def test_the_meter_counts_confusion_over_its_batches() -> None:
    meter = MetricMeter(torch.device("cpu"), confusion=True)
    outputs, targets = torch.randn(30, 3), torch.randint(0, 3, (30,))
    for start in (0, 10, 20):
        meter.update(torch.tensor(1.0), outputs[start : start + 10], targets[start : start + 10])
    assert torch.equal(meter.confusion_counts, confusion_matrix(outputs.argmax(1), targets, 3))
