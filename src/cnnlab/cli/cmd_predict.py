"""`cnnlab predict RUN_DIR IMAGE... [--top K] [--json]`: the most likely classes of each image."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cnnlab.errors import UserError
from cnnlab.inference import predict


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "predict",
        help="classify images with a trained run: the top classes and their probabilities",
        description="Classify images with a run's best weights. Each image is read like the training "
        "images, resized to their size and normalised with the statistics the run saved.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by cnnlab train")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--top", type=int, default=5, metavar="K", help="classes to show for each image (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    results = predict(args.run_dir, args.images, top=args.top)
    print(json.dumps(results, indent=2) if args.json else format_predictions(results))
    return 0


def format_predictions(results: list[dict[str, Any]]) -> str:
    """A line an image: its path, then each class with its probability, most likely first."""
    return "\n".join(
        f"{r['image']}: " + "  ".join(f"{t['class']} {t['probability']:.1%}" for t in r["top"]) for r in results
    )
