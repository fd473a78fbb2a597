"""Nets written as layer tables: one row a layer, in forward order, the way course reports print them.

A row is a layer kind alone (`relu`, `batchnorm`, `flatten`, `maxpool`) or a one-kind mapping whose
value is the layer's size and whose other keys are its settings:

    - {conv: 32, kernel: 5, padding: 2}     # out channels; kernel 3, stride 1, padding 0 unless given
    - relu
    - batchnorm                             # BatchNorm2d after a conv, BatchNorm1d after an fc
    - {maxpool: 2, stride: 1}               # size; the stride is the size unless given
    - {dropout2d: 0.05}                     # rate
    - flatten
    - {fc: 64}
    - {fc: classes}                         # the number of classes of the data

Input channels and features are never written: each layer's input is traced from the one before
(the hand-computed flatten size is the classic course-CNN bug). The layers are numbered the way
the RDFIA and TDT4265 tables number theirs: each conv or fc starts a new layer number and the layers
after it share it (conv1, relu1, pool1, ..., fc4, relu4, fc5; a report that counts its fcs apart,
such as ROB313's fc1/fc2, reads fc3/fc4 here). Every course net is its report's table in this form
(`cnnlab models NAME` prints it), and `model.name=layers` takes a table of one's own.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnlab.errors import UserError, did_you_mean

from .blocks import ConvClassifier, init_weights, input_shape, make_activation, trace_layer

Row = str | dict[str, Any]

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu")


@dataclass(frozen=True)
class LayerKind:
    """What a row of one kind may hold: its value's meaning, its settings with defaults, and its name prefix."""

    value: str  # what the row's value is, for messages ("out channels", "rate", ...); "" if it takes none
    settings: tuple[str, ...] = ()
    prefix: str = ""


KINDS: dict[str, LayerKind] = {
    "conv": LayerKind("out channels", ("kernel", "stride", "padding", "bias"), "conv"),
    "fc": LayerKind("out features or 'classes'", ("bias",), "fc"),
    "maxpool": LayerKind("size", ("stride", "padding"), "pool"),
    "avgpool": LayerKind("size", ("stride", "padding"), "pool"),
    "batchnorm": LayerKind("", (), "bn"),
    "dropout": LayerKind("rate", (), "dropout"),
    "dropout2d": LayerKind("rate", (), "dropout"),
    "flatten": LayerKind("", (), "flatten"),
    **{name: LayerKind("slope" if name == "leaky_relu" else "", (), name) for name in ACTIVATIONS},
}
ALIASES = {"linear": "fc", "bn": "batchnorm", "pool": "maxpool"}
# layers whose backward pass does not need their output: a ReLU after them may overwrite it in place (it saves a
# copy of the activations); after tanh, sigmoid or another ReLU it may not
IN_PLACE_AFTER = ("conv", "fc", "batchnorm", "maxpool", "avgpool")


def build_table(
    rows: Sequence[Row],
    in_channels: int,
    num_classes: int,
    input_size: tuple[int, int] | None,
    init: str = "default",
    where: str = "model.layers",
) -> ConvClassifier:
    """The net of the layer table `rows` for inputs of `in_channels` x `input_size` and `num_classes` outputs.

    The layers before the first fully connected one are the `features`, the flatten and everything after
    it the `classifier` (what inspect, Grad-CAM and the fully convolutional conversion look for); a flatten
    is added before the first fc of a spatial input if the table does not say where. Any mistake is a
    UserError naming the row (`where[i]`) and what it should be.
    """
    if not rows:
        raise UserError(
            f"{where} is empty: give the net's layers, e.g. [{{conv: 32, kernel: 3}}, relu, {{fc: classes}}]"
        )
    shape = input_shape(in_channels, input_size)
    x = torch.zeros(1, *shape)
    features: OrderedDict[str, nn.Module] = OrderedDict()
    classifier: OrderedDict[str, nn.Module] = OrderedDict()
    names = _Names()
    previous = ""
    for i, row in enumerate(rows):
        kind, value, settings = parse_row(row, f"{where}[{i}]")
        target = classifier if classifier or kind in ("flatten", "fc") else features
        if kind == "fc" and x.dim() > 2:  # the table did not say where to flatten: right before the first fc
            target[names.next("flatten")] = nn.Flatten()
            x = x.flatten(1)
        # an activation may overwrite its input only where no backward pass needs that input kept
        inplace = previous in IN_PLACE_AFTER
        layer = _make_layer(kind, value, settings, x, num_classes, f"{where}[{i}]", inplace)
        previous = kind
        name = names.next(kind)
        target[name] = layer
        x = trace_layer(name, layer, x, shape, f"{where}[{i}]")
    if x.dim() != 2 or x.shape[1] != num_classes:
        raise UserError(
            f"{where} ends with an output of shape {tuple(x.shape[1:])}, not one score a class ({num_classes}): "
            "end the table with {fc: classes}"
        )
    model = ConvClassifier(nn.Sequential(features), nn.Sequential(classifier))
    return init_weights(model, init)


