"""Training: the fit loop, optimisers and schedules, metrics, early stopping, checkpoints and resume.

result = train(load_config("run.yaml", ["optim.lr=0.1"]), "runs/first")
"""

from .device import Compute, resolve_compute, resolve_device
from .loop import Diverged, FitSettings, RunResult, evaluate, fit, train_one_epoch
from .metrics import MetricMeter, confusion_matrix, top_k_accuracy, top_k_correct
from .optim import build_optimizer, build_scheduler
from .run import train

__all__ = [
    "Compute",
    "Diverged",
    "FitSettings",
    "MetricMeter",
    "RunResult",
    "build_optimizer",
    "build_scheduler",
    "confusion_matrix",
    "evaluate",
    "fit",
    "resolve_compute",
    "resolve_device",
    "top_k_accuracy",
    "top_k_correct",
    "train",
    "train_one_epoch",
]
