"""RandAugment on whole batches: each image gets `ops` operations, each drawn uniformly per image from a
list and applied at one `magnitude` with a random sign, as timm's `rand-m9-n2` does, but batched on the
device: an operation slot is one affine resampling for the images that drew a geometric operation and two
blends for the others, never a loop over images.

The operations are those that act on normalised images (after `data.preprocess`) as they act on pixels:
identity, rotate (up to 30 degrees at magnitude 10), shear x and y (factor up to 0.3), translate x and y
(up to 45% of the size), contrast (a blend with the image's mean, factor 1 +- 0.9) and sharpness (a blend
with PIL's smoothing filter, factor 1 +- 0.9; the border kept). Blends with weights summing to one
commute with a per-channel affine normalisation, so contrast and sharpness give what they would on the
pixels (but for clipping to [0, 255]). RandAugment's colour operations on pixel values (brightness as a
factor, colour, solarize, posterize, equalize, autocontrast, invert) have no such form and are left out;
`data.augment.brightness` and `contrast` jitter whole images in normalised units.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

OPERATIONS = ("identity", "rotate", "shear_x", "shear_y", "translate_x", "translate_y", "contrast", "sharpness")
GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
MAX_ROTATE, MAX_SHEAR, MAX_TRANSLATE, MAX_ENHANCE = 30.0, 0.3, 0.45, 0.9  # timm's scales at magnitude 10
SMOOTH = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13  # PIL's ImageFilter.SMOOTH


def geometric_matrices(operation: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """(N, 2, 3) affine_grid matrices (output -> input, coordinates in [-1, 1]) of each image's operation at a
    signed strength in [-1, 1]; the identity for images whose operation is not geometric."""
    n = len(operation)
    theta = torch.zeros(n, 2, 3, device=strength.device)
    is_op = {name: operation == OPERATIONS.index(name) for name in GEOMETRIC}
    angle = torch.where(is_op["rotate"], strength * math.radians(MAX_ROTATE), 0.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    theta[:, 0, 1] += torch.where(is_op["shear_x"], strength * MAX_SHEAR, 0.0)
    theta[:, 1, 0] += torch.where(is_op["shear_y"], strength * MAX_SHEAR, 0.0)
    theta[:, 0, 2] = torch.where(is_op["translate_x"], strength * MAX_TRANSLATE * 2, 0.0)  # coordinates span 2
    theta[:, 1, 2] = torch.where(is_op["translate_y"], strength * MAX_TRANSLATE * 2, 0.0)
    return theta


def blend(image: torch.Tensor, degenerate: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ImageEnhance: degenerate + factor * (image - degenerate), one factor an image."""
    return degenerate + factor.view(-1, 1, 1, 1).to(image.dtype) * (image - degenerate)


def smoothed(x: torch.Tensor) -> torch.Tensor:
    """PIL's SMOOTH filter on each channel, the one-pixel border left as it is (what sharpness blends with)."""
    kernel = SMOOTH.to(x.device, x.dtype).expand(x.shape[1], 1, 3, 3)
    out = x.clone()
    out[..., 1:-1, 1:-1] = F.conv2d(x, kernel, groups=x.shape[1])
    return out


def rand_augment_batch(x: torch.Tensor, generator: torch.Generator, ops: int, magnitude: float) -> torch.Tensor:
    """`ops` RandAugment operations on each image of the (N, C, H, W) batch, drawn per image."""
    n, device = len(x), x.device
    level = magnitude / 10
    for _ in range(ops):
        operation = torch.randint(0, len(OPERATIONS), (n,), generator=generator, device=device)
        sign = torch.where(torch.rand(n, generator=generator, device=device) < 0.5, -1.0, 1.0)
        strength = sign * level
        moved = (operation >= OPERATIONS.index("rotate")) & (operation <= OPERATIONS.index("translate_y"))
        if bool(moved.any()):
            index = moved.nonzero().squeeze(1)
            part = x.index_select(0, index)
            theta = geometric_matrices(operation[index], strength[index]).to(x.dtype)
            grid = F.affine_grid(theta, list(part.shape), align_corners=False)
            x = x.index_copy(0, index, F.grid_sample(part, grid, mode="bilinear", align_corners=False))
        factor = 1 + strength * MAX_ENHANCE
        contrast = operation == OPERATIONS.index("contrast")
        if bool(contrast.any()):
            mean = x.mean((1, 2, 3), keepdim=True).expand_as(x)
            x = torch.where(contrast.view(-1, 1, 1, 1), blend(x, mean, factor), x)
        sharpness = operation == OPERATIONS.index("sharpness")
        if bool(sharpness.any()) and min(x.shape[-2:]) > 2:
            x = torch.where(sharpness.view(-1, 1, 1, 1), blend(x, smoothed(x), factor), x)
    return x


__all__ = ["OPERATIONS", "blend", "geometric_matrices", "rand_augment_batch", "smoothed"]