def parse_row(row: Any, where: str) -> tuple[str, Any, dict[str, Any]]:
    """(kind, value, settings) of one row, its kind and settings checked; a UserError naming `where` otherwise."""
    if isinstance(row, str):
        kind, value, settings = row.strip().lower(), None, {}
    elif isinstance(row, Mapping):
        named = [k for k in row if _canonical(str(k)) in KINDS]
        if len(named) != 1:
            found = "no layer kind" if not named else f"several layer kinds ({', '.join(map(str, named))})"
            raise UserError(f"{where} = {dict(row)} has {found}: a row names one of {', '.join(KINDS)}")
        kind, value = str(named[0]).lower(), row[named[0]]
        settings = {str(k): v for k, v in row.items() if k != named[0]}
    else:
        raise UserError(f"{where} = {row!r} is not a layer: write a kind (relu) or a mapping ({{conv: 32, kernel: 3}})")
    kind = _canonical(kind)
    if kind not in KINDS:
        if kind == "softmax":
            raise UserError(
                f"{where}: leave softmax out of the table; the cross-entropy loss applies it (end with {{fc: classes}})"
            )
        raise UserError(f"{where}: unknown layer kind '{kind}'{did_you_mean(kind, KINDS)}; kinds: {', '.join(KINDS)}")
    unknown = sorted(set(settings) - set(KINDS[kind].settings))
    if unknown:
        valid = ", ".join(KINDS[kind].settings) or "none"
        raise UserError(f"{where}: a {kind} row has no setting '{unknown[0]}'; its settings: {valid}")
    return kind, value, settings


def format_table(rows: Sequence[Row]) -> str:
    """The rows as the YAML list a config's `model.layers` takes, one row a line."""
    lines = []
    for row in rows:
        if isinstance(row, str):
            lines.append(f"- {row}")
        else:
            lines.append("- {" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in row.items()) + "}")
    return "\n".join(lines)


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    return "null" if value is None else str(value)


def _canonical(kind: str) -> str:
    return ALIASES.get(kind.strip().lower(), kind.strip().lower())


class _Names:
    """Report-style layer names: a conv or fc starts layer n + 1; the layers after it are numbered n too."""

    def __init__(self) -> None:
        self.number = 0
        self.used: set[str] = set()

    def next(self, kind: str) -> str:
        if kind in ("conv", "fc"):
            self.number += 1
        prefix = KINDS[kind].prefix
        name = prefix if kind == "flatten" else f"{prefix}{self.number}"
        base, k = name, 2
        while name in self.used:  # two layers of one kind in the same layer number: relu3, relu3_2
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


def _make_layer(
    kind: str, value: Any, settings: dict[str, Any], x: torch.Tensor, classes: int, where: str, inplace: bool
) -> nn.Module:
    """The module of one parsed row, for the input `x` the layers before it produce."""
    spatial = x.dim() == 4
    if kind in ("conv", "maxpool", "avgpool", "dropout2d") and not spatial:
        raise UserError(f"{where}: a {kind} row needs an image input, but it receives {tuple(x.shape[1:])}")
    if kind == "conv":
        padding = settings.get("padding", 0)
        out = _whole(value, where, "conv's out channels")
        kernel = _size(settings.get("kernel", 3), where, "kernel")
        stride = _size(settings.get("stride", 1), where, "stride")
        if padding in ("same", "valid"):
            if padding == "same" and stride != 1:
                raise UserError(f"{where}: padding 'same' needs stride 1 (give a number of pixels with a stride)")
        else:
            padding = _size(padding, where, "padding", minimum=0)
        return nn.Conv2d(
            x.shape[1],
            out,
            kernel,
            stride=stride,
            padding=padding,
            bias=_flag(settings.get("bias", True), where, "bias"),
        )
    if kind == "fc":
        width = classes if isinstance(value, str) and value.strip().lower() == "classes" else value
        out = _whole(width, where, "fc's out features (or 'classes')")
        return nn.Linear(x.shape[1], out, bias=_flag(settings.get("bias", True), where, "bias"))
    if kind in ("maxpool", "avgpool"):
        size = _size(2 if value is None else value, where, f"{kind}'s size")
        stride = _size(settings.get("stride", size), where, "stride")
        padding = _size(settings.get("padding", 0), where, "padding", minimum=0)
        return (nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d)(size, stride, padding)
    if kind in ("dropout", "dropout2d"):
        if not _is_number(value) or not 0 <= value < 1:
            raise UserError(f"{where}: {kind} takes its rate, a number in [0, 1) such as 0.3, not {value!r}")
        return (nn.Dropout2d if kind == "dropout2d" else nn.Dropout)(float(value))
    if kind == "leaky_relu":
        if value is not None and not _is_number(value):
            raise UserError(f"{where}: leaky_relu's value is its negative slope, a number such as 0.01, not {value!r}")
        return make_activation(kind, 0.01 if value is None else float(value), inplace=inplace)
    if value is not None:
        raise UserError(f"{where}: {kind} takes no value (write it alone: - {kind}), not {value!r}")
    if kind == "batchnorm":
        return nn.BatchNorm2d(x.shape[1]) if spatial else nn.BatchNorm1d(x.shape[1])
    return nn.Flatten() if kind == "flatten" else make_activation(kind, inplace=inplace)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any, where: str, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"{where}: {what} must be a whole number of at least {minimum}, not {value!r}")
    return value


def _size(value: Any, where: str, what: str, minimum: int = 1) -> int | tuple[int, int]:
    """A whole number, or a (height, width) pair of them."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return (_whole(value[0], where, what, minimum), _whole(value[1], where, what, minimum))
    return _whole(value, where, what, minimum)


def _flag(value: Any, where: str, what: str) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"{where}: {what} is true or false, not {value!r}")
    return value
