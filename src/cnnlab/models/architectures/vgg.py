"""vgg16-cifar and vgg-truncated: VGG16's convolution blocks for 32x32 images, as the ROB313 TP4 report used them."""

from __future__ import annotations

from cnnlab.errors import UserError

from ..blocks import Activation
from ..registry import register_table, register_variant
from ..table import Row
from .rows import activation_row

LISTING_BLOCKS = ((64, 64), (128, 128), (256, 256), (512, 512, 512), (512, 512, 512))


@register_table("vgg16-cifar")
def vgg16_cifar(
    *,
    blocks: tuple[tuple[int, ...], ...] = LISTING_BLOCKS,
    pool_strides: tuple[int, ...] = (2, 1, 1, 1, 1),
    block_dropout: tuple[float, ...] = (0.05, 0.0, 0.0, 0.0, 0.0),
    hidden: tuple[int, ...] = (4096, 4096),
    dropout: float = 0.1,
    batch_norm: bool = True,
    activation: Activation = "relu",
    slope: float = 0.01,
) -> list[Row]:
    """ROB313's adapted VGG16: 12 convs, a BN a block, Dropout2d in block 1, fc 73728-4096-4096 (332,943,818 params).

    The module listing printed in the ROB313 TP4 report (what ran): blocks of 3x3 convs (padding 1) of 64,64 | 128,128 |
    256,256 | 512,512,512 | 512,512,512 (two in block 3, where VGG16 has three), a ReLU after each conv, one
    BatchNorm2d at the end of each block, Dropout2d(0.05) in block 1 only, max pooling with stride 2 after
    block 1 and stride 1 after the others (a 32x32 image ends at 12x12), then Dropout(0.1) and fc 512*12*12
    -> 4096 -> 4096 -> classes. The report's text says "dropouts were added in every block"; the listing is
    what ran, so we follow it.
    """
    if not len(blocks) == len(pool_strides) == len(block_dropout):
        raise UserError(
            f"model.blocks ({len(blocks)}), model.pool_strides ({len(pool_strides)}) and model.block_dropout "
            f"({len(block_dropout)}) must give one value a block"
        )
    rows: list[Row] = []
    for widths, stride, rate in zip(blocks, pool_strides, block_dropout, strict=True):
        for width in widths:
            rows += [{"conv": width, "kernel": 3, "padding": 1}, activation_row(activation, slope)]
        rows += ["batchnorm"] if batch_norm else []
        rows += [{"dropout2d": rate}] if rate else []
        rows += [{"maxpool": 2, "stride": stride}]
    rows += ["flatten", {"dropout": dropout}] if dropout else ["flatten"]
    for width in hidden:
        rows += [{"fc": width}, activation_row(activation, slope)]
    return [*rows, {"fc": "classes"}]


register_variant(
    "vgg-truncated",
    of="vgg16-cifar",
    doc="""ROB313's truncated VGG16: the adapted VGG16's first three blocks, each pooled by 2, and its head.

    the ROB313 TP4 report's optimiser section trains "a truncated version of VGG16" whose picture is lost; its text says
    the first three blocks are very similar to VGG16's "apart from some ReLU, batch normalizations and
    dropout layers", and that its max poolings halve the maps every time (which is why the full model
    pools with stride 1). So: the adapted listing's first three blocks, each pooled with stride 2 (a 32x32
    image ends at 256x4x4), and the listing's head (dropout 0.1, fc 4096, 4096).""",
    blocks=LISTING_BLOCKS[:3],
    pool_strides=(2, 2, 2),
    block_dropout=(0.05, 0.0, 0.0),
)
