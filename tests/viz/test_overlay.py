"""Upsampling a layer's maps to the image: bilinear, pixel centres aligned, each channel alone."""

from __future__ import annotations

import torch

from cnnlab.viz import upsample_maps


def test_pixel_centres_line_up_as_in_grad_cam() -> None:
    # with align_corners=False an edge pixel keeps its value and the inside is interpolated between centres
    maps = torch.tensor([[[0.0, 1.0]], [[2.0, 2.0]]])  # two channels of 1x2
    upsampled = upsample_maps(maps, (1, 4))
    assert upsampled.shape == (2, 1, 4)
    torch.testing.assert_close(upsampled[0, 0], torch.tensor([0.0, 0.25, 0.75, 1.0]))
    torch.testing.assert_close(upsampled[1], torch.full((1, 4), 2.0))  # channels do not mix


def test_a_single_position_covers_the_whole_image() -> None:
    torch.testing.assert_close(upsample_maps(torch.full((3, 1, 1), 5.0), (6, 4)), torch.full((3, 6, 4), 5.0))
