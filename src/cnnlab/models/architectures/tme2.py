"""tme2: the RDFIA course CNN (TME 2 and homework 1-cd), three 5x5 conv stages and two fully connected layers.

The layer table of the RDFIA homework 1-cd report's Q10 (and of the RDFIA TME 2 report's section 2.2, Q10):
conv1 32 / pool1 / conv2 64 / pool2 / conv3 64 / pool3 / fc4 1000 / fc5 10, each conv 5x5 with padding 2 and a
ReLU, each pooling 2x2 with stride 2.
"""

from __future__ import annotations

from ..blocks import Activation, Pool
from ..registry import register_table
from ..table import Row
from .rows import activation_row, pool_row


@register_table("tme2")
def tme2(
    *,
    widths: tuple[int, int, int] = (32, 64, 64),
    hidden: int = 1000,
    activation: Activation = "relu",
    slope: float = 0.01,
    batch_norm: bool = False,
    conv_dropout: float = 0.0,
    dropout: float = 0.0,
    pool: Pool = "max",
    conv_bias: bool = True,
    fc_bias: bool = True,
) -> list[Row]:
    """RDFIA TME2 CNN: 3 x (conv5x5 pad2, ReLU, maxpool2) of 32/64/64, fc4 1000, fc5 classes (1,191,170 params).

    The RDFIA homework 1-cd report's own count (Q11) is 1,191,010: its table (Q10) lists the convs' weights
    without their biases (`conv_bias=false` gives it); the RDFIA TME 2 report's (Q11) sums 1,190,160, the fc
    biases left out (`fc_bias=false`). Options for the course's improvements: batch norm after each conv,
    before its ReLU (homework Q34), dropout between fc4 and fc5 (homework Q29), 2-D dropout after each stage
    (`conv_dropout`), and the activation, pooling and widths.
    """
    rows: list[Row] = []
    for width in widths:
        rows += [{"conv": width, "kernel": 5, "padding": 2, "bias": conv_bias}]
        rows += ["batchnorm"] if batch_norm else []
        rows += [activation_row(activation, slope), *pool_row(pool)]
        rows += [{"dropout2d": conv_dropout}] if conv_dropout else []
    rows += ["flatten", {"fc": hidden, "bias": fc_bias}, activation_row(activation, slope)]
    rows += [{"dropout": dropout}] if dropout else []
    return [*rows, {"fc": "classes", "bias": fc_bias}]
