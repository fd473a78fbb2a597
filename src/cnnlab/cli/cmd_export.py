"""`cnnlab export RUN_DIR --format onnx|torchscript [--out FILE]`: a run's best weights, preprocessing included."""

from __future__ import annotations

import argparse

from cnnlab.export import FORMATS, export_run


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "export",
        help="write a run's best weights with its preprocessing as ONNX or TorchScript",
        description="Write a run's best weights as one file that takes uint8 images (N, H, W, C) at the run's "
        "image size and returns logits: the run's normalisation and evaluation crop are folded in; resizing "
        "and the softmax stay outside. The file is run once on random inputs and checked against the model.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by cnnlab train")
    p.add_argument("--format", default="onnx", metavar="|".join(FORMATS), help="onnx (default) or torchscript")
    p.add_argument(
        "--out", metavar="FILE", help="where to write it (default: model.onnx / model.torchscript.pt in RUN_DIR)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    result = export_run(args.run_dir, args.format, args.out)
    shape = ", ".join(map(str, result.input_shape))
    classes = len(result.classes)
    print(
        f"wrote {result.path} ({result.format}): {result.input_dtype} ({shape}) in, logits over {classes} classes out"
    )
    if result.max_difference is None:
        print("  not checked: install onnxruntime (pip install 'cnnlab[onnx]') to run the file against the model")
    else:
        print(
            f"  checked with {result.checked_with}: largest logit difference from the model {result.max_difference:.2g}"
        )
    return 0
