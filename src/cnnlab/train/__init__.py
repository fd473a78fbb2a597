"""Training: the fit loop, optimisers and schedules, metrics, early stopping, callbacks and resume.

result = train(load_config("run.yaml", ["optim.lr=0.1"]), "runs/first")
result = resume("runs/first")   # after an interruption: from the last finished epoch
"""

from .callbacks import Callback
from .device import Compute, resolve_compute, resolve_device
from .loop import Diverged, FitSettings, RunResult, evaluate, fit, train_one_epoch
from .lr_find import LRFindResult, lr_find, plot_lr_find, write_lr_find
from .optim import build_optimizer, build_scheduler
from .run import resume, train

__all__ = [
    "Callback",
    "Compute",
    "Diverged",
    "FitSettings",
    "LRFindResult",
    "RunResult",
    "build_optimizer",
    "build_scheduler",
    "evaluate",
    "fit",
    "lr_find",
    "plot_lr_find",
    "resolve_compute",
    "resolve_device",
    "resume",
    "train",
    "train_one_epoch",
    "write_lr_find",
]
