"""mlp: a multilayer perceptron for the toy 2-D sets and the digits."""

from __future__ import annotations

from torch import nn

from ..blocks import Activation, ConvClassifier, Init, init_weights, input_shape, make_activation, sequential
from ..registry import SpatialSize, register


@register("mlp")
def mlp(
    in_channels: int,
    num_classes: int,
    input_size: SpatialSize,
    *,
    hidden: tuple[int, ...] = (128,),
    activation: Activation = "relu",
    slope: float = 0.01,
    batch_norm: bool = False,
    dropout: float = 0.0,
    init: Init = "default",
) -> nn.Module:
    """Multilayer perceptron: flatten, then fully connected layers of `hidden` widths, then classes."""
    features = 1
    for d in input_shape(in_channels, input_size):
        features *= d
    layers: list[tuple[str, nn.Module | None]] = [("flatten", nn.Flatten())]
    for i, width in enumerate(hidden, start=1):
        layers += [
            (f"fc{i}", nn.Linear(features, width)),
            (f"bn{i}", nn.BatchNorm1d(width) if batch_norm else None),
            (f"{activation}{i}", make_activation(activation, slope)),
            (f"dropout{i}", nn.Dropout(dropout) if dropout else None),
        ]
        features = width
    layers.append((f"fc{len(hidden) + 1}", nn.Linear(features, num_classes)))
    return init_weights(ConvClassifier(nn.Sequential(), sequential(*layers)), init)
