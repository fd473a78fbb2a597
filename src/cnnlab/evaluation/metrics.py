"""Loss and top-k accuracy accumulated over an epoch, and the confusion matrix."""

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
    """Sums of loss and top-1/top-5 hits over batches, kept on the device until read (no sync a batch)."""

    def __init__(self, device: torch.device) -> None:
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss * n, top-1 hits, top-5 hits
        self.count = 0

    def update(self, loss: torch.Tensor, output: torch.Tensor, target: torch.Tensor) -> None:
        n = len(target)
        top1, top5 = top_k_correct(output, target, (1, 5))
        self.sums += torch.stack([loss.detach().double() * n, top1.double(), top5.double()])
        self.count += n

    def combine(self, total: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Replace the sums with `total` of them (their sum over the processes of a distributed run)."""
        sums = total(torch.cat([self.sums, torch.tensor([self.count], dtype=torch.float64, device=self.sums.device)]))
        self.sums, self.count = sums[:3], int(sums[3].item())

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
