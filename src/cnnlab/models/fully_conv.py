"""Fully convolutional conversion: a ConvClassifier's fully connected head as the equivalent convolutions.

The first Linear after flatten reads the whole C x H x W feature map, so it is a conv with an H x W
kernel; later Linears are 1x1 convs. The converted net slides the classifier over a larger image and
returns a map of class scores (the course question on running VGG16 on images larger than 224x224);
on the training size the map is 1x1 and equals the original output.
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn

from cnnlab.errors import UserError

from .blocks import ConvClassifier, Scale, sequential

# layers that act element by element (or not at all) work on a map of scores unchanged
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.Dropout, nn.Identity, Scale)


def to_fully_convolutional(model: nn.Module, input_shape: tuple[int, int, int]) -> ConvClassifier:
    """A copy of `model` (a ConvClassifier built for `input_shape` C, H, W) whose head is convolutional.

    Its output is (N, classes, H', W'): one score vector per position of the classifier's window.
    """
    if not isinstance(model, ConvClassifier):
        raise UserError(
            f"{type(model).__name__} has no separate fully connected head to convert (only ConvClassifier models "
            "such as tme2 or vgg16-cifar do)"
        )
    if len(input_shape) != 3:
        raise UserError(f"the fully convolutional conversion needs an image input (C, H, W), got {input_shape}")
    param = next(model.parameters())
    with torch.no_grad():
        shape = tuple(model.features.eval()(torch.zeros(1, *input_shape, device=param.device)).shape[1:])
    model.features.train(model.training)
    layers: list[tuple[str, nn.Module | None]] = []
    flattened = False
    for name, layer in model.classifier.named_children():
        if isinstance(layer, nn.Flatten):
            flattened = True
        elif isinstance(layer, nn.Linear):
            if not flattened:
                raise UserError(f"layer 'classifier.{name}' is a Linear before any flatten: it cannot be converted")
            layers.append((name, _linear_as_conv(layer, shape)))
            shape = (layer.out_features, 1, 1)
        elif isinstance(layer, nn.BatchNorm1d) and flattened:
            layers.append((name, _batch_norm_2d(layer)))
        elif isinstance(layer, ELEMENTWISE) or not flattened:
            layers.append((name, copy.deepcopy(layer)))
        else:
            raise UserError(f"layer 'classifier.{name}' ({type(layer).__name__}) has no convolutional equivalent here")
    converted = ConvClassifier(copy.deepcopy(model.features), sequential(*layers))
    return converted.train(model.training)


def _linear_as_conv(linear: nn.Linear, shape: tuple[int, ...]) -> nn.Conv2d:
    """A conv computing `linear` on a feature map of `shape` (C, H, W), flattened in PyTorch's C, H, W order."""
    c, h, w = shape if len(shape) == 3 else (shape[0], 1, 1)
    if c * h * w != linear.in_features:
        raise UserError(f"a Linear of {linear.in_features} inputs does not read a {shape} feature map")
    w_ = linear.weight
    conv = nn.Conv2d(c, linear.out_features, (h, w), bias=linear.bias is not None, device=w_.device, dtype=w_.dtype)
    with torch.no_grad():
        conv.weight.copy_(w_.view(linear.out_features, c, h, w))
        if linear.bias is not None and conv.bias is not None:
            conv.bias.copy_(linear.bias)
    for p in conv.parameters():
        p.requires_grad_(w_.requires_grad)
    return conv


def _batch_norm_2d(bn: nn.BatchNorm1d) -> nn.BatchNorm2d:
    """The same normalisation over the channels of a map."""
    ref = next(itertools.chain(bn.parameters(), bn.buffers()))
    out = nn.BatchNorm2d(
        bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats, device=ref.device, dtype=ref.dtype
    )
    out.load_state_dict(bn.state_dict())
    return out
