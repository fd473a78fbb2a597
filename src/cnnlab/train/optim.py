"""Optimisers and learning-rate schedules from the config; every schedule is stepped once a batch."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.optim import lr_scheduler

from cnnlab.config import OptimConfig, ScheduleConfig

from .muon import Muon

NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def parameter_groups(model: nn.Module, config: OptimConfig) -> list[dict[str, Any]]:
    """The trainable parameters, with normalisation biases in a group of their own when their
    learning rate is scaled (`optim.norm_bias_lr_scale`; their weight decay is divided by the same
    factor, so the decay applied per step, lr x wd, stays that of the other parameters), and with
    Muon's conv filters in a group of their own."""
    scale = config.norm_bias_lr_scale
    norm_biases = {
        id(m.bias) for m in model.modules() if isinstance(m, NORM_LAYERS) and getattr(m, "bias", None) is not None
    }
    filters = {id(m.weight) for m in model.modules() if _batch_normed_conv(m)} if config.name == "muon" else set()
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups: list[dict[str, Any]] = []
    muon = [p for p in trainable if id(p) in filters]
    if muon:
        groups.append(
            {
                "params": muon,
                "muon": True,
                "lr": config.muon_lr,
                "momentum": config.muon_momentum,
                "nesterov": True,
                "weight_decay": 0.0,  # the filters are renormalised every step: decay would do nothing
            }
        )
    rest = [p for p in trainable if id(p) not in filters]
    if scale == 1.0:
        return [*groups, {"params": rest}]
    biases = [p for p in rest if id(p) in norm_biases]
    others = [p for p in rest if id(p) not in norm_biases]
    scaled = {"params": biases, "lr": config.lr * scale, "weight_decay": config.weight_decay / scale}
    return [*groups, {"params": others}, scaled]


def _batch_normed_conv(module: nn.Module) -> bool:
    """A conv without a bias: the idiom for a conv that a batch norm follows, where Muon's renormalised
    filters change nothing but the direction (fastnet's whitening conv has a bias and is left to SGD)."""
    return isinstance(module, nn.Conv2d) and module.bias is None


def build_optimizer(model: nn.Module, config: OptimConfig, precision: str = "fp32") -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov, weight decay), Adam, AdamW, RMSprop, Adagrad, or Muon on conv filters with SGD on
    the rest. `precision` is the run's (fp32, bf16 or fp16): with `optim.muon_ns_bf16` a bf16 run orthogonalises
    Muon's steps in bf16."""
    params = parameter_groups(model, config)
    if config.name in ("sgd", "muon"):
        nesterov = config.nesterov and config.momentum > 0
        if config.name == "muon":
            return Muon(
                params,
                lr=config.lr,
                momentum=config.momentum,
                nesterov=nesterov,
                weight_decay=config.weight_decay,
                ns_steps=config.muon_ns_steps,
                ns_dtype=torch.bfloat16 if config.muon_ns_bf16 and precision == "bf16" else torch.float32,
            )
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, nesterov=nesterov, weight_decay=config.weight_decay
        )
    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    if config.name == "rmsprop":  # momentum as timm's rmsprop takes it (0 gives torch's and Keras's default)
        return torch.optim.RMSprop(
            params, lr=config.lr, alpha=config.alpha, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.name == "adagrad":
        return torch.optim.Adagrad(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: ScheduleConfig, epochs: int, steps_per_epoch: int
) -> lr_scheduler.LRScheduler:
    """The schedule as a torch scheduler to `step()` after every batch.

    Epoch-based schedules (step, multistep, exponential) change the rate at epoch boundaries exactly as
    torch's StepLR/MultiStepLR/ExponentialLR stepped once an epoch would; cosine and onecycle move every
    batch. A warm-up rises linearly from lr/10 over `warmup` epochs (onecycle has its own warm-up).
    `plateau` is reduced on the validation loss after each epoch by `train.plateau.PlateauSchedule`, a
    stateful callback; the scheduler returned here then leaves the rate alone (but for a warm-up).
    """
    spe = max(1, steps_per_epoch)
    total = epochs * spe
    warmup = min(round(config.warmup * spe), total - 1) if config.name != "onecycle" else 0
    if config.name == "linear":  # up from lr * start_factor over the warm-up, then down to min_lr at the end
        end = config.min_lr / optimizer.defaults["lr"] if optimizer.defaults.get("lr") else 0.0
        return lr_scheduler.LambdaLR(optimizer, _Triangle(warmup, total, config.start_factor, end))
    if config.name == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        pct = config.warmup / epochs if config.warmup else 0.3
        return lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=max_lr,
            total_steps=total,
            pct_start=min(max(pct, 1e-3), 0.99),
            final_div_factor=1e4 if not config.min_lr else optimizer.defaults["lr"] / 25 / config.min_lr,
            cycle_momentum=not any(group.get("muon") for group in optimizer.param_groups),  # Muon keeps its own
        )
    main: lr_scheduler.LRScheduler
    if config.name == "step":
        main = lr_scheduler.StepLR(optimizer, step_size=config.step_size * spe, gamma=config.gamma)
    elif config.name == "multistep":
        main = lr_scheduler.MultiStepLR(optimizer, milestones=[m * spe for m in config.milestones], gamma=config.gamma)
    elif config.name == "plateau":  # both chainable: they leave alone the reductions the plateau callback makes
        if warmup:
            return lr_scheduler.LinearLR(optimizer, start_factor=config.start_factor, total_iters=warmup)
        return lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    elif config.name == "exponential":
        gamma = config.gamma
        main = lr_scheduler.LambdaLR(optimizer, _EpochPower(gamma, spe))
    elif config.name == "cosine":
        main = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total - warmup), eta_min=config.min_lr)
    else:
        main = lr_scheduler.LambdaLR(optimizer, _Constant())
    if not warmup:
        return main
    ramp = lr_scheduler.LinearLR(optimizer, start_factor=config.start_factor, total_iters=warmup)
    return lr_scheduler.SequentialLR(optimizer, [ramp, main], milestones=[warmup])


class _EpochPower:
    """gamma ** epoch for a step count (a class, not a lambda, so the scheduler state can be saved)."""

    def __init__(self, gamma: float, steps_per_epoch: int) -> None:
        self.gamma = gamma
        self.steps_per_epoch = steps_per_epoch

    def __call__(self, step: int) -> float:
        return math.pow(self.gamma, step // self.steps_per_epoch)


class _Triangle:
    """Linear from `start` to 1 over `warmup` steps, then linear to `end` at `total` steps."""

    def __init__(self, warmup: int, total: int, start: float, end: float) -> None:
        self.warmup, self.total, self.start, self.end = warmup, total, start, end

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.start + (1 - self.start) * step / self.warmup
        return 1 + (self.end - 1) * min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))


class _Constant:
    def __call__(self, step: int) -> float:
        return 1.0


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the first parameter group that is not Muon's (the `optim.lr` one)."""
    groups = [g for g in optimizer.param_groups if not g.get("muon")] or optimizer.param_groups
    return float(groups[0]["lr"])
