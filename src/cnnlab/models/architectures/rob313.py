"""rob313: the ROB313 TP4 small CNN, two 3x3 conv stages with batch norm and dropout between them.

The layer table of the ROB313 TP4 report's listing (`MyConvolutionalNetwork`): conv1 3x3 16 pad 1, ReLU, maxpool,
batch norm, conv2 3x3 16 pad 1, ReLU, dropout 0.35, maxpool, fc 64, fc 10 (69,050 parameters).
"""

from __future__ import annotations

from ..blocks import Activation, Pool
from ..registry import register_table
from ..table import Row
from .rows import activation_row, pool_row


@register_table("rob313")
def rob313(
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
) -> list[Row]:
    """ROB313 TP4 CNN: conv3x3 16, ReLU, pool, BN, conv3x3 16, ReLU, dropout 0.35, pool, fc 64, fc classes.

    The listing's order is kept (the ROB313 TP4 report): the batch norm sits after the first pooling, the dropout
    (element-wise; `dropout2d=true` drops whole channels) before the second pooling. The report's
    comparisons are options: without the dropout (`conv_dropout=0`), without pooling (`pool=none`: both
    poolings, so fc1 reads 16x32x32), without batch norm (`batch_norm=false`). `dropout` adds one before fc2.
    """
    rows: list[Row] = [{"conv": widths[0], "kernel": 3, "padding": 1}, activation_row(activation, slope)]
    rows += pool_row(pool)
    rows += ["batchnorm"] if batch_norm else []
    rows += [{"conv": widths[1], "kernel": 3, "padding": 1}, activation_row(activation, slope)]
    rows += [{"dropout2d" if dropout2d else "dropout": conv_dropout}] if conv_dropout else []
    rows += pool_row(pool)
    rows += ["flatten", {"fc": hidden}, activation_row(activation, slope)]
    rows += [{"dropout": dropout}] if dropout else []
    return [*rows, {"fc": "classes"}]
