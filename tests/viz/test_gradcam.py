"""Grad-CAM: the heatmap sits where the class evidence is, on a trained run and on any model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlab.errors import UserError
from cnnlab.inference import load_run
from cnnlab.viz import class_index, grad_cam, gradcam_figure, load_image

from .runs import CORNER_SIZE, CORNERS, PATCH, corner_picture, is_png, save_png

HALF = CORNER_SIZE // 2


def _quadrant_means(cam: torch.Tensor) -> dict[str, float]:
    return {
        "top_left": float(cam[:HALF, :HALF].mean()),
        "top_right": float(cam[:HALF, HALF:].mean()),
        "bottom_left": float(cam[HALF:, :HALF].mean()),
        "bottom_right": float(cam[HALF:, HALF:].mean()),
    }


def _quadrant_of(cam: torch.Tensor) -> str:
    row, col = divmod(int(cam.argmax()), cam.shape[1])
    return f"{'top' if row < HALF else 'bottom'}_{'left' if col < HALF else 'right'}"


@pytest.mark.parametrize("corner", CORNERS)
def test_gradcam_of_a_trained_run_peaks_in_the_corner_of_the_evidence(
    corner_run: Path, tmp_path: Path, corner: str
) -> None:
    run = load_run(corner_run)
    image = load_image(run, save_png(tmp_path / f"{corner}.png", corner_picture(corner, seed=1000)))
    # conv2 still has a map of positions (8x8); conv3 sees the whole 4x4 map through its 5x5 kernel
    result = grad_cam(run.model, image.x, "features.conv2")
    assert run.classes[result.predicted] == corner and result.class_index == result.predicted
    assert result.cam.shape == (CORNER_SIZE, CORNER_SIZE) and float(result.cam.max()) == pytest.approx(1.0)
    assert _quadrant_of(result.cam) == corner
    means = _quadrant_means(result.cam)
    assert max(means, key=means.__getitem__) == corner


class GlobalPoolNet(nn.Module):
    """Two 3x3 convs, global average pooling, a linear head: not a ConvClassifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.act2 = nn.ReLU(inplace=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act2(self.conv2(self.act1(self.conv1(x)))).mean(dim=(2, 3)))


def _patch_batch(generator: torch.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dim noise; class 1 has a bright patch in the top-right corner."""
    x = torch.rand(n, 3, CORNER_SIZE, CORNER_SIZE, generator=generator) * 0.5
    y = torch.randint(0, 2, (n,), generator=generator)
    x[y == 1, :, :PATCH, -PATCH:] = 1.0
    return x, y


@pytest.fixture(scope="module")
def pool_net() -> GlobalPoolNet:
    torch.manual_seed(0)
    model = GlobalPoolNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(0)
    for _ in range(150):  # about 0.2 s; it separates the classes perfectly
        x, y = _patch_batch(generator, 32)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def test_gradcam_works_on_any_model_and_peaks_inside_the_patch(pool_net: GlobalPoolNet) -> None:
    x, y = _patch_batch(torch.Generator().manual_seed(5), 16)
    with_patch = x[y == 1][:4]
    assert len(with_patch) == 4
    for image in with_patch:
        result = grad_cam(pool_net, image[None], class_index=1)
        assert result.layer == "conv2" and result.predicted == 1  # the default: the last conv layer
        row, col = divmod(int(result.cam.argmax()), CORNER_SIZE)
        assert row < PATCH + 1 and col >= CORNER_SIZE - PATCH - 1
        inside = float(result.cam[:PATCH, -PATCH:].mean())
        assert inside > 5 * float(result.cam[PATCH:, :].mean())


def test_a_named_class_is_explained_with_its_own_probability(pool_net: GlobalPoolNet) -> None:
    x, y = _patch_batch(torch.Generator().manual_seed(5), 16)
    image = x[y == 1][:1]
    result = grad_cam(pool_net, image, "conv1", class_index=0)
    with torch.no_grad():
        probabilities = torch.softmax(pool_net(image), dim=1)[0]
    assert result.class_index == 0 and result.predicted == 1
    assert result.probability == pytest.approx(float(probabilities[0]), abs=1e-6)
    assert result.predicted_probability == pytest.approx(float(probabilities[1]), abs=1e-6)


def test_a_frozen_layer_still_gets_a_heatmap() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3)).eval()
    model[0].requires_grad_(False)  # like the fast net's whitening conv
    result = grad_cam(model, torch.randn(1, 3, 8, 8), "0")
    assert result.cam.shape == (8, 8) and result.coarse.shape == (8, 8)


def test_unknown_classes_and_layers_are_user_errors(corner_run: Path) -> None:
    run = load_run(corner_run)
    with pytest.raises(UserError, match="did you mean 'top_right'.*bottom_left, top_right"):
        class_index(run.classes, "top_rigth")
    with pytest.raises(UserError, match="the conv layers are: features.conv1, features.conv2, features.conv3"):
        grad_cam(run.model, torch.zeros(1, 3, CORNER_SIZE, CORNER_SIZE), "features.fc1")


def test_gradcam_figure_names_the_class_in_its_file(corner_run: Path, tmp_path: Path) -> None:
    image = save_png(tmp_path / "probe.png", corner_picture("top_right", seed=7))
    out = gradcam_figure(corner_run, image, class_name="bottom_left")
    assert out == corner_run / "figures" / "gradcam-probe-bottom_left.png" and is_png(out)
