"""RandAugment on whole batches: each operation against torchvision's own on the same image, magnitude 0 as
the identity, draws per image and repeatable, and a run that uses it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from torchvision.transforms import InterpolationMode

from cnnlab.config import load_config
from cnnlab.data.randaugment import OPERATIONS, blend, geometric_matrices, rand_augment_batch, smoothed
from cnnlab.errors import UserError
from cnnlab.train import train

BILINEAR = InterpolationMode.BILINEAR


def _geometric(x: torch.Tensor, name: str, strength: float) -> torch.Tensor:
    n = len(x)
    theta = geometric_matrices(torch.full((n,), OPERATIONS.index(name)), torch.full((n,), strength))
    return F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)


def test_rotate_and_shear_are_torchvision_s() -> None:
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    inner = (..., slice(3, -3), slice(3, -3))  # away from the border, where the two fill differently
    rotated = TF.rotate(x, 15.0, interpolation=BILINEAR)  # strength 0.5 of 30 degrees
    assert torch.allclose(_geometric(x, "rotate", 0.5)[inner], rotated[inner], atol=1e-5)
    angle = math.degrees(math.atan(0.15))  # strength 0.5 of a 0.3 shear factor
    sheared = TF.affine(x, angle=0.0, translate=[0, 0], scale=1.0, shear=[angle, 0.0], interpolation=BILINEAR)
    assert torch.allclose(_geometric(x, "shear_x", 0.5)[inner], sheared[inner], atol=1e-5)
    sheared_y = TF.affine(x, angle=0.0, translate=[0, 0], scale=1.0, shear=[0.0, angle], interpolation=BILINEAR)
    assert torch.allclose(_geometric(x, "shear_y", 0.5)[inner], sheared_y[inner], atol=1e-5)


def test_translate_at_full_strength_shifts_by_45_percent_exactly() -> None:
    x = torch.rand(2, 1, 20, 20)
    shifted = _geometric(x, "translate_x", 1.0)  # 0.45 x 20 = 9 pixels
    assert torch.allclose(shifted[..., :11], x[..., 9:], atol=1e-5) and shifted[..., 11:].abs().max() < 1e-6
    down = _geometric(x, "translate_y", -1.0)
    assert torch.allclose(down[..., 9:, :], x[..., :11, :], atol=1e-5)


@pytest.mark.parametrize("factor", [0.1, 0.55, 1.45])
def test_contrast_and_sharpness_are_torchvision_s(factor: float) -> None:
    gray = 0.4 + 0.2 * torch.rand(2, 1, 9, 9)  # mid-range: torchvision's clipping to [0, 1] never bites
    mean = gray.mean((1, 2, 3), keepdim=True).expand_as(gray)
    ours = blend(gray, mean, torch.full((2,), factor))
    assert torch.allclose(ours, torch.stack([TF.adjust_contrast(g, factor) for g in gray]), atol=1e-6)
    rgb = 0.4 + 0.2 * torch.rand(2, 3, 9, 9)
    ours = blend(rgb, smoothed(rgb), torch.full((2,), factor))
    assert torch.allclose(ours, TF.adjust_sharpness(rgb, factor), atol=1e-6)


def test_magnitude_zero_changes_nothing_and_draws_are_per_image_and_repeatable() -> None:
    x = torch.randn(64, 3, 12, 12)
    same = rand_augment_batch(x, torch.Generator().manual_seed(0), ops=2, magnitude=0)
    assert torch.allclose(same, x, atol=1e-5)
    twins = x[:1].expand(64, -1, -1, -1).contiguous()
    out = rand_augment_batch(twins, torch.Generator().manual_seed(1), ops=1, magnitude=9)
    distinct = {tuple(out[k].flatten()[:20].round(decimals=4).tolist()) for k in range(64)}
    assert len(distinct) > 8  # one image, many operations and signs
    again = rand_augment_batch(twins, torch.Generator().manual_seed(1), ops=1, magnitude=9)
    assert torch.equal(out, again)


def test_a_run_with_randaugment_and_one_on_points_refused(tmp_path: Path) -> None:
    tiny = ["data.source=digits", "model.widths=[4,8,8]", "model.hidden=16", "train.epochs=1", "train.threads=1"]
    plain = train(load_config(None, tiny), tmp_path / "plain")
    augmented = train(load_config(None, [*tiny, "data.augment.randaugment=true"]), tmp_path / "ra")
    assert augmented.status == "completed" and augmented.history[1]["train_loss"] != plain.history[1]["train_loss"]
    config = load_config(None, ["data.source=moons", "model.name=mlp", "data.augment.randaugment.ops=1"])
    with pytest.raises(UserError, match="data.augment.randaugment needs images"):
        train(config, tmp_path / "points")
