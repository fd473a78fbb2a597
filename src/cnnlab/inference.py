"""A trained run, reloaded for inference: its model with the best weights, and its own preprocessing.

`predict(run_dir, images)` reads images as the ImageFolder source reads them, resizes them to the
run's image size, normalises them with the statistics the run saved, and returns the top classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnlab.config import RunConfig
from cnnlab.data import BatchAugment, Preprocessor
from cnnlab.data.decode import ImageReadError, read_image
from cnnlab.errors import UserError
from cnnlab.models import build, get_entry
from cnnlab.runs import INFO, RunFolder


@dataclass
class TrainedRun:
    """Everything needed to apply a finished run to new inputs."""

    folder: RunFolder
    config: RunConfig
    info: dict[str, Any]
    model: nn.Module
    preprocess: Preprocessor
    augment: BatchAugment | None

    @property
    def classes(self) -> list[str]:
        return list(self.info["classes"])

    @property
    def channels(self) -> int:
        return int(self.info["in_channels"])

    @property
    def image_size(self) -> tuple[int, int]:
        """The size images are resized to before preprocessing (the training images' size)."""
        h, w = self.info["image_size"]
        return int(h), int(w)

    def read_images(self, paths: Sequence[str | Path]) -> np.ndarray:
        """uint8 (N, H, W, C) images, read and resized like the training images."""
        if self.info.get("kind") != "images":
            raise UserError("this run was trained on 2-D points, not images: predict and viz need an image run")
        out = []
        for path in paths:
            if not Path(path).is_file():
                raise UserError(f"image '{path}' does not exist")
            try:
                out.append(read_image(path, self.channels, self.image_size))
            except ImageReadError as err:
                raise UserError(f"cannot read image '{err.path}' ({err.reason})") from None
        return np.stack(out)

    def prepare(self, images: np.ndarray) -> torch.Tensor:
        """Model inputs from uint8 (N, H, W, C) images: the run's normalisation and evaluation crop."""
        return self.prepare_tensor(torch.from_numpy(np.ascontiguousarray(images)))

    def prepare_tensor(self, raw: torch.Tensor) -> torch.Tensor:
        """`prepare` on a tensor of raw inputs (torch ops only, so `cnnlab.export` traces it into its graph)."""
        x = self.preprocess.apply(raw)
        return self.augment.evaluate(x) if self.augment is not None else x

    @torch.inference_mode()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax class probabilities for prepared inputs."""
        return torch.softmax(self.model(x).float(), dim=1)


def load_run(run_dir: str | Path) -> TrainedRun:
    """The run in `run_dir` with its best weights, on the CPU, in evaluation mode."""
    folder = RunFolder(run_dir)
    if not folder.has_run():
        raise UserError(f"'{run_dir}' is not a run folder (no config.yaml): give a folder written by cnnlab train")
    config = folder.read_config()
    info = _facts(folder)
    model = _rebuild(config, info)
    folder.load_weights(model)
    model.eval()
    augment = None
    if info.get("kind") == "images":
        augment = BatchAugment(config.data.augment, tuple(info["image_size"]))  # type: ignore[arg-type]
    return TrainedRun(folder, config, info, model, folder.load_preprocess(), augment)


def _facts(folder: RunFolder) -> dict[str, Any]:
    """The run's facts (run.json) that rebuilding its model needs; missing or malformed ones are a UserError."""
    info = folder.read_info()
    problems = [f"no {key}" for key in ("kind", "classes") if key not in info]
    if not isinstance(info.get("classes", []), list):
        problems.append("its classes are not a list")
    problems += [
        f"its {key} is not a positive whole number"
        for key in ("num_classes", "in_channels")
        if not (isinstance(info.get(key), int) and info[key] > 0)
    ]
    if info.get("kind") == "images":
        problems += [
            f"its {key} is not a pair of sizes" for key in ("image_size", "input_size") if not _pair(info.get(key))
        ]
    if problems:
        raise folder.damaged(INFO, "; ".join(problems))
    return info


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value)


def _rebuild(config: RunConfig, info: dict[str, Any]) -> nn.Module:
    """The run's architecture, built without fetching anything: its weights come from the run."""
    options = config.model.options()
    known = get_entry(config.model.name).options
    if "pretrained" in known:
        options["pretrained"] = False
    if "weights" in known:
        options["weights"] = None
    size = tuple(info["input_size"]) if info.get("input_size") else None
    return build(config.model.name, int(info["in_channels"]), int(info["num_classes"]), size, **options)


def predict(run_dir: str | Path, images: Sequence[str | Path], top: int = 5) -> list[dict[str, Any]]:
    """For each image: its path and the `top` classes with their probabilities, most likely first."""
    run = load_run(run_dir)
    probabilities = run.probabilities(run.prepare(run.read_images(images)))
    k = min(top, len(run.classes))
    values, indices = probabilities.topk(k, dim=1)
    return [
        {
            "image": str(path),
            "top": [{"class": run.classes[int(i)], "probability": float(p)} for p, i in zip(v, ix, strict=True)],
        }
        for path, v, ix in zip(images, values, indices, strict=True)
    ]
