"""draw_figure: every kind by name, and the options each kind takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnlab.errors import UserError
from cnnlab.viz import KINDS, draw_figure

from .runs import digit_png, is_png


@pytest.mark.parametrize("kind", ["activations", "gradcam"])
def test_maps_of_an_image_need_the_image(digits_run: Path, kind: str) -> None:
    with pytest.raises(UserError, match=f"viz {kind} needs an image: add --image FILE"):
        draw_figure(kind, digits_run)


def test_options_a_kind_does_not_use_are_refused(digits_run: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="viz filters does not use --image"):
        draw_figure("filters", digits_run, image=tmp_path / "x.png")
    with pytest.raises(UserError, match="viz confusion does not use --layer, --class"):
        draw_figure("confusion", digits_run, layer="features.conv1", class_name="3")


def test_an_unknown_kind_is_named(digits_run: Path) -> None:
    with pytest.raises(UserError, match="did you mean 'filters'"):
        draw_figure("filter", digits_run)


def test_every_kind_draws(digits_run: Path, tmp_path: Path) -> None:
    image = digit_png(tmp_path / "seven.png", index=7)
    for kind in KINDS:
        out = draw_figure(kind, digits_run, image=image if kind in ("activations", "gradcam") else None, out=None)
        assert is_png(out) and out.parent == digits_run / "figures"


def test_a_points_run_cannot_show_images(tmp_path: Path) -> None:
    from cnnlab.config import load_config
    from cnnlab.train import train

    train(
        load_config(None, ["data.source=moons", "model.name=mlp", "train.epochs=1", "train.threads=1"]), tmp_path / "r"
    )
    image = digit_png(tmp_path / "seven.png", index=7)
    with pytest.raises(UserError, match="2-D points, not images"):
        draw_figure("gradcam", tmp_path / "r", image=image)
    with pytest.raises(UserError, match="no conv layer"):
        draw_figure("filters", tmp_path / "r")
    assert is_png(draw_figure("confusion", tmp_path / "r"))  # the confusion matrix works for any classifier
