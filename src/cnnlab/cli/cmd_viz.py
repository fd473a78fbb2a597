"""`cnnlab viz filters|activations|gradcam|confusion|curves RUN_DIR [--image FILE] [--layer NAME] [--class NAME]
[--overlay] [--maps N] [--out FILE]`: a figure of a trained run, written as a PNG."""

from __future__ import annotations

import argparse

from cnnlab.viz import KINDS, draw_figure


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "viz",
        help="figures of a trained run: filters, activations, Grad-CAM, confusion matrix, learning curves",
        description="Draw a figure of a trained run as a PNG (default RUN_DIR/figures/<kind>...png). "
        "filters: the first conv layer's kernels (or --layer's); activations: a layer's feature maps for "
        "--image (with --overlay, each laid over the image); gradcam: where the last conv layer (or --layer) "
        "sees the predicted class (or --class) in --image; confusion: the confusion matrix on the test split; "
        "curves: loss and top-1 by epoch.",
    )
    p.add_argument("kind", choices=KINDS, metavar="KIND", help=f"the figure to draw: {', '.join(KINDS)}")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by cnnlab train")
    p.add_argument("--image", metavar="FILE", help="the image to look at (activations, gradcam)")
    p.add_argument("--layer", metavar="NAME", help="a layer name as `cnnlab inspect` prints it, e.g. features.conv2")
    p.add_argument("--class", dest="class_name", metavar="NAME", help="gradcam: the class to explain")
    p.add_argument(
        "--overlay",
        action="store_true",
        help="activations: lay each feature map, upsampled to the image's size, half-transparent over the image",
    )
    p.add_argument(
        "--maps", type=int, metavar="N", help="activations: draw the first N channels' maps (default: up to 64)"
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="the PNG to write (default RUN_DIR/figures/<kind>[-<layer>][-<image>][-overlay].png)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = draw_figure(
        args.kind,
        args.run_dir,
        image=args.image,
        layer=args.layer,
        class_name=args.class_name,
        out=args.out,
        overlay=args.overlay,
        maps=args.maps,
    )
    print(f"wrote {path}")
    return 0
