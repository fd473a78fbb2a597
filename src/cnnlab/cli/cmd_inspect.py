"""`cnnlab inspect MODEL [key=value ...] [--input C,H,W] [--classes K] [--json]`: a model layer by layer.

Also the arithmetic of one layer: `--layer-size W K [P [S]]` and `--kernel-for W_IN W_OUT [P [S]]`; and a
2-D convolution worked by hand: `--conv P K [--padding N] [--stride N] [--flip]`.
"""

from __future__ import annotations

import argparse
import json
import re

from cnnlab.config import parse_overrides
from cnnlab.errors import UserError
from cnnlab.inspect import (
    explain_convolution,
    explain_layer_size,
    format_explained_convolution,
    format_model_summary,
    kernel_for_output,
    parse_matrix,
    summarize_registered,
)


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "inspect",
        help="a model layer by layer: shapes, parameters, receptive field, MACs",
        description="A model layer by layer (output shape, weights, biases, receptive field, jump, "
        "multiply-accumulates) and its totals; or the output-size arithmetic of one layer; or a 2-D "
        "convolution worked by hand (--conv P K).",
    )
    p.add_argument("model", nargs="?", help="a registered model (`cnnlab models` lists them)")
    p.add_argument("options", nargs="*", metavar="key=value", help="model options, e.g. conv_bias=false")
    p.add_argument("--input", default="3,32,32", metavar="C,H,W", help="input shape (default 3,32,32)")
    p.add_argument("--classes", type=int, default=10, metavar="K", help="number of classes (default 10)")
    p.add_argument(
        "--fully-conv",
        metavar="H,W",
        help="convert the fully connected head to convolutions and show the class-score map on an HxW image",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--layer-size",
        nargs="+",
        type=int,
        metavar="N",
        help="W K [P [S]]: the output size (W - K + 2P) / S + 1 of one conv or pooling layer",
    )
    p.add_argument(
        "--kernel-for",
        nargs="+",
        type=int,
        metavar="N",
        help="W_IN W_OUT [P [S]]: the kernel size that turns W_IN into W_OUT",
    )
    p.add_argument(
        "--conv",
        nargs=2,
        metavar=("P", "K"),
        help="work a 2-D convolution by hand: image P and kernel K as rows separated by ';' and entries by ',', "
        "e.g. --conv '1,0,2;3,2,0' '-1,0;1,0'; prints the padded input, the sum behind c11 and the output",
    )
    p.add_argument("--padding", type=int, metavar="N", help="--conv: rings of zeros around P (default 0)")
    p.add_argument("--stride", type=int, metavar="N", help="--conv: pixels the kernel moves a step (default 1)")
    p.add_argument(
        "--flip",
        action="store_true",
        help="--conv: the true convolution (K rotated 180 degrees) instead of the cross-correlation, which is "
        "what torch's conv2d computes",
    )
    # argparse takes a word like '-1,0,1;-2,0,2' for an unknown option; here a '-' before a digit starts a
    # value (a negative number or a matrix), so `--conv P K` takes kernels that begin with a negative entry
    p._negative_number_matcher = re.compile(r"^-\.?\d")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.conv:
        if args.model or args.layer_size or args.kernel_for:
            raise UserError("--conv P K stands alone: give it without a model, --layer-size or --kernel-for")
        image, kernel = parse_matrix(args.conv[0], "--conv P"), parse_matrix(args.conv[1], "--conv K")
        padding, stride = args.padding or 0, 1 if args.stride is None else args.stride
        print(format_explained_convolution(explain_convolution(image, kernel, padding, stride, args.flip)))
        return 0
    conv_only = [f"--{flag}" for flag in ("padding", "stride", "flip") if getattr(args, flag) not in (None, False)]
    if conv_only:
        raise UserError(f"{' and '.join(conv_only)} {'is' if len(conv_only) == 1 else 'are'} for --conv P K only")
    if args.layer_size or args.kernel_for:
        print(layer_arithmetic(args.layer_size, args.kernel_for))
        return 0
    if not args.model:
        raise UserError("give a model to inspect (`cnnlab models` lists them), or --layer-size W K P S, or --conv P K")
    summary = summarize_registered(
        args.model,
        input_shape=parse_shape(args.input),
        num_classes=args.classes,
        options=model_options(args.options),
        fully_conv=parse_image_size(args.fully_conv) if args.fully_conv else None,
    )
    print(json.dumps(summary.to_dict(), indent=2) if args.json else format_model_summary(summary))
    return 0


def layer_arithmetic(layer_size: list[int] | None, kernel_for: list[int] | None) -> str:
    """The answer to --layer-size W K [P [S]] or --kernel-for W_IN W_OUT [P [S]], as a line of text."""
    numbers = layer_size or kernel_for or []
    flag = "--layer-size W K" if layer_size else "--kernel-for W_IN W_OUT"
    if not 2 <= len(numbers) <= 4:
        raise UserError(f"{flag} [P [S]] takes 2 to 4 whole numbers, got {len(numbers)}")
    a, b, *rest = numbers
    p = rest[0] if rest else 0
    s = rest[1] if len(rest) > 1 else 1
    if layer_size:
        return explain_layer_size(a, b, p, s)
    k = kernel_for_output(a, b, p, s)
    return f"K = {k}: {explain_layer_size(a, k, p, s)}"


def parse_shape(text: str) -> tuple[int, ...]:
    """--input: '3,32,32' or '3x32x32' as (3, 32, 32); a single number for inputs without spatial dimensions."""
    shape = _numbers(text, "--input")
    if len(shape) not in (1, 3):
        raise UserError(f"--input '{text}' must be C,H,W for images (or C for inputs without spatial dimensions)")
    return shape


def parse_image_size(text: str) -> tuple[int, int]:
    """--fully-conv: '64,64' or '64x64' as (64, 64); one number for a square."""
    size = _numbers(text, "--fully-conv")
    if len(size) not in (1, 2):
        raise UserError(f"--fully-conv '{text}' must be an image size H,W (or one number for a square)")
    return (size[0], size[-1])


def _numbers(text: str, flag: str) -> tuple[int, ...]:
    parts = [t for t in re.split(r"[,x\s]+", text.strip().lower()) if t]
    if not parts or not all(t.isdigit() and int(t) > 0 for t in parts):
        raise UserError(f"{flag} '{text}' is not a shape of positive whole numbers like 3,32,32")
    return tuple(int(t) for t in parts)


def model_options(items: list[str]) -> dict:
    """`key=value` model options (values read as YAML); a `model.` prefix is allowed."""
    nested = parse_overrides(items)
    options = nested.pop("model", {})
    for key, value in nested.items():
        if isinstance(value, dict):
            raise UserError(f"'{key}.…' is not a model option: inspect takes the model's own options (key=value)")
        options[key] = value
    return options
