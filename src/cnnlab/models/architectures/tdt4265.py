"""tdt4265: the nets of the TDT4265 assignment-3 report: the task-2 net, networks 1 and 2, the improved network.

Each is its report table's layer table. Where the table leaves a size out, the text gives it: every
conv of network 1 (and of the improved network) is 5x5 with padding 2, every conv of network 2 is 3x3 with
the padding of 2 the report states (section 3.1), every max pooling is 2x2 with stride 2; the dropout
rates are the "Regularization" column of Tables 3, 5 and 8.
"""

from __future__ import annotations

from ..blocks import Activation, Pool
from ..registry import register_table, register_variant
from ..table import Row
from .rows import activation_row, pool_row


@register_table("tdt4265")
def tdt4265(
    *,
    widths: tuple[int, ...] = (32, 64, 128),
    kernel: int = 5,
    hidden: tuple[int, ...] = (64,),
    activation: Activation = "relu",
    slope: float = 0.01,
    batch_norm: bool = False,
    conv_dropout: float = 0.0,
    dropout: float = 0.0,
    pool: Pool = "max",
) -> list[Row]:
    """TDT4265 task-2 CNN: 3 x (conv5x5 pad2, ReLU, maxpool2) of 32/64/128, fc 64, fc classes (390,410 params).

    The TDT4265 assignment-3 report's Table 1 and task 1g (which counts the 390,410 parameters by hand).
    Options: batch norm after each conv, 2-D dropout after each stage, dropout before each fc after the
    first, widths, kernel (same padding), the hidden fcs, activation and pooling.
    """
    rows: list[Row] = []
    for width in widths:
        rows += [{"conv": width, "kernel": kernel, "padding": kernel // 2}]
        rows += ["batchnorm"] if batch_norm else []
        rows += [activation_row(activation, slope), *pool_row(pool)]
        rows += [{"dropout2d": conv_dropout}] if conv_dropout else []
    rows.append("flatten")
    for k, width in enumerate(hidden):
        rows += [{"dropout": dropout}] if dropout and k else []
        rows += [{"fc": width}, activation_row(activation, slope)]
    rows += [{"dropout": dropout}] if dropout else []
    return [*rows, {"fc": "classes"}]


@register_table("tdt4265-net1")
def tdt4265_net1(*, conv_dropout: float = 0.05, fc_dropout: float = 0.05, fc_layers: int = 4) -> list[Row]:
    """TDT4265 network 1: conv5x5 32 [BN] / 64 [pool] / 128 [BN] / 128 [pool, Dropout2d], 4 x fc 64 (1,206,666 params).

    The TDT4265 assignment-3 report's Table 2, with Table 3's dropout rate 0.05 for both the Dropout2D and
    the fc dropouts. The batch norms follow the ReLUs, as the table lists them (Conv2D with its ReLU, then
    BatchNorm2D); each of the four fc 64 is followed by ReLU, BatchNorm1d and dropout, then fc 10.
    """
    rows: list[Row] = []
    for width, after in ((32, ["batchnorm"]), (64, ["maxpool"]), (128, ["batchnorm"]), (128, ["maxpool"])):
        rows += [{"conv": width, "kernel": 5, "padding": 2}, "relu", *after]
    rows += [{"dropout2d": conv_dropout}] if conv_dropout else []
    rows.append("flatten")
    for _ in range(fc_layers):
        rows += [{"fc": 64}, "relu", "batchnorm"]
        rows += [{"dropout": fc_dropout}] if fc_dropout else []
    return [*rows, {"fc": "classes"}]


register_variant(
    "tdt4265-improved",
    of="tdt4265-net1",
    doc="""TDT4265 improved network: network 1 without the dropout of its fully connected part (1,206,666 params).

    The TDT4265 assignment-3 report's Table 7 (section 3.5: "dropout was removed from the fully connected
    network"); the Dropout2D after the fourth conv stays, at Table 8's rate 0.05.""",
    fc_dropout=0.0,
)


@register_table("tdt4265-net2")
def tdt4265_net2(*, padding: int = 2, dropout: float = 0.1) -> list[Row]:
    """TDT4265 network 2: conv3x3 pad 2 32 / 64 [BN, pool] / 128 [BN, pool, dropout], fc 64 + BN, fc (913,674 params).

    The TDT4265 assignment-3 report's Table 4, with section 3.1's "filter size of 3x3, with a padding of 2"
    and Table 5's dropout 0.1 (plain Dropout, as listed). A padding of 2 on a 3x3 filter grows each map by
    2 pixels (32 -> 34 -> 36 -> pool 18 -> 20 -> pool 10), so fc1 reads 128x10x10; with `padding=1` (sizes
    kept) it reads 128x8x8 and the net has 618,762 parameters. We follow the report as written.
    """
    rows: list[Row] = [{"conv": 32, "kernel": 3, "padding": padding}, "relu"]
    rows += [{"conv": 64, "kernel": 3, "padding": padding}, "relu", "batchnorm", "maxpool"]
    rows += [{"conv": 128, "kernel": 3, "padding": padding}, "relu", "batchnorm", "maxpool"]
    rows += [{"dropout": dropout}] if dropout else []
    return [*rows, "flatten", {"fc": 64}, "relu", "batchnorm", {"fc": "classes"}]
