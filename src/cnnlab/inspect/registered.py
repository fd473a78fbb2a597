"""`inspect` for a registered model by name: build it without allocating weights, summarise it."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import torch

from cnnlab.models import build, get_entry, to_fully_convolutional

from .summary import ModelSummary, summarize


def summarize_registered(
    name: str,
    input_shape: tuple[int, ...] = (3, 32, 32),
    num_classes: int = 10,
    options: dict[str, Any] | None = None,
    fully_conv: tuple[int, int] | None = None,
) -> ModelSummary:
    """The summary of model `name` built for `input_shape` (C, H, W) and `num_classes`, with its `options`.

    `fully_conv` (H, W) converts the head to convolutions and summarises the net on a C x H x W image,
    whose output is a map of class scores. Weights are not needed, so the model is built on the meta
    device (a 300-million-parameter VGG costs nothing) and pretrained weights are not downloaded
    unless the options ask for them.
    """
    options = dict(options or {})
    if "pretrained" in get_entry(name).options:
        options.setdefault("pretrained", False)
    size = (input_shape[1], input_shape[2]) if len(input_shape) == 3 else None
    with torch.device("meta"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*meta parameter.*no-op")  # weights given to a meta model
        model = build(name, in_channels=input_shape[0], num_classes=num_classes, input_size=size, **options)
        if fully_conv is None:
            return summarize(model, tuple(input_shape), name=name)
        converted = to_fully_convolutional(model, tuple(input_shape))  # type: ignore[arg-type]
        big = (input_shape[0], *fully_conv)
        summary = summarize(converted, big, name=f"{name} (fully convolutional)")
    classes, h, w = summary.output_shape
    jumps = [row.jump for row in summary.layers if row.jump is not None]
    apart = f"; neighbouring scores are {jumps[-1][0]}x{jumps[-1][1]} input pixels apart" if jumps else ""
    note = (
        f"fully convolutional: a {'x'.join(map(str, big))} image gives a {h}x{w} map of {classes} class scores "
        f"(built for {'x'.join(map(str, input_shape))}{apart})"
    )
    return dataclasses.replace(summary, notes=[note, *summary.notes])
