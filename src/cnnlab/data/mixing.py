"""Mixup and CutMix: each training image mixed with another image of its batch, and its target with
the other's by the same share, drawn per image and applied to the whole batch on the device.

Mixup (Zhang et al. 2018) blends two images, x' = s x_i + (1 - s) x_j; CutMix (Yun et al. 2019) pastes
a box of x_j into x_i, and s is then the share of x_i's pixels left. The target becomes the soft label
s onehot(y_i) + (1 - s) onehot(y_j), which the cross-entropy takes as class probabilities, while top-k
accuracy keeps counting against the image's own label y_i. With both on, each image takes one of the two,
half and half (timm's switch), and is mixed with that one's probability; the partner j of image i is a
random permutation of the batch, so every image is also some other image's partner.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.config import AugmentConfig, MixConfig

from .augment import box_mask, take_images


def mix_images(x: torch.Tensor, partner: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
    """share * x + (1 - share) * partner, one share an example."""
    weight = share.to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
    return weight * x + (1 - weight) * partner


def paste_boxes(x: torch.Tensor, partner: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x with each partner's box [top, bottom) x [left, right) pasted in (boxes: (N, 4) as top, left, bottom,
    right), and the share of each image's own pixels left."""
    top, left, bottom, right = boxes.unbind(1)
    height, width = x.shape[-2:]
    mask = box_mask(top, left, bottom - top, right - left, (height, width))
    share = 1 - ((bottom - top) * (right - left)).to(torch.float32) / (height * width)
    return torch.where(mask, partner, x), share


def mix_targets(y: torch.Tensor, partner: torch.Tensor, share: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class probabilities share * onehot(y) + (1 - share) * onehot(partner), float32 (N, K)."""
    own = F.one_hot(y, num_classes).to(torch.float32)
    other = F.one_hot(partner, num_classes).to(torch.float32)
    weight = share.to(torch.float32).view(-1, 1)
    return weight * own + (1 - weight) * other


def cutmix_boxes(share: torch.Tensor, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """CutMix's boxes (N, 4: top, left, bottom, right) for target shares: sides sqrt(1 - share) of the image's,
    centred at a uniform pixel and clipped to the image (so the share left is recomputed from the box)."""
    height, width = size
    n, device = len(share), share.device
    side = torch.sqrt(1 - share)
    cut_h, cut_w = (height * side).long(), (width * side).long()
    cy = torch.randint(0, height, (n,), generator=generator, device=device)
    cx = torch.randint(0, width, (n,), generator=generator, device=device)
    top, bottom = (cy - cut_h // 2).clamp(0, height), (cy + cut_h // 2).clamp(0, height)
    left, right = (cx - cut_w // 2).clamp(0, width), (cx + cut_w // 2).clamp(0, width)
    return torch.stack([top, left, bottom, right], 1)


def beta_draws(n: int, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """n draws from Beta(alpha, alpha) on the generator's device, seeded from the generator (torch has no
    seeded Beta sampler; numpy draws the batch's shares in one vectorised call)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    shares = np.random.default_rng(seed).beta(alpha, alpha, n)
    return torch.as_tensor(shares, dtype=torch.float32, device=generator.device)


class BatchMix:
    """The configured mixup and CutMix of training batches: `(x, y) -> (x', soft targets)`."""

    def __init__(self, mixup: MixConfig | None, cutmix: MixConfig | None, num_classes: int) -> None:
        self.mixup = mixup
        self.cutmix = cutmix
        self.num_classes = num_classes

    @classmethod
    def from_config(cls, config: AugmentConfig, num_classes: int) -> BatchMix | None:
        """The mixing `config` asks for, or None when it asks for none."""
        if config.mixup is None and config.cutmix is None:
            return None
        return cls(config.mixup, config.cutmix, num_classes)

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, device = len(x), x.device
        partner_index = torch.randperm(n, generator=generator, device=device)
        partner = take_images(x, partner_index) if x.dim() == 4 else x[partner_index]
        coin = torch.rand(n, generator=generator, device=device)
        if self.mixup is not None and self.cutmix is not None:
            cut = coin < 0.5
        else:
            cut = torch.full((n,), self.cutmix is not None, device=device)
        chance = torch.rand(n, generator=generator, device=device)
        share = torch.ones(n, device=device)
        out = x
        if self.mixup is not None:
            blend = ~cut & (chance < self.mixup.prob)
            share = torch.where(blend, beta_draws(n, self.mixup.alpha, generator), share)
            out = mix_images(x, partner, share)
        if self.cutmix is not None:
            pasted = cut & (chance < self.cutmix.prob)
            wanted = torch.where(pasted, beta_draws(n, self.cutmix.alpha, generator), torch.ones(n, device=device))
            out, left = paste_boxes(out, partner, cutmix_boxes(wanted, (x.shape[-2], x.shape[-1]), generator))
            share = torch.where(pasted, left, share)
        return out, mix_targets(y, y[partner_index], share, self.num_classes)


__all__ = ["BatchMix", "beta_draws", "cutmix_boxes", "mix_images", "mix_targets", "paste_boxes"]
