"""What evaluating a model computes: top-k accuracy and the loss over a split, confusion counts, and the
test-time views whose logits are averaged. Shared by the trainer, inference and viz, so that a figure a
run reports is exactly what `predict` and `viz` reproduce from its weights.
"""

from .metrics import (
    MetricMeter,
    confusion_matrix,
    macro_average,
    per_class_metrics,
    top_k_accuracy,
    top_k_correct,
)
from .tta import tta_logits, tta_views

__all__ = [
    "MetricMeter",
    "confusion_matrix",
    "macro_average",
    "per_class_metrics",
    "top_k_accuracy",
    "top_k_correct",
    "tta_logits",
    "tta_views",
]
