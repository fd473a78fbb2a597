"""tme2: the TME2 course CNN, three 5x5 conv stages and two fully connected layers."""

from __future__ import annotations

from torch import nn

from ..blocks import (
    Activation,
    ConvClassifier,
    Init,
    Pool,
    init_weights,
    input_shape,
    make_activation,
    make_pool,
    output_features,
    sequential,
)
from ..registry import SpatialSize, register


@register("tme2")
def tme2(
    in_channels: int,
    num_classes: int,
    input_size: SpatialSize,
    *,
    widths: tuple[int, int, int] = (32, 64, 64),
    hidden: int = 1000,
    activation: Activation = "relu",
    slope: float = 0.01,
    batch_norm: bool = False,
    conv_dropout: float = 0.0,
    dropout: float = 0.0,
    pool: Pool = "max",
    init: Init = "default",
    conv_bias: bool = True,
    fc_bias: bool = True,
) -> nn.Module:
    """TME2 course CNN: 3 x (conv5x5 pad2, ReLU, maxpool2) of 32/64/64, fc 1000, fc classes (1,191,170 params).

    Options: batch norm after each conv, dropout before the last fully connected layer, 2-D dropout
    after each stage (`conv_dropout`), widths,
    activation, pooling, init; `conv_bias` / `fc_bias` reproduce the course reports' counts that
    left those biases out.
    """
    layers: list[tuple[str, nn.Module | None]] = []
    channels = in_channels
    for i, width in enumerate(widths, start=1):
        layers += [
            (f"conv{i}", nn.Conv2d(channels, width, 5, padding=2, bias=conv_bias)),
            (f"bn{i}", nn.BatchNorm2d(width) if batch_norm else None),
            (f"{activation}{i}", make_activation(activation, slope)),
            (f"pool{i}", make_pool(pool)),
            (f"dropout{i}", nn.Dropout2d(conv_dropout) if conv_dropout else None),
        ]
        channels = width
    features = sequential(*layers)
    classifier = sequential(
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(output_features(features, input_shape(in_channels, input_size)), hidden, bias=fc_bias)),
        (f"{activation}{len(widths) + 1}", make_activation(activation, slope)),
        ("dropout", nn.Dropout(dropout) if dropout else None),
        ("fc2", nn.Linear(hidden, num_classes, bias=fc_bias)),
    )
    return init_weights(ConvClassifier(features, classifier), init)
