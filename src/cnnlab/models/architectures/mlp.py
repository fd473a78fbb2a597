"""mlp: a multilayer perceptron for the toy 2-D sets and the digits."""

from __future__ import annotations

from ..blocks import Activation
from ..registry import register_table
from ..table import Row
from .rows import activation_row


@register_table("mlp")
def mlp(
    *,
    hidden: tuple[int, ...] = (128,),
    activation: Activation = "relu",
    slope: float = 0.01,
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> list[Row]:
    """Multilayer perceptron: flatten, then fully connected layers of `hidden` widths, then classes."""
    rows: list[Row] = ["flatten"]
    for width in hidden:
        rows += [{"fc": width}, *(["batchnorm"] if batch_norm else []), activation_row(activation, slope)]
        rows += [{"dropout": dropout}] if dropout else []
    return [*rows, {"fc": "classes"}]
