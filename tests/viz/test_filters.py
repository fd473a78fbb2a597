"""Filter grids: tile counts, each kernel scaled to [0, 1], caps, layer names."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlab.errors import UserError
from cnnlab.inference import load_run
from cnnlab.viz import filter_grid, filters_figure, scale_kernels
from cnnlab.viz.filters import describe

from .runs import is_png


def _per_kernel_range(tiles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = tiles.flatten(1)
    return flat.min(dim=1).values, flat.max(dim=1).values


def test_first_layer_of_an_rgb_run_shows_each_kernel_as_an_rgb_tile(corner_run: Path) -> None:
    model = load_run(corner_run).model
    grid = filter_grid(model)
    assert grid.layer == "features.conv1" and grid.rgb and grid.whole_kernels
    assert grid.tiles.shape == (8, 1, 5, 5, 3) and grid.tile_count == 8
    low, high = _per_kernel_range(grid.tiles)
    assert torch.allclose(low, torch.zeros(8)) and torch.allclose(high, torch.ones(8))
    weight = model.features.conv1.weight.detach()[2]  # (3, 5, 5): a tile is this kernel, min-max scaled
    expected = ((weight - weight.min()) / (weight.max() - weight.min())).permute(1, 2, 0)
    assert torch.allclose(grid.tiles[2, 0], expected, atol=1e-6)


def test_a_deeper_layer_has_a_tile_per_filter_and_input_channel(digits_run: Path) -> None:
    grid = filter_grid(load_run(digits_run).model, "features.conv2")
    assert not grid.rgb and not grid.whole_kernels
    assert grid.tiles.shape == (16, 8, 5, 5, 1) and grid.tile_count == 128
    low, high = _per_kernel_range(grid.tiles)  # a filter's tiles together span [0, 1]
    assert torch.allclose(low, torch.zeros(16)) and torch.allclose(high, torch.ones(16))


def test_a_one_channel_first_layer_shows_whole_kernels_in_gray(digits_run: Path) -> None:
    grid = filter_grid(load_run(digits_run).model)
    assert grid.tiles.shape == (8, 1, 5, 5, 1) and grid.whole_kernels and not grid.rgb
    assert describe(grid) == "8 filters 5x5, one channel"


def test_large_layers_are_capped_and_the_description_says_so() -> None:
    model = nn.Sequential(nn.Conv2d(3, 100, 3), nn.ReLU(), nn.Conv2d(100, 40, 1))
    first = filter_grid(model)
    assert first.tile_count == 64 and first.total_filters == 100
    assert describe(first).startswith("the first 64 of 100 filters 3x3")
    second = filter_grid(model, "2")
    assert second.tiles.shape == (16, 16, 1, 1, 1)
    assert describe(second) == "the first 16 of 40 filters x the first 16 of 100 input channels, 1x1"


def test_a_constant_kernel_is_drawn_mid_gray() -> None:
    weight = torch.stack([torch.full((2, 3, 3), 0.7), torch.arange(18.0).view(2, 3, 3)])
    scaled = scale_kernels(weight)
    assert torch.all(scaled[0] == 0.5)
    assert float(scaled[1].min()) == 0.0 and float(scaled[1].max()) == 1.0


def test_an_unknown_layer_lists_the_conv_layers(digits_run: Path) -> None:
    model = load_run(digits_run).model
    with pytest.raises(UserError, match="did you mean 'features.conv2'") as err:
        filter_grid(model, "features.convv2")
    assert "features.conv1, features.conv2, features.conv3" in str(err.value)
    with pytest.raises(UserError, match="'features.relu1' is a ReLU, not a conv layer"):
        filter_grid(model, "features.relu1")


def test_filters_figure_writes_a_png_under_the_run(digits_run: Path, tmp_path: Path) -> None:
    assert filters_figure(digits_run) == digits_run / "figures" / "filters.png"
    assert is_png(digits_run / "figures" / "filters.png")
    out = filters_figure(digits_run, "features.conv3", tmp_path / "mine.png")
    assert out == tmp_path / "mine.png" and is_png(out)
