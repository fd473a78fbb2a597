"""`draw_figure(kind, run_dir, ...)`: any viz figure by name, with the options each kind takes checked.

The `cnnlab viz` verb calls this; a notebook can call it or the kind's own `<kind>_figure`.
"""

from __future__ import annotations

from pathlib import Path

from cnnlab.errors import UserError, did_you_mean

from .activations import activations_figure
from .confusion import confusion_figure
from .curves import curves_figure
from .filters import filters_figure
from .gradcam import gradcam_figure

KINDS = ("filters", "activations", "gradcam", "confusion", "curves")
TAKES = {  # the options each kind uses; giving another is a mistake worth reporting
    "filters": {"layer"},
    "activations": {"image", "layer", "overlay", "maps"},
    "gradcam": {"image", "layer", "class"},
    "confusion": set(),
    "curves": set(),
}
NEEDS_IMAGE = {"activations", "gradcam"}


def draw_figure(
    kind: str,
    run_dir: str | Path,
    *,
    image: str | Path | None = None,
    layer: str | None = None,
    class_name: str | None = None,
    out: str | Path | None = None,
    overlay: bool = False,
    maps: int | None = None,
) -> Path:
    """Write the `kind` figure of the run in `run_dir` (to `out`, default RUN_DIR/figures/) and return its path."""
    if kind not in KINDS:
        raise UserError(f"unknown figure '{kind}'{did_you_mean(kind, KINDS)}: choose one of {', '.join(KINDS)}")
    given = {"image": image, "layer": layer, "class": class_name, "overlay": overlay or None, "maps": maps}
    unused = [f"--{option}" for option, value in given.items() if value is not None and option not in TAKES[kind]]
    if unused:
        raise UserError(f"viz {kind} does not use {', '.join(unused)}")
    if kind in NEEDS_IMAGE and image is None:
        raise UserError(f"viz {kind} needs an image: add --image FILE")
    if kind == "filters":
        return filters_figure(run_dir, layer, out)
    if kind == "activations":
        assert image is not None
        return activations_figure(run_dir, image, layer, out, overlay, maps)
    if kind == "gradcam":
        assert image is not None
        return gradcam_figure(run_dir, image, layer, class_name, out)
    if kind == "confusion":
        return confusion_figure(run_dir, out)
    return curves_figure(run_dir, out)
