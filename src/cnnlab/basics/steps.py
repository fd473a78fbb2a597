"""The course's four steps: one net and one SGD, with less of it written by hand at each step.

    manual    forward, loss, backward and update all by hand (`mlp.py`)
    autograd  the same hand-written forward and loss; gradients from `loss.backward()`; update by hand
    nn        `torch.nn.Linear` + `torch.nn.Tanh` layers and `nn.CrossEntropyLoss`; update by hand from `.grad`
    optim     the same layers and loss; `torch.optim.SGD` does the update

Each step is a Learner over the same starting weights, so one training loop (`fit.py`) drives all
four and their loss curves can be compared number for number.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from typing import cast

import torch
from torch import nn

from cnnlab.errors import UserError, did_you_mean

from .mlp import MLPParams, backward, cross_entropy, forward, sgd_update


class Learner(ABC):
    """One step's way of taking an SGD step on the two-layer perceptron."""

    @abstractmethod
    def update(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        """One SGD step on a batch; returns the batch's mean loss before the step."""

    @abstractmethod
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """y~ for x, without recording a graph."""

    @abstractmethod
    def params(self) -> MLPParams:
        """A detached copy of the current weights, in the hand-written layout."""


class ManualLearner(Learner):
    """Step 1: everything by hand."""

    def __init__(self, params: MLPParams, lr: float) -> None:
        self.p = params.clone()
        self.lr = lr

    def update(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        fwd = forward(self.p, x)
        loss = cross_entropy(fwd.logits, labels)
        sgd_update(self.p, backward(self.p, x, labels, fwd), self.lr)
        return loss.item()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.p, x).logits

    def params(self) -> MLPParams:
        return self.p.clone()


class AutogradLearner(Learner):
    """Step 2: the hand-written forward; autograd computes the gradients."""

    def __init__(self, params: MLPParams, lr: float) -> None:
        self.p = MLPParams(*(t.detach().clone().requires_grad_(True) for t in params.as_dict().values()))
        self.lr = lr

    def update(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        loss = cross_entropy(forward(self.p, x).logits, labels)
        loss.backward()
        with torch.no_grad():  # the update itself must not become part of the next graph
            for t in self.p.as_dict().values():
                assert t.grad is not None  # backward() has just set it
                t -= self.lr * t.grad
                t.grad = None  # .grad accumulates across backward() calls
        return loss.item()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return forward(self.p, x).logits

    def params(self) -> MLPParams:
        return self.p.clone()


class LayersLearner(Learner):
    """Step 3: `torch.nn` layers and loss; the update by hand from each parameter's `.grad`."""

    def __init__(self, params: MLPParams, lr: float) -> None:
        self.model = mlp_layers(params)
        self.loss_fn = nn.CrossEntropyLoss()  # log-softmax + negative log-likelihood, stable like ours
        self.lr = lr

    def update(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        loss = self.loss_fn(self.model(x), labels)
        self.model.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            for p in self.model.parameters():
                assert p.grad is not None  # backward() has just set it
                p.sub_(self.lr * p.grad)  # p -= lr * grad, in place
        return loss.item()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model(x)

    def params(self) -> MLPParams:
        hidden, output = cast(nn.Linear, self.model.hidden), cast(nn.Linear, self.model.output)
        return MLPParams(hidden.weight, hidden.bias, output.weight, output.bias).clone()


class OptimLearner(LayersLearner):
    """Step 4: the same layers and loss; `torch.optim.SGD` applies theta <- theta - lr * grad."""

    def __init__(self, params: MLPParams, lr: float) -> None:
        super().__init__(params, lr)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)

    def update(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(x), labels)
        loss.backward()
        self.optimizer.step()
        return loss.item()


STEPS: dict[str, Callable[[MLPParams, float], Learner]] = {
    "manual": ManualLearner,
    "autograd": AutogradLearner,
    "nn": LayersLearner,
    "optim": OptimLearner,
}


def check_step(step: str) -> None:
    """A UserError unless `step` names one of the four steps."""
    if step not in STEPS:
        raise UserError(f"unknown step '{step}'{did_you_mean(step, STEPS)}: choose one of {', '.join(STEPS)}")


def make_learner(step: str, params: MLPParams, lr: float) -> Learner:
    """The learner of `step` (manual, autograd, nn, optim), starting from a copy of `params`."""
    check_step(step)
    return STEPS[step](params, lr)


def mlp_layers(params: MLPParams) -> nn.Sequential:
    """Linear(D, H) - Tanh - Linear(H, K) holding a copy of `params`.

    `skip_init` builds the layers without drawing their default initial weights, which would
    consume the global random stream for numbers that are overwritten at once.
    """
    inputs, hidden, classes = params.sizes
    like = {"dtype": params.W_h.dtype, "device": params.W_h.device}
    hidden_layer: nn.Linear = nn.utils.skip_init(nn.Linear, inputs, hidden, **like)
    output_layer: nn.Linear = nn.utils.skip_init(nn.Linear, hidden, classes, **like)
    layers = nn.Sequential(OrderedDict(hidden=hidden_layer, tanh=nn.Tanh(), output=output_layer))
    with torch.no_grad():
        hidden_layer.weight.copy_(params.W_h)
        hidden_layer.bias.copy_(params.b_h)
        output_layer.weight.copy_(params.W_y)
        output_layer.bias.copy_(params.b_y)
    return layers
