"""`cnnlab export`: the ONNX file, run by onnxruntime, and the TorchScript file give `cnnlab predict`'s answers
on the same image files, with the run's preprocessing (ZCA, a centre crop, RGB standardisation) inside."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab.cli import main as cli
from cnnlab.export import export_run
from cnnlab.inference import load_run
from tests.viz.runs import corner_picture, save_png, train_corner_run, train_digits_run

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export")
    return {
        "zca-crop": train_digits_run(
            root / "digits" / "run",
            "data.preprocess=zca",
            "data.image_size=12",
            "data.augment.crop=10",
            "train.epochs=2",
        ),
        "rgb": train_corner_run(root / "corners" / "run"),
    }


def _images(run_dir: Path, folder: Path) -> list[Path]:
    """Three image files of the run's kind: digits drawn as noise, and the corner pictures."""
    run = load_run(run_dir)
    h, w = run.image_size
    if run.channels == 1:
        pixels = [np.random.default_rng(k).integers(0, 256, (h, w), dtype=np.uint8) for k in range(3)]
    else:
        pixels = [corner_picture(corner, 900 + k) for k, corner in enumerate(("bottom_left", "top_right", "top_right"))]
    return [save_png(folder / f"image{k}.png", p) for k, p in enumerate(pixels)]


def _predict(run_dir: Path, images: list[Path], capsys) -> list[dict]:
    assert cli.main(["predict", str(run_dir), *map(str, images), "--json", "--top", "100"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", ["zca-crop", "rgb"])
def test_onnx_file_run_by_onnxruntime_answers_as_predict(runs, name: str, tmp_path: Path, capsys) -> None:
    run_dir = runs[name]
    images = _images(run_dir, tmp_path)
    out = tmp_path / "exported" / "net.onnx"
    assert cli.main(["export", str(run_dir), "--format", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (onnx): uint8 (N," in printed and "checked with onnxruntime" in printed
    predicted = _predict(run_dir, images, capsys)
    run = load_run(run_dir)
    raw = run.read_images(images)  # what reading the files gives: uint8 (N, H, W, C), resized to the run's size
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"inputs": raw})
    with torch.inference_mode():
        reference = run.model(run.prepare(raw)).numpy()
    assert logits.shape == (3, len(run.classes))  # a batch of 3, not the 8 it was traced with
    assert np.allclose(logits, reference, atol=1e-5)
    probabilities = torch.softmax(torch.from_numpy(logits), 1)
    for k, answer in enumerate(predicted):
        assert run.classes[int(probabilities[k].argmax())] == answer["top"][0]["class"]
        for entry in answer["top"]:
            assert probabilities[k, run.classes.index(entry["class"])] == pytest.approx(entry["probability"], abs=1e-5)


def test_torchscript_file_gives_the_same_logits(runs, tmp_path: Path) -> None:
    result = export_run(runs["zca-crop"], "torchscript")
    assert result.path == runs["zca-crop"] / "model.torchscript.pt" and result.max_difference == 0.0
    run = load_run(runs["zca-crop"])
    raw = run.read_images(_images(runs["zca-crop"], tmp_path))
    loaded = torch.jit.load(str(result.path))
    with torch.inference_mode():
        assert torch.allclose(loaded(torch.from_numpy(raw)), run.model(run.prepare(raw)), atol=1e-6)


def test_an_unknown_format_or_a_folder_that_is_no_run_is_a_user_error(runs, tmp_path: Path, capsys) -> None:
    assert cli.main(["export", str(runs["rgb"]), "--format", "tflite"]) == 2
    assert "unknown export format 'tflite': choose one of onnx, torchscript" in capsys.readouterr().err
    assert cli.main(["export", str(runs["rgb"]), "--format", "onx"]) == 2
    assert "did you mean 'onnx'" in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path), "--format", "onnx"]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
