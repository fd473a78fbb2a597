"""Activation maps: the shape of every layer's output, values taken before in-place activations."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from cnnlab.errors import UserError
from cnnlab.inference import load_run
from cnnlab.viz import activation_maps, activations_figure, layer_outputs, load_image

from .runs import digit_png, is_png

# tme2 with widths 8/16/16 on 8x8 digits: 5x5 convs keep the size (padding 2), each pool halves it
EXPECTED_SHAPES = {
    "features.conv1": (8, 8, 8),
    "features.pool1": (8, 4, 4),
    "features.conv2": (16, 4, 4),
    "features.pool2": (16, 2, 2),
    "features.conv3": (16, 2, 2),
    "features.pool3": (16, 1, 1),
    "features": (16, 1, 1),
    "classifier.fc4": (32,),
    "classifier.fc5": (10,),
}


def test_every_layer_has_the_shape_its_arithmetic_gives(digits_run: Path, tmp_path: Path) -> None:
    run = load_run(digits_run)
    x = load_image(run, digit_png(tmp_path / "three.png")).x
    outputs = layer_outputs(run.model, x, list(EXPECTED_SHAPES))
    assert {name: tuple(out.shape[1:]) for name, out in outputs.items()} == EXPECTED_SHAPES
    with torch.inference_mode():
        assert torch.allclose(outputs["classifier.fc5"], run.model(x))  # the hooks change nothing


def test_conv_maps_are_the_convolution_before_the_in_place_relu(digits_run: Path, tmp_path: Path) -> None:
    run = load_run(digits_run)
    x = load_image(run, digit_png(tmp_path / "three.png")).x
    maps = activation_maps(run.model, x)  # default: the first conv layer
    conv = run.model.features.conv1
    assert maps.layer == "features.conv1"
    expected = F.conv2d(x, conv.weight, conv.bias, padding=2)[0]
    assert torch.allclose(maps.output, expected.detach(), atol=1e-6)
    assert float(maps.output.min()) < 0  # a ReLU applied in place afterwards did not clip the copy


def test_an_unknown_layer_lists_every_named_layer(digits_run: Path, tmp_path: Path) -> None:
    run = load_run(digits_run)
    x = load_image(run, digit_png(tmp_path / "three.png")).x
    with pytest.raises(UserError, match="did you mean 'features.pool2'") as err:
        activation_maps(run.model, x, "features.pool22")
    assert "features.relu1" in str(err.value) and "classifier.fc5" in str(err.value)


@pytest.mark.parametrize(("layer", "name"), [(None, "activations-three.png"), ("classifier.fc5", None)])
def test_activations_figure_writes_maps_or_a_bar_chart(digits_run: Path, tmp_path: Path, layer, name) -> None:
    image = digit_png(tmp_path / "three.png", scale=3)  # 24x24: resized to 8x8 like the training images
    out = activations_figure(digits_run, image, layer, None if name else tmp_path / "fc5.png")
    assert out == (digits_run / "figures" / name if name else tmp_path / "fc5.png")
    assert is_png(out)
