"""fastnet: the class of net that holds the CIFAR-10 speed records (94% in a few seconds on one GPU).

A frozen 2x2 conv whose filters whiten the training patches, then blocks of (conv, pool, BN, GELU,
conv, BN, GELU) of widths 64/256/256, a global max pool and a linear head whose output is scaled by
1/9. The figures below are the published ablation's (A100, epochs to 94%): the whitening init cuts
35 epochs to 21, identity-initialised convs 21 to 18.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from cnnlab.errors import UserError

from ..blocks import Activation, ConvClassifier, Scale, input_shape, make_activation, output_features, sequential
from ..registry import SpatialSize, register

WHITEN_IMAGES = 10_000  # enough for a stable 12x12 covariance; all 50,000 would only cost time


class FastNet(ConvClassifier):
    """A ConvClassifier whose first conv (`features.whiten`) is set from the training images."""

    def __init__(
        self,
        features: nn.Sequential,
        classifier: nn.Sequential,
        whiten_eps: float,
        whiten_bias_epochs: int | None,
        whiten_init: bool = True,
    ) -> None:
        super().__init__(features, classifier)
        self.whiten_eps = whiten_eps
        self.whiten_bias_epochs = whiten_bias_epochs
        self.whiten_init = whiten_init

    def set_epoch(self, epoch: int) -> None:
        """Train the whitening bias for the first `whiten_bias_epochs` epochs only, then hold it (the trainer
        calls this before each epoch; the record recipe frees it for 3)."""
        bias = cast(nn.Conv2d, self.features.whiten).bias
        if bias is not None and self.whiten_bias_epochs is not None:
            bias.requires_grad_(epoch <= self.whiten_bias_epochs)

    @torch.no_grad()
    def init_from_data(self, images: torch.Tensor) -> None:
        """Set the whitening filters from the covariance of the k x k patches of `images` (N, C, H, W).

        Each eigenvector v of the patch covariance becomes two filters, +v and -v, scaled by
        1 / sqrt(eigenvalue + eps), largest eigenvalues first; the bias centres the output. Give the
        normalised training images (the trainer does so for any model with this method).
        """
        if not self.whiten_init:  # switched off: the first conv keeps its random init and trains
            return
        conv = cast(nn.Conv2d, self.features.whiten)
        c, (kh, kw) = conv.in_channels, conv.kernel_size
        if images.ndim != 4 or images.shape[1] != c:
            raise UserError(f"fastnet's whitening needs images of shape (N, {c}, H, W), got {tuple(images.shape)}")
        step = max(1, len(images) // WHITEN_IMAGES)
        mean, cov = patch_statistics(images[::step], kh, kw)
        eigenvalues, eigenvectors = torch.linalg.eigh(cov)  # ascending
        half = conv.out_channels // 2
        top = eigenvectors[:, -half:].flip(1).T / torch.sqrt(eigenvalues[-half:].flip(0) + self.whiten_eps)[:, None]
        weight = torch.cat([top, -top])
        conv.weight.copy_(weight.view_as(conv.weight).to(conv.weight))
        if conv.bias is not None:
            conv.bias.copy_((-(weight @ mean)).to(conv.bias))


def patch_statistics(images: torch.Tensor, kh: int, kw: int, chunk: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance (float64, on the CPU) of every kh x kw patch of `images`, flattened as a conv weight."""
    if len(images) == 0:
        raise UserError("fastnet's whitening needs at least one training image")
    d = images.shape[1] * kh * kw
    total, sums, products = 0, torch.zeros(d, dtype=torch.float64), torch.zeros(d, d, dtype=torch.float64)
    for start in range(0, len(images), chunk):
        x = images[start : start + chunk].float()
        # (N, C, H', W', kh, kw) -> one row per patch, in the (C, kh, kw) order of a conv weight
        patches = x.unfold(2, kh, 1).unfold(3, kw, 1).permute(0, 2, 3, 1, 4, 5).flatten(3).flatten(0, 2)
        # float32 sums of a chunk on the images' device, float64 across chunks
        sums += patches.sum(0).double().cpu()
        products += (patches.T @ patches).double().cpu()
        total += len(patches)
    mean = sums / total
    return mean, products / total - torch.outer(mean, mean)


