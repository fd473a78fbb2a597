"""Loss and top-k accuracy accumulated over an epoch, the confusion matrix, and per-class precision,
recall and F1 from it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def top_k_correct(output: torch.Tensor, target: torch.Tensor, topk: Sequence[int] = (1, 5)) -> list[torch.Tensor]:
    """How many targets are among the k highest scores, for each k (capped at the number of classes)."""
    k_max = min(max(topk), output.shape[1])
    top = output.topk(k_max, dim=1).indices
    hits = top == target[:, None]
    return [hits[:, : min(k, k_max)].any(dim=1).sum() for k in topk]


def top_k_accuracy(output: torch.Tensor, target: torch.Tensor, topk: Sequence[int] = (1, 5)) -> list[float]:
    """The fraction of targets among the k highest scores, for each k."""
    return [float(c) / len(target) for c in top_k_correct(output, target, topk)]


class MetricMeter:
    """Sums of loss and top-1/top-5 hits over batches, kept on the device until read (no sync a batch);
    with `confusion`, the confusion counts too (`confusion_counts`, sized from the first batch's classes)."""

    def __init__(self, device: torch.device, confusion: bool = False) -> None:
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss * n, top-1 hits, top-5 hits
        self.count = 0
        self.track_confusion = confusion
        self.confusion_counts: torch.Tensor | None = None

    def update(self, loss: torch.Tensor, output: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: its mean loss, its scores and its labels (top-k counts against these hard labels)."""
        n = len(target)
        top1, top5 = top_k_correct(output, target, (1, 5))
        self.sums += torch.stack([loss.detach().double() * n, top1.double(), top5.double()])
        self.count += n
        if self.track_confusion:
            counts = confusion_matrix(output.argmax(1), target, output.shape[1])
            self.confusion_counts = counts if self.confusion_counts is None else self.confusion_counts + counts

    def combine(self, total: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Replace the sums (and the confusion counts) with `total` of them: their sum over the processes of a
        distributed run."""
        sums = total(torch.cat([self.sums, torch.tensor([self.count], dtype=torch.float64, device=self.sums.device)]))
        self.sums, self.count = sums[:3], int(sums[3].item())
        if self.confusion_counts is not None:
            self.confusion_counts = total(self.confusion_counts)

    def result(self) -> dict[str, float]:
        """{'loss', 'top1', 'top5'} averaged over the examples seen."""
        if self.count == 0:
            return {"loss": float("nan"), "top1": float("nan"), "top5": float("nan")}
        loss, top1, top5 = (self.sums / self.count).tolist()
        return {"loss": loss, "top1": top1, "top5": top5}


def confusion_matrix(predicted: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """counts[true, predicted] as an int64 (K, K) matrix."""
    index = target.long() * num_classes + predicted.long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_metrics(confusion: torch.Tensor | list[list[int]]) -> dict[str, list[float]]:
    """Precision, recall and F1 of each class from confusion counts[true, predicted], with its support.

    As scikit-learn's precision_recall_fscore_support(zero_division=0): a class never predicted has
    precision 0, one never present recall 0, and F1 = 2PR / (P + R), 0 when both are 0.
    """
    counts = torch.as_tensor(confusion, dtype=torch.float64)
    hits = counts.diagonal()
    predicted, support = counts.sum(0), counts.sum(1)
    precision = torch.where(predicted > 0, hits / predicted.clamp_min(1), 0.0)
    recall = torch.where(support > 0, hits / support.clamp_min(1), 0.0)
    total = precision + recall
    f1 = torch.where(total > 0, 2 * precision * recall / total.clamp_min(1e-300), 0.0)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": [int(v) for v in support.tolist()],
    }


def macro_average(per_class: dict[str, list[float]]) -> dict[str, float]:
    """The unweighted mean over classes of precision, recall and F1 (scikit-learn's average='macro')."""
    return {kind: sum(per_class[kind]) / len(per_class[kind]) for kind in ("precision", "recall", "f1")}
