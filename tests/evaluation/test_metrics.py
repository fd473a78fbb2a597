"""Top-k accuracy and the confusion matrix against hand-made cases."""

from __future__ import annotations

import torch

from cnnlab.evaluation import MetricMeter, confusion_matrix, top_k_accuracy


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