class Residual(nn.Module):
    """`activation(x + body(x))`: a skip connection around a block's later convs."""

    def __init__(self, body: nn.Module, activation: nn.Module | None) -> None:
        super().__init__()
        self.body = body
        self.activation = activation if activation is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(x + self.body(x))


def batch_norm(width: int, momentum: float, eps: float, frozen_scale: bool) -> nn.BatchNorm2d:
    """BatchNorm2d whose scale can be held at 1 (the record nets train only the shift)."""
    bn = nn.BatchNorm2d(width, eps=eps, momentum=momentum)
    bn.weight.requires_grad_(not frozen_scale)
    return bn


@register("fastnet")
def fastnet(
    in_channels: int,
    num_classes: int,
    input_size: SpatialSize,
    *,
    widths: tuple[int, ...] = (64, 256, 256),
    convs_per_block: int = 2,
    whiten_kernel: int = 2,
    whiten_width: int | None = None,
    whiten_eps: float = 5e-4,
    whiten_init: bool = True,
    whiten_trainable: bool = False,
    whiten_bias_epochs: int | None = 3,
    activation: Activation = "gelu",
    slope: float = 0.01,
    head_scale: float = 1 / 9,
    bn_momentum: float = 0.4,
    bn_eps: float = 1e-12,
    bn_frozen_scale: bool = True,
    identity_init: bool = True,
    residual: bool = False,
) -> nn.Module:
    """Fast CIFAR-10 net (speed-record class): whitened 2x2 conv, conv-pool-BN-GELU blocks 64/256/256, scaled head.

    `init_from_data(images)` sets the whitening conv (the trainer calls it). `whiten_width` defaults to
    2*C*k*k (every eigenvector, both signs); `bn_momentum` is PyTorch's (the weight of the new batch, 0.4 in
    the record); `bn_frozen_scale` keeps BN scales at 1, untrained; `identity_init` starts each conv as a
    partial identity; `whiten_init=false` leaves the first conv randomly initialised and trained (to
    measure what whitening is worth); `whiten_bias_epochs` trains the whitening bias for that many
    epochs, then freezes it (None: always trained); `residual` adds each block's first output to the output
    of its later convs, before their last activation (airbench96's blocks of three convs).
    """
    if residual and convs_per_block < 2:
        raise UserError(
            "model.residual=true needs model.convs_per_block of 2 or more: a skip goes around the later convs"
        )
    full = 2 * in_channels * whiten_kernel**2
    width0 = full if whiten_width is None else whiten_width
    if width0 % 2 or not 0 < width0 <= full:
        raise UserError(
            f"model.whiten_width must be even and at most 2*C*k*k = {full} (both signs of each eigenvector), "
            f"got {width0}"
        )
    whiten = nn.Conv2d(in_channels, width0, whiten_kernel, padding=0, bias=True)
    whiten.weight.requires_grad_(whiten_trainable or not whiten_init)
    layers: list[tuple[str, nn.Module | None]] = [("whiten", whiten), (f"{activation}0", make_activation(activation))]
    channels = width0
    for b, width in enumerate(widths, start=1):
        block: list[tuple[str, nn.Module | None]] = []
        for j in range(1, convs_per_block + 1):
            conv = nn.Conv2d(channels, width, 3, padding=1, bias=False)
            if identity_init:  # the first `channels` filters pass their input through unchanged
                nn.init.dirac_(conv.weight[: min(channels, width)])
            block += [
                (f"conv{b}_{j}", conv),
                (f"pool{b}", nn.MaxPool2d(2) if j == 1 else None),
                (f"bn{b}_{j}", batch_norm(width, bn_momentum, bn_eps, bn_frozen_scale)),
                (f"{activation}{b}_{j}", make_activation(activation, slope)),
            ]
            channels = width
        if residual:  # conv, pool, BN, act, then act(x + the later convs without their last activation)
            block = [*block[:4], (f"res{b}", Residual(sequential(*block[4:-1]), block[-1][1]))]
        layers += block
    layers.append(("global_pool", nn.AdaptiveMaxPool2d(1)))
    features = sequential(*layers)
    classifier = sequential(
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(output_features(features, input_shape(in_channels, input_size)), num_classes, bias=False)),
        ("scale", Scale(head_scale)),
    )
    return FastNet(features, classifier, whiten_eps, whiten_bias_epochs, whiten_init)
