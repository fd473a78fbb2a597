"""Training on the hardest examples of each batch, as a small proxy net judges them (airbench96's selection).

A small fastnet, the proxy, scores every training batch by its loss on each example; the run's net
trains only on the share with the highest losses (`train.selection.keep`, half in the record), and the
proxy trains on that same share every `train_every` steps (4). The record holder's code runs the proxy
through the whole run first and keeps its choices; the proxy never sees the main net, so scoring each
batch just before the main net's step chooses the same examples without keeping a list of them.

The training figures of such a run (loss, top-1, images a second) are those of the kept examples: the
hardest, so the training top-1 reads lower than the net's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnnlab.config import RunConfig
from cnnlab.config.schema import ModelConfig, SelectionConfig
from cnnlab.errors import UserError
from cnnlab.models.hooks import EpochAware

from .callbacks import Callback
from .device import Compute
from .distributed import World
from .optim import build_optimizer, build_scheduler


class ProxySelection(Callback):
    """Keeps the hardest `keep` share of each training batch by the proxy's loss; trains the proxy on it."""

    state_key = "selection"

    def __init__(
        self,
        proxy: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        criterion: nn.Module,
        config: SelectionConfig,
        compute: Compute,
    ) -> None:
        self.proxy, self.optimizer, self.scheduler = proxy, optimizer, scheduler
        self.criterion, self.config, self.compute = criterion, config, compute
        self.steps = 0

    def select_batch(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        train_now = self.steps % self.config.train_every == 0
        self.steps += 1
        self.proxy.train()  # batch statistics, as the record's proxy scores
        with torch.set_grad_enabled(train_now), self.compute.autocast():
            losses = self.criterion(self.proxy(x), y)
        kept = losses.detach().float().topk(max(1, round(len(x) * self.config.keep))).indices.sort().values
        if train_now:
            self.optimizer.zero_grad(set_to_none=True)
            losses[kept].mean().backward()
            self.optimizer.step()
        self.scheduler.step()
        return x[kept], y[kept]

    def state_dict(self) -> dict[str, Any]:
        return {
            "proxy": self.proxy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "steps": self.steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.proxy.load_state_dict(state["proxy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.steps = int(state["steps"])


def proxy_config(config: RunConfig, selection: SelectionConfig) -> RunConfig:
    """The run's config with the proxy's net in place of its own: the proxy's widths and depth, no skip, and a
    whitening bias that never trains (the record's proxy)."""
    options = {
        **config.model.model_dump(),
        "widths": list(selection.widths),
        "convs_per_block": selection.convs_per_block,
        "residual": False,
        "whiten_bias_epochs": 0,
    }
    return config.model_copy(update={"model": ModelConfig(**options)})


def proxy_selection(
    config: RunConfig,
    compute: Compute,
    steps_per_epoch: int,
    build_model: Callable[[RunConfig], nn.Module],
    world: World | None = None,
) -> ProxySelection | None:
    """The run's selection callback (None when `train.selection` is off): the proxy built by `build_model`
    from the run's config with the proxy's widths, trained with the run's optimiser and schedule."""
    selection = config.train.selection
    if selection is None:
        return None
    if config.model.name != "fastnet":
        raise UserError(
            f"train.selection scores each batch with a small fastnet and is for the fastnet family: set "
            f"model.name=fastnet, or train.selection=null (this run's model is {config.model.name})"
        )
    if world is not None:
        raise UserError(
            "train.selection runs on one process (each of several would choose from its own share with its own "
            "proxy): run it without torchrun, or set train.selection=null"
        )
    proxy = build_model(proxy_config(config, selection))
    if isinstance(proxy, EpochAware):
        proxy.set_epoch(1)  # freezes the whitening bias before the optimiser collects the trainable parameters
    optimizer = build_optimizer(proxy, config.optim, compute.precision)
    scheduler = build_scheduler(optimizer, config.schedule, config.train.epochs, steps_per_epoch)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.train.label_smoothing, reduction="none")
    return ProxySelection(proxy, optimizer, scheduler, criterion, selection, compute)
