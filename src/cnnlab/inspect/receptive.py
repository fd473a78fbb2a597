"""Receptive field and jump through one layer: r' = r + (k - 1) j, j' = j s, per spatial dimension."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

Pair = tuple[int, int]


@dataclass(frozen=True)
class Field:
    """What one output element of a layer sees of the model's input.

    `size` and `jump` are (height, width) in input pixels, None when unknown; `whole` means the element
    depends on the entire input (a Linear after flatten). Inputs without spatial dimensions have no field.
    """

    size: Pair | None
    jump: Pair | None
    whole: bool = False


PIXEL = Field((1, 1), (1, 1))
UNKNOWN = Field(None, None)


def _pair(value: int | tuple[int, ...]) -> Pair:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _window(field: Field, kernel: Pair, stride: Pair, dilation: Pair = (1, 1)) -> Field:
    if field.size is None or field.jump is None:
        return field
    size = tuple(r + d * (k - 1) * j for r, k, j, d in zip(field.size, kernel, field.jump, dilation, strict=True))
    jump = tuple(j * s for j, s in zip(field.jump, stride, strict=True))
    return Field(size, jump)  # type: ignore[arg-type]


def propagate(module: nn.Module, field: Field, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Field:
    """The field of `module`'s output given its input's; shapes are without the batch dimension."""
    if getattr(module, "restarts_receptive_field", False):  # a resize: measure in pixels of its output
        return PIXEL
    if isinstance(module, nn.Conv2d):
        return _window(field, _pair(module.kernel_size), _pair(module.stride), _pair(module.dilation))
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        step = module.stride if module.stride is not None else module.kernel_size
        dilation = _pair(module.dilation) if isinstance(module, nn.MaxPool2d) else (1, 1)
        return _window(field, _pair(module.kernel_size), _pair(step), dilation)
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        # an output cell pools about in/out input cells (exact when out divides in)
        kernel = tuple(math.ceil(i / o) for i, o in zip(in_shape[-2:], out_shape[-2:], strict=True))
        stride = tuple(i // o for i, o in zip(in_shape[-2:], out_shape[-2:], strict=True))
        return _window(field, kernel, stride)  # type: ignore[arg-type]
    if isinstance(module, nn.Linear):
        return Field(None, None, whole=True)
    if isinstance(module, nn.Flatten) or _same_spatial(in_shape, out_shape):
        return field  # element-wise layers, batch norm, dropout, reshapes
    return UNKNOWN  # a layer we cannot follow: say nothing rather than something wrong


def _same_spatial(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> bool:
    if len(in_shape) < 3 and len(out_shape) < 3:
        return True
    return len(in_shape) == len(out_shape) >= 3 and in_shape[-2:] == out_shape[-2:]
