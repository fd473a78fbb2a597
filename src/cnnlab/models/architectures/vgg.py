"""vgg16-cifar and vgg-truncated: VGG16's convolution blocks for 32x32 images, as a course report used them."""

from __future__ import annotations

from torch import nn

from cnnlab.errors import UserError

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
from ..registry import SpatialSize, register, register_variant

VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


@register("vgg16-cifar")
def vgg16_cifar(
    in_channels: int,
    num_classes: int,
    input_size: SpatialSize,
    *,
    blocks: tuple[tuple[int, ...], ...] = VGG16_BLOCKS,
    pool_strides: tuple[int, ...] = (2, 1, 1, 1, 1),
    hidden: tuple[int, ...] = (4096, 4096),
    activation: Activation = "relu",
    slope: float = 0.01,
    batch_norm: bool = True,
    conv_dropout: float = 0.1,
    dropout: float = 0.1,
    pool: Pool = "max",
    init: Init = "default",
) -> nn.Module:
    """VGG16's 13 convs with BN and Dropout2d a block, max-pool stride 2 then 1, dropout 0.1, fc 4096, 4096.

    The stride-1 poolings keep a 32x32 image at 12x12 after the last block, so the first fully connected
    layer is very large (512*12*12 -> 4096, about 302 million weights); `pool_strides` and `hidden` shrink
    it. The report does not give the Dropout2d rate: we use its fully connected rate, 0.1.
    """
    if len(pool_strides) != len(blocks):
        raise UserError(
            f"model.pool_strides has {len(pool_strides)} values but the net has {len(blocks)} blocks: give one a block"
        )
    layers: list[tuple[str, nn.Module | None]] = []
    channels = in_channels
    for i, (widths, stride) in enumerate(zip(blocks, pool_strides, strict=True), start=1):
        layers += conv_stage(
            i,
            channels,
            widths,
            activation=activation,
            slope=slope,
            batch_norm=batch_norm,
            pool=pool,
            pool_stride=stride,
            dropout=conv_dropout,
        )
        channels = widths[-1]
    features = sequential(*layers)
    flat = output_features(features, input_shape(in_channels, input_size))
    classifier = fc_head(
        flat,
        hidden,
        num_classes,
        activation=activation,
        slope=slope,
        input_dropout=dropout,
        first_activation=len(blocks) + 1,
    )
    return init_weights(ConvClassifier(features, classifier), init)


register_variant(
    "vgg-truncated",
    of="vgg16-cifar",
    doc="The first three blocks of vgg16-cifar (7 convs: 64,64 | 128,128 | 256,256,256) and the same head.",
    blocks=VGG16_BLOCKS[:3],
    pool_strides=(2, 1, 1),
)
