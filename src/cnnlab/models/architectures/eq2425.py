"""eq2425: the EQ2425 course CNN, three valid convolutions (5x5, 3x3, 3x3) with pooling, fc 512."""

from __future__ import annotations

from torch import nn

from ..blocks import (
    Activation,
    ConvClassifier,
    Init,
    Pool,
    conv_stage,
    fc_head,
    init_weights,
    input_shape,
    output_features,
    sequential,
)
from ..registry import SpatialSize, register


@register("eq2425")
def eq2425(
    in_channels: int,
    num_classes: int,
    input_size: SpatialSize,
    *,
    widths: tuple[int, int, int] = (24, 48, 96),
    hidden: int = 512,
    extra_fc: int = 0,
    activation: Activation = "relu",
    slope: float = 0.01,
    last_conv_activation: bool = False,
    batch_norm: bool = False,
    conv_dropout: float = 0.0,
    dropout: float = 0.0,
    pool: Pool = "max",
    init: Init = "default",
) -> nn.Module:
    """EQ2425 course CNN: valid conv 5x5 24, 3x3 48, 3x3 96, each pool 2, fc 512, fc classes.

    As in the original spec the third conv has no activation (`last_conv_activation=true` adds it). The
    assignment's variants are options: widths=[64,128,256], extra_fc=128 (a second hidden fc),
    activation=leaky_relu (with `slope`), dropout (before each fc after the first), conv_dropout (2-D, after each
    pooled stage), batch_norm (after each conv).
    """
    layers: list[tuple[str, nn.Module | None]] = []
    channels = in_channels
    for i, (width, kernel) in enumerate(zip(widths, (5, 3, 3), strict=True), start=1):
        layers += conv_stage(
            i,
            channels,
            [width],
            kernel=kernel,
            padding=0,
            activation=activation,
            slope=slope,
            batch_norm=batch_norm,
            pool=pool,
            activate_last=last_conv_activation or i < len(widths),
            dropout=conv_dropout,
        )
        channels = width
    features = sequential(*layers)
    flat = output_features(features, input_shape(in_channels, input_size))
    hidden_widths = [hidden, extra_fc] if extra_fc else [hidden]
    classifier = fc_head(
        flat, hidden_widths, num_classes, activation=activation, slope=slope, dropout=dropout, first_activation=4
    )
    return init_weights(ConvClassifier(features, classifier), init)
