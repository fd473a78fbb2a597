"""Grad-CAM: where in the input a conv layer finds the evidence for one class.

For the chosen layer's maps A_k and the class score y_c (its logit), the weight of map k is the
spatial mean of dy_c/dA_k; the map is ReLU(sum_k w_k A_k), upsampled to the input's size. It
works on any model: a forward hook on the layer keeps its output, and the gradient is taken
with respect to that output directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UserError, did_you_mean
from cnnlab.inference import load_run

from .canvas import default_path, new_figure, save_png, show_image
from .inputs import ImageInput, load_image, run_label
from .layers import choose_conv
from .overlay import draw_overlay, upsample_maps


@dataclass(frozen=True)
class GradCam:
    """A Grad-CAM heatmap and the class it explains."""

    layer: str
    class_index: int
    probability: float  # of class_index
    predicted: int
    predicted_probability: float
    cam: torch.Tensor  # (H, W) at the input's size, scaled so its maximum is 1 (all 0 without positive evidence)
    coarse: torch.Tensor  # (h, w) at the layer's resolution, before upsampling and scaling


def grad_cam(model: nn.Module, x: torch.Tensor, layer: str | None = None, class_index: int | None = None) -> GradCam:
    """Grad-CAM of `layer` (default: the last conv layer) for the single image `x` (1, C, H, W).

    Explains `class_index`, or the predicted class when it is None.
    """
    if x.dim() != 4 or len(x) != 1:
        raise ValueError(f"grad_cam takes one image as a (1, C, H, W) batch, got {tuple(x.shape)}")
    name, module = choose_conv(model, layer, "last")
    kept: list[torch.Tensor] = []

    def hook(_: nn.Module, inputs: object, output: torch.Tensor) -> torch.Tensor:
        # a frozen first layer (the fast net's whitening) gives an output without a graph: start one here
        maps = output if output.requires_grad else output.detach().requires_grad_()
        kept.append(maps)
        # the rest of the net gets a copy, so an in-place activation next cannot change the maps kept
        return maps.clone()

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = model(x).float()
            probabilities = torch.softmax(logits.detach(), dim=1)[0]
            predicted = int(probabilities.argmax())
            target = predicted if class_index is None else class_index
            if not 0 <= target < logits.shape[1]:
                raise ValueError(f"class_index {target} is not one of the model's {logits.shape[1]} classes")
            maps = kept[-1]
            (gradient,) = torch.autograd.grad(logits[0, target], maps)
    finally:
        handle.remove()
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    coarse = F.relu((weights * maps.detach()).sum(dim=1)).float()  # (1, h, w)
    cam = upsample_maps(coarse, (x.shape[-2], x.shape[-1]))[0]
    peak = float(cam.max())
    return GradCam(
        layer=name,
        class_index=target,
        probability=float(probabilities[target]),
        predicted=predicted,
        predicted_probability=float(probabilities[predicted]),
        cam=cam / peak if peak > 0 else cam,
        coarse=coarse[0],
    )


def class_index(classes: list[str], name: str) -> int:
    """The index of class `name`; a UserError lists the classes."""
    if name not in classes:
        raise UserError(
            f"no class '{name}' in this run{did_you_mean(name, classes)}; its classes: {', '.join(classes)}"
        )
    return classes.index(name)


def draw_gradcam(result: GradCam, image: ImageInput, path: str | Path, title: str) -> Path:
    """The input beside the input with the heatmap laid over it."""
    figure = new_figure(9.0, 4.6)
    image_ax, overlay_ax = figure.subplots(1, 2)
    show_image(image_ax, image.pixels, f"input ({image.path.name})")
    heat = draw_overlay(
        overlay_ax, image.pixels, result.cam.numpy(), f"Grad-CAM of {result.layer} over the input", 0, 1
    )
    figure.colorbar(heat, ax=overlay_ax, shrink=0.8).set_label("evidence (1 = strongest)", fontsize=8)
    figure.suptitle(title, fontsize=10)
    return save_png(figure, path)


def gradcam_figure(
    run_dir: str | Path,
    image: str | Path,
    layer: str | None = None,
    class_name: str | None = None,
    out: str | Path | None = None,
) -> Path:
    """Draw the Grad-CAM of `layer` (default: the last conv layer) for `image` and the predicted class or
    `class_name`, with the class and its probability in the title; returns the PNG's path."""
    run = load_run(run_dir)
    picture = load_image(run, image)
    wanted = class_index(run.classes, class_name) if class_name is not None else None
    result = grad_cam(run.model, picture.x, layer, wanted)
    classes = run.classes
    title = (
        f"{run_label(run)}: Grad-CAM for class '{classes[result.class_index]}' (probability {result.probability:.1%})"
    )
    if result.predicted != result.class_index:
        title += f"; predicted '{classes[result.predicted]}' ({result.predicted_probability:.1%})"
    if float(result.coarse.max()) <= 0:
        title += "\nno positive evidence for this class in this layer"
    path = out or default_path(run_dir, "gradcam", layer, picture.path.stem, class_name)
    return draw_gradcam(result, picture, path, title)
