"""Finding a model's layers by the names `named_modules()` gives them (the names `cnnlab inspect` prints).

Conv layers are found by type, not by architecture, so models that are not a ConvClassifier
(resnet18, the fast net) work the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from torch import nn

from cnnlab.errors import UserError, did_you_mean

MAX_LISTED = 60  # names an error message lists before it cuts the list short


def conv_layers(model: nn.Module) -> dict[str, nn.Conv2d]:
    """The model's 2-D conv layers by name, in the order the model registers them."""
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def named_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every named module of the model except the model itself."""
    return {name: m for name, m in model.named_modules() if name}


def choose_conv(model: nn.Module, name: str | None, default: Literal["first", "last"]) -> tuple[str, nn.Conv2d]:
    """The conv layer called `name`, or the model's first or last one; a UserError names the valid ones.

    "Last" is the last registered, which is the last applied in every cnnlab model.
    """
    convs = conv_layers(model)
    if not convs:
        raise UserError("this model has no conv layer: filters and Grad-CAM need a convolutional model")
    if name is None:
        chosen = next(iter(convs)) if default == "first" else list(convs)[-1]
        return chosen, convs[chosen]
    if name not in convs:
        other = named_layers(model).get(name)
        what = f"'{name}' is a {type(other).__name__}, not a conv layer" if other is not None else f"no layer '{name}'"
        raise UserError(f"{what}{did_you_mean(name, convs)}; the conv layers are: {_listing(convs)}")
    return name, convs[name]


def choose_layer(model: nn.Module, name: str) -> nn.Module:
    """The module called `name` (any named module); a UserError lists the valid names."""
    layers = named_layers(model)
    if name not in layers:
        raise UserError(
            f"no layer '{name}' in this model{did_you_mean(name, layers)}; its layers are: {_listing(layers)}"
        )
    return layers[name]


def _listing(names: Iterable[str]) -> str:
    listed = list(names)
    shown = ", ".join(listed[:MAX_LISTED])
    more = len(listed) - MAX_LISTED
    return shown + (f" ... and {more} more (`cnnlab inspect MODEL` lists them)" if more > 0 else "")
