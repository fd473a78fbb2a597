"""Seeing inside a trained run: filter grids, activation maps, Grad-CAM, confusion matrices, curves.

Each kind has a function that computes its data (tensors a test or notebook can check), one
that draws the PNG, and `<kind>_figure(run_dir, ...)` that does both for a run folder:

grid = filter_grid(load_run("runs/first").model)        # (filters, inputs, kh, kw, C) tiles in [0, 1]
draw_figure("gradcam", "runs/first", image="cat.png")   # -> runs/first/figures/gradcam-cat.png

Nothing here trains: every figure reads the run's saved weights, preprocessing and metrics.
"""

from .activations import (
    LayerActivation,
    activation_figure,
    activation_maps,
    activations_figure,
    draw_activations,
    layer_outputs,
)
from .confusion import Confusion, confusion_figure, confusion_on_test, draw_confusion, load_test_split, predict_samples
from .curves import curves_figure
from .figure import KINDS, draw_figure
from .filters import FilterGrid, draw_filters, filter_grid, filters_figure, scale_kernels
from .gradcam import GradCam, class_index, draw_gradcam, grad_cam, gradcam_figure
from .inputs import ImageInput, load_image
from .layers import choose_conv, choose_layer, conv_layers, named_layers
from .overlay import draw_overlay, upsample_maps

__all__ = [
    "KINDS",
    "Confusion",
    "FilterGrid",
    "GradCam",
    "ImageInput",
    "LayerActivation",
    "activation_figure",
    "activation_maps",
    "activations_figure",
    "choose_conv",
    "choose_layer",
    "class_index",
    "confusion_figure",
    "confusion_on_test",
    "conv_layers",
    "curves_figure",
    "draw_activations",
    "draw_confusion",
    "draw_figure",
    "draw_filters",
    "draw_gradcam",
    "draw_overlay",
    "filter_grid",
    "filters_figure",
    "grad_cam",
    "gradcam_figure",
    "layer_outputs",
    "load_image",
    "load_test_split",
    "named_layers",
    "predict_samples",
    "scale_kernels",
    "upsample_maps",
]
