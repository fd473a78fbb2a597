"""Batched augmentation: per-image randomness, the right geometry, evaluation twins."""

from __future__ import annotations

import pytest
import torch

from cnnlab.config import AugmentConfig
from cnnlab.data import BatchAugment
from cnnlab.data.augment import (
    brightness_contrast_batch,
    center_crop_batch,
    gaussian_noise_batch,
    random_affine_batch,
    random_crop_batch,
    random_flip_batch,
)
from cnnlab.errors import UserError


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _batch(n: int = 64, c: int = 3, size: int = 8) -> torch.Tensor:
    return torch.randn(n, c, size, size, generator=_gen(99))


def test_padded_crop_is_a_window_of_the_padded_image_with_per_image_offsets() -> None:
    x = _batch()
    out = random_crop_batch(x, (8, 8), _gen(), pad=2)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    offsets = set()
    for i in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(out[i], padded[i, :, dy : dy + 8, dx : dx + 8])
        ]
        assert matches, f"image {i} is not a window of its padded self"
        offsets.add(matches[0])
    assert len(offsets) > 10  # drawn per image, not once a batch


def test_reflect_padding_fills_with_image_content() -> None:
    x = torch.ones(16, 1, 6, 6)
    out = random_crop_batch(x, (6, 6), _gen(), pad=3, pad_mode="reflect")
    assert torch.equal(out, x)  # constant images stay constant under reflection, not zero-filled


def test_smaller_crop_and_its_centre_crop_twin() -> None:
    augment = BatchAugment(AugmentConfig(crop=6), (8, 8))
    x = _batch()
    assert augment(x, _gen()).shape == (64, 3, 6, 6)
    assert torch.equal(augment.evaluate(x), x[..., 1:7, 1:7])
    assert torch.equal(center_crop_batch(x, (8, 8)), x)


def test_flip_mirrors_about_half_the_images() -> None:
    x = _batch(n=1000)
    out = random_flip_batch(x, _gen())
    flipped = torch.tensor([torch.equal(o, xi.flip(2)) for o, xi in zip(out, x, strict=True)])
    same = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x, strict=True)])
    assert (flipped | same).all()
    assert 400 < int(flipped.sum()) < 600


def test_affine_with_no_motion_is_identity_and_translation_moves_a_dot() -> None:
    x = _batch()
    torch.testing.assert_close(random_affine_batch(x, _gen()), x, atol=1e-5, rtol=0)
    dot = torch.zeros(200, 1, 21, 21)
    dot[:, :, 10, 10] = 1
    moved = random_affine_batch(dot, _gen(), translate=0.2)
    peak = moved.flatten(1).argmax(1)
    rows, cols = peak // 21, peak % 21
    assert ((rows - 10).abs() <= 5).all() and ((cols - 10).abs() <= 5).all()  # at most 20% of 21 pixels
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 20


def test_rotation_keeps_the_centre_and_moves_the_edges() -> None:
    x = torch.zeros(100, 1, 21, 21)
    x[:, :, 10, :] = 1  # a horizontal bar through the centre
    out = random_affine_batch(x, _gen(), rotate=45)
    assert torch.allclose(out[:, 0, 10, 10], torch.ones(100), atol=1e-4)
    assert (out[:, 0, 10, 0] < 0.99).float().mean() > 0.5


def test_noise_has_the_requested_spread() -> None:
    x = torch.zeros(100, 3, 8, 8)
    out = gaussian_noise_batch(x, _gen(), std=0.3)
    assert abs(float(out.std()) - 0.3) < 0.01 and abs(float(out.mean())) < 0.01


def test_brightness_and_contrast_shift_then_scale_each_whole_image_within_bounds() -> None:
    x = _batch(n=200)
    out = brightness_contrast_batch(x, _gen(), brightness=0.2, contrast=0.3)
    # each image is a * x + b for its own a in [0.7, 1.3] and b = a * shift, |shift| <= 0.2
    flat_x, flat_out = x.flatten(1), out.flatten(1)
    centred_x = flat_x - flat_x.mean(1, keepdim=True)
    factor = (centred_x * (flat_out - flat_out.mean(1, keepdim=True))).sum(1) / centred_x.pow(2).sum(1)
    shift = flat_out.mean(1) / factor - flat_x.mean(1)
    assert torch.allclose(flat_out, factor[:, None] * (flat_x + shift[:, None]), atol=1e-5)
    assert float(factor.min()) >= 0.7 - 1e-5 and float(factor.max()) <= 1.3 + 1e-5 and factor.std() > 0.1
    assert float(shift.abs().max()) <= 0.2 + 1e-5 and shift.std() > 0.05
    assert torch.equal(brightness_contrast_batch(x, _gen(), 0.0, 0.0), x)


def test_same_generator_state_same_augmentation() -> None:
    augment = BatchAugment(
        AugmentConfig(
            pad=2, flip=True, rotate=10, translate=0.1, scale=0.1, shear=5, brightness=0.1, contrast=0.1, noise=0.1
        ),
        (8, 8),
    )
    x = _batch()
    assert torch.equal(augment(x, _gen(3)), augment(x, _gen(3)))
    assert not torch.equal(augment(x, _gen(3)), augment(x, _gen(4)))
    assert augment.evaluate(x) is x and augment.active


def test_inactive_augmentation_is_identity_and_crop_too_large_is_an_error() -> None:
    augment = BatchAugment(AugmentConfig(), (8, 8))
    x = _batch()
    assert not augment.active and torch.equal(augment(x, _gen()), x)
    with pytest.raises(UserError, match="larger than the 8x8 images"):
        BatchAugment(AugmentConfig(crop=10), (8, 8))
