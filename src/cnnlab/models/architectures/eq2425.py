"""eq2425: the EQ2425 project-3 CNN, three valid convolutions (5x5, 3x3, 3x3) with pooling, fc 512.

The default structure of the EQ2425 project-3 report section 4 (column 3.2 of its appendix table): conv 5x5 24, ReLU,
maxpool, conv 3x3 48, ReLU, maxpool, conv 3x3 96, maxpool (no ReLU listed after the third conv), fc 512,
ReLU, fc 10, all convolutions 'valid' (no padding).
"""

from __future__ import annotations

from cnnlab.errors import UserError

from ..blocks import Activation, Pool
from ..registry import register_table
from ..table import Row
from .rows import activation_row, pool_row


@register_table("eq2425")
def eq2425(
    *,
    widths: tuple[int, int, int] = (24, 48, 96),
    kernels: tuple[int, int, int] = (5, 3, 3),
    hidden: int = 512,
    extra_fc: int = 0,
    activation: Activation = "relu",
    slope: float = 0.01,
    last_conv_activation: bool = False,
    batch_norm: bool = False,
    conv_dropout: float = 0.0,
    dropout: float = 0.0,
    pool: Pool = "max",
) -> list[Row]:
    """EQ2425 CNN: valid conv 5x5 24, 3x3 48, 3x3 96, each max-pooled, fc 512, fc classes (256,058 params).

    The appendix's columns are options: widths=[64,128,256] (4.A.1), extra_fc=128 (4.A.2: a second hidden
    fc), kernels=[7,5,3] (4.B: 7x7 then 5x5), activation=leaky_relu (4.C; the report's a = 100 is slope
    0.01), dropout (4.D; before each fc after the first), batch_norm (4.E; after each conv). As in the
    report's structure the third conv has no activation (`last_conv_activation=true` adds one).
    """
    if len(kernels) != len(widths):
        raise UserError(f"model.kernels gives {len(kernels)} sizes for {len(widths)} convs: give one a conv")
    rows: list[Row] = []
    for i, (width, kernel) in enumerate(zip(widths, kernels, strict=True), start=1):
        rows += [{"conv": width, "kernel": kernel}]
        rows += ["batchnorm"] if batch_norm else []
        rows += [activation_row(activation, slope)] if last_conv_activation or i < len(widths) else []
        rows += pool_row(pool)
        rows += [{"dropout2d": conv_dropout}] if conv_dropout else []
    rows.append("flatten")
    for width in [hidden, extra_fc] if extra_fc else [hidden]:
        rows += [{"fc": width}, activation_row(activation, slope)]
        rows += [{"dropout": dropout}] if dropout else []
    return [*rows, {"fc": "classes"}]
