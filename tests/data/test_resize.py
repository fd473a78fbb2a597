"""data.image_size resizes the fixed-size formats too (digits, CIFAR-10, idx), not only image folders."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.data import load


def test_digits_resized_to_the_size_asked_match_torch_interpolation() -> None:
    original, resized = load("digits"), load("digits", image_size=32)
    assert resized.train.x.shape[1:] == (32, 32, 1) and resized.test.x.shape[1:] == (32, 32, 1)
    np.testing.assert_array_equal(resized.train.y, original.train.y)
    first = torch.from_numpy(original.train.x[:1].astype(np.float32)).permute(0, 3, 1, 2)
    expected = F.interpolate(first, size=(32, 32), mode="bilinear", antialias=True).round().clamp(0, 255)
    np.testing.assert_array_equal(resized.train.x[0, :, :, 0], expected[0, 0].numpy().astype(np.uint8))
    assert any("resized from 8x8 to 32x32" in note for note in resized.notes)
    assert load("digits", image_size=8).train.x.shape[1:] == (8, 8, 1)  # the size it has: nothing to do
