"""layers: a net of one's own, written as its layer table in the config (`model.layers`)."""

from __future__ import annotations

from typing import Any

from cnnlab.errors import UserError

from ..registry import register_table
from ..table import Row


@register_table("layers", where="model.layers")
def layers(*, layers: tuple[Any, ...] = ()) -> list[Row]:
    """Your own net, written as a layer table: model.layers=[{conv: 32, kernel: 3, padding: 1}, relu, maxpool, ...].

    One row a layer in forward order, as the course reports print their nets: conv (out channels; kernel,
    stride, padding, bias), maxpool / avgpool (size; stride, padding), batchnorm, relu, leaky_relu (slope),
    tanh, sigmoid, gelu, dropout / dropout2d (rate), flatten, fc (out features, or 'classes'). Sizes flow
    from layer to layer; nothing is computed by hand. `cnnlab models tdt4265-net1` prints a course net's
    table to start from.
    """
    if not layers:
        raise UserError(
            "model 'layers' needs its table: model.layers=[{conv: 32, kernel: 3, padding: 1}, relu, maxpool, "
            "{fc: classes}] (`cnnlab models layers` explains the rows)"
        )
    return list(layers)
