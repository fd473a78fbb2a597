"""The manual convolution: the course example, and equality with torch's conv2d (cross-correlation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab.inspect import conv2d_manual

P = np.array([[1, 0, 2, 3, 1], [3, 2, 0, 7, 0], [0, 6, 1, 1, 4]])
SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def test_the_course_example() -> None:
    expected = np.array([[2, -1, 11, -2, -13], [10, -4, 8, 2, -18], [14, -1, -5, 6, -9]])
    np.testing.assert_array_equal(conv2d_manual(P, SOBEL, padding=1), expected)


def test_it_does_not_flip_the_kernel() -> None:
    # a true convolution would flip Sobel and negate the result
    assert conv2d_manual(P, SOBEL, padding=1)[0, 0] == 2 != conv2d_manual(P, SOBEL[::-1, ::-1], padding=1)[0, 0]


@pytest.mark.parametrize(("padding", "stride"), [(0, 1), (1, 1), (2, 2), (1, 3)])
def test_equal_to_torch(padding: int, stride: int) -> None:
    rng = np.random.default_rng(padding * 10 + stride)
    image, kernel = rng.normal(size=(3, 9, 11)), rng.normal(size=(3, 3, 4))
    ours = conv2d_manual(image, kernel, padding=padding, stride=stride)
    theirs = F.conv2d(torch.from_numpy(image)[None], torch.from_numpy(kernel)[None], padding=padding, stride=stride)
    np.testing.assert_allclose(ours, theirs[0, 0].numpy(), atol=1e-12)


def test_mismatched_channels_are_refused() -> None:
    with pytest.raises(ValueError, match="must be"):
        conv2d_manual(np.zeros((3, 5, 5)), np.zeros((2, 3, 3)))


def test_flip_rotates_every_channel_of_the_kernel_by_180_degrees() -> None:
    rng = np.random.default_rng(7)
    image, kernel = rng.normal(size=(2, 6, 5)), rng.normal(size=(2, 3, 2))
    ours = conv2d_manual(image, kernel, padding=1, stride=2, flip=True)
    flipped = torch.flip(torch.from_numpy(kernel), dims=(1, 2))
    theirs = F.conv2d(torch.from_numpy(image)[None], flipped[None], padding=1, stride=2)
    np.testing.assert_allclose(ours, theirs[0, 0].numpy(), atol=1e-12)
    assert not np.allclose(ours, conv2d_manual(image, kernel, padding=1, stride=2))
