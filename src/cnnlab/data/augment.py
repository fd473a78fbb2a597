"""Augmentation on whole batches on the training device, with random parameters drawn per image.

Every function takes an (N, C, H, W) float batch and a torch.Generator on the batch's device and
runs as a handful of tensor ops, never a Python loop over images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab.config import AugmentConfig
from cnnlab.errors import UserError


def _uniform(n: int, bound: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """n numbers drawn uniformly from [-bound, bound]."""
    return (torch.rand(n, generator=generator, device=device) * 2 - 1) * bound


def random_crop_batch(
    x: torch.Tensor, size: tuple[int, int], generator: torch.Generator, pad: int = 0, pad_mode: str = "zeros"
) -> torch.Tensor:
    """A random `size` window of each image, after padding each side by `pad`."""
    if pad:
        x = F.pad(x, (pad, pad, pad, pad), mode="constant" if pad_mode == "zeros" else "reflect")
    n, c, height, width = x.shape
    h, w = size
    top = torch.randint(0, height - h + 1, (n,), generator=generator, device=x.device)
    left = torch.randint(0, width - w + 1, (n,), generator=generator, device=x.device)
    rows = (top[:, None] + torch.arange(h, device=x.device))[:, None, :, None].expand(n, c, h, width)
    cols = (left[:, None] + torch.arange(w, device=x.device))[:, None, None, :].expand(n, c, h, w)
    return x.gather(2, rows).gather(3, cols)


def center_crop_batch(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The central `size` window of each image (the evaluation twin of a random crop)."""
    height, width = x.shape[-2:]
    top, left = (height - size[0]) // 2, (width - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]


def random_flip_batch(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Each image mirrored left-right with probability `p`."""
    flip = torch.rand(len(x), generator=generator, device=x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def random_affine_batch(
    x: torch.Tensor,
    generator: torch.Generator,
    rotate: float = 0.0,
    translate: float = 0.0,
    scale: float = 0.0,
    shear: float = 0.0,
) -> torch.Tensor:
    """Each image rotated (degrees), shifted (fraction of its size), zoomed and sheared at random.

    One sampling grid a batch: the four transforms are composed into one 2x3 matrix per image.
    """
    n, device = len(x), x.device
    angle = torch.deg2rad(_uniform(n, rotate, generator, device))
    shear_tan = torch.tan(torch.deg2rad(_uniform(n, shear, generator, device)))
    zoom = 1 + _uniform(n, scale, generator, device)
    shift = _uniform(2 * n, 2 * translate, generator, device).view(n, 2)  # grid coordinates span 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [
            torch.stack([cos, -sin + cos * shear_tan, shift[:, 0]], 1),
            torch.stack([sin, cos + sin * shear_tan, shift[:, 1]], 1),
        ],
        1,
    ).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def gaussian_noise_batch(x: torch.Tensor, generator: torch.Generator, std: float) -> torch.Tensor:
    """x plus independent N(0, std^2) noise."""
    return x + std * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


class BatchAugment:
    """The configured augmentations, in order: crop (with padding), flip, affine, noise."""

    def __init__(self, config: AugmentConfig, image_size: tuple[int, int]) -> None:
        self.config = config
        self.image_size = image_size
        crop = config.crop
        if crop is not None and (crop > image_size[0] or crop > image_size[1]):
            raise UserError(
                f"data.augment.crop={crop} is larger than the {image_size[0]}x{image_size[1]} images: "
                f"use a crop of at most {min(image_size)} (with data.augment.pad for shifted full-size crops)"
            )
        self.output_size = (crop, crop) if crop is not None else image_size
        self._affine = any((config.rotate, config.translate, config.scale, config.shear))

    @property
    def active(self) -> bool:
        """Whether training batches are changed at all."""
        c = self.config
        return bool(c.pad or self.output_size != self.image_size or c.flip or self._affine or c.noise)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment a training batch."""
        c = self.config
        if c.pad or self.output_size != self.image_size:
            x = random_crop_batch(x, self.output_size, generator, c.pad, c.pad_mode)
        if c.flip:
            x = random_flip_batch(x, generator)
        if self._affine:
            x = random_affine_batch(x, generator, c.rotate, c.translate, c.scale, c.shear)
        if c.noise:
            x = gaussian_noise_batch(x, generator, c.noise)
        return x

    def evaluate(self, x: torch.Tensor) -> torch.Tensor:
        """An evaluation batch at the training output size (centre crop when training crops smaller)."""
        return x if self.output_size == self.image_size else center_crop_batch(x, self.output_size)


def describe_augment(config: AugmentConfig) -> str:
    """A short human description, e.g. 'crop 28, flip, rotate 10°'."""
    parts = []
    if config.crop:
        parts.append(f"crop {config.crop}" + (f" (pad {config.pad})" if config.pad else ""))
    elif config.pad:
        parts.append(f"pad {config.pad} + crop")
    if config.flip:
        parts.append("flip")
    for name, unit in (("rotate", "°"), ("translate", ""), ("scale", ""), ("shear", "°"), ("noise", "")):
        value = getattr(config, name)
        if value:
            parts.append(f"{name} {value:g}{unit}")
    return ", ".join(parts) if parts else "none"


__all__ = [
    "BatchAugment",
    "center_crop_batch",
    "describe_augment",
    "gaussian_noise_batch",
    "random_affine_batch",
    "random_crop_batch",
    "random_flip_batch",
]
