"""Building blocks shared by the architectures: activations, shape inference, init schemes, the classifier shape."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from typing import Literal, TypeVar

import torch
from torch import nn

from cnnlab.errors import UserError

Activation = Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu"]
Pool = Literal["max", "avg", "none"]
Init = Literal["default", "uniform", "kaiming", "xavier"]
ModuleT = TypeVar("ModuleT", bound=nn.Module)


def make_activation(name: str, slope: float = 0.01, inplace: bool = True) -> nn.Module:
    """The activation layer called `name` (leaky_relu takes `slope`).

    `inplace` ReLUs save a copy of the activations; a net written freely (a layer table) must not use
    them right after tanh or sigmoid, whose backward needs their output intact.
    """
    if name == "relu":
        return nn.ReLU(inplace=inplace)
    if name == "leaky_relu":
        return nn.LeakyReLU(slope, inplace=inplace)
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown activation {name!r}")


def trace_layer(
    name: str, layer: nn.Module, x: torch.Tensor, input_shape: tuple[int, ...], where: str = ""
) -> torch.Tensor:
    """`layer`'s output for `x` (evaluation mode, no gradients: batch norm on a batch of one).

    A layer that shrinks the input to nothing, or cannot take it at all, is a UserError naming it (and
    `where` it was written, e.g. a layer table's row).
    """
    label = f"'{name}'" + (f" ({where})" if where else "")
    before = tuple(x.shape[1:])
    was_training = layer.training
    layer.eval()
    try:
        with torch.no_grad():
            y = layer(x)
    except RuntimeError as err:
        reason = str(err).splitlines()[0]
        if any(word in reason.lower() for word in ("too small", "greater than", "output size")):
            raise UserError(too_small(label, before, input_shape, reason)) from None
        raise UserError(f"layer {label} cannot take its input {before} ({reason}): change its settings") from None
    finally:
        layer.train(was_training)
    if any(d <= 0 for d in y.shape[1:]):
        raise UserError(too_small(label, before, input_shape, f"its output would be {tuple(y.shape[1:])}"))
    return y


def trace_shapes(layers: Iterable[tuple[str, nn.Module]], input_shape: tuple[int, ...]) -> list[tuple[str, tuple]]:
    """Each named layer's output shape (without the batch) for one input of `input_shape`.

    A layer that shrinks the input to nothing is a UserError naming the layer and the shape it got.
    """
    x = torch.zeros(1, *input_shape)
    shapes = []
    for name, layer in layers:
        x = trace_layer(name, layer, x, input_shape)
        shapes.append((name, tuple(x.shape[1:])))
    return shapes


def too_small(layer: str, got: tuple, input_shape: tuple, reason: str) -> str:
    """The message for an input too small for a net: which layer (quoted, maybe with where it was written)
    shrank what to nothing, and the fix."""
    size = "x".join(str(d) for d in input_shape)
    return (
        f"the input {size} is too small for this model: layer {layer} receives {got} and shrinks it to "
        f"nothing ({reason}); use larger images (data.image_size) or a model with fewer poolings"
    )


def output_features(layers: nn.Sequential, input_shape: tuple[int, ...]) -> int:
    """The number of features `layers` produce for one input: the size a following Linear needs."""
    shapes = trace_shapes(layers.named_children(), input_shape)
    last = shapes[-1][1] if shapes else input_shape
    return math.prod(last)


def sequential(*named: tuple[str, nn.Module | None]) -> nn.Sequential:
    """nn.Sequential of the named layers that are not None (options may leave a layer out)."""
    return nn.Sequential(OrderedDict((name, layer) for name, layer in named if layer is not None))


class Scale(nn.Module):
    """Multiply by a constant: the fixed output scale of a classifier head (not a parameter)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


def init_weights(model: ModuleT, scheme: str) -> ModuleT:
    """Re-initialise conv and linear weights (biases to zero) with `scheme`; `default` keeps PyTorch's."""
    if scheme == "default":
        return model
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            if scheme == "uniform":
                nn.init.uniform_(module.weight, -0.05, 0.05)
            elif scheme == "kaiming":
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            elif scheme == "xavier":
                nn.init.xavier_uniform_(module.weight)
            else:
                raise ValueError(f"unknown init {scheme!r}")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


class ConvClassifier(nn.Module):
    """`features` (convolutions and pooling) then `classifier` (flatten and fully connected layers).

    The shape of every course CNN; keeping the two apart lets `inspect`, Grad-CAM (the last conv
    of `features`) and the fully convolutional conversion (the Linear layers of `classifier`) find
    their layers without knowing the architecture.
    """

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def input_shape(in_channels: int, input_size: tuple[int, int] | None) -> tuple[int, ...]:
    """(C, H, W) for images, (C,) for inputs without spatial dimensions."""
    return (in_channels,) if input_size is None else (in_channels, *input_size)
