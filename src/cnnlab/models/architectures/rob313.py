"""rob313: the ROB313 course CNN, two 3x3 conv stages with batch norm and dropout between them."""

from __future__ import annotations

from torch import nn

from ..blocks import (
    Activation,
    ConvClassifier,
    Init,
    Pool,
    fc_head,
    init_weights,
    input_shape,
    make_activation,
    make_pool,
    output_features,
    sequential,
)
from ..registry import SpatialSize, register


@register("rob313")
def rob313(
    in_channels: int,
    num_classes: int,
    input_size: SpatialSize,
    *,
    widths: tuple[int, int] = (16, 16),
    hidden: int = 64,
    activation: Activation = "relu",
    slope: float = 0.01,
    batch_norm: bool = True,
    conv_dropout: float = 0.35,
    dropout2d: bool = False,
    dropout: float = 0.0,
    pool: Pool = "max",
    init: Init = "default",
) -> nn.Module:
    """ROB313 course CNN: conv3x3 16, ReLU, pool, BN, conv3x3 16, ReLU, dropout 0.35, pool, fc 64, fc classes.

    The report's order is kept: the batch norm sits after the first pooling and the dropout (element-wise,
    `dropout2d=true` drops whole channels) before the second. `dropout` adds one before the last fc.
    """
    features = sequential(
        ("conv1", nn.Conv2d(in_channels, widths[0], 3, padding=1)),
        (f"{activation}1", make_activation(activation, slope)),
        ("pool1", make_pool(pool)),
        ("bn1", nn.BatchNorm2d(widths[0]) if batch_norm else None),
        ("conv2", nn.Conv2d(widths[0], widths[1], 3, padding=1)),
        (f"{activation}2", make_activation(activation, slope)),
        ("dropout2", (nn.Dropout2d if dropout2d else nn.Dropout)(conv_dropout) if conv_dropout else None),
        ("pool2", make_pool(pool)),
    )
    flat = output_features(features, input_shape(in_channels, input_size))
    classifier = fc_head(
        flat, [hidden], num_classes, activation=activation, slope=slope, dropout=dropout, first_activation=3
    )
    return init_weights(ConvClassifier(features, classifier), init)
