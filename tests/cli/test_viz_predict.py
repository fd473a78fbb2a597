"""`cnnlab viz` and `cnnlab predict`: PNG files written, predictions equal to a forward pass done by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from cnnlab.cli import main as cli
from cnnlab.inference import load_run
from tests.viz.runs import corner_picture, digit_png, is_png, save_png, train_corner_run, train_digits_run


@pytest.fixture(scope="module")
def zca_digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digits run normalised with ZCA (64 features: whitening is cheap)."""
    return train_digits_run(tmp_path_factory.mktemp("zca") / "run", "data.preprocess=zca")


@pytest.fixture(scope="module")
def corner_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An RGB ImageFolder run of 16x16 images, standardised per channel."""
    return train_corner_run(tmp_path_factory.mktemp("corners") / "run")


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["filters"], "filters.png"),
        (["filters", "--layer", "features.conv2"], "filters-features.conv2.png"),
        (["activations", "--image", "IMAGE"], "activations-probe.png"),
        (["activations", "--image", "IMAGE", "--layer", "features.pool1"], "activations-features.pool1-probe.png"),
        (["activations", "--image", "IMAGE", "--overlay", "--maps", "4"], "activations-probe-overlay.png"),
        (["gradcam", "--image", "IMAGE"], "gradcam-probe.png"),
        (["gradcam", "--image", "IMAGE", "--class", "bottom_left"], "gradcam-probe-bottom_left.png"),
        (["confusion"], "confusion.png"),
        (["curves"], "curves.png"),
    ],
)
def test_viz_writes_a_png_and_prints_its_path(corner_run: Path, tmp_path: Path, capsys, args, name) -> None:
    image = save_png(tmp_path / "probe.png", corner_picture("top_right", seed=3))
    argv = ["viz", args[0], str(corner_run), *[str(image) if a == "IMAGE" else a for a in args[1:]]]
    assert cli.main(argv) == 0
    expected = corner_run / "figures" / name
    assert is_png(expected)
    assert capsys.readouterr().out.strip() == f"wrote {expected}"


def test_viz_out_writes_where_asked(corner_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "figs" / "grid.png"
    assert cli.main(["viz", "filters", str(corner_run), "--out", str(out)]) == 0
    assert is_png(out) and str(out) in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["activations"], "viz activations needs an image: add --image FILE"),
        (["gradcam"], "viz gradcam needs an image: add --image FILE"),
        (
            ["filters", "--layer", "features.conv4"],
            "the conv layers are: features.conv1, features.conv2, features.conv3",
        ),
        (["gradcam", "--image", "IMAGE", "--class", "top"], "no class 'top' in this run"),
        (["activations", "--image", "IMAGE", "--layer", "classifier.fc55"], "did you mean 'classifier.fc5'?"),
        (["activations", "--image", "missing.png"], "image 'missing.png' does not exist"),
    ],
)
def test_viz_mistakes_exit_2_with_a_message(corner_run: Path, tmp_path: Path, capsys, args, message) -> None:
    image = save_png(tmp_path / "probe.png", corner_picture("top_right", seed=3))
    argv = ["viz", args[0], str(corner_run), *[str(image) if a == "IMAGE" else a for a in args[1:]]]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_viz_of_a_folder_without_a_run_exits_2(tmp_path: Path, capsys) -> None:
    assert cli.main(["viz", "filters", str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def _predict_json(capsys, run_dir: Path, images: list[Path], *extra: str) -> list[dict]:
    assert cli.main(["predict", str(run_dir), *map(str, images), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _probabilities(result: dict, classes: list[str]) -> np.ndarray:
    by_class = {t["class"]: t["probability"] for t in result["top"]}
    return np.array([by_class[c] for c in classes])


def test_predict_with_zca_matches_a_forward_pass_done_by_hand(zca_digits: Path, tmp_path: Path, capsys) -> None:
    images = [digit_png(tmp_path / f"d{i}.png", index=i, scale=2) for i in (0, 5)]  # 16x16: resized to 8x8
    results = _predict_json(capsys, zca_digits, images, "--top", "10")
    run = load_run(zca_digits)
    stats = load_file(str(zca_digits / "preprocess.safetensors"))
    assert "whiten" in stats
    for path, result in zip(images, results, strict=True):
        assert result["image"] == str(path) and len(result["top"]) == 10
        probabilities = [t["probability"] for t in result["top"]]
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) == pytest.approx(1, abs=1e-5)
        # by hand: the reader's gray conversion and bilinear resize, then the saved ZCA, then the model
        pixels = np.asarray(Image.open(path).convert("L").resize((8, 8), Image.Resampling.BILINEAR), np.float32)
        flat = torch.from_numpy(pixels).reshape(1, -1) * float(stats["input_scale"])
        x = ((flat - stats["mean"]) @ stats["whiten"]).reshape(1, 1, 8, 8)
        with torch.no_grad():
            expected = torch.softmax(run.model(x), dim=1)[0].numpy()
        assert np.allclose(_probabilities(result, run.classes), expected, atol=1e-5)


def test_predict_rgb_resized_and_standardised_matches_by_hand(corner_run: Path, tmp_path: Path, capsys) -> None:
    big = np.asarray(Image.fromarray(corner_picture("bottom_left", seed=11)).resize((24, 24)))  # a larger photo
    path = save_png(tmp_path / "big.png", big)
    (result,) = _predict_json(capsys, corner_run, [path])
    run = load_run(corner_run)
    assert len(result["top"]) == 2  # --top 5, capped at the number of classes
    stats = load_file(str(corner_run / "preprocess.safetensors"))
    pixels = np.asarray(Image.open(path).convert("RGB").resize((16, 16), Image.Resampling.BILINEAR), np.float32)
    x = torch.from_numpy(pixels) * float(stats["input_scale"]) * stats["scale"] + stats["shift"]
    with torch.no_grad():
        expected = torch.softmax(run.model(x.permute(2, 0, 1)[None]), dim=1)[0].numpy()
    assert np.allclose(_probabilities(result, run.classes), expected, atol=1e-5)
    assert result["top"][0]["class"] == "bottom_left"


def test_predict_prints_a_line_an_image(zca_digits: Path, tmp_path: Path, capsys) -> None:
    images = [digit_png(tmp_path / f"d{i}.png", index=i) for i in (0, 1)]
    results = _predict_json(capsys, zca_digits, images, "--top", "3")
    assert cli.main(["predict", str(zca_digits), *map(str, images), "--top", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    expected = [
        f"{r['image']}: " + "  ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in r["top"]) for r in results
    ]
    assert lines == expected and lines[0].startswith(f"{images[0]}: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.png"], "image 'missing.png' does not exist"),
        (["NOT_AN_IMAGE"], "cannot read image"),
        (["IMAGE", "--top", "0"], "--top must be at least 1"),
    ],
)
def test_predict_mistakes_exit_2(zca_digits: Path, tmp_path: Path, capsys, args, message) -> None:
    junk = tmp_path / "junk.png"
    junk.write_text("not a picture")
    image = digit_png(tmp_path / "d.png")
    argv = ["predict", str(zca_digits), *[{"IMAGE": str(image), "NOT_AN_IMAGE": str(junk)}.get(a, a) for a in args]]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
