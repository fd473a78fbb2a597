"""Activation maps: the shape of every layer's output, values taken before in-place activations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab.cli.main import main
from cnnlab.errors import UserError
from cnnlab.inference import load_run
from cnnlab.viz import (
    activation_figure,
    activation_maps,
    activations_figure,
    draw_figure,
    layer_outputs,
    load_image,
    upsample_maps,
)

from .runs import CORNER_SIZE, corner_picture, digit_png, is_png, save_png

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


# -- --overlay: report 004, task 4c (figures 12 and 13) --------------------------------------------


def _overlay_panels(figure) -> list:
    """The axes that hold an image with a map drawn over it."""
    return [ax for ax in figure.axes if len(ax.images) == 2]


def test_overlay_lays_every_channel_upsampled_over_the_input(corner_run: Path, tmp_path: Path) -> None:
    run = load_run(corner_run)
    picture = load_image(run, save_png(tmp_path / "probe.png", corner_picture("top_right", seed=3)))
    activation = activation_maps(run.model, picture.x, "features.conv2")  # 8 maps of 8x8 on a 16x16 image
    panels = _overlay_panels(activation_figure(activation, picture, "t", overlay=True))
    assert len(panels) == 8
    upsampled = upsample_maps(activation.output, (CORNER_SIZE, CORNER_SIZE)).numpy()
    for channel, ax in enumerate(panels):
        under, over = ax.images
        np.testing.assert_array_equal(under.get_array(), np.clip(picture.pixels, 0, 1))  # the input beneath
        assert over.get_array().shape == (CORNER_SIZE, CORNER_SIZE) and over.get_alpha() == 0.5
        np.testing.assert_allclose(over.get_array(), upsampled[channel])
        assert ax.get_title() == f"channel {channel}"
    # the plain figure shows the same maps at the layer's 8x8, with nothing beneath them
    plain = activation_figure(activation, picture, "t")
    assert not _overlay_panels(plain)
    assert not any(image.get_array().shape[:2] == (CORNER_SIZE, CORNER_SIZE) for image in plain.axes[1].images)


def test_maps_chooses_how_many_channels_are_drawn(corner_run: Path, tmp_path: Path) -> None:
    run = load_run(corner_run)
    picture = load_image(run, save_png(tmp_path / "probe.png", corner_picture("bottom_left", seed=4)))
    activation = activation_maps(run.model, picture.x, "features.conv1")
    figure = activation_figure(activation, picture, "t", overlay=True, maps=3)
    assert len(_overlay_panels(figure)) == 3 and "(the first 3 of 8)" in figure.get_supxlabel()
    with pytest.raises(UserError, match="--maps must be at least 1, not 0"):
        activation_figure(activation, picture, "t", maps=0)


def test_the_overlay_file_is_written_beside_the_plain_one_and_differs(corner_run: Path, tmp_path: Path) -> None:
    image = save_png(tmp_path / "probe.png", corner_picture("top_right", seed=3))
    plain = draw_figure("activations", corner_run, image=image, layer="features.conv2")
    overlaid = draw_figure("activations", corner_run, image=image, layer="features.conv2", overlay=True)
    assert overlaid == corner_run / "figures" / "activations-features.conv2-probe-overlay.png"
    assert is_png(plain) and is_png(overlaid) and plain.read_bytes() != overlaid.read_bytes()


def test_overlay_of_a_fully_connected_layer_is_a_usage_error(digits_run: Path, tmp_path: Path, capsys) -> None:
    image = digit_png(tmp_path / "three.png")
    argv = ["viz", "activations", str(digits_run), "--image", str(image), "--layer", "classifier.fc4"]
    out = tmp_path / "fc4.png"
    assert main([*argv, "--overlay", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--overlay lays feature maps over the image, but layer 'classifier.fc4' outputs a vector of 32" in err
    assert "choose a conv or pooling layer" in err and "Traceback" not in err and not out.exists()
    assert main([*argv, "--maps", "4"]) == 2 and "--maps counts feature maps" in capsys.readouterr().err
    with pytest.raises(UserError, match="viz gradcam does not use --overlay"):
        draw_figure("gradcam", digits_run, image=image, overlay=True)
